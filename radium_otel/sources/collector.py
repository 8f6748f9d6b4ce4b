"""`Collector`: OTLP export requests in, live and finished session records out.

The receiver (`radium_otel.sources.receiver`) hands every decoded export request to
`Collector.ingest`. Each resource's records go to the source that recognises them (Claude
Code, Codex CLI, Gemini CLI: their modules map records to `events.Item`s); spans no source
claims are GenAI spans from any process, replayed through the in-process span processor
(`radium_otel.sources.genai`). What a request adds is journaled and fsynced before `ingest`
returns, so an acknowledged batch survives a killed collector (`Journal`), then applied.

Sessions are live: `tick` (every second, from the collector's thread) writes the records
of sessions that changed as ``active`` and closes those whose source ended them or that
went quiet for ``idle_timeout_s``; a closed session is priced and stored as ``completed``.
Events for a closed session reopen it: its journal is kept (`RETENTION_S`) and replayed, so
a resumed session is one session, counted once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol

from radium_otel._internal.errors import log_internal_error
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore, is_safe_id
from radium_otel.sources.events import Describe, Item, LiveSession, from_row, to_row
from radium_otel.sources.journal import Journal

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from radium_otel.sources.genai import SpanReplay

__all__ = ["DEFAULT_IDLE_TIMEOUT_S", "Collector", "Outcome", "Source"]

logger = logging.getLogger("radium_otel")

DEFAULT_IDLE_TIMEOUT_S: Final = 30 * 60.0
RETENTION_S: Final = 2 * 24 * 3600.0  # journals of closed sessions, for a session resumed later
CLEANUP_EVERY_S: Final = 3600.0
CHECKPOINT_S: Final = 5.0  # a live session's record is written at most this often
_CLOSED: Final = "C"  # journal row: the session was closed and stored
_STORED_AS: Final = "stored_as"  # a `Describe` field: the id a continued session is stored as


class Source(Protocol):
    """One external source's mapping (a module of this package provides one)."""

    name: ClassVar[str]  # as stored in ``metadata.source``: ``claude-code``, ``codex``, ...
    lines_known: ClassVar[bool]  # it reports line counts of edits (else code changes null)

    def recognises(self, resource: Mapping[str, Any], scope: str, event: str | None) -> bool:
        """Whether records of this resource / scope (first event name) are this source's."""

    def logs(self, resource: Mapping[str, Any], records: Sequence[Any], out: list[Item]) -> int:
        """Map log records to items in ``out``; returns how many were rejected."""

    def spans(self, resource: Mapping[str, Any], spans: Sequence[Any], out: list[Item]) -> int:
        """Map spans to items in ``out``; returns how many were rejected."""

    def metrics(self, resource: Mapping[str, Any], metrics: Sequence[Any], out: list[Item]) -> int:
        """Map metric points to items in ``out``; returns how many were rejected."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an export request came to: records rejected, with a one-line reason."""

    rejected: int = 0
    message: str = ""


def default_sources() -> list[Source]:
    """The coding CLIs radium recognises (tried in this order)."""
    from radium_otel.sources import claude_code, codex, gemini_cli

    return [claude_code.SOURCE, codex.SOURCE, gemini_cli.SOURCE]


