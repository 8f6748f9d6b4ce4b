"""The session index: a SQLite cache of what ``rad stats`` needs from every session file.

The JSON files stay the source of truth. The index keeps, per file, the facts that history,
model and tool reports aggregate (totals, per-model and per-tool rows, decisions), so those
commands run SQL over the index instead of parsing every file on every call.

Where: ``<workspace>/.radium/_internals/index.sqlite3``, beside the ``sessions/`` folder (never
in it: SQLite's ``-wal``/``-shm`` files would change the folder they describe).

Freshness
    * `SessionStore.write` upserts the session it wrote (`index_written`). That never fails the
      write: an index error is logged and leaves a stale marker (``index.stale``) behind.
    * Readers call `SessionIndex.refresh`. The quick check is one ``stat`` of the sessions
      folder: every file created, renamed over (each atomic write) or deleted changes its mtime.
      When it still equals the mtime recorded by the last full check, and that check ran
      clearly after it (file-system timestamps are coarse), the index is fresh. Otherwise — or
      with a stale marker — a full check lists the folder, compares each file's name, inode,
      mtime and size with what the index recorded, parses only the files that differ and drops
      the rows of files that are gone.
    * A missing or corrupt index, or one of another schema version, is rebuilt from the files;
      ``rad stats reindex`` re-reads every file. A file edited in place (not replaced, so the
      folder's mtime stays) is only picked up by the next full check or ``rad stats reindex``.

Concurrency
    WAL journal, a busy timeout, and every change is one short ``BEGIN IMMEDIATE`` transaction
    keyed by file name (= session id for files the store writes), so several writers and
    readers leave a consistent index: each row is a whole snapshot of one file.

Numbers are stored as integers — durations in microseconds, money in nano-dollars — so sums
are exact and the same whether SQLite or Python adds them up.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat as stat_module
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from radium_otel._internal.errors import log_internal_error, warn_once
from radium_otel._internal.names import canonical_names
from radium_otel._internal.record import RecordError, SessionRecord
from radium_otel._internal.store import _pid_alive, host_name, stale_after_s

__all__ = [
    "MODEL_COUNTERS",
    "DayTotals",
    "FileStat",
    "IndexUnavailable",
    "ModelFacts",
    "SessionFacts",
    "SessionIndex",
    "ToolFacts",
    "effective_status",
    "facts_from_record",
    "index_many",
    "index_path",
    "index_written",
    "merge_models",
    "pricing_partial",
    "read_facts",
    "scan_folder",
]

SCHEMA_VERSION = 8  # 4: one model row per canonical (model, provider) in each session;
#                      5: the source and the tags of each session (rad ui filters by them);
#                      6: API, tool and active time, cache savings (rad ui's overview);
#                      7: a change counter, sessions by agent, by source, and the active ones;
#                      8: per-day sums of the sessions (rad ui's overview of whole days)
INDEX_NAME = "index.sqlite3"
STALE_MARKER = "index.stale"
BUSY_TIMEOUT_S = 30.0
#: The folder's mtime is trusted only when the full check that recorded it ran at least this
#: long after it: a change within the same timestamp tick would otherwise go unseen.
RACY_NS = 2_000_000_000
BATCH = 500
BULK = 1000  # changed files from which a full check recomputes the day tables once
DAY_US = 86_400_000_000
#: Largest count or amount the index sums: sums of a few million of them stay in 64 bits.
MAX_VALUE = 2**53
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)

Progress = Callable[[int, int], None]
"""Called with (files done, files to do) while files are parsed."""


class IndexUnavailable(Exception):
    """The index cannot be opened or updated here (read-only folder, locked too long, ...)."""


# --- facts: what the index records about one session -----------------------------------------
@dataclass(frozen=True, slots=True)
class FileStat:
    """What identifies one version of a file: a rewrite renames a new inode over it."""

    ino: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        """The identity of a ``stat`` result."""
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """Usage of one model (of one provider) in one session, or summed over sessions."""

    model: str
    provider: str | None
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    reasoning_tokens: int
    latency_us: int
    cost_nusd: int | None  # None: no part of it priced
    cost_partial: bool = False  # the sum leaves out unpriced parts
    sessions: int = 1


@dataclass(frozen=True, slots=True)
class ToolFacts:
    """Executed calls of one tool in one session, or summed over sessions."""

    tool: str
    calls: int
    successes: int
    failures: int
    duration_us: int
    error_types: tuple[tuple[str, int], ...] = ()  # sorted by name
    sessions: int = 1


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """One session file as the index keeps it."""

    file: str
    id: str
    start_us: int
    end_us: int | None
    updated_us: int | None
    status: str  # as stored: a stale ``active`` is told at query time (`effective_status`)
    agent: str | None
    pid: int | None
    host: str | None
    stale_after_us: int
    wall_us: int
    tool_calls: int
    tool_successes: int
    tool_failures: int
    requests: int
    input_tokens: int
    output_tokens: int
    cost_nusd: int | None
    cost_partial: bool
    unpriced: bool  # no cost known although models were used
    lines_added: int | None
    lines_removed: int | None
    models: tuple[ModelFacts, ...] = ()
    tools: tuple[ToolFacts, ...] = ()
    decisions: tuple[tuple[str, int], ...] = ()  # sorted by decision
    source: str | None = None  # metadata.source: claude-code, codex, gemini-cli, otlp, ...
    tags: tuple[tuple[str, str], ...] = ()  # metadata.tags, sorted by key
    api_us: int = 0
    tool_us: int = 0
    active_us: int = 0
    savings_nusd: int | None = None  # cache_stats.savings_usd


@dataclass(frozen=True, slots=True)
class DayTotals:
    """Sessions that started on one UTC day (days since 1970-01-01)."""

    day: int
    sessions: int
    tool_calls: int
    tool_successes: int
    input_tokens: int
    output_tokens: int
    cost_nusd: int | None
    cost_partial: bool


def to_us(t: datetime) -> int:
    """Microseconds since the epoch, exactly."""
    return (t - _EPOCH) // _US


def from_us(us: int) -> datetime:
    """Inverse of `to_us` (UTC)."""
    return _EPOCH + timedelta(microseconds=us)


# Negative and NaN values are refused as `SessionRecord.from_json` refuses them, so that a
# record written in this process is indexed as a reader of its file would see it.
def _seconds_us(value: float, name: str) -> int:
    return round(_finite(value, name, MAX_VALUE / 1e6) * 1_000_000)


def _usd_nanos(value: float | None, name: str) -> int | None:
    if value is None:
        return None
    return round(_finite(value, name, MAX_VALUE / 1e9) * 1_000_000_000)


def _finite(value: float, name: str, limit: float) -> float:
    if not value >= 0:
        raise RecordError(f"field {name!r} is negative or not a number")
    if value > limit:
        raise RecordError(f"field {name!r} is too large")
    return value


def _count(value: int, name: str) -> int:
    if value < 0:
        raise RecordError(f"field {name!r} is negative")
    if value > MAX_VALUE:
        raise RecordError(f"field {name!r} is too large")
    return value


def _text(value: str, name: str) -> str:
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"field {name!r} is not valid Unicode") from None
    return value


def _opt_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_VALUE else None


def pricing_partial(record: SessionRecord) -> bool:
    """``record.pricing["partial"]`` when the record has pricing details (newer records)."""
    pricing = getattr(record, "pricing", None)
    if isinstance(pricing, Mapping):
        return pricing.get("partial") is True
    return getattr(pricing, "partial", None) is True


def facts_from_record(record: SessionRecord, file: str) -> SessionFacts:
    """The facts of ``record`` stored in ``file``.

    Raises `RecordError` for values the index cannot sum exactly (beyond 2**53) or store
    (text that is not valid Unicode); such a file is skipped like an unreadable one.
    """
    rows = (
        ModelFacts(
            model=_text(m.model, "model"),
            provider=_text(m.provider, "provider") if m.provider is not None else None,
            requests=_count(m.requests, "requests"),
            errors=_count(m.errors, "errors"),
            input_tokens=_count(m.input_tokens, "input_tokens"),
            output_tokens=_count(m.output_tokens, "output_tokens"),
            cache_read_tokens=_count(m.cache_read_tokens, "cache_read_tokens"),
            cache_creation_tokens=_count(m.cache_creation_tokens, "cache_creation_tokens"),
            reasoning_tokens=_count(m.reasoning_tokens, "reasoning_tokens"),
            latency_us=_seconds_us(m.latency_s, "latency_s"),
            cost_nusd=_usd_nanos(m.cost_usd, "cost_usd"),
        )
        for m in record.model_usage
    )
    models = merge_models(rows, one_session=True)  # older records: a row per spelling
    tools = tuple(
        ToolFacts(
            tool=_text(name, "tools"),
            calls=_count(t.calls, "calls"),
            successes=_count(t.successes, "successes"),
            failures=_count(t.failures, "failures"),
            duration_us=_seconds_us(t.duration_s, "duration_s"),
            error_types=tuple(
                sorted((_text(k, "error_types"), _count(v, k)) for k, v in t.error_types.items())
            ),
        )
        for name, t in sorted(record.tools.items())
    )
    decisions = tuple(
        sorted((_text(k, "decisions"), _count(v, k)) for k, v in record.decisions.items())
    )
    known = [m.cost_nusd for m in models if m.cost_nusd is not None]
    any_unpriced = any(m.cost_nusd is None for m in models)
    cost = _usd_nanos(record.cost_usd, "cost_usd")
    if cost is None and known:
        cost, partial = sum(known), True
    else:
        partial = cost is not None and (any_unpriced or pricing_partial(record))
    meta = record.metadata
    agent, host, pid = meta.get("agent"), meta.get("host"), meta.get("pid")
    source, raw_tags = meta.get("source"), meta.get("tags")
    tags = tuple(
        sorted(
            (_text(str(k), "tags"), _text(str(v), "tags"))
            for k, v in (raw_tags.items() if isinstance(raw_tags, Mapping) else ())
            if isinstance(v, (str, int, float, bool))
        )
    )
    changes = record.code_changes or {}
    return SessionFacts(
        file=file,
        id=_text(record.id, "id"),
        start_us=to_us(record.start_time),
        end_us=to_us(record.end_time) if record.end_time else None,
        updated_us=to_us(record.updated_time) if record.updated_time else None,
        status=record.status,
        agent=_text(agent, "agent") if isinstance(agent, str) else None,
        pid=pid if isinstance(pid, int) and abs(pid) < MAX_VALUE else None,
        host=_text(host, "host") if isinstance(host, str) else None,
        stale_after_us=min(int(stale_after_s(meta) * 1_000_000), MAX_VALUE),
        wall_us=_seconds_us(record.wall_time_s, "wall_time_s"),
        tool_calls=_count(record.tool_calls, "tool_calls"),
        tool_successes=_count(record.tool_successes, "tool_successes"),
        tool_failures=_count(record.tool_failures, "tool_failures"),
        requests=sum(m.requests for m in models),
        input_tokens=sum(m.input_tokens for m in models),
        output_tokens=sum(m.output_tokens for m in models),
        cost_nusd=cost,
        cost_partial=partial,
        unpriced=cost is None and bool(models),
        lines_added=_opt_int(changes.get("lines_added")),
        lines_removed=_opt_int(changes.get("lines_removed")),
        models=models,
        tools=tools,
        decisions=decisions,
        source=_text(source, "source") if isinstance(source, str) else None,
        tags=tags,
        api_us=_seconds_us(record.api_time_s, "api_time_s"),
        tool_us=_seconds_us(record.tool_time_s, "tool_time_s"),
        active_us=_seconds_us(record.agent_active_time_s, "agent_active_time_s"),
        savings_nusd=_usd_nanos(record.cache_stats.savings_usd, "savings_usd"),
    )


def merge_models(
    rows: Iterable[ModelFacts], *, one_session: bool = False
) -> tuple[ModelFacts, ...]:
    """One row per canonical (model, provider) (`radium_otel._internal.names`), in order.

    Rows of one session (``one_session``: older records kept a row per spelling; as when a
    record is priced, a row with an unpriced part is unpriced), or sums over sessions: a
    session's rows are merged when it is indexed, and the rules only merge less among more
    names, so no session is in two of the rows merged here and their ``sessions`` add up.
    """
    rows = list(rows)
    canonical = canonical_names((m.model, m.provider) for m in rows)
    groups: dict[tuple[str, str | None], list[ModelFacts]] = {}
    for m in rows:
        groups.setdefault(canonical[m.model, m.provider], []).append(m)
    out = []
    for (model, provider), ms in groups.items():
        if len(ms) == 1 and (ms[0].model, ms[0].provider) == (model, provider):
            out.append(ms[0])
            continue
        known = [m.cost_nusd for m in ms if m.cost_nusd is not None]
        if one_session and len(known) < len(ms):
            known = []
        out.append(
            ModelFacts(
                model=model,
                provider=provider,
                **{name: sum(getattr(m, name) for m in ms) for name in MODEL_COUNTERS},
                cost_nusd=sum(known) if known else None,
                cost_partial=any(m.cost_partial for m in ms) or 0 < len(known) < len(ms),
                sessions=1 if one_session else sum(m.sessions for m in ms),
            )
        )
    return tuple(out)


#: The counters of model usage that add up across sessions and models.
MODEL_COUNTERS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "latency_us",
)


def effective_status(facts: SessionFacts, now: float) -> str:
    """The status a reader reports: a stale ``active`` file reads as ``interrupted``.

    The same rule as `SessionStore.read` (its process is gone, or no checkpoint for
    `stale_after_s`), applied when the row is shown rather than when it was indexed.
    """
    if facts.status != "active":
        return facts.status
    if facts.pid is not None and facts.host == host_name() and not _alive(facts.pid):
        return "interrupted"
    updated = from_us(facts.updated_us if facts.updated_us is not None else facts.start_us)
    stale = now - updated.timestamp() > facts.stale_after_us / 1_000_000
    return "interrupted" if stale else "active"


def _alive(pid: int) -> bool:
    try:
        return _pid_alive(pid)
    except OverflowError:  # beyond the C int of kill(2): no such process
        return False


def read_facts(path: Path) -> tuple[FileStat, SessionFacts]:
    """Parse one session file; the stat is of the very version that was read.

    Raises `RecordError` for files that are not usable session records and `OSError` for
    files that cannot be read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat_module.S_ISREG(st.st_mode):
            raise RecordError("not a regular file")
        raw = f.read()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RecordError(f"not valid JSON ({exc})") from None
    return FileStat.of(st), facts_from_record(SessionRecord.from_json(data), path.name)


