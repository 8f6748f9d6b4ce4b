"""GenAI semantic-convention spans from any process, in any language: replayed, not re-read.

A TypeScript or Go agent that exports OTel GenAI spans gets the session a Python agent gets
because its spans go through the same `SessionSpanProcessor`: each remote process
(resource ``service.name``, ``service.instance.id``, ``host.name``, ``process.pid``) has a
processor of its own, as each Python process has, and its spans are started and ended
again as SDK spans with their own ids, parents, timestamps, attributes and status.

OTLP delivers spans as they end, children before their parents, while the processor must see
a parent start before its children (that is how a span finds its session). So spans are
buffered per trace until the trace's root arrives, then replayed: starts parent first, ends
in end-time order (children first, the root last). A trace whose root never comes (a remote
parent, a crashed agent) is replayed once quiet for `TRACE_QUIET_S`.

Spans are journaled as they arrive, stripped of content (prompt, reply, tool argument and
result attributes, event attributes other than an exception's type); a trace whose replay
stored a session is marked done, so a restarted collector replays only what is still open.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from radium_otel._internal.errors import log_internal_error
from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import SessionRecord
from radium_otel.sources import otlp
from radium_otel.sources.journal import Journal

__all__ = ["CONTENT_MARKERS", "SpanReplay"]

TRACE_QUIET_S: Final = 30.0  # a trace with no root is replayed after this long without spans
SEEN_SPANS: Final = 65_536  # span ids remembered per process, for retried batches
MAX_BUFFERED: Final = 100_000  # spans held per process waiting for their roots; then flushed
DONE_TRACES: Final = 65_536  # finished traces remembered per process
COMPACT_ROWS: Final = 200_000  # journal rows of a process before its done traces are dropped
_DONE: Final = "done"
_NAMESPACE: Final = uuid.UUID("7b3c5f0e-52a1-4cbe-9b7e-2f6d0c1e9a11")  # replayed session ids
_RESOURCE: Final = "res"
_LIMITS: Final = SpanLimits(max_attributes=512, max_attribute_length=4096, max_events=128)

#: Attribute keys holding content (any key containing one of these): never journaled.
CONTENT_MARKERS: Final = (
    "message", "prompt", "completion", "content", "input.value", "output.value", "argument",
    "result", "instruction", "tool.call", "tool.description", "query", "document", "embedding",
)  # fmt: skip
_KINDS: Final = {
    1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT,
    4: SpanKind.PRODUCER, 5: SpanKind.CONSUMER,
}  # fmt: skip
_STATUS: Final = {1: StatusCode.OK, 2: StatusCode.ERROR}


def _kept(key: str) -> bool:
    lowered = key.lower()
    return not any(marker in lowered for marker in CONTENT_MARKERS)


def span_row(span: Any) -> dict[str, Any]:
    """An OTLP span as a journal row: ids, times, kind, status, non-content attributes."""
    attrs = {kv.key: otlp.value(kv.value) for kv in span.attributes if _kept(kv.key)}
    events = []
    for event in span.events:
        kept = {
            kv.key: otlp.value(kv.value) for kv in event.attributes if kv.key == "exception.type"
        }
        events.append([event.name, event.time_unix_nano, kept])
    return {
        "t": span.trace_id.hex(),
        "s": span.span_id.hex(),
        "p": span.parent_span_id.hex() or None,
        "n": span.name,
        "k": span.kind,
        "b": span.start_time_unix_nano,
        "e": span.end_time_unix_nano,
        "st": span.status.code,
        "a": attrs,
        "ev": events,
    }


def process_key(resource: Mapping[str, Any]) -> str:
    """The journal key of the remote process a resource describes."""
    who = [resource.get(k) for k in ("service.name", "service.instance.id", "host.name",
                                     "process.pid")]  # fmt: skip
    return "p:" + json.dumps(who, default=str, separators=(",", ":"))


class _GivenIds(IdGenerator):
    """Hands the replaying tracer the ids the span had in its own process."""

    def __init__(self) -> None:
        self.span_id = self.trace_id = 0

    def generate_span_id(self) -> int:
        return self.span_id

    def generate_trace_id(self) -> int:
        return self.trace_id


class _Process:
    """One remote process: its processor, the traces waiting for their roots."""

    def __init__(
        self, key: str, resource: Mapping[str, Any], done: set[str], idle_timeout_s: float
    ) -> None:
        self.key = key
        self.dirty = False
        self.resource = Resource.create(dict(resource)) if resource else Resource.get_empty()
        self.finished: list[SessionRecord] = []
        # Traces whose replay stored a session (the newest `DONE_TRACES`).
        self.done: OrderedDict[str, None] = OrderedDict.fromkeys(done)
        self.rows = 0  # journal rows since it was last compacted
        self.newly_done: list[str] = []
        self.traces: dict[str, list[tuple[dict[str, Any], tuple[str, str | None]]]] = {}
        self.trace_seen: dict[str, float] = {}
        self.buffered = 0
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.last_seen = 0.0
        self.tracers: dict[tuple[str, str | None], trace.Tracer] = {}
        # (Not ``host``/``pid``: those name the writing process, whose end would mark an
        # active record interrupted; the collector writes these.)
        meta = {
            "source": "otlp",
            "received_by": "rad collect",
            "service.name": resource.get("service.name"),
            "host.name": resource.get("host.name"),
            "process.pid": resource.get("process.pid"),
            "checkpoint_interval_s": idle_timeout_s,
        }
        metadata = {k: v for k, v in meta.items() if v is not None}
        if "service.name" in metadata:
            metadata["agent"] = metadata["service.name"]
        self.defaults = 0
        self.processor = SessionSpanProcessor(
            self.finished.append, metadata=lambda: dict(metadata), new_id=self._session_id
        )
        self.ids = _GivenIds()
        # A provider of its own (never the global one): its only processor is this one.
        self.provider = TracerProvider(
            resource=self.resource, id_generator=self.ids, span_limits=_LIMITS
        )
        self.provider.add_span_processor(self.processor)

    def _session_id(self, span_id: int | None) -> str:
        """A session id that replaying the same spans again gives again (after a restart,
        a session is written over its last checkpoint, not beside it).
        """
        if span_id is None:
            self.defaults += 1
            name = f"{self.key}/default/{self.defaults}"
        else:
            name = f"{self.key}/{span_id:016x}"
        return str(uuid.uuid5(_NAMESPACE, name))

    def add(self, row: dict[str, Any], scope: tuple[str, str | None], now: float) -> None:
        trace = row["t"]
        span_id = (trace, row["s"])
        if trace in self.done or span_id in self.seen:
            return  # (a span sent again by a retrying exporter)
        self.seen[span_id] = None
        if len(self.seen) > SEEN_SPANS:
            self.seen.popitem(last=False)
        self.traces.setdefault(trace, []).append((row, scope))
        self.trace_seen[trace] = now
        self.buffered += 1
        self.last_seen = now
        self.dirty = True
        if row["p"] is None:
            self.replay(trace)
        elif self.buffered > MAX_BUFFERED:
            oldest = min(self.trace_seen, key=self.trace_seen.__getitem__)
            self.replay(oldest)

    def replay(self, trace: str) -> None:
        """Start and end the trace's spans through the processor (see the module docstring)."""
        spans = self.traces.pop(trace, [])
        self.trace_seen.pop(trace, None)
        self.buffered -= len(spans)
        before = len(self.finished)
        ids = {row["s"] for row, _ in spans}
        depth: dict[str, int] = {}
        parents: dict[str, str | None] = {row["s"]: row["p"] for row, _ in spans}

        def level(span_id: str) -> int:
            d, seen = 0, {span_id}
            parent = parents.get(span_id)
            while parent is not None and parent in ids and parent not in seen:
                seen.add(parent)
                d += 1
                parent = parents.get(parent)
            return d

        for row, _ in spans:
            depth[row["s"]] = level(row["s"])
        live: list[tuple[dict[str, Any], Span]] = []
        for row, scope in sorted(spans, key=lambda rs: (depth[rs[0]["s"]], rs[0]["b"])):
            try:
                live.append((row, self._start(row, scope, row["p"] in ids)))
            except Exception as exc:
                log_internal_error("replaying a span", exc)
        for row, span in sorted(live, key=lambda rs: (rs[0]["e"], -depth[rs[0]["s"]])):
            try:
                code = _STATUS.get(row["st"])
                if code is not None:
                    span.set_status(Status(code))
                span.end(end_time=row["e"] or row["b"])
            except Exception as exc:
                log_internal_error("replaying a span", exc)
        if len(self.finished) > before:
            self.done[trace] = None
            if len(self.done) > DONE_TRACES:
                self.done.popitem(last=False)
            self.newly_done.append(trace)

    def _start(self, row: dict[str, Any], scope: tuple[str, str | None], linked: bool) -> Span:
        trace_id = int(row["t"], 16)
        self.ids.trace_id, self.ids.span_id = trace_id, int(row["s"], 16)
        context = None
        if linked:
            parent = SpanContext(trace_id, int(row["p"], 16), False, TraceFlags(TraceFlags.SAMPLED))
            context = trace.set_span_in_context(NonRecordingSpan(parent))
        tracer = self.tracers.get(scope)
        if tracer is None:
            tracer = self.tracers[scope] = self.provider.get_tracer(scope[0], scope[1])
        span = tracer.start_span(
            row["n"],
            context=context,
            kind=_KINDS.get(row["k"], SpanKind.INTERNAL),
            attributes=row["a"],
            start_time=row["b"],
        )
        for name, ts, attributes in row["ev"]:
            span.add_event(name, attributes, ts)
        return span


