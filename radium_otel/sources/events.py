"""What a source's telemetry says about a session, as events, and one live session's totals.

A source module maps OTLP records to `Item`s: an event for a session, with a key that
identifies the record it came from (a retried batch repeats its keys; an item whose key was
seen is not applied twice). `LiveSession` applies them to the same `SessionState` that
in-process spans feed (model requests through `SessionState.add_request`, so "one request
counts once" holds across a source's log events and spans alike), plus what only outside
sources report: the agent's own cost, who made each decision, line counts.

Items are journaled before the receiver acknowledges them (`to_row` / `from_row`): they hold
names, counts, durations and sizes only, never a prompt, a reply, a tool's input or output.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final

from radium_otel._internal import constants as k
from radium_otel._internal.aggregate import ModelCall, SessionState
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.usage import Usage

__all__ = [
    "Decision",
    "Describe",
    "End",
    "Event",
    "Item",
    "Lines",
    "LiveSession",
    "Opened",
    "Request",
    "Seen",
    "ToolRun",
    "from_row",
    "model_call",
    "to_row",
]

MAX_FILES: Final = 500  # per-file line counts kept per session (totals stay exact)
SEEN_KEYS: Final = 8192  # record keys remembered per session, for retried batches
DECISION_NEAR_NS: Final = 5_000_000_000  # two channels' records of one decision: this close


@dataclass(slots=True, frozen=True)
class Request:
    """A model request; ``scope`` names the signal it came from (one request reported by a
    log event and by a span is counted once, SPEC "One request counts once").
    """

    call: ModelCall
    scope: str
    reported_cost_usd: float | None = None
    # The request started when the session's last `Opened` said (Codex reports a request's
    # start and its usage in two events); its own start is the fallback.
    from_open: bool = False


@dataclass(slots=True, frozen=True)
class Opened:
    """A model request was sent at ``time_ns`` (its usage comes in a later `Request`)."""

    time_ns: int


@dataclass(slots=True, frozen=True)
class ToolRun:
    """A tool call that ran (failed when ``error_type`` is set)."""

    name: str
    start_ns: int
    end_ns: int
    error_type: str | None
    scope: str = ""  # the channel that reported it ("" for live events; "<source>/transcript")


@dataclass(slots=True, frozen=True)
class Decision:
    """A decision about a tool call: one of `constants.DECISIONS`, and who made it."""

    decision: str
    source: str | None
    time_ns: int
    scope: str = ""  # the channel that reported it (see `ToolRun.scope`)


@dataclass(slots=True, frozen=True)
class Lines:
    """Lines added and removed by an edit (in ``path`` when the source names it)."""

    added: int
    removed: int
    path: str | None
    time_ns: int


@dataclass(slots=True, frozen=True)
class Seen:
    """Activity that only bounds the session in time (a prompt, an event we do not count)."""

    start_ns: int
    end_ns: int


@dataclass(slots=True, frozen=True)
class Describe:
    """Facts about the session for its metadata (agent, source, versions, ...)."""

    fields: tuple[tuple[str, str], ...]


@dataclass(slots=True, frozen=True)
class End:
    """The source's own end-of-session signal."""

    time_ns: int


Event = Request | Opened | ToolRun | Decision | Lines | Seen | Describe | End


@dataclass(slots=True, frozen=True)
class Item:
    """One event for one session; ``key`` identifies the record it came from (or None)."""

    session_id: str
    source: str
    key: str | None
    event: Event


def model_call(
    model: str | None,
    provider: str | None,
    start_ns: int,
    end_ns: int,
    error: bool,
    usage: Usage | None,
) -> ModelCall:
    """A request with a normalised `Usage`'s counts (none reported: zeros)."""
    u = usage or Usage()
    return ModelCall(model or "unknown", provider, start_ns, end_ns, error,
                     u.input_tokens or 0, u.output_tokens or 0, u.cache_read_tokens or 0,
                     u.cache_creation_tokens or 0, u.reasoning_tokens or 0,
                     u.cache_creation_1h_tokens or 0)  # fmt: skip