def scan_folder(folder: Path) -> dict[str, FileStat]:
    """Name → identity of every session file in ``folder`` (as `SessionStore.paths` lists)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return {}
    found: dict[str, FileStat] = {}
    for e in entries:
        name = e.name
        if not name.endswith(".json") or name.startswith("."):
            continue
        try:
            if e.is_file(follow_symlinks=False):
                found[name] = FileStat.of(e.stat(follow_symlinks=False))
        except FileNotFoundError:
            continue
    return found


def index_path(sessions_folder: Path) -> Path:
    """Where the index of ``sessions_folder`` lives."""
    return sessions_folder.parent / INDEX_NAME


# --- schema ------------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY,
    ino INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    error TEXT  -- NULL when the file is in sessions, else why it was skipped
);
CREATE TABLE IF NOT EXISTS sessions (
    file TEXT PRIMARY KEY, id TEXT NOT NULL,
    start_us INTEGER NOT NULL, end_us INTEGER, updated_us INTEGER,
    status TEXT NOT NULL, agent TEXT, pid INTEGER, host TEXT, stale_after_us INTEGER NOT NULL,
    wall_us INTEGER NOT NULL,
    tool_calls INTEGER NOT NULL, tool_successes INTEGER NOT NULL, tool_failures INTEGER NOT NULL,
    requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cost_nusd INTEGER, cost_partial INTEGER NOT NULL, unpriced INTEGER NOT NULL,
    lines_added INTEGER, lines_removed INTEGER, source TEXT,
    api_us INTEGER NOT NULL, tool_us INTEGER NOT NULL, active_us INTEGER NOT NULL,
    savings_nusd INTEGER
);
CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (start_us, id, file);
CREATE INDEX IF NOT EXISTS sessions_by_agent ON sessions (agent, start_us);
CREATE INDEX IF NOT EXISTS sessions_by_source ON sessions (source, start_us);
CREATE INDEX IF NOT EXISTS sessions_active ON sessions (start_us) WHERE status = 'active';
CREATE TABLE IF NOT EXISTS models (
    file TEXT NOT NULL, model TEXT NOT NULL, provider TEXT,
    requests INTEGER NOT NULL, errors INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_creation_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL, latency_us INTEGER NOT NULL, cost_nusd INTEGER
);
CREATE INDEX IF NOT EXISTS models_by_file ON models (file);
CREATE TABLE IF NOT EXISTS tools (
    file TEXT NOT NULL, tool TEXT NOT NULL, calls INTEGER NOT NULL, successes INTEGER NOT NULL,
    failures INTEGER NOT NULL, duration_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tools_by_file ON tools (file);
CREATE TABLE IF NOT EXISTS tool_errors (
    file TEXT NOT NULL, tool TEXT NOT NULL, error_type TEXT NOT NULL, count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tool_errors_by_file ON tool_errors (file);
CREATE TABLE IF NOT EXISTS decisions (
    file TEXT NOT NULL, decision TEXT NOT NULL, count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_file ON decisions (file);
CREATE TABLE IF NOT EXISTS tags (file TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tags_by_file ON tags (file);
CREATE INDEX IF NOT EXISTS tags_by_key ON tags (key, value);
CREATE TABLE IF NOT EXISTS model_days (
    day INTEGER NOT NULL, model TEXT NOT NULL, pkey TEXT NOT NULL,
    sessions INTEGER NOT NULL, requests INTEGER NOT NULL, errors INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_creation_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL, latency_us INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL, priced INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, model, pkey)
);
CREATE TABLE IF NOT EXISTS tool_days (
    day INTEGER NOT NULL, tool TEXT NOT NULL, sessions INTEGER NOT NULL,
    calls INTEGER NOT NULL, successes INTEGER NOT NULL, failures INTEGER NOT NULL,
    duration_us INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, tool)
);
CREATE TABLE IF NOT EXISTS tool_error_days (
    day INTEGER NOT NULL, tool TEXT NOT NULL, error_type TEXT NOT NULL,
    count INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, tool, error_type)
);
CREATE TABLE IF NOT EXISTS decision_days (
    day INTEGER NOT NULL, decision TEXT NOT NULL, count INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, decision)
);
CREATE TABLE IF NOT EXISTS session_days (
    day INTEGER PRIMARY KEY, sessions INTEGER NOT NULL, tool_calls INTEGER NOT NULL,
    tool_successes INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL, priced INTEGER NOT NULL, partial INTEGER NOT NULL,
    api_us INTEGER NOT NULL, tool_us INTEGER NOT NULL, savings_nusd INTEGER NOT NULL,
    savings_n INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS files_added AFTER INSERT ON files BEGIN
    {count}; END;
CREATE TRIGGER IF NOT EXISTS files_removed AFTER DELETE ON files BEGIN
    {count}; END;
""".format(
    # The change counter (`SessionIndex.version`): every file recorded or dropped moves it on
    # (a trigger's body stays on its line: `_connect` runs the script split at ";\n").
    # It starts at the time in ns (as SQLite tells it, to the ms), so a counter dropped with
    # the meta rows or the whole file starts again above any value it had before.
    count="INSERT INTO meta (key, value) VALUES ('changes', "
    "CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER)) "
    "ON CONFLICT (key) DO UPDATE SET value = value + 1"
)
_CHILD_TABLES = ("models", "tools", "tool_errors", "decisions", "tags")
_SESSION_COLUMNS = (
    "file, id, start_us, end_us, updated_us, status, agent, pid, host, stale_after_us, wall_us, "
    "tool_calls, "
    "tool_successes, tool_failures, requests, input_tokens, output_tokens, cost_nusd, "
    "cost_partial, unpriced, lines_added, lines_removed, source, api_us, tool_us, active_us, "
    "savings_nusd"
)


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """True for errors that mean the file is not (or no longer) a usable database."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return type(exc) is sqlite3.DatabaseError


class _OtherSchema(Exception):
    """The index was written by another version of radium-otel."""


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """An open index with the current schema; creates the file (0600) when ``create``."""
    if path.is_symlink():
        raise IndexUnavailable(f"refusing to open a symlinked index: {path}")
    if create:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    elif not path.exists():
        raise FileNotFoundError(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            with _immediate(conn):
                if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                    # One statement at a time: executescript() would commit first.
                    for statement in filter(str.strip, _SCHEMA.split(";\n")):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise _OtherSchema(f"index schema {version}, expected {SCHEMA_VERSION}")
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (the write lock is taken at once, waiting up to the timeout)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _put(
    conn: sqlite3.Connection,
    name: str,
    st: FileStat,
    facts: SessionFacts | str,
    *,
    days: bool = True,
) -> None:
    """Replace everything the index knows about file ``name`` (facts, or why it was skipped).

    ``days``: keep the day tables in step (a bulk build recomputes them at the end instead).
    """
    _delete(conn, name, days=days)
    error = facts if isinstance(facts, str) else None
    conn.execute(
        "INSERT INTO files (name, ino, mtime_ns, size, error) VALUES (?, ?, ?, ?, ?)",
        (name, st.ino, st.mtime_ns, st.size, error),
    )
    if isinstance(facts, str):
        return
    f = facts
    conn.execute(
        f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES ({', '.join('?' * 27)})",
        (
            name, f.id, f.start_us, f.end_us, f.updated_us, f.status, f.agent, f.pid, f.host,
            f.stale_after_us, f.wall_us, f.tool_calls, f.tool_successes, f.tool_failures,
            f.requests, f.input_tokens, f.output_tokens, f.cost_nusd, int(f.cost_partial),
            int(f.unpriced), f.lines_added, f.lines_removed, f.source, f.api_us, f.tool_us,
            f.active_us, f.savings_nusd,
        ),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                name, m.model, m.provider, m.requests, m.errors, m.input_tokens,
                m.output_tokens, m.cache_read_tokens, m.cache_creation_tokens,
                m.reasoning_tokens, m.latency_us, m.cost_nusd,
            )
            for m in f.models
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO tools VALUES (?, ?, ?, ?, ?, ?)",
        [(name, t.tool, t.calls, t.successes, t.failures, t.duration_us) for t in f.tools],
    )
    conn.executemany(
        "INSERT INTO tool_errors VALUES (?, ?, ?, ?)",
        [(name, t.tool, kind, n) for t in f.tools for kind, n in t.error_types],
    )
    conn.executemany("INSERT INTO decisions VALUES (?, ?, ?)", [(name, *d) for d in f.decisions])
    conn.executemany("INSERT INTO tags VALUES (?, ?, ?)", [(name, *t) for t in f.tags])
    if days:
        _add_days(conn, name, f.start_us // DAY_US, +1)


def _delete(conn: sqlite3.Connection, name: str, *, days: bool = True) -> None:
    row = conn.execute("SELECT start_us FROM sessions WHERE file = ?", (name,)).fetchone()
    if row is not None and days:
        _add_days(conn, name, row[0] // DAY_US, -1)
    conn.execute("DELETE FROM files WHERE name = ?", (name,))
    conn.execute("DELETE FROM sessions WHERE file = ?", (name,))
    for table in _CHILD_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE file = ?", (name,))


# Per-day sums of the per-file rows: a report over whole days reads these (a few rows a day)
# instead of every session's rows. `n` counts the contributing rows; a row at 0 is dropped.
# Each statement adds (sign +1) or takes back (-1) one file's rows, in its transaction.
_DAY_SUMS = (
    (
        "INSERT INTO model_days SELECT ?1, model, IFNULL(provider, ''), ?2, ?2 * SUM(requests), "
        "?2 * SUM(errors), ?2 * SUM(input_tokens), ?2 * SUM(output_tokens), "
        "?2 * SUM(cache_read_tokens), ?2 * SUM(cache_creation_tokens), "
        "?2 * SUM(reasoning_tokens), ?2 * SUM(latency_us), ?2 * IFNULL(SUM(cost_nusd), 0), "
        "?2 * COUNT(cost_nusd), ?2 * COUNT(*) FROM models WHERE file = ?3 "
        "GROUP BY model, IFNULL(provider, '') "
        "ON CONFLICT (day, model, pkey) DO UPDATE SET sessions = sessions + excluded.sessions, "
        "requests = requests + excluded.requests, errors = errors + excluded.errors, "
        "input_tokens = input_tokens + excluded.input_tokens, "
        "output_tokens = output_tokens + excluded.output_tokens, "
        "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, "
        "cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens, "
        "reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, "
        "latency_us = latency_us + excluded.latency_us, "
        "cost_nusd = cost_nusd + excluded.cost_nusd, priced = priced + excluded.priced, "
        "n = n + excluded.n",
        "DELETE FROM model_days WHERE day = ?1 AND n = 0",
    ),
    (
        "INSERT INTO tool_days SELECT ?1, tool, ?2, ?2 * SUM(calls), ?2 * SUM(successes), "
        "?2 * SUM(failures), ?2 * SUM(duration_us), ?2 * COUNT(*) FROM tools WHERE file = ?3 "
        "GROUP BY tool "
        "ON CONFLICT (day, tool) DO UPDATE SET sessions = sessions + excluded.sessions, "
        "calls = calls + excluded.calls, successes = successes + excluded.successes, "
        "failures = failures + excluded.failures, "
        "duration_us = duration_us + excluded.duration_us, n = n + excluded.n",
        "DELETE FROM tool_days WHERE day = ?1 AND n = 0",
    ),
    (
        "INSERT INTO tool_error_days SELECT ?1, tool, error_type, ?2 * SUM(count), "
        "?2 * COUNT(*) FROM tool_errors WHERE file = ?3 GROUP BY tool, error_type "
        "ON CONFLICT (day, tool, error_type) DO UPDATE SET count = count + excluded.count, "
        "n = n + excluded.n",
        "DELETE FROM tool_error_days WHERE day = ?1 AND n = 0",
    ),
    (
        "INSERT INTO decision_days SELECT ?1, decision, ?2 * SUM(count), ?2 * COUNT(*) "
        "FROM decisions WHERE file = ?3 GROUP BY decision "
        "ON CONFLICT (day, decision) DO UPDATE SET count = count + excluded.count, "
        "n = n + excluded.n",
        "DELETE FROM decision_days WHERE day = ?1 AND n = 0",
    ),
    (
        "INSERT INTO session_days SELECT ?1, ?2, ?2 * tool_calls, ?2 * tool_successes, "
        "?2 * input_tokens, ?2 * output_tokens, ?2 * IFNULL(cost_nusd, 0), "
        "?2 * (cost_nusd IS NOT NULL), ?2 * (cost_partial OR unpriced), ?2 * api_us, "
        "?2 * tool_us, ?2 * IFNULL(savings_nusd, 0), ?2 * (savings_nusd IS NOT NULL) "
        "FROM sessions WHERE file = ?3 "
        "ON CONFLICT (day) DO UPDATE SET sessions = sessions + excluded.sessions, "
        "tool_calls = tool_calls + excluded.tool_calls, "
        "tool_successes = tool_successes + excluded.tool_successes, "
        "input_tokens = input_tokens + excluded.input_tokens, "
        "output_tokens = output_tokens + excluded.output_tokens, "
        "cost_nusd = cost_nusd + excluded.cost_nusd, priced = priced + excluded.priced, "
        "partial = partial + excluded.partial, api_us = api_us + excluded.api_us, "
        "tool_us = tool_us + excluded.tool_us, "
        "savings_nusd = savings_nusd + excluded.savings_nusd, "
        "savings_n = savings_n + excluded.savings_n",
        "DELETE FROM session_days WHERE day = ?1 AND sessions = 0",
    ),
)


_DAY = (
    f"(CASE WHEN s.start_us >= 0 THEN s.start_us / {DAY_US} "
    f"ELSE (s.start_us + 1) / {DAY_US} - 1 END)"
)
_RECOMPUTE_DAYS = (
    "DELETE FROM model_days",
    f"INSERT INTO model_days SELECT {_DAY}, c.model, IFNULL(c.provider, ''), "
    "COUNT(DISTINCT c.file), SUM(c.requests), SUM(c.errors), SUM(c.input_tokens), "
    "SUM(c.output_tokens), SUM(c.cache_read_tokens), SUM(c.cache_creation_tokens), "
    "SUM(c.reasoning_tokens), SUM(c.latency_us), IFNULL(SUM(c.cost_nusd), 0), "
    "COUNT(c.cost_nusd), COUNT(*) FROM models c JOIN sessions s ON s.file = c.file "
    f"GROUP BY {_DAY}, c.model, IFNULL(c.provider, '')",
    "DELETE FROM tool_days",
    f"INSERT INTO tool_days SELECT {_DAY}, c.tool, COUNT(DISTINCT c.file), SUM(c.calls), "
    "SUM(c.successes), SUM(c.failures), SUM(c.duration_us), COUNT(*) "
    f"FROM tools c JOIN sessions s ON s.file = c.file GROUP BY {_DAY}, c.tool",
    "DELETE FROM tool_error_days",
    f"INSERT INTO tool_error_days SELECT {_DAY}, c.tool, c.error_type, SUM(c.count), COUNT(*) "
    f"FROM tool_errors c JOIN sessions s ON s.file = c.file "
    f"GROUP BY {_DAY}, c.tool, c.error_type",
    "DELETE FROM decision_days",
    f"INSERT INTO decision_days SELECT {_DAY}, c.decision, SUM(c.count), COUNT(*) "
    f"FROM decisions c JOIN sessions s ON s.file = c.file GROUP BY {_DAY}, c.decision",
    "DELETE FROM session_days",
    f"INSERT INTO session_days SELECT {_DAY}, COUNT(*), SUM(s.tool_calls), "
    "SUM(s.tool_successes), SUM(s.input_tokens), SUM(s.output_tokens), "
    "IFNULL(SUM(s.cost_nusd), 0), COUNT(s.cost_nusd), SUM(s.cost_partial OR s.unpriced), "
    "SUM(s.api_us), SUM(s.tool_us), IFNULL(SUM(s.savings_nusd), 0), COUNT(s.savings_nusd) "
    f"FROM sessions s GROUP BY {_DAY}",
)


def _add_days(conn: sqlite3.Connection, name: str, day: int, sign: int) -> None:
    for add, drop in _DAY_SUMS:
        conn.execute(add, (day, sign, name))
        if sign < 0:
            conn.execute(drop, (day,))


# --- the write hook ----------------------------------------------------------------------------
def index_written(sessions_folder: Path, record: SessionRecord, path: Path, st: FileStat) -> None:
    """Record a file `SessionStore.write` just renamed into place; never raises.

    ``st`` is the identity of the version this writer wrote (taken before the rename), so a
    concurrent writer of the same file leaves a row whose stat tells it apart from the disk.
    """
    index_many(sessions_folder, [(record, path, st)])


def index_many(
    sessions_folder: Path, written: Sequence[tuple[SessionRecord, Path, FileStat]]
) -> None:
    """`index_written` for several files, in one transaction (`rad import`); never raises."""
    if not written:
        return
    index = index_path(sessions_folder)
    try:
        rows: list[tuple[str, FileStat, SessionFacts | str]] = []
        for record, path, st in written:
            try:
                # `facts_from_record` refuses what a reader of the file would refuse (say,
                # a NaN written by a bug); the reader then says why, in its own words.
                facts: SessionFacts | str = facts_from_record(record, path.name)
            except RecordError:
                try:
                    facts = facts_from_record(SessionRecord.from_json(record.to_json()), path.name)
                except RecordError as exc:
                    facts = str(exc)
            rows.append((path.name, st, facts))
        conn = _connect(index, create=True)
        try:
            with _immediate(conn):
                for name, st, facts in rows:
                    _put(conn, name, st, facts)
        finally:
            conn.close()
    except (sqlite3.Error, OSError, IndexUnavailable, _OtherSchema) as exc:
        warn_once(
            f"index:{index}", "radium-otel: session index not updated (%s); it will be rebuilt", exc
        )
        with contextlib.suppress(OSError):
            (sessions_folder.parent / STALE_MARKER).touch(mode=0o600)
    except Exception as exc:  # a bug here must not fail the write (raised under pytest)
        log_internal_error("session index update", exc)
        with contextlib.suppress(OSError):
            (sessions_folder.parent / STALE_MARKER).touch(mode=0o600)


# --- the reader --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What `SessionIndex.refresh` did."""

    checked: bool  # a full check ran (else the quick check said fresh)
    rebuilt: bool  # the index file was missing, corrupt or of another schema
    parsed: int  # files parsed
    removed: int  # rows of files that are gone


