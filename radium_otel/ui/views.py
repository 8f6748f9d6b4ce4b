"""What the pages of ``rad ui`` and ``rad report --html`` show, as JSON-ready dictionaries.

Every figure comes from the report functions of `radium_otel._internal.reports` (the ones
``rad stats … --json`` prints) run over the session index, or from the stored record
(``rad stats session --json``); the browser only formats and draws them. The few sums no
``rad stats`` command shows (API and tool time, cache savings per period) are read from the
index here, in Python, with the SPEC's definitions.

Views take an open, refreshed `SessionIndex`; `open_index` gives one.
"""

from __future__ import annotations

import bisect
import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from radium_otel._internal.index import (
    _SESSION_COLUMNS,
    DAY_US,
    DayTotals,
    IndexUnavailable,
    Progress,
    SessionFacts,
    SessionIndex,
    _session_from_row,
    effective_status,
    from_us,
    to_us,
)
from radium_otel._internal.record import RecordError, SessionRecord, format_time
from radium_otel._internal.render import render_summary
from radium_otel._internal.reports import (
    Granularity,
    IndexedSessions,
    ModelReport,
    ScannedSessions,
    WhenError,
    Window,
    history_report,
    model_report,
    parse_when,
    rollup_report,
    tool_report,
)
from radium_otel._internal.store import LookupFailed, SessionStore

__all__ = [
    "PAGE_SIZES",
    "SORTS",
    "STATUSES",
    "SessionQuery",
    "UIError",
    "live",
    "model_view",
    "open_index",
    "options",
    "overview",
    "parse_window",
    "session_list",
    "session_view",
    "tool_view",
]

STATUSES = ("active", "completed", "failed", "interrupted")
PAGE_SIZES = (25, 50, 100, 200)
#: How many models the cost chart names; the rest are summed into "other models".
TOP_MODELS = 8


class UIError(Exception):
    """A request the views cannot answer; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --- the index ---------------------------------------------------------------------------------
@contextlib.contextmanager
def open_index(
    folder: Path,
    progress: Progress | None = None,
    *,
    lock: contextlib.AbstractContextManager[Any] | None = None,
) -> Iterator[SessionIndex]:
    """The refreshed index of the sessions ``folder`` (closed on exit).

    ``lock``, when given, is held while refreshing (not while the caller reads): concurrent
    requests of one server would only compete for SQLite's write lock and scan the folder twice.
    """
    index = SessionIndex(folder)
    try:
        try:
            with lock or contextlib.nullcontext():
                index.refresh(progress=progress)
        except IndexUnavailable as exc:
            raise UIError(f"the session index cannot be used here: {exc}", 503) from exc
        yield index
    finally:
        index.close()


# --- windows -----------------------------------------------------------------------------------
def parse_window(since: str | None, until: str | None, now: datetime | None = None) -> Window:
    """``since``/``until`` as ``rad stats`` reads them (``until`` takes the whole day)."""
    now = now or datetime.now(timezone.utc)
    try:
        window = Window(
            parse_when(since, now) if since else None,
            parse_when(until, now, end=True) if until else None,
        )
    except WhenError as exc:
        raise UIError(str(exc)) from exc
    if window.since and window.until and window.since >= window.until:
        raise UIError("since must be before until")
    return window


def _auto_by(index: SessionIndex, window: Window) -> Granularity:
    """Days for up to three months of sessions, weeks up to two years, else months."""
    where, args = _window_sql(window)
    lo, hi = index.conn.execute(
        f"SELECT MIN(start_us), MAX(start_us) FROM sessions{where}", args
    ).fetchone()
    if lo is None:
        return "day"
    start = window.since_us if window.since_us is not None else lo
    end = window.until_us if window.until_us is not None else hi
    days = (end - start) / DAY_US
    return "day" if days <= 92 else "week" if days <= 730 else "month"


def _window_sql(window: Window, prefix: str = "") -> tuple[str, list[Any]]:
    clauses, args = [], []
    if window.since_us is not None:
        clauses.append(f"{prefix}start_us >= ?")
        args.append(window.since_us)
    if window.until_us is not None:
        clauses.append(f"{prefix}start_us < ?")
        args.append(window.until_us)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _next_start(start: date, by: Granularity) -> date:
    if by == "day":
        return start + timedelta(days=1)
    if by == "week":
        return start + timedelta(weeks=1)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def _clip(window: Window, start: datetime, end: datetime) -> Window:
    since = start if window.since is None else max(start, window.since)
    until = end if window.until is None else min(end, window.until)
    return Window(since, until)


def _usd(nanos: int | None) -> float | None:
    return None if nanos is None else nanos / 1_000_000_000


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _cache(report: ModelReport) -> dict[str, Any]:
    """Cache reads of a model report's total (SPEC: hit rate = cache_read / input tokens)."""
    total = report.total
    return {
        "cache_read_tokens": total.cache_read_tokens,
        "input_tokens": total.input_tokens,
        "hit_rate": _rate(total.cache_read_tokens, total.input_tokens),
    }