# --- the journal's rows -----------------------------------------------------------------------
def to_row(item: Item) -> list[Any]:
    """``item`` as a JSON-ready list (the journal's line)."""
    e = item.event
    head: list[Any] = [item.session_id, item.source, item.key]
    if isinstance(e, Request):
        c = e.call
        return [*head, "R", e.scope, c.model, c.provider, c.start_ns, c.end_ns, c.error,
                c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_creation_tokens,
                c.reasoning_tokens, c.cache_creation_1h_tokens, e.reported_cost_usd,
                e.from_open]  # fmt: skip
    if isinstance(e, Opened):
        return [*head, "O", e.time_ns]
    if isinstance(e, ToolRun):
        return [*head, "T", e.name, e.start_ns, e.end_ns, e.error_type, e.scope]
    if isinstance(e, Decision):
        return [*head, "D", e.decision, e.source, e.time_ns, e.scope]
    if isinstance(e, Lines):
        return [*head, "L", e.added, e.removed, e.path, e.time_ns]
    if isinstance(e, Seen):
        return [*head, "S", e.start_ns, e.end_ns]
    if isinstance(e, Describe):
        return [*head, "M", [list(f) for f in e.fields]]
    return [*head, "E", e.time_ns]


def from_row(row: list[Any]) -> Item:
    """The item `to_row` wrote; `ValueError`/`TypeError`/`IndexError` for a damaged row."""
    sid, source, key, tag, *rest = row
    event: Event
    if tag == "R":
        scope, model, provider, start, end, error, *tokens, cost, from_open = rest
        call = ModelCall(model, provider, start, end, bool(error), *tokens)
        event = Request(call, scope, cost, bool(from_open))
    elif tag == "O":
        event = Opened(*rest)
    elif tag == "T":
        event = ToolRun(*rest)
    elif tag == "D":
        event = Decision(*rest)
    elif tag == "L":
        event = Lines(*rest)
    elif tag == "S":
        event = Seen(*rest)
    elif tag == "M":
        event = Describe(tuple((str(a), str(b)) for a, b in rest[0]))
    elif tag == "E":
        event = End(*rest)
    else:
        raise ValueError(f"unknown journal row tag {tag!r}")
    if not (isinstance(sid, str) and isinstance(source, str)):
        raise TypeError("journal row without a session id and source")
    return Item(sid, source, key, event)