class SpanReplay:
    """The remote processes whose spans the collector replays (the collector's lock held
    for every call).
    """

    def __init__(
        self,
        journal: Journal,
        idle_timeout_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._journal = journal
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._processes: dict[str, _Process] = {}
        self._resources: dict[str, Mapping[str, Any]] = {}

    def rows(
        self, foreign: Sequence[tuple[Mapping[str, Any], Any, Sequence[Any]]]
    ) -> dict[str, list[list[Any]]]:
        """The journal rows of spans no source claimed, by process."""
        out: dict[str, list[list[Any]]] = {}
        for resource, scope, spans in foreign:
            key = process_key(resource)
            rows = out.setdefault(key, [])
            if key not in self._processes and key not in self._resources:
                self._resources[key] = resource
                rows.append([_RESOURCE, dict(resource)])
            scope_pair = [scope.name, scope.version or None]
            rows.extend(["span", scope_pair, span_row(span)] for span in spans)
        return out

    def apply(self, rows: Mapping[str, list[list[Any]]], now: float) -> None:
        """Buffer and replay what `rows` holds."""
        for key, kept in rows.items():
            self._feed(key, kept, now)

    def recover(self, key: str, rows: list[list[Any]], now: float) -> None:
        """Rebuild a process from its journal, skipping the traces it marked done."""
        done = {row[1] for row in rows if len(row) == 2 and row[0] == _DONE}
        self._feed(key, [r for r in rows if r[:1] != [_DONE]], now, done)

    def _feed(
        self, key: str, rows: list[list[Any]], now: float, done: set[str] | None = None
    ) -> None:
        process = self._processes.get(key)
        for row in rows:
            try:
                if row[0] == _RESOURCE:
                    if process is None:
                        process = self._processes[key] = _Process(
                            key, row[1], done or set(), self.idle_timeout_s
                        )
                        self._resources.pop(key, None)
                    continue
                if process is None:
                    resource = self._resources.pop(key, {})
                    process = self._processes[key] = _Process(
                        key, resource, done or set(), self.idle_timeout_s
                    )
                _, scope, span = row
                process.rows += 1
                process.add(span, (str(scope[0]), scope[1]), now)
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                log_internal_error("reading a journaled span", exc)

    def open_units(self) -> int:
        """How many remote processes are live."""
        return len(self._processes)

    def tick(
        self, now: float, now_ns: int, *, flush: bool = False
    ) -> list[tuple[SessionRecord, bool]]:
        """Replay quiet traces, close idle processes; the records to write (final or not)."""
        out: list[tuple[SessionRecord, bool]] = []
        for key, process in list(self._processes.items()):
            quiet = [t for t, seen in process.trace_seen.items() if now - seen >= TRACE_QUIET_S]
            for trace_id in quiet:
                process.replay(trace_id)
            idle = now - process.last_seen >= self.idle_timeout_s
            if idle:
                for trace_id in list(process.traces):
                    process.replay(trace_id)
                process.processor.shutdown()
            out.extend((record, True) for record in process.finished)
            process.finished.clear()
            if idle:
                del self._processes[key]
                self._journal.remove(key)
                continue
            if process.newly_done:
                try:
                    self._journal.append({key: [[_DONE, t] for t in process.newly_done]})
                    process.newly_done.clear()
                except OSError as exc:
                    log_internal_error("journaling replayed traces", exc)
            if process.rows > COMPACT_ROWS:
                self._compact(key, process)
            if flush or process.dirty:
                process.dirty = False
                out.extend((r, False) for r in process.processor.snapshot_active())
        return out

    def _compact(self, key: str, process: _Process) -> None:
        """Rewrite a long-lived process's journal without its finished traces (their
        sessions are stored), so it stays as small as what is still open.
        """
        kept: list[list[Any]] = []
        for _, row in self._journal.replay_one(key):
            if row[:1] == [_DONE]:
                continue
            if row[:1] == ["span"] and len(row) == 3 and row[2].get("t") in process.done:
                continue
            kept.append(row)
        try:
            self._journal.rewrite(key, kept)
        except OSError as exc:
            log_internal_error("compacting the journal", exc)
            return
        process.rows = len(kept)