class SessionIndex:
    """The index of one sessions folder, kept fresh by `refresh` and queried by reports."""

    def __init__(
        self,
        sessions_folder: Path,
        *,
        clock: Callable[[], int] = time.time_ns,
        bulk: int = BULK,
    ) -> None:
        self.folder = sessions_folder
        self.bulk = bulk
        self.path = index_path(sessions_folder)
        self._marker = sessions_folder.parent / STALE_MARKER
        self._clock = clock
        self._conn: sqlite3.Connection | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> SessionIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the index stays on disk)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (after `refresh`)."""
        if self._conn is None:
            raise IndexUnavailable("the index is not open (call refresh first)")
        return self._conn

    def _open(self) -> bool:
        """Open the index, rebuilding the file when missing, corrupt or of another schema.

        Returns True when the file was (re)created.
        """
        self.close()
        if not self.folder.parent.is_dir():
            # Nothing was ever written here: an in-memory index of the (missing) folder.
            self._conn = sqlite3.connect(":memory:", isolation_level=None)
            self._conn.executescript(_SCHEMA)
            return True
        existed = self.path.exists()
        try:
            self._conn = _connect(self.path, create=True)
            return not existed
        except (_OtherSchema, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not _is_corrupt(exc):
                raise IndexUnavailable(str(exc)) from exc
        except OSError as exc:
            raise IndexUnavailable(f"cannot open the index: {exc.strerror or exc}") from exc
        _remove_files(self.path)
        try:
            self._conn = _connect(self.path, create=True)
        except (OSError, sqlite3.Error, _OtherSchema) as exc:
            raise IndexUnavailable(f"cannot rebuild the index: {exc}") from exc
        return True

    def refresh(self, *, force: bool = False, progress: Progress | None = None) -> RefreshResult:
        """Make the index match the folder (see the module docstring); ``force`` re-reads all.

        Raises `IndexUnavailable` when the index cannot be used; the caller then reads the
        files directly.
        """
        try:
            return self._refresh(force, progress)
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise IndexUnavailable(str(exc)) from exc
        # Corruption found past the header: start over from the files.
        self.close()
        _remove_files(self.path)
        try:
            result = self._refresh(True, progress)
        except sqlite3.Error as exc:
            raise IndexUnavailable(str(exc)) from exc
        return RefreshResult(True, True, result.parsed, result.removed)

    def rebuild_after(self, exc: sqlite3.DatabaseError) -> bool:
        """After a query failed with ``exc``: rebuild when it meant corruption (True)."""
        if not _is_corrupt(exc):
            return False
        self.close()
        _remove_files(self.path)
        self.refresh(force=True)
        return True

    def _refresh(self, force: bool, progress: Progress | None) -> RefreshResult:
        created = self._open()
        conn = self.conn
        stale = self._marker.exists()
        if stale:
            with contextlib.suppress(FileNotFoundError):
                self._marker.unlink()
        if not (force or created or stale) and self._quick_check():
            return RefreshResult(False, False, 0, 0)
        parsed, removed = self._full_check(conn, force, progress)
        return RefreshResult(True, created, parsed, removed)

    def _dir_mtime(self) -> int | None:
        try:
            return os.stat(self.folder).st_mtime_ns
        except FileNotFoundError:
            return None

    def _quick_check(self) -> bool:
        meta: dict[str, int] = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        mtime, checked = meta.get("dir_mtime_ns"), meta.get("checked_ns")
        if "days_dirty" in meta or mtime is None or checked is None or checked - mtime <= RACY_NS:
            return False
        return self._dir_mtime() == mtime

    def _full_check(
        self, conn: sqlite3.Connection, force: bool, progress: Progress | None
    ) -> tuple[int, int]:
        dir_mtime = self._dir_mtime()  # read before listing: a later change moves it on
        checked = self._clock()
        disk = scan_folder(self.folder)
        known = {
            name: FileStat(ino, mtime, size)
            for name, ino, mtime, size in conn.execute(
                "SELECT name, ino, mtime_ns, size FROM files"
            )
        }
        changed = sorted(name for name, st in disk.items() if force or known.get(name) != st)
        gone = sorted(name for name in known if name not in disk)
        # Many changes: leave the day tables be while parsing and recompute them once at the
        # end; the mark makes whoever comes next finish the job if this process dies.
        bulk = len(changed) + len(gone) >= self.bulk
        if bulk:
            with _immediate(conn):
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('days_dirty', 1)")
        if progress is not None:
            progress(0, len(changed))
        done = 0
        for start in range(0, len(changed), BATCH):
            batch = [(name, self._read(name)) for name in changed[start : start + BATCH]]
            with _immediate(conn):
                for name, result in batch:
                    self._apply(conn, name, result, days=not bulk)
            done += len(batch)
            if progress is not None:
                progress(done, len(changed))
        removed = 0
        with _immediate(conn):
            for name in gone:
                if not os.path.lexists(self.folder / name):
                    _delete(conn, name, days=not bulk)
                    removed += 1
            if conn.execute("SELECT 1 FROM meta WHERE key = 'days_dirty'").fetchone():
                for statement in _RECOMPUTE_DAYS:
                    conn.execute(statement)
                conn.execute("DELETE FROM meta WHERE key = 'days_dirty'")
            if dir_mtime is None:
                conn.execute("DELETE FROM meta")
            else:
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("dir_mtime_ns", dir_mtime), ("checked_ns", checked)],
                )
        return len(changed), removed

    def _read(self, name: str) -> tuple[FileStat, SessionFacts | str] | None:
        """The facts of one file, or why it is skipped; None when it is gone."""
        path = self.folder / name
        try:
            return read_facts(path)
        except FileNotFoundError:
            return None
        except RecordError as exc:
            reason = str(exc)
        except OSError as exc:
            reason = f"cannot read ({exc.strerror or exc})"
        try:
            return FileStat.of(os.lstat(path)), reason
        except FileNotFoundError:
            return None

    def _apply(
        self,
        conn: sqlite3.Connection,
        name: str,
        result: tuple[FileStat, SessionFacts | str] | None,
        *,
        days: bool,
    ) -> None:
        try:
            now = FileStat.of(os.lstat(self.folder / name))
        except FileNotFoundError:
            _delete(conn, name, days=days)
            return
        if result is None or result[0] != now:
            # Replaced since it was read: its writer records it, or the next check does (the
            # folder's mtime moved on past the one this check records).
            return
        _put(conn, name, *result, days=days)

    # --- queries -------------------------------------------------------------------------------
    def unreadable(self) -> list[tuple[str, str]]:
        """Files skipped, with the reason, by name."""
        rows = self.conn.execute(
            "SELECT name, error FROM files WHERE error IS NOT NULL ORDER BY name"
        )
        return [(str(name), str(error)) for name, error in rows]

    def file_count(self) -> int:
        """Session files in the folder at the last check (readable or not)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def version(self) -> int | None:
        """A number that moves on whenever what the index holds changes (a file recorded or
        dropped), to key what is computed from it; None when nothing read should be kept (no
        change counted yet, or the day tables are being recomputed).
        """
        meta = dict(
            self.conn.execute(
                "SELECT key, value FROM meta WHERE key IN ('changes', 'days_dirty')"
            ).fetchall()
        )
        if "days_dirty" in meta:
            return None
        changes = meta.get("changes")
        return None if changes is None else int(changes)

    def names_with_prefix(self, prefix: str) -> int:
        """How many file names start with ``prefix`` (to find unambiguous short ids)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM files WHERE name >= ? AND name < ?", (prefix, prefix + "\x7f")
        ).fetchone()
        return int(row[0])

    def count(self, since_us: int | None, until_us: int | None, agent: str | None = None) -> int:
        """Sessions that started in the window (and ran ``agent``)."""
        where, args = _where(since_us, until_us, agent)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM sessions{where}", args).fetchone()[0])

    def history(
        self, since_us: int | None, until_us: int | None, agent: str | None, limit: int | None
    ) -> list[SessionFacts]:
        """Sessions in the window, newest first (without per-model/tool detail)."""
        where, args = _where(since_us, until_us, agent)
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions{where} ORDER BY start_us DESC, id DESC, "
        sql += "file DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_session_from_row(row) for row in self.conn.execute(sql, args)]

    def files_in(self, since_us: int | None, until_us: int | None) -> list[str]:
        """File names of the sessions in the window, oldest first."""
        where, args = _where(since_us, until_us, None)
        sql = f"SELECT file FROM sessions{where} ORDER BY start_us, id, file"
        return [str(row[0]) for row in self.conn.execute(sql, args)]

    def models(self, since_us: int | None, until_us: int | None) -> list[ModelFacts]:
        """Per (model, provider) sums over the sessions in the window (unordered)."""
        days, parts = _split(since_us, until_us)
        sums: dict[tuple[str, str], list[int]] = {}
        if days is not None:
            where, args = _day_where(days)
            _merge(
                sums,
                self.conn.execute(
                    "SELECT model, pkey, SUM(sessions), SUM(requests), SUM(errors), "
                    "SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), "
                    "SUM(cache_creation_tokens), SUM(reasoning_tokens), SUM(latency_us), "
                    f"SUM(cost_nusd), SUM(priced), SUM(n) FROM model_days{where} "
                    "GROUP BY model, pkey",
                    args,
                ),
                2,
            )
        if parts:
            join, args = _partial_join(parts)
            _merge(
                sums,
                self.conn.execute(
                    "SELECT c.model, IFNULL(c.provider, ''), COUNT(DISTINCT c.file), "
                    "SUM(c.requests), SUM(c.errors), SUM(c.input_tokens), SUM(c.output_tokens), "
                    "SUM(c.cache_read_tokens), SUM(c.cache_creation_tokens), "
                    "SUM(c.reasoning_tokens), SUM(c.latency_us), IFNULL(SUM(c.cost_nusd), 0), "
                    f"COUNT(c.cost_nusd), COUNT(*) FROM models c{join} "
                    "GROUP BY c.model, IFNULL(c.provider, '')",
                    args,
                ),
                2,
            )
        return [
            ModelFacts(
                model, pkey or None, req, err, inp, out, cr, cc, rs, lat,
                cost if priced else None, cost_partial=0 < priced < n, sessions=sessions,
            )
            for (model, pkey), (sessions, req, err, inp, out, cr, cc, rs, lat, cost, priced, n)
            in sums.items()
        ]  # fmt: skip

    def tools(self, since_us: int | None, until_us: int | None) -> list[ToolFacts]:
        """Per-tool sums over the sessions in the window (unordered)."""
        days, parts = _split(since_us, until_us)
        sums: dict[tuple[str], list[int]] = {}
        errors: dict[tuple[str, str], list[int]] = {}
        if days is not None:
            where, args = _day_where(days)
            _merge(
                sums,
                self.conn.execute(
                    "SELECT tool, SUM(sessions), SUM(calls), SUM(successes), SUM(failures), "
                    f"SUM(duration_us) FROM tool_days{where} GROUP BY tool",
                    args,
                ),
                1,
            )
            _merge(
                errors,
                self.conn.execute(
                    f"SELECT tool, error_type, SUM(count) FROM tool_error_days{where} "
                    "GROUP BY tool, error_type",
                    args,
                ),
                2,
            )
        if parts:
            join, args = _partial_join(parts)
            _merge(
                sums,
                self.conn.execute(
                    "SELECT c.tool, COUNT(*), SUM(c.calls), SUM(c.successes), SUM(c.failures), "
                    f"SUM(c.duration_us) FROM tools c{join} GROUP BY c.tool",
                    args,
                ),
                1,
            )
            _merge(
                errors,
                self.conn.execute(
                    f"SELECT c.tool, c.error_type, SUM(c.count) FROM tool_errors c{join} "
                    "GROUP BY c.tool, c.error_type",
                    args,
                ),
                2,
            )
        by_tool: dict[str, list[tuple[str, int]]] = {}
        for (tool, kind), (n,) in sorted(errors.items()):
            by_tool.setdefault(tool, []).append((kind, n))
        return [
            ToolFacts(tool, calls, ok, failed, duration, tuple(by_tool.get(tool, ())), sessions)
            for (tool,), (sessions, calls, ok, failed, duration) in sums.items()
        ]

    def decisions(self, since_us: int | None, until_us: int | None) -> dict[str, int]:
        """Decision → count over the sessions in the window."""
        days, parts = _split(since_us, until_us)
        sums: dict[tuple[str], list[int]] = {}
        if days is not None:
            where, args = _day_where(days)
            _merge(
                sums,
                self.conn.execute(
                    f"SELECT decision, SUM(count) FROM decision_days{where} GROUP BY decision",
                    args,
                ),
                1,
            )
        if parts:
            join, args = _partial_join(parts)
            _merge(
                sums,
                self.conn.execute(
                    f"SELECT c.decision, SUM(c.count) FROM decisions c{join} GROUP BY c.decision",
                    args,
                ),
                1,
            )
        return {kind: n for (kind,), (n,) in sums.items()}

    def days(
        self, since_us: int | None, until_us: int | None, agent: str | None
    ) -> list[DayTotals]:
        """Sums per UTC day of the sessions in the window, by day."""
        # `+agent`: summing every day reads the rows in table order; one agent's rows found
        # through sessions_by_agent (a lookup each) would take twice as long.
        where, args = _where(since_us, until_us, agent, agent_index=False)
        # Days since the epoch, rounded down (SQLite's integer division truncates).
        day = (
            f"(CASE WHEN start_us >= 0 THEN start_us / {DAY_US} "
            f"ELSE (start_us + 1) / {DAY_US} - 1 END)"
        )
        sql = (
            f"SELECT {day} AS d, COUNT(*), SUM(tool_calls), SUM(tool_successes), "
            "SUM(input_tokens), SUM(output_tokens), SUM(cost_nusd), "
            "MAX(cost_partial), MAX(unpriced) "
            f"FROM sessions{where} GROUP BY d ORDER BY d"
        )
        return [
            DayTotals(
                d, n, calls, ok, inp, out, cost,
                cost_partial=cost is not None and bool(partial or unpriced),
            )
            for d, n, calls, ok, inp, out, cost, partial, unpriced in self.conn.execute(sql, args)
        ]  # fmt: skip

    def day_sums(
        self, first_day: int | None, end_day: int | None
    ) -> list[tuple[DayTotals, int, int, int, int]]:
        """What `days` gives (all agents) for the whole days ``first_day`` to ``end_day``
        (excluded), read from the per-day sums, each with the day's API µs, tool µs, cache
        savings n$ and sessions with savings, by day.
        """
        where, args = _day_where((first_day, end_day))
        sql = (
            "SELECT day, sessions, tool_calls, tool_successes, input_tokens, output_tokens, "
            "cost_nusd, priced, partial, api_us, tool_us, savings_nusd, savings_n "
            f"FROM session_days{where} ORDER BY day"
        )
        return [
            (
                DayTotals(
                    d, n, calls, ok, inp, out, cost if priced else None,
                    cost_partial=bool(priced) and bool(partial),
                ),
                api, tool, savings, saved,
            )
            for d, n, calls, ok, inp, out, cost, priced, partial, api, tool, savings, saved
            in self.conn.execute(sql, args)
        ]  # fmt: skip

    def facts(self, name: str) -> SessionFacts | None:
        """Everything the index keeps about one file (tests compare it with the file)."""
        row = self.conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE file = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        base = _session_from_row(row)
        models = tuple(
            ModelFacts(*r)
            for r in self.conn.execute(
                "SELECT model, provider, requests, errors, input_tokens, output_tokens, "
                "cache_read_tokens, cache_creation_tokens, reasoning_tokens, latency_us, "
                "cost_nusd FROM models WHERE file = ? ORDER BY rowid",
                (name,),
            )
        )
        errors: dict[str, list[tuple[str, int]]] = {}
        for tool, kind, n in self.conn.execute(
            "SELECT tool, error_type, count FROM tool_errors WHERE file = ? ORDER BY rowid",
            (name,),
        ):
            errors.setdefault(tool, []).append((kind, n))
        tools = tuple(
            ToolFacts(tool, calls, ok, failed, duration, tuple(errors.get(tool, ())))
            for tool, calls, ok, failed, duration in self.conn.execute(
                "SELECT tool, calls, successes, failures, duration_us FROM tools "
                "WHERE file = ? ORDER BY rowid",
                (name,),
            )
        )
        decisions = tuple(
            (str(k), int(n))
            for k, n in self.conn.execute(
                "SELECT decision, count FROM decisions WHERE file = ? ORDER BY rowid", (name,)
            )
        )
        tags = tuple(
            (str(k), str(v))
            for k, v in self.conn.execute(
                "SELECT key, value FROM tags WHERE file = ? ORDER BY rowid", (name,)
            )
        )
        return _replace_children(base, models, tools, decisions, tags)

    def file_stats(self) -> dict[str, FileStat]:
        """Name → identity recorded for every file."""
        return {
            name: FileStat(ino, mtime, size)
            for name, ino, mtime, size in self.conn.execute(
                "SELECT name, ino, mtime_ns, size FROM files"
            )
        }


def _where(
    since_us: int | None, until_us: int | None, agent: str | None, *, agent_index: bool = True
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if since_us is not None:
        clauses.append("start_us >= ?")
        args.append(since_us)
    if until_us is not None:
        clauses.append("start_us < ?")
        args.append(until_us)
    if agent is not None:
        clauses.append("agent = ?" if agent_index else "+agent = ?")
        args.append(agent)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _split(
    since_us: int | None, until_us: int | None
) -> tuple[tuple[int | None, int | None] | None, list[tuple[int, int]]]:
    """A window as whole UTC days (read from the day tables) and the partial days around them
    (read from the per-session rows): ``(first day, end day)`` or None, and [start, end) ranges.
    """
    first = None if since_us is None else -(-since_us // DAY_US)
    end = None if until_us is None else until_us // DAY_US
    if first is not None and end is not None and first >= end:
        assert since_us is not None and until_us is not None
        return None, [(since_us, until_us)] if since_us < until_us else []
    parts = []
    if since_us is not None and first is not None and first * DAY_US > since_us:
        parts.append((since_us, first * DAY_US))
    if until_us is not None and end is not None and end * DAY_US < until_us:
        parts.append((end * DAY_US, until_us))
    return (first, end), parts


def _day_where(days: tuple[int | None, int | None]) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if days[0] is not None:
        clauses.append("day >= ?")
        args.append(days[0])
    if days[1] is not None:
        clauses.append("day < ?")
        args.append(days[1])
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _partial_join(parts: list[tuple[int, int]]) -> tuple[str, list[Any]]:
    """Restrict a per-file table ``c`` to the sessions that started in ``parts``."""
    ranges = " OR ".join("(s.start_us >= ? AND s.start_us < ?)" for _ in parts)
    return f" JOIN sessions s ON s.file = c.file WHERE {ranges}", [x for p in parts for x in p]


def _merge(sums: dict[Any, list[int]], rows: Iterable[Any], width: int) -> None:
    """Add rows (``width`` key columns, then numbers) into ``sums``."""
    for row in rows:
        key, values = tuple(row[:width]), row[width:]
        total = sums.get(key)
        if total is None:
            sums[key] = list(values)
        else:
            for i, v in enumerate(values):
                total[i] += v


def _session_from_row(row: Iterable[Any]) -> SessionFacts:
    (
        file, sid, start, end, updated, status, agent, pid, host, stale, wall, calls, ok,
        failed, requests, inp, out, cost, partial, unpriced, added, removed, source, api, tool,
        active, savings,
    ) = row  # fmt: skip
    return SessionFacts(
        file, sid, start, end, updated, status, agent, pid, host, stale, wall, calls, ok,
        failed, requests, inp, out, cost, bool(partial), bool(unpriced), added, removed,
        source=source, api_us=api, tool_us=tool, active_us=active, savings_nusd=savings,
    )  # fmt: skip


def _replace_children(
    base: SessionFacts,
    models: tuple[ModelFacts, ...],
    tools: tuple[ToolFacts, ...],
    decisions: tuple[tuple[str, int], ...],
    tags: tuple[tuple[str, str], ...] = (),
) -> SessionFacts:
    from dataclasses import replace

    return replace(base, models=models, tools=tools, decisions=decisions, tags=tags)