# --- overview ----------------------------------------------------------------------------------
def overview(index: SessionIndex, window: Window, by: Granularity | None = None) -> dict[str, Any]:
    """Totals of the window and, per period with sessions, what the charts draw.

    ``periods`` are ``rad stats history --by`` rows (`rollup_report`), each with the
    ``models`` of ``rad stats model --since <period start> --until <period end>`` (cost
    per model), cache reads, and API/tool time and cache savings summed from the index.
    """
    source = _DaySums(index)
    by = by or _auto_by(index, window)
    rollup = rollup_report(source, window, None, by, None)
    models = model_report(source, window)
    tools = tool_report(source, window)
    top = [
        (r.model, r.provider)
        for r in models.rows
        if r.cost_nusd is not None and r.model is not None
    ][:TOP_MODELS]
    starts = [to_us(_midnight(p.start)) for p in rollup.periods]
    time_sums = _period_sums(index, window, starts)
    periods = []
    for n, p in enumerate(rollup.periods):
        period_window = _clip(window, _midnight(p.start), _midnight(_next_start(p.start, by)))
        report = model_report(source, period_window)
        named = {(r.model, r.provider): r for r in report.rows}
        other = [r.cost_nusd for r in report.rows if (r.model, r.provider) not in set(top)]
        other_known = [c for c in other if c is not None]
        api_us, tool_us, savings, priced = time_sums[n]
        periods.append(
            {
                **p.to_json(),
                **period_window.to_json(),
                "requests": report.total.requests,
                **_cache(report),
                "cache_savings_usd": _usd(savings) if priced else None,
                "api_time_s": api_us / 1_000_000,
                "tool_time_s": tool_us / 1_000_000,
                "api_share": _rate(api_us, api_us + tool_us),
                "model_costs": [named[key].cost_usd if key in named else None for key in top],
                "other_cost_usd": _usd(sum(other_known)) if other_known else None,
            }
        )
    api_total = sum(t[0] for t in time_sums)
    tool_total = sum(t[1] for t in time_sums)
    savings_known = [t[2] for t in time_sums if t[3]]
    return {
        **window.to_json(),
        "by": by,
        "sessions": models.sessions,
        "model_total": models.total.to_json(),
        "tool_total": tools.total.to_json(),
        "decisions": tools.decisions.to_json(),
        "cache": {
            **_cache(models),
            "savings_usd": _usd(sum(savings_known)) if savings_known else None,
        },
        "time": {
            "api_time_s": api_total / 1_000_000,
            "tool_time_s": tool_total / 1_000_000,
            "api_share": _rate(api_total, api_total + tool_total),
        },
        "top_models": [{"model": m, "provider": p} for m, p in top],
        "periods": periods,
        "rollup": rollup.to_json(),
    }


def _whole_days(window: Window) -> tuple[int | None, int | None] | None:
    """The window as (first day, end day) when it starts and ends at midnight UTC, else None."""
    since, until = window.since_us, window.until_us
    if (since is not None and since % DAY_US) or (until is not None and until % DAY_US):
        return None
    return (
        None if since is None else since // DAY_US,
        None if until is None else until // DAY_US,
    )


class _DaySums(IndexedSessions):
    """The index, whose `days` over whole days of all agents reads the per-day sums (a row
    a day) rather than every session of the window: what `rollup_report` reads.
    """

    def days(self, window: Window, agent: str | None) -> list[DayTotals]:
        days = _whole_days(window)
        if agent is not None or days is None:
            return super().days(window, agent)
        return [totals for totals, *_ in self.index.day_sums(*days)]


