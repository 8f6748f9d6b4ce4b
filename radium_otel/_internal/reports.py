"""Reports over many sessions: model usage, tool usage, history, roll-ups and exports.

Every report is built from a `Sessions` source — the SQLite index (`IndexedSessions`), or the
session files read directly (`ScannedSessions`: one session given by id, a workspace whose
index cannot be used, and the reference the index is tested against). Both give the same
numbers: the index sums integers (microseconds, nano-dollars) that Python sums the same way.
`ask` runs a report on the index, falling back to the files when the index cannot be used.

The ``to_json`` methods are the ``--json`` shapes of ``rad stats``, stable: keys are only ever
added. Dates are ISO 8601 UTC (``2025-03-01T09:00:00.000000Z``); ``until`` is exclusive; rates
are fractions; unknown numbers (an unpriced cost, a rate without calls) are ``null``, never 0;
``cost_partial`` is true when a cost leaves out unpriced models (shown as ``≥ $x.xx``).

``rad stats model [ID] --json``::

    {"session_id": str | null, "since": str | null, "until": str | null, "sessions": int,
     "models": [{"model", "provider", "sessions", "requests", "errors", "error_rate",
                 "input_tokens", "output_tokens", "cache_read_tokens",
                 "cache_creation_tokens", "reasoning_tokens", "latency_s",
                 "avg_latency_s", "cost_usd", "cost_partial"}],   # cost desc, then tokens
     "total": {the same keys without "model" and "provider"}}

``rad stats tools [ID] --json``::

    {"session_id", "since", "until", "sessions",
     "tools": [{"tool", "sessions", "calls", "successes", "failures", "success_rate",
                "error_types": {type: count}, "duration_s", "avg_duration_s"}],  # calls desc
     "total": {the same keys without "tool"},
     "decisions": {"reviewed", "accept", "reject", "modify", "auto_accept",
                   "agreement_rate"}}

``rad stats history --json``::

    {"since", "until", "agent", "limit": int | null, "total_sessions": int,
     "sessions": [{"id", "start_time", "end_time", "status", "agent", "wall_time_s",
                   "tool_calls", "tool_successes", "tool_failures", "success_rate",
                   "input_tokens", "output_tokens", "tokens", "cost_usd", "cost_partial",
                   "lines_added", "lines_removed"}]}                       # newest first

``rad stats history --by day|week|month --json``::

    {"since", "until", "agent", "by", "limit",
     "periods": [{"period": "2025-03-01" | "2025-W09" | "2025-03", "start", "sessions",
                  "tool_calls", "tool_successes", "success_rate", "input_tokens",
                  "output_tokens", "tokens", "cost_usd", "cost_partial"}]}
                                            # oldest first; only periods with sessions

``rad stats export --format json`` writes the stored records (`SessionRecord.to_json`) as one
array; ``--format csv`` writes `CSV_COLUMNS`.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import json
import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, Generic, Literal, Protocol, TypeVar

from radium_otel._internal.index import (
    DAY_US,
    MODEL_COUNTERS,
    DayTotals,
    IndexUnavailable,
    ModelFacts,
    Progress,
    SessionFacts,
    SessionIndex,
    ToolFacts,
    effective_status,
    from_us,
    merge_models,
    pricing_partial,
    read_facts,
    scan_folder,
    to_us,
)
from radium_otel._internal.record import RecordError, SessionRecord, format_time

__all__ = [
    "CSV_COLUMNS",
    "MODEL_COUNTERS",
    "Answer",
    "Decisions",
    "HistoryReport",
    "HistoryRow",
    "IndexedSessions",
    "ModelReport",
    "ModelRow",
    "Period",
    "RollupReport",
    "ScannedSessions",
    "Sessions",
    "ToolReport",
    "ToolRow",
    "WhenError",
    "Window",
    "ask",
    "csv_row",
    "history_report",
    "model_report",
    "model_sums",
    "parse_when",
    "rollup_report",
    "tool_report",
    "write_csv",
    "write_json_array",
]

SHORT_ID = 8
Granularity = Literal["day", "week", "month"]
_R = TypeVar("_R")


# --- the time window ---------------------------------------------------------------------------
class WhenError(ValueError):
    """A ``--since``/``--until`` value that is not a date."""


@dataclass(frozen=True, slots=True)
class Window:
    """Sessions that started at or after ``since`` and before ``until`` (UTC)."""

    since: datetime | None = None
    until: datetime | None = None

    @property
    def since_us(self) -> int | None:
        """``since`` in microseconds since the epoch."""
        return None if self.since is None else to_us(self.since)

    @property
    def until_us(self) -> int | None:
        """``until`` in microseconds since the epoch."""
        return None if self.until is None else to_us(self.until)

    def contains(self, start_us: int) -> bool:
        """True when a session that started at ``start_us`` is in the window."""
        lo, hi = self.since_us, self.until_us
        return (lo is None or start_us >= lo) and (hi is None or start_us < hi)

    def to_json(self) -> dict[str, str | None]:
        """``{"since": ..., "until": ...}`` as ISO 8601 (``until`` is exclusive)."""
        return {
            "since": format_time(self.since) if self.since else None,
            "until": format_time(self.until) if self.until else None,
        }


_RELATIVE = re.compile(r"(\d{1,6})([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_when(text: str, now: datetime, *, end: bool = False) -> datetime:
    """A ``--since``/``--until`` value as a UTC instant.

    ``YYYY-MM-DD`` and ``YYYYMMDD`` are UTC days: the start of the day, or with ``end`` the
    start of the next day (``--until 2025-03-01`` includes March 1st). ``7d``, ``12h``, ``2w``
    count back from ``now``. A full ISO 8601 time is taken as is (UTC unless it has an offset).
    """
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        return now - int(relative[1]) * _UNITS[relative[2]]
    day: date | None = None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
        elif re.fullmatch(r"\d{8}", value):
            day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        elif "T" in value or " " in value:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        day = None
    if day is None:
        raise WhenError(
            f"invalid date {text!r} (use YYYY-MM-DD, YYYYMMDD or a relative 7d, 12h, 2w)"
        )
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    if end:
        try:
            return start + timedelta(days=1)
        except OverflowError:
            return start.replace(hour=23, minute=59, second=59, microsecond=999_999)
    return start


# --- sources -----------------------------------------------------------------------------------
class Sessions(Protocol):
    """Where reports read sessions from."""

    def count(self, window: Window, agent: str | None = None) -> int:
        """Sessions that started in ``window`` (and ran ``agent``)."""
        ...

    def history(self, window: Window, agent: str | None, limit: int | None) -> list[SessionFacts]:
        """Sessions in ``window``, newest first, at most ``limit``."""
        ...

    def models(self, window: Window) -> list[ModelFacts]:
        """Per (model, provider) sums, unordered."""
        ...

    def tools(self, window: Window) -> list[ToolFacts]:
        """Per-tool sums, unordered."""
        ...

    def decisions(self, window: Window) -> dict[str, int]:
        """Decision → count."""
        ...

    def days(self, window: Window, agent: str | None) -> list[DayTotals]:
        """Per-UTC-day sums, by day."""
        ...

    def names_with_prefix(self, prefix: str) -> int:
        """How many session files have a name starting with ``prefix``."""
        ...

    def sessions_with_model(self, model: str) -> int:
        """How many sessions used ``model`` (with any provider)."""
        ...


class IndexedSessions:
    """`Sessions` answered by SQL over a refreshed `SessionIndex`."""

    def __init__(self, index: SessionIndex) -> None:
        self.index = index

    def count(self, window: Window, agent: str | None = None) -> int:
        """See `Sessions`."""
        return self.index.count(window.since_us, window.until_us, agent)

    def history(self, window: Window, agent: str | None, limit: int | None) -> list[SessionFacts]:
        """See `Sessions`."""
        return self.index.history(window.since_us, window.until_us, agent, limit)

    def models(self, window: Window) -> list[ModelFacts]:
        """See `Sessions`."""
        return self.index.models(window.since_us, window.until_us)

    def tools(self, window: Window) -> list[ToolFacts]:
        """See `Sessions`."""
        return self.index.tools(window.since_us, window.until_us)

    def decisions(self, window: Window) -> dict[str, int]:
        """See `Sessions`."""
        return self.index.decisions(window.since_us, window.until_us)

    def days(self, window: Window, agent: str | None) -> list[DayTotals]:
        """See `Sessions`."""
        return self.index.days(window.since_us, window.until_us, agent)

    def names_with_prefix(self, prefix: str) -> int:
        """See `Sessions`."""
        return self.index.names_with_prefix(prefix)

    def sessions_with_model(self, model: str) -> int:
        """See `Sessions`."""
        sql = "SELECT COUNT(DISTINCT file) FROM models WHERE model = ?"
        return int(self.index.conn.execute(sql, (model,)).fetchone()[0])


class ScannedSessions:
    """`Sessions` computed in Python from the facts of session files read directly."""

    def __init__(self, facts: Iterable[SessionFacts], names: Iterable[str] = ()) -> None:
        self.facts = sorted(facts, key=lambda f: (f.start_us, f.id, f.file))
        self._names = sorted({*names, *(f.file for f in self.facts)})

    @classmethod
    def read(cls, folder: Path) -> tuple[ScannedSessions, list[tuple[str, str]]]:
        """Every session file of ``folder``, and the (name, reason) of those skipped."""
        facts: list[SessionFacts] = []
        skipped: list[tuple[str, str]] = []
        names = sorted(scan_folder(folder))
        for name in names:
            try:
                facts.append(read_facts(folder / name)[1])
            except RecordError as exc:
                skipped.append((name, str(exc)))
            except FileNotFoundError:
                continue
            except OSError as exc:
                skipped.append((name, f"cannot read ({exc.strerror or exc})"))
        return cls(facts, names), skipped

    def _in(self, window: Window, agent: str | None = None) -> list[SessionFacts]:
        return [
            f
            for f in self.facts
            if window.contains(f.start_us) and (agent is None or f.agent == agent)
        ]

    def count(self, window: Window, agent: str | None = None) -> int:
        """See `Sessions`."""
        return len(self._in(window, agent))

    def history(self, window: Window, agent: str | None, limit: int | None) -> list[SessionFacts]:
        """See `Sessions`."""
        rows = self._in(window, agent)[::-1]
        return rows if limit is None else rows[:limit]

    def models(self, window: Window) -> list[ModelFacts]:
        """See `Sessions`."""
        groups: dict[tuple[str, str | None], list[tuple[str, ModelFacts]]] = defaultdict(list)
        for f in self._in(window):
            for m in f.models:
                groups[m.model, m.provider].append((f.file, m))
        out = []
        for (model, provider), rows in groups.items():
            ms = [m for _, m in rows]
            known = [m.cost_nusd for m in ms if m.cost_nusd is not None]
            out.append(
                ModelFacts(
                    model=model,
                    provider=provider,
                    **model_sums(ms),
                    cost_nusd=sum(known) if known else None,
                    cost_partial=0 < len(known) < len(ms),
                    sessions=len({file for file, _ in rows}),
                )
            )
        return out

    def tools(self, window: Window) -> list[ToolFacts]:
        """See `Sessions`."""
        groups: dict[str, list[tuple[str, ToolFacts]]] = defaultdict(list)
        for f in self._in(window):
            for t in f.tools:
                groups[t.tool].append((f.file, t))
        out = []
        for tool, rows in groups.items():
            ts = [t for _, t in rows]
            errors: dict[str, int] = defaultdict(int)
            for t in ts:
                for kind, n in t.error_types:
                    errors[kind] += n
            out.append(
                ToolFacts(
                    tool=tool,
                    calls=sum(t.calls for t in ts),
                    successes=sum(t.successes for t in ts),
                    failures=sum(t.failures for t in ts),
                    duration_us=sum(t.duration_us for t in ts),
                    error_types=tuple(sorted(errors.items())),
                    sessions=len({file for file, _ in rows}),
                )
            )
        return out

    def decisions(self, window: Window) -> dict[str, int]:
        """See `Sessions`."""
        totals: dict[str, int] = defaultdict(int)
        for f in self._in(window):
            for kind, n in f.decisions:
                totals[kind] += n
        return dict(totals)

    def days(self, window: Window, agent: str | None) -> list[DayTotals]:
        """See `Sessions`."""
        groups: dict[int, list[SessionFacts]] = defaultdict(list)
        for f in self._in(window, agent):
            groups[f.start_us // DAY_US].append(f)
        out = []
        for day in sorted(groups):
            fs = groups[day]
            known = [f.cost_nusd for f in fs if f.cost_nusd is not None]
            cost = sum(known) if known else None
            out.append(
                DayTotals(
                    day=day,
                    sessions=len(fs),
                    tool_calls=sum(f.tool_calls for f in fs),
                    tool_successes=sum(f.tool_successes for f in fs),
                    input_tokens=sum(f.input_tokens for f in fs),
                    output_tokens=sum(f.output_tokens for f in fs),
                    cost_nusd=cost,
                    cost_partial=cost is not None and any(f.cost_partial or f.unpriced for f in fs),
                )
            )
        return out

    def names_with_prefix(self, prefix: str) -> int:
        """See `Sessions`."""
        lo = bisect.bisect_left(self._names, prefix)
        hi = bisect.bisect_left(self._names, prefix + "\x7f")
        return hi - lo

    def sessions_with_model(self, model: str) -> int:
        """See `Sessions`."""
        return sum(any(m.model == model for m in f.models) for f in self.facts)


@dataclass(frozen=True, slots=True)
class Answer(Generic[_R]):
    """What `ask` found: the value, and what a reader may want to be told about."""

    value: _R
    skipped: list[tuple[str, str]]  # unreadable session files: (name, reason), by name
    empty: bool  # no readable session at all
    index_error: str | None  # why the files were read directly (the index could not be used)


def ask(
    folder: Path, build: Callable[[Sessions], _R], *, progress: Progress | None = None
) -> Answer[_R]:
    """Run ``build`` on the sessions of ``folder``: through the refreshed index, else (when
    the index cannot be used here) on every session file read directly.

    Raises `OSError` when the folder cannot be read.
    """
    index = SessionIndex(folder)
    try:
        source = IndexedSessions(index)

        def answer() -> Answer[_R]:
            empty = index.count(None, None) == 0
            return Answer(build(source), index.unreadable(), empty, None)

        index.refresh(progress=progress)
        try:
            return answer()
        except sqlite3.DatabaseError as exc:  # corruption past what the refresh read
            if not index.rebuild_after(exc):
                raise
            return answer()
    except (IndexUnavailable, sqlite3.Error) as exc:
        scanned, skipped = ScannedSessions.read(folder)
        return Answer(build(scanned), skipped, not scanned.facts, str(exc))
    finally:
        index.close()


# --- money and rates ---------------------------------------------------------------------------
def _usd(nanos: int | None) -> float | None:
    return None if nanos is None else nanos / 1_000_000_000


def _seconds(micros: int) -> float:
    return micros / 1_000_000


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _sum_costs(costs: Sequence[tuple[int | None, bool]]) -> tuple[int | None, bool]:
    """Total of (cost, partial) parts: None when none is priced, partial when any part is."""
    known = [c for c, _ in costs if c is not None]
    if not known:
        return None, False
    partial = any(p for _, p in costs) or len(known) < len(costs)
    return sum(known), partial


# --- model usage -------------------------------------------------------------------------------
def model_sums(parts: Sequence[ModelFacts | ModelRow]) -> dict[str, int]:
    """`MODEL_COUNTERS` summed over ``parts`` (sessions' facts, or a report's rows)."""
    return {name: sum(getattr(p, name) for p in parts) for name in MODEL_COUNTERS}


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One line of the model table: a model of a provider, or the total (``model`` None)."""

    model: str | None
    provider: str | None
    sessions: int
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    reasoning_tokens: int
    latency_us: int
    cost_nusd: int | None
    cost_partial: bool

    @property
    def cost_usd(self) -> float | None:
        """The cost in USD; None when nothing of it is priced."""
        return _usd(self.cost_nusd)

    @property
    def avg_latency_s(self) -> float | None:
        """Mean request duration."""
        return _seconds(self.latency_us) / self.requests if self.requests else None

    @property
    def tokens(self) -> int:
        """Input + output tokens."""
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        """One entry of ``models`` (or the ``total``) in ``rad stats model --json``."""
        head = {} if self.model is None else {"model": self.model, "provider": self.provider}
        return {
            **head,
            "sessions": self.sessions,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": _rate(self.errors, self.requests),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "latency_s": _seconds(self.latency_us),
            "avg_latency_s": self.avg_latency_s,
            "cost_usd": self.cost_usd,
            "cost_partial": self.cost_partial,
        }


