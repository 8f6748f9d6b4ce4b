"""`SessionSpanProcessor`: turns finished spans into per-session totals.

Spans are classified by their attributes (SPEC "Span → analytics contract"), so spans from
any GenAI instrumentation count, not only radium's own.

Locking: the processor owns every open `SessionState`; one lock, ``self._lock``, guards
``_sessions``, ``_closed``, ``_covered``, ``_default`` and the states' totals. Nothing does
I/O while holding it: records are built under the lock and handed to ``on_session_end`` (or
returned to the checkpointer) outside it. The span hot path never *waits* for it, because a
thread woken for a lock must then wait for the GIL and convoys with the others (8 threads
into one session ran at a quarter of one thread's rate):

- ``on_start`` of a span naming an open session (as decorated calls do) takes no lock: it
  reads ``_sessions`` and writes its entry in ``_open`` and the state's ``open_starts`` with
  single dict operations, which are atomic under the GIL. Every other start takes the lock.
- ``on_end`` reads and classifies the span, checks its tokens and builds its `ModelCall`
  before any lock (`_read_end`). It then folds the result into the session if the lock is
  free, else appends it to ``_pending`` (``deque.append`` is atomic) and returns; whoever
  holds the lock folds the queue in order (`_drain`) and looks again after releasing it, so
  nothing queued is left behind. A session's root span waits for the lock, folds the queue,
  then itself, so the record is complete when the root span's ``end`` returns.
- Every reader (snapshots, ``end_session``, ``shutdown``, ``force_flush``) folds the queue
  first under the lock, so it sees every span that ended before it was called.
- Whoever folds a span also takes what it publishes: the records of sessions it closed and,
  while metrics are recorded, the calls it counted (``_measured``; a call is measured only
  once it is known to count, e.g. not a wrapper of a request counted inside it). Both are
  handed on after the lock is released (`_collect`, `_settle`).
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import StatusCode

from radium_otel._internal import constants as k
from radium_otel._internal.aggregate import (
    ModelCall,
    SessionState,
    add_conversation_id,
    process_metadata,
)
from radium_otel._internal.errors import log_internal_error, warn_once
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import is_safe_id

if TYPE_CHECKING:
    from radium_otel._internal.metrics import MetricsRecorder

__all__ = ["SessionSpanProcessor", "session_context", "span_attributes"]

#: The session opened by `rad.session()` / `AnalyticsService.start_session` in this context.
session_context: ContextVar[str | None] = ContextVar("radium_session", default=None)

_MODEL, _TOOL = 1, 2
_MAX_TOKENS = 10**12  # more than any real request; larger values are corrupt
_CLOSED_REMEMBERED = 4096

# (canonical key, fallbacks) for each token field, in SPEC order of preference.
_TOKEN_KEYS: dict[str, tuple[str, ...]] = {
    "input_tokens": (k.GEN_AI_USAGE_INPUT_TOKENS, k.LEGACY_PROMPT_TOKENS, k.OI_PROMPT_TOKENS),
    "output_tokens": (
        k.GEN_AI_USAGE_OUTPUT_TOKENS,
        k.LEGACY_COMPLETION_TOKENS,
        k.OI_COMPLETION_TOKENS,
    ),
    "cache_read_tokens": (
        k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        k.LEGACY_CACHE_READ_INPUT_TOKENS,
        k.OI_CACHE_READ_TOKENS,
        k.PYDANTIC_CACHE_READ_TOKENS,
    ),
    "cache_creation_tokens": (
        k.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        k.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        k.LEGACY_CACHE_CREATION_INPUT_TOKENS,
        k.OI_CACHE_WRITE_TOKENS,
    ),
    "reasoning_tokens": (
        k.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        k.TRACELOOP_REASONING_TOKENS,
        k.OI_REASONING_TOKENS,
        k.PYDANTIC_REASONING_TOKENS,
        k.PYDANTIC_THOUGHTS_TOKENS,
    ),
    "cache_creation_1h_tokens": (k.RADIUM_USAGE_CACHE_CREATION_1H,),
}
_ALL_TOKEN_KEYS = frozenset(key for keys in _TOKEN_KEYS.values() for key in keys)
_TOKEN_KEY_LISTS = tuple(_TOKEN_KEYS.values())  # in `ModelCall` field order
_INPUT, _OUTPUT, _CACHE_READ, _CACHE_WRITE, _REASONING, _WRITE_1H = (
    keys[0] for keys in _TOKEN_KEY_LISTS
)  # (the semantic conventions' keys)
_FALLBACK_TOKEN_KEYS = _ALL_TOKEN_KEYS.difference(keys[0] for keys in _TOKEN_KEY_LISTS)


# What the processor remembers about a span between its start and its end: its session and
# its parent's span id (a tuple: this is created for every span).
_Open = tuple[SessionState, "int | None"]
# What a finished span counted, for the metrics: the span, and a model call or a tool call
# as (name, error type or None, start_ns, end_ns). Collected only when metrics are recorded.
_Measured = list[tuple[ReadableSpan, "ModelCall | tuple[str, str | None, int, int]"]]
# What a finished span adds, read before the lock is taken (`_read_end`): span id, start,
# end, kind, what it counts (a tool call as for the metrics, or a model call, the number of
# token counts dropped and its instrumentation scope), its decision attribute (or None),
# whether it failed, the span itself (for the metrics), and, when it is an agent run, the
# agent's name as an attribute gives it (or None) and as its span name suggests (or "").
# (What it counts is typed by its kind, which mypy cannot follow through a tuple.)
_Agent = tuple["str | None", str]
_Ended = tuple[int, int, int, int, Any, object, bool, "ReadableSpan | None", "_Agent | None"]


class SessionSpanProcessor(SpanProcessor):
    """Aggregates finished spans into sessions and hands finished sessions on.

    ``on_session_open`` receives the id of each new session and whether the user opened it
    (else spans did), ``on_session_end`` its final record and ``on_session_drop`` the id of
    an announced session that ended with nothing to write (all called outside the lock, in
    the thread whose span opened or closed it). A session opened by a top-level span whose
    kind is not known yet is announced once it shows it is an agent run.
    ``time_ns`` is the clock used only for sessions opened without a span and for
    checkpoints; session bounds otherwise come from the spans' own timestamps.
    ``metrics`` (settable later) receives each counted model and tool call, outside the lock;
    ``None`` costs nothing per span.
    """

    def __init__(
        self,
        on_session_end: Callable[[SessionRecord], None] | None = None,
        *,
        on_session_open: Callable[[str, bool], None] | None = None,
        on_session_drop: Callable[[str], None] | None = None,
        time_ns: Callable[[], int] = time.time_ns,
        metadata: Callable[[], dict[str, Any]] = process_metadata,
        metrics: MetricsRecorder | None = None,
        new_id: Callable[[int | None], str] | None = None,
    ) -> None:
        self.metrics = metrics
        # The id of a session a top-level span opens (its span id; None: the default
        # session): random, unless the spans are replayed (`radium_otel.sources.genai`).
        self._new_id = new_id or _random_id
        self._on_session_end = on_session_end
        self._on_session_open = on_session_open
        self._on_session_drop = on_session_drop
        # Sessions opened (id, opened by the user) and dropped under the lock, told after it.
        self._opened: list[tuple[str, bool]] = []
        self._dropped: list[str] = []
        self._time_ns = time_ns
        self._metadata = metadata
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionState] = {}
        self._open: dict[int, _Open] = {}
        # Finished spans not yet added to their sessions (see the module docstring).
        self._pending: deque[_Ended] = deque()
        # Calls counted under the lock, for the metrics, not yet recorded.
        self._measured: _Measured = []
        # Open spans a counted model call ran inside: wrappers of a request, not requests.
        self._covered: set[int] = set()
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._default: SessionState | None = None
        self.late_spans = 0
        self._shut_down = False

    # --- sessions opened without a span (AnalyticsService) ---------------------------------
    def open_session(
        self,
        session_id: str | None = None,
        *,
        agent: str | None = None,
        tags: Mapping[str, str] | None = None,
        start_ns: int | None = None,
    ) -> str:
        """Open an explicit session and return its id."""
        sid = session_id or str(uuid.uuid4())
        with self._lock:
            state = self._new_state(sid, start_ns=start_ns or self._time_ns(), explicit=True)
            _describe(state, agent, tags)
        self._announce_opened()
        return sid

    def end_session(
        self, session_id: str, *, status: str | None = None, end_ns: int | None = None
    ) -> SessionRecord | None:
        """Close a session now; returns its final record, None if it is not open."""
        with self._lock:
            folded, measured = self._collect()
            state = self._sessions.get(session_id)
            if state is not None:
                if end_ns is not None:
                    state.end_ns = end_ns
                elif state.explicit and state.end_ns is None:
                    state.end_ns = self._time_ns()
                record = self._close(state, status or "completed")
        self._settle(folded, measured)
        if state is None or record is None:
            return None
        self._publish(record)
        return record

    def snapshot_active(self) -> list[SessionRecord]:
        """Records of every open session as they stand now (for checkpoints)."""
        now = self._time_ns()
        with self._lock:
            folded, measured = self._collect()
            for state in self._sessions.values():
                if state.provisional and _confirmed(state):
                    self._confirm(state)
            records = [
                s.to_record("active", now)
                for s in self._sessions.values()
                if s.explicit or not (s.is_empty() or s.provisional)
            ]
        self._settle(folded, measured)
        if self._opened:
            self._announce_opened()
        return records

    def session_ids(self) -> list[str]:
        """Ids of the open sessions."""
        with self._lock:
            return list(self._sessions)

    # --- SpanProcessor -------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Resolve the span's session and stamp ``gen_ai.conversation.id`` on it."""
        try:
            self._on_start(span, parent_context)
        except Exception as exc:
            log_internal_error("SessionSpanProcessor.on_start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        """Add a finished span to its session; publish the session if the span closed it."""
        try:
            self._on_end(span)
        except Exception as exc:
            log_internal_error("SessionSpanProcessor.on_end", exc)

    def shutdown(self) -> None:
        """Close every open session: implicit ones complete, explicit ones are interrupted."""
        with self._lock:
            self._shut_down = True
            folded, measured = self._collect()
            records = folded or []
            for state in list(self._sessions.values()):
                if state.provisional:
                    self._settle_provisional(state)
            for state in list(self._sessions.values()):
                status = "interrupted" if state.explicit and state.end_ns is None else "completed"
                record = self._close(state, status)
                if record is not None:
                    records.append(record)
            self._open.clear()
            self._covered.clear()
        self._settle(records, measured)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Fold the spans queued by other threads (finished sessions are published as they
        end; nothing else is buffered).
        """
        with self._lock:
            records, measured = self._collect()
        self._settle(records, measured)
        return True

    # --- internals -----------------------------------------------------------------------
    def _on_start(self, span: Span, parent_context: Context | None) -> None:
        ctx = span.get_span_context()
        if ctx is None:
            return
        span_id = ctx.span_id
        attrs = span_attributes(span)
        op = attrs.get(k.GEN_AI_OPERATION_NAME)
        conv = attrs.get(k.GEN_AI_CONVERSATION_ID)
        parent = span.parent
        parent_id = parent.span_id if parent is not None else None
        start_ns = span.start_time or self._time_ns()
        # The common case first, without the lock: a span naming an open session (decorated
        # calls do). Single dict operations only (see the module docstring).
        state = self._sessions.get(conv) if type(conv) is str else None
        if state is not None and state.root_span_id is not None and not self._shut_down:
            self._open[span_id] = (state, parent_id)
            if op != k.OP_INVOKE_AGENT:
                state.open_starts[span_id] = start_ns
            return
        with self._lock:
            if self._shut_down:
                return
            state = self._sessions.get(conv) if type(conv) is str else None
            if state is None or state.root_span_id is None:
                parent_open = self._open.get(parent_id) if parent_id is not None else None
                state = self._state_for(
                    attrs,
                    op,
                    conv,
                    parent_open[0] if parent_open else None,
                    start_ns,
                    span_id,
                    span,
                )
                if state is None:
                    return
            self._open[span_id] = (state, parent_id)
            if op != k.OP_INVOKE_AGENT:
                # Any span but an agent run (which contains everything) may still turn out to
                # be a model call (usage set late): hold compaction back while it is open.
                state.open_starts[span_id] = start_ns
        if not isinstance(conv, str) or not conv:
            span.set_attribute(k.GEN_AI_CONVERSATION_ID, state.id)
        if self._opened:
            self._announce_opened()

    def _state_for(
        self,
        attrs: Mapping[str, Any],
        op: object,
        conv: object,
        parent_state: SessionState | None,
        start_ns: int,
        span_id: int,
        span: Span,
    ) -> SessionState | None:
        """The session a starting span belongs to, opening one when the span starts it."""
        if isinstance(conv, str) and conv:
            known = self._sessions.get(conv)
            if known is not None and known.root_span_id is not None:
                return known  # the common case: a span of an open session
            sid = _session_id(conv)
            root = bool(attrs.get(k.RADIUM_SESSION_ROOT))
            if not root:
                # A session the user opened owns what runs inside it, whatever conversation
                # id a framework gives its run (kept in the record, never a second session).
                owner = self._user_session(parent_state)
                if owner is not None and owner.id != sid:
                    add_conversation_id(owner.metadata, conv)
                    return owner
            if sid in self._closed:
                self.late_spans += 1
                return None
            state = self._sessions.get(sid)
            if state is None:
                state = self._new_state(sid, start_ns=start_ns if root else None, explicit=root)
                if sid != conv:
                    state.metadata["conversation_id"] = conv
            if (root or op == k.OP_INVOKE_AGENT) and state.root_span_id is None:
                if parent_state is not state:
                    state.root_span_id = span_id
                    _describe(state, attrs.get(k.GEN_AI_AGENT_NAME), None)
            if root:
                state.explicit = True
                state.start_ns = start_ns
                _describe(state, None, _tags(attrs))
            return state
        if parent_state is not None:
            if parent_state.provisional and _confirmed(parent_state):
                self._confirm(parent_state)  # (attributes its root got right after starting)
            return parent_state
        current = session_context.get()
        if current is not None:
            found = self._sessions.get(current)
            if found is not None:
                return found
            if current in self._closed:
                self.late_spans += 1
                return None
        # A top-level span: an agent run opens its own session; a lone model or tool call
        # belongs to the process's default session; any other span may still turn out to
        # be an agent run (instrumentations that set attributes after the start), so it
        # opens a provisional session, settled when it ends (`_fold`).
        kind = _kind(attrs, op)
        agent_run = _agent_run(attrs, op)
        if agent_run or not (kind or _has_usage(attrs)):
            state = self._new_state(
                self._new_id(span_id), start_ns=None, explicit=False, announce=agent_run
            )
            state.root_span_id = span_id
            if not agent_run:
                state.provisional = True
                state.root_span = span
            else:
                _describe(state, _agent_attribute(attrs), None)
            return state
        return self._default_state()

    def _settle_provisional(self, state: SessionState) -> None:
        """At shutdown, a provisional session whose root never ended: an agent run if its
        root says so by now, else part of the default session (it becomes that session
        when there is none yet) (lock held).
        """
        if _confirmed(state):
            self._confirm(state)
            return
        state.provisional, state.root_span = False, None
        default = self._default
        if default is None or default.id not in self._sessions:
            self._default = state
        else:
            del self._sessions[state.id]
            default.absorb(state)

    def _user_session(self, parent_state: SessionState | None) -> SessionState | None:
        """The open session the user opened that a starting span runs in, if any."""
        if parent_state is not None:
            return parent_state if parent_state.explicit else None
        current = session_context.get()
        found = self._sessions.get(current) if current is not None else None
        return found if found is not None and found.explicit else None

    def _default_state(self) -> SessionState:
        """The process's default session, opened when first needed (lock held)."""
        if self._default is None or self._default.id not in self._sessions:
            self._default = self._new_state(self._new_id(None), start_ns=None, explicit=False)
        return self._default

    def _new_state(
        self, sid: str, *, start_ns: int | None, explicit: bool, announce: bool = True
    ) -> SessionState:
        state = SessionState(sid, start_ns=start_ns, explicit=explicit, metadata=self._metadata())
        self._sessions[sid] = state
        if announce and self._on_session_open is not None:
            self._opened.append((sid, explicit))
        return state

    def _confirm(self, state: SessionState) -> None:
        """A provisional session whose root shows it is an agent run: announce it (lock held)."""
        attrs = span_attributes(state.root_span)
        _describe(state, _agent_attribute(attrs), None)
        state.provisional, state.root_span = False, None
        if self._on_session_open is not None:
            self._opened.append((state.id, False))

    def _announce_opened(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for sid, explicit in opened:
            try:
                if self._on_session_open is not None:
                    self._on_session_open(sid, explicit)
            except Exception as exc:
                log_internal_error("session open", exc)

    def _announce_dropped(self) -> None:
        with self._lock:
            dropped, self._dropped = self._dropped, []
        for sid in dropped:
            try:
                if self._on_session_drop is not None:
                    self._on_session_drop(sid)
            except Exception as exc:
                log_internal_error("session drop", exc)

    def _on_end(self, span: ReadableSpan) -> None:
        ended = _read_end(span, self.metrics is not None)
        if ended is None:
            return
        entry = self._open.get(ended[0])  # (a single dict read: no lock needed)
        if entry is None:
            return  # started before this processor, or its session is closed
        lock, pending = self._lock, self._pending
        records: list[SessionRecord] | None = None
        measured: _Measured | None = None
        if entry[0].root_span_id == ended[0]:
            # A session's root: fold everything before it, then close (this thread publishes).
            with lock:
                records, measured = self._fold_after_queue(ended)
        # Never wait for the lock otherwise (see the module docstring): fold now if it is
        # free, else queue the span for whichever thread holds it. That thread re-checks the
        # queue after releasing it, so nothing queued is left behind.
        elif lock.acquire(blocking=False):
            try:
                records, measured = self._fold_after_queue(ended)
            finally:
                lock.release()
        else:
            pending.append(ended)
        while pending and lock.acquire(blocking=False):
            try:
                folded, more = self._collect()
            finally:
                lock.release()
            if folded:
                records = folded if records is None else records + folded
            if more:
                measured = more if measured is None else measured + more
        if records or measured or self._dropped:
            self._settle(records, measured)
        if self._opened:
            self._announce_opened()

    def _fold_after_queue(
        self, ended: _Ended
    ) -> tuple[list[SessionRecord] | None, _Measured | None]:
        """Fold the queued span ends, then ``ended``; what to hand on (lock held)."""
        records = self._drain() if self._pending else None
        record = self._fold(ended)
        if record is not None:
            records = [*(records or ()), record]
        return records, self._take_measured()

    def _collect(self) -> tuple[list[SessionRecord] | None, _Measured | None]:
        """Fold the queued span ends; take the records and measured calls to hand on (lock held)."""
        records = self._drain() if self._pending else None
        return records, self._take_measured()

    def _take_measured(self) -> _Measured | None:
        """The calls measured since last taken, emptying the list (lock held)."""
        if not self._measured:
            return None
        measured, self._measured = self._measured, []
        return measured

    def _settle(self, records: list[SessionRecord] | None, measured: _Measured | None) -> None:
        """Hand on what a fold produced: closed sessions' records, calls for the metrics,
        sessions dropped.
        """
        if self._dropped:
            self._announce_dropped()
        if measured:
            metrics = self.metrics
            if metrics is not None:
                _record_metrics(metrics, measured)
        for record in records or ():
            self._publish(record)

    def _drain(self) -> list[SessionRecord] | None:
        """Fold every queued span end, in order (lock held); records of sessions they closed."""
        pending, fold = self._pending, self._fold
        records = None
        while pending:
            record = fold(pending.popleft())
            if record is not None:
                records = [record] if records is None else [*records, record]
        return records

    def _fold(self, ended: _Ended) -> SessionRecord | None:
        """Add one finished span, read by `_read_end`, to its session (lock held)."""
        span_id, start_ns, end_ns, kind, counted, decision, failed, span, agent = ended
        entry = self._open.pop(span_id, None)
        if entry is None:
            return None  # started before this processor, or its session is closed
        state, parent_id = entry
        covered = False
        if self._covered:
            covered = span_id in self._covered
            self._covered.discard(span_id)
        if self._sessions.get(state.id) is not state:
            self.late_spans += 1  # its session closed (root ended) while it still ran
            return None
        state.open_starts.pop(span_id, None)
        if agent is not None and agent[0] and "agent" not in state.metadata:
            # The first agent that names itself names the session (an OpenInference root
            # is a workflow; its agents' spans end first and carry their names).
            state.metadata["agent"] = agent[0]
        if state.first_start_ns is None or start_ns < state.first_start_ns:
            state.first_start_ns = start_ns
        if state.last_end_ns is None or end_ns > state.last_end_ns:
            state.last_end_ns = end_ns
        if kind == _TOOL:
            name, error_type = counted[0], counted[1]
            if decision is None or self._count_decision(state, decision) != "reject":
                # (a rejected call never ran: it is a decision, not a tool call)
                state.add_tool_call(name, start_ns, end_ns, error_type)
                if span is not None:  # (kept only while metrics are recorded)
                    self._measured.append((span, counted))
        elif kind == _MODEL and not covered:
            call, drops, scope = counted
            state.dropped_attributes += drops
            if state.add_request(call, scope) and span is not None:
                self._measured.append((span, call))
            # Wrappers of this request (a decorated function around an instrumented client)
            # must not count it again.
            while parent_id is not None:
                parent = self._open.get(parent_id)
                if parent is None or parent[0] is not state:
                    break
                self._covered.add(parent_id)
                parent_id = parent[1]
        elif decision is not None:
            self._count_decision(state, decision)
        # (Interval compaction runs inside the state's add_* methods, when it is due.)
        if state.root_span_id == span_id:
            if state.provisional:
                if agent is None:
                    # Not an agent run after all: what it held is the default session's.
                    del self._sessions[state.id]
                    self._default_state().absorb(state)
                    return None
                self._confirm(state)
            if agent is not None and "agent" not in state.metadata:
                _describe(state, agent[0] or agent[1], None)
            state.end_ns = end_ns
            return self._close(state, "failed" if failed else "completed")
        return None

    def _count_decision(self, state: SessionState, decision: object) -> str | None:
        if decision not in k.DECISIONS:
            state.dropped_attributes += 1
            warn_once("decision:unknown", "ignoring unknown tool decision %r", decision)
            return None
        state.add_decision(str(decision))
        return str(decision)

    def _close(self, state: SessionState, status: str) -> SessionRecord | None:
        """Remove ``state`` from the open sessions and return its final record (lock held);
        None for a session no user opened that counted nothing (never written), unless it
        failed: an agent run that crashed before its first call is worth a record.
        """
        self._sessions.pop(state.id, None)
        self._closed[state.id] = None
        if len(self._closed) > _CLOSED_REMEMBERED:
            self._closed.popitem(last=False)
        if self._default is state:
            self._default = None
        if not state.explicit and status != "failed" and state.is_empty():
            if self._on_session_drop is not None:
                self._dropped.append(state.id)
            return None
        return state.to_record(status, self._time_ns())

    def _publish(self, record: SessionRecord) -> None:
        if self._on_session_end is None:
            return
        try:
            self._on_session_end(record)
        except Exception as exc:
            log_internal_error("session end", exc)


def _random_id(span_id: int | None) -> str:
    return str(uuid.uuid4())


def _record_metrics(metrics: MetricsRecorder, measured: _Measured) -> None:
    for span, item in measured:
        try:
            if isinstance(item, ModelCall):
                metrics.model_call(span, item)
            else:
                metrics.tool_call(*item)
        except Exception as exc:
            log_internal_error("recording metrics", exc)


def _read_end(span: ReadableSpan, measure: bool) -> _Ended | None:
    """What a finished span adds to its session, read from the span alone.

    Runs before the lock is taken, so the critical section only adds up: the attributes are
    read, the span classified, the tokens checked and the `ModelCall` built here.
    """
    ctx = span.get_span_context()
    if ctx is None:
        return None
    start_ns = span.start_time or 0
    end_ns = span.end_time or start_ns
    attrs = span_attributes(span)
    failed = span.status.status_code is StatusCode.ERROR
    decision = attrs.get(k.RADIUM_TOOL_DECISION)
    op = attrs.get(k.GEN_AI_OPERATION_NAME)
    agent = None
    if op == k.OP_EXECUTE_TOOL:
        kind = _TOOL  # the common cases first, without the general classification
    elif op == k.OP_CHAT:
        kind = _MODEL
    else:
        kind = _kind(attrs, op) or (_MODEL if _has_usage(attrs) else 0)
        if (op is None or op == k.OP_INVOKE_AGENT) and _agent_run(attrs, op):
            agent = (_agent_attribute(attrs), _agent_from_span_name(span.name, attrs, op))
    counted: Any = None
    if kind == _TOOL:
        name = attrs.get(k.GEN_AI_TOOL_NAME)
        if type(name) is not str or not name:
            name = _str(attrs.get(k.OI_TOOL_NAME)) or span.name
        if name in k.FRAMEWORK_TOOLS or k.RADIUM_TOOL_APPROVAL in attrs:
            # A framework's own bookkeeping, or a call that waits for the user's approval
            # (or was refused by rule, a decision): not a tool call.
            kind = 0
        elif failed or attrs.get(k.RADIUM_TOOL_OUTCOME) == "failure":
            counted = (name, _error_type(span, attrs), start_ns, end_ns)
        else:
            counted = (name, None, start_ns, end_ns)
    elif kind == _MODEL:
        if op is None:  # (not a GenAI semantic-convention span: other instrumentations' rules)
            if span.name.endswith(k.FRAMEWORK_NOT_REQUESTS):
                kind = 0
            elif span.events:
                # OpenInference ends a streamed request's span when the stream is handed
                # over, and records its first token and usage later: it ends at its last event.
                end_ns = max(end_ns, span.events[-1].timestamp)
        if kind:
            call, drops = _model_call(span, attrs, start_ns, end_ns, failed)
            counted = (call, drops, _scope(span))
    # The span is kept only for the metrics: a queued span whose last reference is the
    # queue would otherwise be freed by the thread that folds it, under the lock.
    kept = span if measure else None
    return (ctx.span_id, start_ns, end_ns, kind, counted, decision, failed, kept, agent)


def _model_call(
    span: ReadableSpan, attrs: Mapping[str, Any], start_ns: int, end_ns: int, failed: bool
) -> tuple[ModelCall, int]:
    """The request a model span reports, and how many of its token counts were dropped."""
    get = attrs.get
    inp, out, read = get(_INPUT, 0), get(_OUTPUT, 0), get(_CACHE_READ, 0)
    write, reasoning, write_1h = get(_CACHE_WRITE, 0), get(_REASONING, 0), get(_WRITE_1H, 0)
    drops = 0
    if not (
        type(inp) is int and type(out) is int and type(read) is int and type(write) is int
        and type(reasoning) is int and type(write_1h) is int
        and 0 <= inp <= _MAX_TOKENS and 0 <= out <= _MAX_TOKENS and 0 <= read <= _MAX_TOKENS
        and 0 <= write <= _MAX_TOKENS and 0 <= reasoning <= _MAX_TOKENS
        and 0 <= write_1h <= _MAX_TOKENS
        and attrs.keys().isdisjoint(_FALLBACK_TOKEN_KEYS)
    ):  # fmt: skip
        # Anything but plain counts under the semantic conventions' keys (the usual case).
        (inp, out, read, write, reasoning, write_1h), drops = _token_counts(attrs)
    if inp < read + write:
        # Input reported without the cache (Anthropic's own convention): SPEC input
        # includes cache reads and writes.
        inp += read + write
    if out < reasoning:
        out += reasoning
    model = attrs.get(k.GEN_AI_RESPONSE_MODEL)
    if type(model) is not str or not model:  # (the usual case without the calls below)
        model = (
            _str(model)
            or _str(attrs.get(k.GEN_AI_REQUEST_MODEL))
            or _str(attrs.get(k.OI_MODEL_NAME))
            or _invocation_model(attrs.get(k.OI_INVOCATION_PARAMETERS))
            or "unknown"
        )
    provider = attrs.get(k.GEN_AI_PROVIDER_NAME)
    if type(provider) is not str or not provider:
        provider = (
            _str(provider)
            or _str(attrs.get(k.GEN_AI_SYSTEM))
            or _str(attrs.get(k.OI_PROVIDER))
            or _str(attrs.get(k.OI_SYSTEM))
        )
    if provider in k.FRAMEWORK_PROVIDERS:
        provider = None  # a framework's name: the model tells the provider (pricing)
    if write_1h > write:
        write_1h = write  # (the 1-hour part of the cache writes can't exceed them)
    call = ModelCall(
        model, provider, start_ns, end_ns, failed, inp, out, read, write, reasoning, write_1h
    )
    return call, drops


def _token_counts(attrs: Mapping[str, Any]) -> tuple[list[int], int]:
    """A span's token counts, each under the first of its keys present (0 when none is or
    its value is dropped), and how many values were dropped.
    """
    drops = 0
    counts = []
    for keys in _TOKEN_KEY_LISTS:
        count = 0
        for key in keys:
            value = attrs.get(key)
            if value is None:
                continue
            if type(value) is int and 0 <= value <= _MAX_TOKENS:
                count = value  # the usual case, without the checks in `_token`
            else:
                count = _token(key, value)
                drops += count < 0
            break
        counts.append(count if count > 0 else 0)
    return counts, drops


def _token(key: str, value: object) -> int:
    """A token count that is not a plain ``int`` in range: its value, or -1 when dropped."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _dropped(key, value)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return _dropped(key, value)
        value = int(value)
    if value < 0 or value > _MAX_TOKENS:
        return _dropped(key, value)
    return value


def _dropped(key: str, value: object) -> int:
    warn_once(f"drop:{key}", "ignoring bad token count %s=%r (not summed)", key, value)
    return -1


def span_attributes(span: object) -> Mapping[str, Any]:
    """The span's attributes as a plain mapping, cheaply.

    ``span.attributes`` wraps the SDK's ``BoundedAttributes`` in a ``MappingProxyType``, and
    every ``.get`` through them runs Python-level ``Mapping`` code (about 1 µs here); this
    runs for every span, several lookups each, so read the dict underneath when the SDK has
    one (checked by a test) and fall back to the public property otherwise.
    """
    raw = getattr(span, "_attributes", None)
    inner = getattr(raw, "_dict", None)
    if type(inner) is dict:
        return inner
    if type(raw) is dict:
        return raw
    attributes = getattr(span, "attributes", None)  # a non-SDK span may have none
    return attributes if isinstance(attributes, Mapping) else {}


def _kind(attrs: Mapping[str, Any], op: object) -> int:
    if not isinstance(op, str):
        op = None  # attributes may hold any value (even an unhashable dict)
    if op in k.MODEL_OPERATIONS:
        return _MODEL
    if op == k.OP_EXECUTE_TOOL:
        return _TOOL
    if op is None:
        oi = attrs.get(k.OPENINFERENCE_SPAN_KIND)
        if oi == "LLM":
            return _MODEL
        if oi == "TOOL":
            return _TOOL
        if oi is None:
            # Traceloop releases before gen_ai.operation.name (an error span has no usage).
            request_type = attrs.get(k.TRACELOOP_REQUEST_TYPE)
            if isinstance(request_type, str) and request_type in k.TRACELOOP_MODEL_REQUEST_TYPES:
                return _MODEL
    return 0


def _agent_run(attrs: Mapping[str, Any], op: object) -> bool:
    """Whether the span is an agent run (``invoke_agent``, OpenInference AGENT or CHAIN)."""
    if op == k.OP_INVOKE_AGENT:
        return True
    if op is None:
        kind = attrs.get(k.OPENINFERENCE_SPAN_KIND)
        return type(kind) is str and kind in k.OI_AGENT_KINDS
    return False


def _agent_attribute(attrs: Mapping[str, Any]) -> str | None:
    """The agent name an agent-run span's attributes give (an OpenInference AGENT span's
    graph node is its agent; a CHAIN's is a step of the graph).
    """
    name = _str(attrs.get(k.GEN_AI_AGENT_NAME)) or _str(attrs.get(k.OI_AGENT_NAME))
    if name is None and attrs.get(k.OPENINFERENCE_SPAN_KIND) == "AGENT":
        name = _str(attrs.get(k.OI_GRAPH_NODE_ID))
    return name


def _agent_from_span_name(span_name: str, attrs: Mapping[str, Any], op: object) -> str:
    """The agent name an agent-run span's name suggests ("" when none): ``invoke_agent X``,
    or OpenInference's span named after the agent (smolagents: ``<agent>.run``).
    """
    if op == k.OP_INVOKE_AGENT:
        return span_name.removeprefix(k.OP_INVOKE_AGENT).strip()
    if attrs.get(k.OPENINFERENCE_SPAN_KIND) == "AGENT":
        return span_name.removesuffix(".run")
    return ""  # a CHAIN is named after the code that runs it


def _confirmed(state: SessionState) -> bool:
    """Whether a provisional session's root span says by now that it is an agent run."""
    attrs = span_attributes(state.root_span)
    return _agent_run(attrs, attrs.get(k.GEN_AI_OPERATION_NAME))


def _has_usage(attrs: Mapping[str, Any]) -> bool:
    # SPEC: any ``gen_ai.usage.*`` attribute makes a model call, plus the fallback spellings.
    return any(key in _ALL_TOKEN_KEYS or key.startswith(k.GEN_AI_USAGE_PREFIX) for key in attrs)


def _scope(span: ReadableSpan) -> InstrumentationScope | None:
    """The instrumentation scope that made ``span``: the layer that recorded it.

    Read from the SDK's field when there is one (the public property costs a call per model
    span); checked by a test.
    """
    return getattr(span, "_instrumentation_scope", None) or span.instrumentation_scope


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _invocation_model(params: object) -> str | None:
    """The ``model`` in OpenInference's ``llm.invocation_parameters`` JSON, if any.

    Read only for a model call that names its model nowhere else (a request that failed
    before any response), so the JSON is parsed for those alone.
    """
    if not isinstance(params, str) or '"model"' not in params or len(params) > 65536:
        return None
    try:
        parsed = json.loads(params)
    except (ValueError, RecursionError):
        return None
    return _str(parsed.get("model")) if isinstance(parsed, dict) else None


def _error_type(span: ReadableSpan, attrs: Mapping[str, Any]) -> str:
    error_type = _str(attrs.get(k.ERROR_TYPE))
    if error_type:
        return error_type
    for event in span.events:
        if event.name == "exception" and event.attributes:
            exc_type = _str(event.attributes.get("exception.type"))
            if exc_type:
                return exc_type.rsplit(".", 1)[-1]
    return "_OTHER"


def _session_id(conversation_id: str) -> str:
    """The store id for a conversation id: itself when it is a safe file name."""
    if is_safe_id(conversation_id):
        return conversation_id
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "gen_ai.conversation.id:" + conversation_id))


def _tags(attrs: Mapping[str, Any]) -> dict[str, str]:
    n = len(k.RADIUM_SESSION_TAG_PREFIX)
    return {
        key[n:]: str(value)
        for key, value in attrs.items()
        if key.startswith(k.RADIUM_SESSION_TAG_PREFIX)
    }


def _describe(state: SessionState, agent: object, tags: Mapping[str, str] | None) -> None:
    if isinstance(agent, str) and agent:
        state.metadata["agent"] = agent
    if tags:
        state.metadata.setdefault("tags", {}).update(tags)