def _period_sums(
    index: SessionIndex, window: Window, starts: list[int]
) -> list[tuple[int, int, int, int]]:
    """(API µs, tool µs, savings n$, sessions with savings) per period starting at ``starts``."""
    sums = [[0, 0, 0, 0] for _ in starts]
    if not starts:
        return []
    days = _whole_days(window)
    rows: Iterable[tuple[int, int, int, int, int]]
    if days is not None:
        rows = [(t.day, api, tool, saved, n) for t, api, tool, saved, n in index.day_sums(*days)]
    else:
        where, args = _window_sql(window)
        day = (
            f"(CASE WHEN start_us >= 0 THEN start_us / {DAY_US} "
            f"ELSE (start_us + 1) / {DAY_US} - 1 END)"
        )
        sql = (
            f"SELECT {day} AS d, SUM(api_us), SUM(tool_us), IFNULL(SUM(savings_nusd), 0), "
            f"COUNT(savings_nusd) FROM sessions{where} GROUP BY d"
        )
        rows = index.conn.execute(sql, args)
    for d, api, tool, savings, priced in rows:
        n = bisect.bisect_right(starts, d * DAY_US) - 1
        if n >= 0:
            row = sums[n]
            row[0] += api
            row[1] += tool
            row[2] += savings
            row[3] += priced
    return [(a, b, c, d) for a, b, c, d in sums]


# --- tools and models --------------------------------------------------------------------------
def tool_view(index: SessionIndex, window: Window) -> dict[str, Any]:
    """``rad stats tools --json`` over the window, and the tools by average duration."""
    report = tool_report(IndexedSessions(index), window)
    data = report.to_json()
    slowest = sorted(
        (r for r in report.rows if r.calls), key=lambda r: (-(r.avg_duration_s or 0), r.tool)
    )
    data["slowest"] = [r.tool for r in slowest]
    return data


def model_view(index: SessionIndex, window: Window) -> dict[str, Any]:
    """``rad stats model --json`` over the window."""
    return model_report(IndexedSessions(index), window).to_json()