@dataclass(frozen=True, slots=True)
class ModelReport:
    """``rad stats model``: per-model usage, most expensive first, and the total."""

    session_id: str | None
    window: Window
    sessions: int
    rows: tuple[ModelRow, ...]
    total: ModelRow

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape (see the module docstring)."""
        return {
            "session_id": self.session_id,
            **self.window.to_json(),
            "sessions": self.sessions,
            "models": [r.to_json() for r in self.rows],
            "total": self.total.to_json(),
        }


def _model_order(row: ModelRow) -> tuple[Any, ...]:
    cost = row.cost_nusd
    return (cost is None, -(cost or 0), -row.tokens, row.model, row.provider is not None,
            row.provider or "")  # fmt: skip


def model_report(source: Sessions, window: Window, session_id: str | None = None) -> ModelReport:
    """Model usage in ``window``: one row per canonical (model, provider) over the sessions
    (`radium_otel._internal.names`), sorted by cost, then tokens, then name (None cost last).
    """
    rows = sorted(
        (
            ModelRow(
                m.model, m.provider, m.sessions, m.requests, m.errors, m.input_tokens,
                m.output_tokens, m.cache_read_tokens, m.cache_creation_tokens,
                m.reasoning_tokens, m.latency_us, m.cost_nusd, m.cost_partial,
            )
            for m in merge_models(source.models(window))
        ),
        key=_model_order,
    )  # fmt: skip
    sessions = source.count(window)
    cost, partial = _sum_costs([(r.cost_nusd, r.cost_partial) for r in rows])
    total = ModelRow(None, None, sessions, **model_sums(rows), cost_nusd=cost, cost_partial=partial)
    return ModelReport(session_id, window, sessions, tuple(rows), total)


# --- tool usage --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ToolRow:
    """One line of the tool table: a tool, or the total (``tool`` None)."""

    tool: str | None
    sessions: int
    calls: int
    successes: int
    failures: int
    duration_us: int
    error_types: tuple[tuple[str, int], ...]  # most frequent first

    @property
    def success_rate(self) -> float | None:
        """Successes / executed calls."""
        return _rate(self.successes, self.calls)

    @property
    def avg_duration_s(self) -> float | None:
        """Mean call duration."""
        return _seconds(self.duration_us) / self.calls if self.calls else None

    def to_json(self) -> dict[str, Any]:
        """One entry of ``tools`` (or the ``total``) in ``rad stats tools --json``."""
        head = {} if self.tool is None else {"tool": self.tool}
        return {
            **head,
            "sessions": self.sessions,
            "calls": self.calls,
            "successes": self.successes,
            "failures": self.failures,
            "success_rate": self.success_rate,
            "error_types": dict(self.error_types),
            "duration_s": _seconds(self.duration_us),
            "avg_duration_s": self.avg_duration_s,
        }


@dataclass(frozen=True, slots=True)
class Decisions:
    """The user's decisions on proposed tool calls (SPEC "Rates": user agreement)."""

    reviewed: int = 0
    accept: int = 0
    reject: int = 0
    modify: int = 0
    auto_accept: int = 0

    @property
    def agreement_rate(self) -> float | None:
        """(accept + auto_accept) / all decisions."""
        return _rate(self.accept + self.auto_accept, self.reviewed)

    def to_json(self) -> dict[str, Any]:
        """``decisions`` in ``rad stats tools --json``."""
        return {
            "reviewed": self.reviewed,
            "accept": self.accept,
            "reject": self.reject,
            "modify": self.modify,
            "auto_accept": self.auto_accept,
            "agreement_rate": self.agreement_rate,
        }