# --- one live session -------------------------------------------------------------------------
class LiveSession:
    """The running totals of one session a source reports, fed by `apply`."""

    __slots__ = (
        "decision_sources",
        "ended",
        "files",
        "lines",
        "lines_reported",
        "opened_at",
        "reported",
        "reported_cost",
        "seen",
        "source",
        "state",
    )

    def __init__(self, session_id: str, source: str, metadata: dict[str, Any]) -> None:
        self.source = source
        self.state = SessionState(session_id, start_ns=None, explicit=False, metadata=metadata)
        self.reported_cost: Decimal | None = None
        self.decision_sources: dict[str, dict[str, int]] = {}
        self.lines_reported = False
        # Lines added and removed by edits that named their file, and by edits that did not
        # (a metric's counts). Two records of one edit are one of each at most (Claude Code's
        # metric and its transcript's patch): the named ones are kept when there are any.
        self.lines = {True: [0, 0], False: [0, 0]}
        self.files: dict[str, list[int]] = {}
        self.opened_at: int | None = None  # when the request awaiting its usage was sent
        # What was counted, by what it is (a request by its tokens, a tool call by its name,
        # a decision by its verdict) and by the channel that reported it: a record from
        # another channel (the transcript of what live events reported) that matches one in
        # time is a second record of it, not counted (SPEC "One request counts once").
        self.reported: dict[tuple[object, ...], dict[str, list[list[int]]]] = {}
        self.seen: OrderedDict[int, None] = OrderedDict()
        self.ended = False

    def apply(self, item: Item) -> bool:
        """Add ``item``; False when its record was applied before (a retried batch)."""
        if item.key is not None:
            key = hash(item.key)  # (an int is a third of a key's memory; per process)
            if key in self.seen:
                return False
            self.seen[key] = None
            if len(self.seen) > SEEN_KEYS:
                self.seen.popitem(last=False)
        state, e = self.state, item.event
        if isinstance(e, Request):
            call = e.call
            if e.from_open:
                if self.opened_at is not None and self.opened_at <= call.end_ns:
                    call = replace(call, start_ns=self.opened_at)
                self.opened_at = None
            self._bound(call.start_ns, call.end_ns)
            ident = ("request", call.input_tokens, call.output_tokens)
            if self._second_record(ident, e.scope, call.start_ns, call.end_ns):
                return True
            state.add_request(call, self.source)  # (channels are matched here, not there)
            if e.reported_cost_usd is not None and math.isfinite(e.reported_cost_usd):
                # (summed as decimals: the total does not depend on the events' order)
                cost = Decimal(repr(e.reported_cost_usd))
                self.reported_cost = (
                    cost if self.reported_cost is None else self.reported_cost + cost
                )
        elif isinstance(e, Opened):
            self.opened_at = e.time_ns
            self._bound(e.time_ns, e.time_ns)
        elif isinstance(e, ToolRun):
            self._bound(e.start_ns, e.end_ns)
            if self._second_record(("tool", e.name), e.scope, e.start_ns, e.end_ns):
                return True
            state.add_tool_call(e.name, e.start_ns, e.end_ns, e.error_type)
        elif isinstance(e, Decision):
            if e.decision not in k.DECISIONS:
                state.dropped_attributes += 1
                return True
            self._bound(e.time_ns, e.time_ns)
            near = e.time_ns - DECISION_NEAR_NS, e.time_ns + DECISION_NEAR_NS
            if self._second_record(("decision", e.decision), e.scope, *near):
                return True
            state.add_decision(e.decision)
            if e.source:
                by = self.decision_sources.setdefault(e.decision, {})
                by[e.source] = by.get(e.source, 0) + 1
        elif isinstance(e, Lines):
            self._bound(e.time_ns, e.time_ns)
            self.lines_reported = True
            totals = self.lines[e.path is not None]
            totals[0] += e.added
            totals[1] += e.removed
            if e.path is not None:
                row = self.files.get(e.path)
                if row is None and len(self.files) < MAX_FILES:
                    row = self.files[e.path] = [0, 0]
                if row is not None:
                    row[0] += e.added
                    row[1] += e.removed
        elif isinstance(e, Seen):
            self._bound(e.start_ns, e.end_ns)
        elif isinstance(e, Describe):
            for name, text in e.fields:
                if name == "stored_as":  # (a session continued under another id)
                    state.id = text
                else:
                    state.metadata.setdefault(name, text)
        else:
            self._bound(e.time_ns, e.time_ns)
            self.ended = True
        return True

    def _second_record(self, ident: tuple[object, ...], scope: str, start: int, end: int) -> bool:
        """Whether a record from ``scope`` is another channel's record of something counted
        (overlapping it by at least half the shorter interval); remembers it if not.
        """
        channels = self.reported.setdefault(ident, {})
        for other, entries in channels.items():
            if other == scope:
                continue
            for entry in entries:
                if entry[2]:
                    continue
                overlap = min(end, entry[1]) - max(start, entry[0])
                shorter = min(end - start, entry[1] - entry[0])
                if overlap >= 0 and 2 * overlap >= shorter:
                    entry[2] = 1  # matched once: a second record of another is counted
                    return True
        channels.setdefault(scope, []).append([start, end, 0])
        return False

    def _bound(self, start_ns: int, end_ns: int) -> None:
        state = self.state
        if state.first_start_ns is None or start_ns < state.first_start_ns:
            state.first_start_ns = start_ns
        if state.last_end_ns is None or end_ns > state.last_end_ns:
            state.last_end_ns = end_ns

    def record(self, status: str, now_ns: int, *, lines_known: bool) -> SessionRecord:
        """The session as it stands; ``lines_known``: the source reports line counts (else
        code changes are null, SPEC: what a source cannot give is never 0).
        """
        record = self.state.to_record(status, now_ns)
        changes: dict[str, Any] | None = None
        if lines_known or self.lines_reported:
            files = [
                {"path": path, "added": a, "removed": r, "binary": False, "renamed_from": None}
                for path, (a, r) in sorted(self.files.items())
            ]
            named = bool(self.files)
            added, removed = self.lines[named]
            changes = {
                "lines_added": added,
                "lines_removed": removed,
                # (known only when every edit counted named its file, or there was none)
                "files_changed": len(files)
                if (named or not self.lines_reported) and len(files) < MAX_FILES
                else None,
                "files": files,
                "files_truncated": len(files) >= MAX_FILES,
                "measured_by": self.source,
            }
        return replace(
            record,
            code_changes=changes,
            reported_cost_usd=None if self.reported_cost is None else float(self.reported_cost),
            decision_sources={d: dict(sorted(s.items())) for d, s in self.decision_sources.items()},
        )