# --- the session list --------------------------------------------------------------------------
SORTS: Mapping[str, str] = {
    "start": "start_us",
    "cost": "cost_nusd",
    "wall": "wall_us",
    "tool_calls": "tool_calls",
    "success": "(CASE WHEN tool_calls > 0 THEN CAST(tool_successes AS REAL) / tool_calls END)",
    "tokens": "(input_tokens + output_tokens)",
    "agent": "agent",
    "source": "source",
    "status": "status",
}


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Which sessions the list shows, in which order, which page."""

    window: Window = field(default_factory=Window)
    agent: str | None = None
    source: str | None = None
    tag: str | None = None  # "key" or "key=value"
    model: str | None = None
    status: str | None = None
    sort: str = "start"
    descending: bool = True
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise UIError(f"unknown sort {self.sort!r} (one of {', '.join(SORTS)})")
        if self.status is not None and self.status not in STATUSES:
            raise UIError(f"unknown status {self.status!r} (one of {', '.join(STATUSES)})")
        if not 1 <= self.per_page <= 100_000:
            raise UIError("per_page must be between 1 and 100000")
        if self.page < 1:
            raise UIError("page must be 1 or more")


class _FilteredSessions:
    """The `Sessions` that `history_report` reads, narrowed to a `SessionQuery`."""

    def __init__(self, index: SessionIndex, query: SessionQuery, now: float) -> None:
        self.index = index
        self.query = query
        self.where, self.args = self._where(now)
        self.page: list[SessionFacts] = []  # what `history` returned last

    def _where(self, now: float) -> tuple[str, list[Any]]:
        q = self.query
        where, args = _window_sql(q.window)
        clauses = [where.removeprefix(" WHERE ")] if where else []
        if q.agent is not None:
            clauses.append("agent = ?")
            args.append(q.agent)
        if q.source is not None:
            clauses.append("source = ?")
            args.append(q.source)
        if q.model is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM models m WHERE m.file = sessions.file AND m.model = ?)"
            )
            args.append(q.model)
        if q.tag is not None:
            key, eq, value = q.tag.partition("=")
            if eq:
                clauses.append(
                    "EXISTS (SELECT 1 FROM tags t WHERE t.file = sessions.file AND t.key = ? "
                    "AND t.value = ?)"
                )
                args += [key, value]
            else:
                clauses.append(
                    "EXISTS (SELECT 1 FROM tags t WHERE t.file = sessions.file AND t.key = ?)"
                )
                args.append(key)
        if q.status is not None:
            # A stored `active` that is stale reads as `interrupted` (`effective_status`):
            # told apart here, for the few files stored as active.
            stale = [
                f.file for f in _stored_active(self.index) if effective_status(f, now) != "active"
            ]
            marks = ", ".join("?" * len(stale))
            if q.status == "active":
                clauses.append(
                    "status = 'active'" + (f" AND file NOT IN ({marks})" if stale else "")
                )
            elif q.status == "interrupted":
                clauses.append(
                    "(status = 'interrupted'" + (f" OR file IN ({marks}))" if stale else ")")
                )
            else:
                clauses.append("status = ?")
            if q.status in ("active", "interrupted"):
                args += stale
            else:
                args.append(q.status)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def count(self, window: Window, agent: str | None = None) -> int:
        sql = f"SELECT COUNT(*) FROM sessions{self.where}"
        return int(self.index.conn.execute(sql, self.args).fetchone()[0])

    def history(self, window: Window, agent: str | None, limit: int | None) -> list[SessionFacts]:
        q = self.query
        order = "DESC" if q.descending else "ASC"
        key = SORTS[q.sort]
        if q.sort == "start":
            # start_us is never NULL: the order of sessions_by_start (or of sessions_by_agent
            # and sessions_by_source within one), read from the index instead of sorting all.
            by = f"start_us {order}, id {order}, file {order}"
        else:
            by = f"{key} IS NULL, {key} {order}, start_us {order}, id {order}, file {order}"
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions{self.where} ORDER BY {by} LIMIT ? OFFSET ?"
        args = [*self.args, q.per_page, (q.page - 1) * q.per_page]
        self.page = [_session_from_row(row) for row in self.index.conn.execute(sql, args)]
        return self.page

    def names_with_prefix(self, prefix: str) -> int:
        return self.index.names_with_prefix(prefix)


def _stored_active(index: SessionIndex) -> list[SessionFacts]:
    """The sessions stored as ``active`` (a few: running ones, and those of killed agents)."""
    sql = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE status = 'active' ORDER BY start_us DESC"
    return [_session_from_row(row) for row in index.conn.execute(sql)]


def session_list(
    index: SessionIndex, query: SessionQuery, *, now: float | None = None
) -> dict[str, Any]:
    """One page of the sessions that match ``query``: ``rad stats history --json`` rows, each
    with its source, short id, models and tags.
    """
    now = time.time() if now is None else now
    source = _FilteredSessions(index, query, now)
    report = history_report(source, query.window, query.agent, query.per_page, now=now)  # type: ignore[arg-type]
    extra = _row_extras(index, [f.file for f in source.page]) if source.page else {}
    rows = []
    for row, facts in zip(report.rows, source.page, strict=True):
        models, tags = extra.get(facts.file, ([], {}))
        rows.append(
            {
                **row.to_json(),
                "short_id": row.short_id,
                "source": facts.source,
                "models": models,
                "tags": tags,
            }
        )
    q = query
    return {
        **q.window.to_json(),
        "filters": {
            "agent": q.agent, "source": q.source, "tag": q.tag, "model": q.model,
            "status": q.status,
        },
        "sort": q.sort,
        "order": "desc" if q.descending else "asc",
        "page": q.page,
        "per_page": q.per_page,
        "total_sessions": report.sessions,
        "pages": max(1, -(-report.sessions // q.per_page)),
        "sessions": rows,
    }  # fmt: skip


def _row_extras(
    index: SessionIndex, files: list[str]
) -> dict[str, tuple[list[str], dict[str, str]]]:
    marks = ", ".join("?" * len(files))
    out: dict[str, tuple[list[str], dict[str, str]]] = {f: ([], {}) for f in files}
    for file, model in index.conn.execute(
        f"SELECT file, model FROM models WHERE file IN ({marks}) ORDER BY rowid", files
    ):
        if model not in out[file][0]:
            out[file][0].append(model)
    for file, key, value in index.conn.execute(
        f"SELECT file, key, value FROM tags WHERE file IN ({marks}) ORDER BY rowid", files
    ):
        out[file][1][key] = value
    return out


def _distinct(table: str, column: str) -> str:
    """``SELECT DISTINCT column FROM table ORDER BY column`` without NULL, for an indexed
    column: one index seek per value (a loose index scan) instead of reading every row.
    """
    return (
        f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM {table} UNION ALL "
        f"SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > x) FROM v "
        "WHERE x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
    )


def options(index: SessionIndex) -> dict[str, Any]:
    """The values the list's filters offer: agents, sources, models, tags and statuses."""
    conn = index.conn

    def column(sql: str) -> list[str]:
        return [str(v) for (v,) in conn.execute(sql) if v is not None]

    first, last = conn.execute(
        "SELECT (SELECT MIN(start_us) FROM sessions), (SELECT MAX(start_us) FROM sessions)"
    ).fetchone()
    # The day tables hold a row for each model of each day's sessions, so their models are
    # the sessions' models (a few thousand rows, not one per session), unless a bulk check is
    # recomputing them right now (no version then).
    models = "model_days" if index.version() is not None else "models"
    return {
        "agents": column(_distinct("sessions", "agent")),
        "sources": column(_distinct("sessions", "source")),
        "models": column(f"SELECT DISTINCT model FROM {models} ORDER BY model"),
        "tags": [
            f"{k}={v}"
            for k, v in conn.execute(
                "SELECT DISTINCT key, value FROM tags ORDER BY key, value LIMIT 500"
            )
        ],
        "statuses": list(STATUSES),
        "sorts": list(SORTS),
        "page_sizes": list(PAGE_SIZES),
        "first_start": format_time(from_us(first)) if first is not None else None,
        "last_start": format_time(from_us(last)) if last is not None else None,
    }