@dataclass(frozen=True, slots=True)
class ToolReport:
    """``rad stats tools``: per-tool calls, outcomes and time; the user's decisions."""

    session_id: str | None
    window: Window
    sessions: int
    rows: tuple[ToolRow, ...]
    total: ToolRow
    decisions: Decisions

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape (see the module docstring)."""
        return {
            "session_id": self.session_id,
            **self.window.to_json(),
            "sessions": self.sessions,
            "tools": [r.to_json() for r in self.rows],
            "total": self.total.to_json(),
            "decisions": self.decisions.to_json(),
        }


def _by_count(error_types: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(error_types, key=lambda e: (-e[1], e[0])))


def tool_report(source: Sessions, window: Window, session_id: str | None = None) -> ToolReport:
    """Tool usage in ``window``: most called first, then by name."""
    rows = sorted(
        (
            ToolRow(t.tool, t.sessions, t.calls, t.successes, t.failures, t.duration_us,
                    _by_count(t.error_types))
            for t in source.tools(window)
        ),
        key=lambda r: (-r.calls, r.tool),
    )  # fmt: skip
    sessions = source.count(window)
    errors: dict[str, int] = defaultdict(int)
    for r in rows:
        for kind, n in r.error_types:
            errors[kind] += n
    total = ToolRow(
        tool=None,
        sessions=sessions,
        calls=sum(r.calls for r in rows),
        successes=sum(r.successes for r in rows),
        failures=sum(r.failures for r in rows),
        duration_us=sum(r.duration_us for r in rows),
        error_types=_by_count(errors.items()),
    )
    d = source.decisions(window)
    decisions = Decisions(
        reviewed=sum(d.values()),
        accept=d.get("accept", 0),
        reject=d.get("reject", 0),
        modify=d.get("modify", 0),
        auto_accept=d.get("auto_accept", 0),
    )
    return ToolReport(session_id, window, sessions, tuple(rows), total, decisions)


# --- history -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One session in the history."""

    id: str
    short_id: str
    start_time: datetime
    end_time: datetime | None
    status: str
    agent: str | None
    wall_time_s: float
    tool_calls: int
    tool_successes: int
    tool_failures: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    cost_partial: bool
    lines_added: int | None
    lines_removed: int | None

    @property
    def success_rate(self) -> float | None:
        """Successful / executed tool calls."""
        return _rate(self.tool_successes, self.tool_calls)

    @property
    def tokens(self) -> int:
        """Input + output tokens."""
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        """One entry of ``sessions`` in ``rad stats history --json``."""
        return {
            "id": self.id,
            "start_time": format_time(self.start_time),
            "end_time": format_time(self.end_time) if self.end_time else None,
            "status": self.status,
            "agent": self.agent,
            "wall_time_s": self.wall_time_s,
            "tool_calls": self.tool_calls,
            "tool_successes": self.tool_successes,
            "tool_failures": self.tool_failures,
            "success_rate": self.success_rate,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "cost_partial": self.cost_partial,
            "lines_added": self.lines_added,
            "lines_removed": self.lines_removed,
        }