class Collector:
    """Live sessions of every source, their journal, and the store they end up in."""

    def __init__(
        self,
        store: SessionStore,
        journal_folder: Path,
        *,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        sources: Sequence[Source] | None = None,
        finish: Callable[[SessionRecord], SessionRecord] | None = None,
        time_ns: Callable[[], int] = time.time_ns,
        clock: Callable[[], float] = time.monotonic,
        received_by: str = "rad collect",
        bulk: bool = False,
        lines_known: Mapping[str, bool] | None = None,
    ) -> None:
        self.store = store
        self.received_by = received_by
        self.bulk = bulk  # `rad import`: no fsync per batch or record (see `SessionStore.write`)
        self.idle_timeout_s = idle_timeout_s
        self._sources = None if sources is None else list(sources)
        # source name -> whether it reports line counts (default: as `sources` say)
        self._lines_known = None if lines_known is None else dict(lines_known)
        self._finish = finish
        self._time_ns = time_ns
        self._clock = clock
        self._journal = Journal(journal_folder, sync=not bulk)
        self._lock = threading.Lock()  # live sessions
        self._write_lock = threading.Lock()  # store writes, and which sessions are closed
        self._live: dict[str, LiveSession] = {}
        self._last: dict[str, float] = {}  # session id -> clock of its last item
        self._dirty: set[str] = set()
        self._written: dict[str, float] = {}  # session id -> clock of its last checkpoint
        self._unjournaled: set[str] = set()  # live sessions `add` keeps out of the journal
        self.accepted = 0
        self.duplicates = 0
        self._next_cleanup = clock() + CLEANUP_EVERY_S
        self._span_replay: SpanReplay | None = None

    # (The mappings, OTLP decoding and span replay are loaded when first needed: `rad import`
    # of nothing new needs none of them, ~50 ms of imports.)
    @property
    def sources(self) -> list[Source]:
        """The sources recognised, in the order they are tried."""
        if self._sources is None:
            self._sources = default_sources()
        return self._sources

    @property
    def _spans(self) -> SpanReplay:
        if self._span_replay is None:
            from radium_otel.sources.genai import SpanReplay

            self._span_replay = SpanReplay(self._journal, self.idle_timeout_s, self._clock)
        return self._span_replay

    # --- intake -----------------------------------------------------------------------------
    def ingest(self, signal: str, request: Message) -> Outcome:
        """Map, journal and apply one decoded export request (any thread).

        Raises `OSError` when the journal cannot be written: nothing is acknowledged that
        is not on disk.
        """
        from radium_otel.sources import otlp

        items: list[Item] = []
        rejected = 0
        foreign: list[tuple[Mapping[str, Any], Any, Any]] = []
        if signal == "logs":
            for rl in request.resource_logs:
                resource = otlp.attributes(rl.resource.attributes)
                for sl in rl.scope_logs:
                    records = sl.log_records
                    source = self._source_for(resource, sl.scope.name, _first_event(records))
                    if source is not None:
                        rejected += source.logs(resource, records, items)
        elif signal == "metrics":
            for rm in request.resource_metrics:
                resource = otlp.attributes(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    source = self._source_for(resource, sm.scope.name, None)
                    if source is not None:
                        rejected += source.metrics(resource, sm.metrics, items)
        else:
            for rs in request.resource_spans:
                resource = otlp.attributes(rs.resource.attributes)
                for ss in rs.scope_spans:
                    source = self._source_for(resource, ss.scope.name, None)
                    if source is not None:
                        rejected += source.spans(resource, ss.spans, items)
                    else:
                        foreign.append((resource, ss.scope, ss.spans))
        self._add(items, foreign, continue_stored=True)
        message = f"{rejected} records rejected: see the source mapping's rules" if rejected else ""
        return Outcome(rejected, message)

    def add(self, items: list[Item], unjournaled: Collection[str] = ()) -> None:
        """Journal and apply items read from a source's transcripts (`rad import`): a
        session the journal holds (seen live, or imported before) is reopened and the
        items join it, counted once by their keys; one stored without a journal is
        replaced (the transcript holds all of it). Sessions in ``unjournaled`` that the
        journal does not hold stay out of it until they close (transcripts too old for a
        session to be resumed live before the journal would forget them).
        """
        self._add(items, [], continue_stored=False, unjournaled=unjournaled)

    def journaled(self, session_id: str) -> bool:
        """Whether the journal holds ``session_id`` (its items since it was first seen)."""
        return self._journal.holds(_key(session_id))

    @property
    def retention_s(self) -> float:
        """How long the journal keeps a session nothing was added to."""
        return max(RETENTION_S, 2 * self.idle_timeout_s)

    def _add(
        self,
        items: list[Item],
        foreign: list[tuple[Mapping[str, Any], Any, Any]],
        *,
        continue_stored: bool,
        unjournaled: Collection[str] = (),
    ) -> None:
        with self._lock:
            fresh: set[str] = set()
            for item in list(items):  # a closed session whose events come again: reopened
                sid = item.session_id
                if sid not in self._live and sid not in fresh:
                    fresh.add(sid)
                    reopened = self._reopen(sid)
                    if reopened is None and continue_stored:
                        self._continue(sid, item, items)
                    if reopened is None and sid in unjournaled:
                        self._unjournaled.add(sid)
                    # Live from now on, so that a batch arriving meanwhile joins it.
                    self._live[sid] = reopened or LiveSession(
                        sid, item.source, self._metadata(item)
                    )
            skip: Collection[str] = ()
            if self._unjournaled:
                skip = self._unjournaled.intersection(i.session_id for i in items)
            span_rows = self._spans.rows(foreign) if foreign else {}
        rows: dict[str, list[list[Any]]] = {}
        for item in items:
            if not skip or item.session_id not in skip:
                rows.setdefault(_key(item.session_id), []).append(to_row(item))
        # On disk before it counts (OSError: nothing applied); the fsync holds only the
        # journal's own lock, not the sessions' (other batches are applied meanwhile).
        self._journal.append({**rows, **span_rows})
        with self._lock:
            now = self._clock()
            for item in items:
                self._apply(item, now)
            if foreign:
                self._spans.apply(span_rows, now)

    def revive(self, session_ids: Iterable[str]) -> None:
        """Make sessions the journal holds live again (for `settle` to close them)."""
        with self._lock:
            for sid in session_ids:
                if sid not in self._live:
                    reopened = self._reopen(sid)
                    if reopened is not None:
                        self._live[sid] = reopened

    def settle(self, active: Collection[str] = ()) -> list[SessionRecord]:
        """Store every live session: those in ``active`` (their source still writes them)
        as active, the others closed (`rad import`); returns the records as stored.
        """
        now_ns = self._time_ns()
        out: list[tuple[SessionRecord, bool]] = []
        with self._lock:
            closing = [sid for sid in self._live if sid not in active]
            marked = [sid for sid in closing if sid not in self._unjournaled]
            if marked:
                self._journal.append({_key(sid): [[_CLOSED]] for sid in marked})
            for sid in closing:
                self._unjournaled.discard(sid)
                live = self._live.pop(sid)
                self._last.pop(sid, None)
                self._dirty.discard(sid)
                if not live.state.is_empty():
                    out.append((self._record(live, "completed", now_ns), True))
            for live in self._live.values():
                if not live.state.is_empty():
                    out.append((self._record(live, "active", now_ns), False))
            self._dirty.clear()
        return [self._write(record, final=final) for record, final in out]

    def _source_for(
        self, resource: Mapping[str, Any], scope: str, event: str | None
    ) -> Source | None:
        for source in self.sources:
            if source.recognises(resource, scope, event):
                return source
        return None

    def _apply(self, item: Item, now: float) -> None:
        """Add one item to its live session, reopening a closed one (lock held)."""
        sid = item.session_id
        live = self._live.get(sid)
        if live is None:
            live = self._live[sid] = LiveSession(sid, item.source, self._metadata(item))
        if live.apply(item):
            self.accepted += 1
            self._last[sid] = now
            self._dirty.add(sid)
        else:
            self.duplicates += 1

    def _metadata(self, item: Item) -> dict[str, Any]:
        from radium_otel import __version__

        metadata: dict[str, Any] = {
            "source": item.source,
            "agent": item.source,
            "received_by": self.received_by,
            "radium_otel_version": __version__,
            # An active record stays fresh while the collector runs, however quiet the
            # session (the collector's pid going away marks it interrupted at once).
            "checkpoint_interval_s": self.idle_timeout_s,
        }
        if self.received_by == "rad collect":  # (`rad import` exits: its pid says nothing)
            metadata["host"] = socket.gethostname()
            metadata["pid"] = os.getpid()
        return metadata

    def _continue(self, sid: str, item: Item, items: list[Item]) -> None:
        """A session stored already but no longer in the journal (closed longer ago than
        `RETENTION_S`): its new events are stored beside it as ``<id>-2`` (``-3``, ...) with
        ``metadata.continues_session_id``, never over it (lock held).
        """
        base = sid if is_safe_id(sid) else _safe(sid)
        stored_as, n = base, 1
        while (self.store.folder / f"{stored_as}.json").exists():
            n += 1
            stored_as = f"{base}-{n}"
        if stored_as == base:
            return
        first = Item(sid, item.source, None, Describe(((_STORED_AS, stored_as),
                                                       ("continues_session_id", sid))))  # fmt: skip
        items.insert(0, first)

    def _reopen(self, sid: str) -> LiveSession | None:
        """A session closed earlier, rebuilt from its journal (None when it has none)."""
        wanted = _key(sid)
        live: LiveSession | None = None
        for key, row in self._journal.replay_one(wanted):
            if key != wanted or row == [_CLOSED]:
                continue
            with contextlib.suppress(ValueError, TypeError, IndexError):
                item = from_row(row)
                if live is None:
                    live = LiveSession(sid, item.source, self._metadata(item))
                live.apply(item)
        return live

    # --- recovery -----------------------------------------------------------------------------
    def recover(self) -> int:
        """Load what the journal holds of sessions still open (at start); returns how many."""
        self._journal.forget_older_than(self.retention_s)
        rows: dict[str, list[list[Any]]] = {}
        for key, row in self._journal.replay():
            rows.setdefault(key, []).append(row)
        now = self._clock()
        with self._lock:
            for key, kept in rows.items():
                if key.startswith("p:"):
                    self._spans.recover(key, kept, now)
                    continue
                if kept[-1] == [_CLOSED]:
                    continue
                for row in kept:
                    if row == [_CLOSED]:
                        continue
                    try:
                        item = from_row(row)
                    except (ValueError, TypeError, IndexError):
                        continue
                    self._apply(item, now)
            return len(self._live) + self._spans.open_units()

    # --- the collector's thread ---------------------------------------------------------------
    def tick(self) -> None:
        """Write changed sessions as active; close ended and idle ones; now and then, forget
        journals older than `RETENTION_S`.
        """
        now = self._clock()
        now_ns = self._time_ns()
        if now >= self._next_cleanup:
            self._next_cleanup = now + CLEANUP_EVERY_S
            with self._lock:
                self._journal.forget_older_than(self.retention_s)
        out: list[tuple[SessionRecord, bool]] = []
        with self._lock:
            closing = [
                sid
                for sid, live in self._live.items()
                if live.ended or now - self._last.get(sid, now) >= self.idle_timeout_s
            ]
            if closing:
                try:
                    self._journal.append({_key(sid): [[_CLOSED]] for sid in closing})
                except OSError as exc:  # kept live: closed at a later tick
                    log_internal_error("journaling closed sessions", exc)
                    closing = []
            for sid in closing:
                live = self._live.pop(sid)
                self._last.pop(sid, None)
                self._written.pop(sid, None)
                self._dirty.discard(sid)
                if not live.state.is_empty():
                    out.append((self._record(live, "completed", now_ns), True))
            for sid in list(self._dirty):
                if now - self._written.get(sid, -CHECKPOINT_S) < CHECKPOINT_S:
                    continue  # (written a moment ago: next time)
                self._dirty.discard(sid)
                live = self._live[sid]
                if not live.state.is_empty():
                    self._written[sid] = now
                    out.append((self._record(live, "active", now_ns), False))
            out.extend(self._spans.tick(now, now_ns))
        for record, final in out:
            self._write(record, final=final)

    def _record(self, live: LiveSession, status: str, now_ns: int) -> SessionRecord:
        if self._lines_known is None:
            self._lines_known = {s.name: s.lines_known for s in self.sources}
        known = self._lines_known.get(live.source, False)
        return live.record(status, now_ns, lines_known=known)

    def _write(self, record: SessionRecord, *, final: bool) -> SessionRecord:
        """Store ``record`` (priced when final); a disk error is logged, never raised.
        Returns the record as stored.
        """
        if not is_safe_id(record.id):
            record = replace(
                record, id=_safe(record.id), metadata={**record.metadata, "source_id": record.id}
            )
        if final and self._finish is not None:
            try:
                record = self._finish(record)
            except Exception as exc:
                log_internal_error("finishing a collected session", exc)
        with self._write_lock:
            try:
                self.store.write(record, bulk=self.bulk)
            except OSError as exc:
                logger.warning("radium-otel: could not write session %s: %s", record.id, exc)
        return record

    def snapshot(self) -> list[SessionRecord]:
        """Every live session as it stands (for tests and `rad collect` status)."""
        now_ns = self._time_ns()
        with self._lock:
            return [
                self._record(live, "active", now_ns)
                for live in self._live.values()
                if not live.state.is_empty()
            ]

    def close(self) -> None:
        """At stop: write every live session as active; the journal keeps them for the next
        start (a collector restarted resumes them).
        """
        with self._lock:
            self._dirty.update(self._live)
        now_ns = self._time_ns()
        with self._lock:
            active = [self._record(self._live[s], "active", now_ns) for s in self._dirty]
            self._dirty.clear()
            records = self._spans.tick(self._clock(), now_ns, flush=True)
        for record in active:
            if record.model_usage or record.tools or record.decisions:
                self._write(record, final=False)
        for record, final in records:
            self._write(record, final=final)


def _key(session_id: str) -> str:
    return f"s:{session_id}"


def _safe(session_id: str) -> str:
    """A stored id for a source's session id that is not a safe file name."""
    import hashlib

    return "src-" + hashlib.sha256(session_id.encode()).hexdigest()[:32]


def _first_event(records: Iterable[Any]) -> str | None:
    from radium_otel.sources import otlp

    for record in records:
        for kv in record.attributes:
            if kv.key == "event.name":
                return str(otlp.value(kv.value))
        body = record.body.string_value
        return body or None
    return None