# --- one session -------------------------------------------------------------------------------
def session_view(folder: Path, session_id: str) -> dict[str, Any]:
    """One session: its record as ``rad stats session --json`` prints it, the UX-1 summary,
    and ``rad stats model ID --json`` / ``rad stats tools ID --json``.
    """
    from radium_otel._internal.index import facts_from_record

    store = SessionStore(folder)
    try:
        path = store.resolve(session_id)
        record = store.read(path)
    except LookupFailed as exc:
        raise UIError(str(exc), 404) from exc
    except (RecordError, OSError) as exc:
        raise UIError(f"cannot read session {session_id}: {exc}", 500) from exc
    try:
        facts = facts_from_record(record, path.name)
    except RecordError as exc:
        raise UIError(f"cannot read {path.name}: {exc}", 500) from exc
    one = ScannedSessions([facts])
    full_id = path.name.removesuffix(".json")
    return {
        "id": record.id,
        "record": record.to_json(),
        "summary": render_summary(record),
        "models": model_report(one, Window(), session_id=full_id).to_json(),
        "tools": tool_report(one, Window(), session_id=full_id).to_json(),
        "time": _time_split(record),
    }


def _time_split(record: SessionRecord) -> dict[str, Any]:
    """API, tool and idle time of the wall time, as the UX-1 summary's split."""
    from radium_otel._internal.render import split_percent

    api_pct, tool_pct = split_percent(record.api_time_s, record.tool_time_s)
    idle = max(record.wall_time_s - record.agent_active_time_s, 0.0)
    return {
        "wall_time_s": record.wall_time_s,
        "agent_active_time_s": record.agent_active_time_s,
        "api_time_s": record.api_time_s,
        "tool_time_s": record.tool_time_s,
        "idle_time_s": idle,
        "api_percent": api_pct,
        "tool_percent": tool_pct,
    }


# --- live --------------------------------------------------------------------------------------
def live(index: SessionIndex, *, now: float | None = None) -> dict[str, Any]:
    """The sessions running now, and a version that changes whenever any session does."""
    now = time.time() if now is None else now
    active = [f for f in _stored_active(index) if effective_status(f, now) == "active"]
    # Every session write renames a file into the folder, which moves the folder's mtime.
    try:
        folder_ns = index.folder.stat().st_mtime_ns
    except OSError:
        folder_ns = 0
    return {
        "version": f"{folder_ns}-" + ",".join(f"{f.id}:{f.updated_us}" for f in active),
        "active": [
            {
                "id": f.id,
                "agent": f.agent,
                "source": f.source,
                "start_time": format_time(from_us(f.start_us)),
                "updated_time": format_time(from_us(f.updated_us)) if f.updated_us else None,
                "requests": f.requests,
                "tool_calls": f.tool_calls,
                "cost_usd": _usd(f.cost_nusd),
            }
            for f in active
        ],
    }