@dataclass(frozen=True, slots=True)
class HistoryReport:
    """``rad stats history``: the newest sessions first."""

    window: Window
    agent: str | None
    limit: int | None
    sessions: int  # in the window, before the limit
    rows: tuple[HistoryRow, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape (see the module docstring)."""
        return {
            **self.window.to_json(),
            "agent": self.agent,
            "limit": self.limit,
            "total_sessions": self.sessions,
            "sessions": [r.to_json() for r in self.rows],
        }


def short_id(source: Sessions, session_id: str) -> str:
    """The shortest prefix of ``session_id`` (>= 8 characters) naming one file, else the id."""
    for n in range(SHORT_ID, len(session_id)):
        if source.names_with_prefix(session_id[:n]) <= 1:
            return session_id[:n]
    return session_id


def history_report(
    source: Sessions, window: Window, agent: str | None, limit: int | None, *, now: float
) -> HistoryReport:
    """The newest ``limit`` sessions in ``window`` (all with None); ``now`` tells stale ones."""
    rows = tuple(
        HistoryRow(
            id=f.id,
            short_id=short_id(source, f.id),
            start_time=from_us(f.start_us),
            end_time=from_us(f.end_us) if f.end_us is not None else None,
            status=effective_status(f, now),
            agent=f.agent,
            wall_time_s=_seconds(f.wall_us),
            tool_calls=f.tool_calls,
            tool_successes=f.tool_successes,
            tool_failures=f.tool_failures,
            input_tokens=f.input_tokens,
            output_tokens=f.output_tokens,
            cost_usd=_usd(f.cost_nusd),
            cost_partial=f.cost_partial,
            lines_added=f.lines_added,
            lines_removed=f.lines_removed,
        )
        for f in source.history(window, agent, limit)
    )
    return HistoryReport(window, agent, limit, source.count(window, agent), rows)


# --- roll-up -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Period:
    """Sessions that started in one day, ISO week or month (UTC)."""

    label: str  # 2025-03-01, 2025-W09, 2025-03
    start: date
    sessions: int = 0
    tool_calls: int = 0
    tool_successes: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_nusd: int | None = 0
    cost_partial: bool = False

    @property
    def tokens(self) -> int:
        """Input + output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def cost_usd(self) -> float | None:
        """The cost in USD; None when sessions ran but none was priced."""
        return _usd(self.cost_nusd)

    def to_json(self) -> dict[str, Any]:
        """One entry of ``periods`` in ``rad stats history --by ... --json``."""
        return {
            "period": self.label,
            "start": format_time(datetime(*self.start.timetuple()[:3], tzinfo=timezone.utc)),
            "sessions": self.sessions,
            "tool_calls": self.tool_calls,
            "tool_successes": self.tool_successes,
            "success_rate": _rate(self.tool_successes, self.tool_calls),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "cost_partial": self.cost_partial,
        }


@dataclass(frozen=True, slots=True)
class RollupReport:
    """``rad stats history --by day|week|month``: sums per period with sessions, oldest first."""

    window: Window
    agent: str | None
    by: Granularity
    limit: int | None
    periods: tuple[Period, ...]

    @property
    def chart(self) -> Literal["cost", "tokens"]:
        """What the bar chart shows: cost when any of it is priced, else tokens."""
        return "cost" if any(p.cost_nusd for p in self.periods) else "tokens"

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape (see the module docstring)."""
        return {
            **self.window.to_json(),
            "agent": self.agent,
            "by": self.by,
            "limit": self.limit,
            "periods": [p.to_json() for p in self.periods],
        }


_MIN_ORDINAL, _MAX_ORDINAL = date.min.toordinal(), date.max.toordinal()


def _period_key(day: int, by: Granularity) -> int:
    """An integer that orders periods and steps by one between neighbours."""
    d = date.fromordinal(min(max(day + 719_163, _MIN_ORDINAL), _MAX_ORDINAL))
    if by == "day":
        return d.toordinal()
    if by == "week":
        return (d.toordinal() - 1) // 7  # 0001-01-01 was a Monday
    return d.year * 12 + d.month - 1


def _period(key: int, by: Granularity) -> tuple[str, date]:
    if by == "day":
        d = date.fromordinal(key)
        return d.isoformat(), d
    if by == "week":
        d = date.fromordinal(key * 7 + 1)
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}", d
    year, month = divmod(key, 12)
    return f"{year:04d}-{month + 1:02d}", date(year, month + 1, 1)


def rollup_report(
    source: Sessions, window: Window, agent: str | None, by: Granularity, limit: int | None
) -> RollupReport:
    """Sums per period of the sessions in ``window``: the latest ``limit`` periods that have
    sessions (periods without any are left out, however many lie between them).
    """
    groups: dict[int, list[DayTotals]] = defaultdict(list)
    for d in source.days(window, agent):
        groups[_period_key(d.day, by)].append(d)
    # Only periods with sessions are listed, so empty ones never use up the limit nor hide
    # older periods that have data (a chart can still show the gaps from the dates).
    keys = sorted(groups)
    if limit is not None:
        keys = keys[-limit:] if limit else []
    periods: list[Period] = []
    for key in keys:
        label, start = _period(key, by)
        days = groups[key]
        cost, partial = _sum_costs([(d.cost_nusd, d.cost_partial) for d in days])
        periods.append(
            Period(
                label=label,
                start=start,
                sessions=sum(d.sessions for d in days),
                tool_calls=sum(d.tool_calls for d in days),
                tool_successes=sum(d.tool_successes for d in days),
                input_tokens=sum(d.input_tokens for d in days),
                output_tokens=sum(d.output_tokens for d in days),
                cost_nusd=cost,
                cost_partial=partial,
            )
        )
    return RollupReport(window, agent, by, limit, tuple(periods))


# --- export ------------------------------------------------------------------------------------
#: Columns of ``rad stats export --format csv``, in this order (new columns only ever added at
#: the end). Empty cells are unknown values; rates are fractions (0.5, not 50%).
CSV_COLUMNS = (
    "id",
    "status",
    "start_time",
    "end_time",
    "agent",
    "wall_time_s",
    "agent_active_time_s",
    "api_time_s",
    "tool_time_s",
    "tool_calls",
    "tool_successes",
    "tool_failures",
    "success_rate",
    "decisions_reviewed",
    "decisions_accept",
    "decisions_reject",
    "decisions_modify",
    "decisions_auto_accept",
    "agreement_rate",
    "models",
    "requests",
    "model_errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "cache_hit_rate",
    "cache_savings_usd",
    "cost_usd",
    "cost_partial",
    "lines_added",
    "lines_removed",
    "files_changed",
    "service_name",
    "git_branch",
    "git_commit",
    "host",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _meta_text(record: SessionRecord, key: str) -> str | None:
    value = record.metadata.get(key)
    return value if isinstance(value, str) else None


def csv_row(record: SessionRecord) -> list[str]:
    """The cells of one session, in `CSV_COLUMNS` order."""
    d = record.decisions
    reviewed = sum(d.values())
    agreed = d.get("accept", 0) + d.get("auto_accept", 0)
    models = record.model_usage
    costs = [m.cost_usd for m in models]
    # The same rule as the index (`facts_from_record`), on the stored floats.
    cost: float | None = record.cost_usd
    partial = False
    if cost is None and any(c is not None for c in costs):
        cost, partial = sum(c for c in costs if c is not None), True
    elif cost is not None:
        partial = pricing_partial(record) or any(c is None for c in costs)
    changes = record.code_changes or {}

    def change(key: str) -> int | None:
        value = changes.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    agent = record.metadata.get("agent")
    values: dict[str, object] = {
        "id": record.id,
        "status": record.status,
        "start_time": format_time(record.start_time),
        "end_time": format_time(record.end_time) if record.end_time else None,
        "agent": agent if isinstance(agent, str) else None,
        "wall_time_s": record.wall_time_s,
        "agent_active_time_s": record.agent_active_time_s,
        "api_time_s": record.api_time_s,
        "tool_time_s": record.tool_time_s,
        "tool_calls": record.tool_calls,
        "tool_successes": record.tool_successes,
        "tool_failures": record.tool_failures,
        "success_rate": _rate(record.tool_successes, record.tool_calls),
        "decisions_reviewed": reviewed,
        "decisions_accept": d.get("accept", 0),
        "decisions_reject": d.get("reject", 0),
        "decisions_modify": d.get("modify", 0),
        "decisions_auto_accept": d.get("auto_accept", 0),
        "agreement_rate": _rate(agreed, reviewed),
        "models": ";".join(dict.fromkeys(m.model for m in models)),
        "requests": record.requests,
        "model_errors": sum(m.errors for m in models),
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cache_read_tokens": sum(m.cache_read_tokens for m in models),
        "cache_creation_tokens": sum(m.cache_creation_tokens for m in models),
        "reasoning_tokens": sum(m.reasoning_tokens for m in models),
        "cache_hit_rate": record.cache_stats.hit_rate if models else None,
        "cache_savings_usd": record.cache_stats.savings_usd,
        "cost_usd": cost,
        "cost_partial": partial if cost is not None else None,
        "lines_added": change("lines_added"),
        "lines_removed": change("lines_removed"),
        "files_changed": change("files_changed"),
        "service_name": _meta_text(record, "service.name"),
        "git_branch": _meta_text(record, "git.branch"),
        "git_commit": _meta_text(record, "git.commit"),
        "host": _meta_text(record, "host"),
    }
    return [_cell(values[c]) for c in CSV_COLUMNS]


def write_csv(records: Iterable[SessionRecord], out: IO[str]) -> int:
    """Write the header and one row per record; returns the number of rows."""
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for record in records:
        writer.writerow(csv_row(record))
        n += 1
    return n


def write_json_array(records: Iterable[SessionRecord], out: IO[str]) -> int:
    """Write the stored records as one JSON array (streamed); returns how many."""
    n = 0
    for record in records:
        text = json.dumps(record.to_json(), indent=2, ensure_ascii=False)
        out.write(("[\n" if n == 0 else ",\n") + "  " + text.replace("\n", "\n  "))
        n += 1
    out.write("\n]\n" if n else "[]\n")
    return n


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[IO[str]]:
    """A text file written beside ``path`` and renamed over it once complete (mode 0600)."""
    import tempfile

    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def records_text(records: Iterable[SessionRecord], fmt: Literal["json", "csv"]) -> str:
    """The export of ``records`` as one string (small exports and tests)."""
    buf = io.StringIO()
    (write_csv if fmt == "csv" else write_json_array)(records, buf)
    return buf.getvalue()
