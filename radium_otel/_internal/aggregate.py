"""Per-session accumulators: what finished spans add up to.

`SessionState` holds only running totals, per-tool and per-model counters, and the interval
unions for API and active time, so its size is O(tools + models + open spans), never
O(spans). It is not thread-safe: `SessionSpanProcessor` serialises access with its lock (all
but single-operation writes to ``open_starts``; see the processor's module docstring).
"""

from __future__ import annotations

import os
import socket
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from radium_otel._internal.intervals import IntervalUnion
from radium_otel._internal.names import canonical_names
from radium_otel._internal.record import (
    INPUT_BAND_EDGES,
    CacheStats,
    ModelName,
    ModelUsage,
    SessionRecord,
    TokenBand,
    ToolStats,
)

__all__ = ["ModelCall", "SessionState", "add_conversation_id"]

_NS = 1_000_000_000
COMPACT_STEP = 64  # intervals added between two compaction attempts
HARD_CAP = 4096  # intervals held at most, even while a long-open span holds them back
RECENT_REQUESTS = 32  # counted requests remembered for spotting a second record of one
_MATCHED = object()  # the scope of a remembered request whose second record was found
_FIRST_EDGE = INPUT_BAND_EDGES[0]


@dataclass(slots=True)
class ModelCall:
    """One model request, read from a finished span."""

    model: str
    provider: str | None
    start_ns: int
    end_ns: int
    error: bool
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_1h_tokens: int = 0


@dataclass(slots=True)
class _ToolAcc:
    calls: int = 0
    successes: int = 0
    failures: int = 0
    duration_ns: int = 0
    error_types: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _ModelAcc:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    latency_ns: int = 0


class SessionState:
    """Running totals of one open session."""

    __slots__ = (
        "active",
        "api",
        "decisions",
        "dropped_attributes",
        "end_ns",
        "explicit",
        "first_start_ns",
        "id",
        "last_end_ns",
        "metadata",
        "models",
        "next_compact_at",
        "open_starts",
        "provisional",
        "recent",
        "recent_at",
        "root_span",
        "root_span_id",
        "scope",
        "scopes",
        "start_ns",
        "tools",
    )

    def __init__(
        self,
        session_id: str,
        *,
        start_ns: int | None,
        explicit: bool,
        metadata: dict[str, Any],
        root_span_id: int | None = None,
    ) -> None:
        self.id = session_id
        self.explicit = explicit  # opened by rad.session() / AnalyticsService: bounds are its own
        self.start_ns = start_ns
        self.end_ns: int | None = None
        self.root_span_id = root_span_id
        self.first_start_ns: int | None = None
        self.last_end_ns: int | None = None
        self.metadata = metadata
        self.api = IntervalUnion()
        self.active = IntervalUnion()
        # Start times of open spans (all but agent/session roots, which contain everything):
        # nothing ending before the earliest of them can still overlap a future interval.
        self.open_starts: dict[int, int] = {}
        self.next_compact_at = 2 * COMPACT_STEP
        self.tools: dict[str, _ToolAcc] = {}
        # Per (model, provider, band): the band is the number of `INPUT_BAND_EDGES` below the
        # request's input tokens, so that each request can be priced at its own tier.
        self.models: dict[tuple[str, str | None, int], _ModelAcc] = {}
        self.decisions: dict[str, int] = {}
        self.dropped_attributes = 0
        # Opened by a top-level span whose kind was unknown when it started: an agent run
        # if it says so by its end (its own session), else its totals go to the default
        # session. ``root_span`` is kept only while provisional, to look at it again.
        self.provisional = False
        self.root_span: object = None
        # The last requests counted (`add_request`), a ring (None: never filled) with its
        # next slot; the instrumentation scope of the first request, and whether another
        # scope reported one since.
        self.recent: list[tuple[ModelCall, object] | None] = [None] * RECENT_REQUESTS
        self.recent_at = 0
        self.scope: object = None
        self.scopes = False

    # --- feeding -------------------------------------------------------------------------
    def add_request(self, call: ModelCall, scope: object) -> bool:
        """Count ``call`` unless it is a second record of a request counted already.

        SPEC "One request counts once": two layers (a framework's LLM span and the client
        library's span, as siblings or cousins) can each record one request. A record from
        another instrumentation scope with the same input and output tokens, a compatible
        model and an interval overlapping at least half of the shorter one is that request
        again: the one with richer usage (cache and reasoning detail, a provider) stays
        counted, with the time of the first. Each counted request absorbs at most one such
        record, so parallel identical requests still count one each. Returns whether
        ``call`` was counted as a new request. ``scope`` is the span's instrumentation scope
        (compared by identity here, by name when looking for a second record).
        """
        if self.scope is not scope:
            if self.scope is None:
                self.scope = scope
            else:
                self.scopes = True  # several layers: look for a second record from now on
        if self.scopes and self._merge_second_record(call, scope):
            return False
        at = self.recent_at
        self.recent[at] = (call, scope)
        self.recent_at = (at + 1) % RECENT_REQUESTS
        # Count it and its time (`_tally` unrolled: this runs for every request). Its band
        # of input sizes: most requests are in the first, told by one comparison.
        size = call.input_tokens
        band = 0 if size <= _FIRST_EDGE else bisect_left(INPUT_BAND_EDGES, size)
        key = (call.model, call.provider, band)
        acc = self.models.get(key)
        if acc is None:
            acc = self.models[key] = _ModelAcc()
        acc.requests += 1
        acc.errors += call.error
        acc.input_tokens += call.input_tokens
        acc.output_tokens += call.output_tokens
        acc.cache_read_tokens += call.cache_read_tokens
        acc.cache_creation_tokens += call.cache_creation_tokens
        acc.reasoning_tokens += call.reasoning_tokens
        acc.cache_creation_1h_tokens += call.cache_creation_1h_tokens
        acc.latency_ns += max(0, call.end_ns - call.start_ns)
        self.api.add(call.start_ns, call.end_ns)
        if self.active.add(call.start_ns, call.end_ns) >= self.next_compact_at:
            self.maybe_compact()
        return True

    def _merge_second_record(self, call: ModelCall, scope: object) -> bool:
        """Whether ``call`` is another layer's record of a recent request; if so, that
        request keeps the richer usage of the two and leaves the ring (matched once).
        """
        recent = self.recent
        layer = getattr(scope, "name", scope)
        for back in range(1, RECENT_REQUESTS + 1):  # newest first: usually the last one
            i = (self.recent_at - back) % RECENT_REQUESTS
            entry = recent[i]
            if entry is None:
                return False  # (never filled: nothing older either)
            if entry[1] is _MATCHED or entry[1] is scope:
                continue
            if getattr(entry[1], "name", entry[1]) == layer:
                continue
            first = entry[0]
            if (
                first.input_tokens != call.input_tokens
                or first.output_tokens != call.output_tokens
                or not _same_request(first, call)
            ):
                continue
            recent[i] = (first, _MATCHED)
            kept = call if _detail(call) > _detail(first) else first
            name = _kept_name(kept.model, (first if kept is call else call).model)
            if kept is call or name != first.model or call.error > first.error:
                self._tally(first, -1)
                self._tally(
                    ModelCall(
                        name, kept.provider, first.start_ns, first.end_ns,
                        call.error or first.error, kept.input_tokens, kept.output_tokens,
                        kept.cache_read_tokens, kept.cache_creation_tokens,
                        kept.reasoning_tokens, kept.cache_creation_1h_tokens,
                    ),
                    1,
                )  # fmt: skip
            return True
        return False

    def _tally(self, call: ModelCall, sign: int) -> None:
        """Add (``sign`` 1) or take back (-1) a request's counts, not its time."""
        key = (call.model, call.provider, bisect_left(INPUT_BAND_EDGES, call.input_tokens))
        acc = self.models.get(key)
        if acc is None:
            acc = self.models[key] = _ModelAcc()
        acc.requests += sign
        acc.errors += sign * call.error
        acc.input_tokens += sign * call.input_tokens
        acc.output_tokens += sign * call.output_tokens
        acc.cache_read_tokens += sign * call.cache_read_tokens
        acc.cache_creation_tokens += sign * call.cache_creation_tokens
        acc.reasoning_tokens += sign * call.reasoning_tokens
        acc.cache_creation_1h_tokens += sign * call.cache_creation_1h_tokens
        acc.latency_ns += sign * max(0, call.end_ns - call.start_ns)
        if acc.requests <= 0:
            del self.models[key]

    def add_tool_call(self, name: str, start_ns: int, end_ns: int, error_type: str | None) -> None:
        """Count one executed tool call (failed when ``error_type`` is set) and its time."""
        acc = self.tools.get(name)
        if acc is None:
            acc = self.tools[name] = _ToolAcc()
        acc.calls += 1
        if error_type is None:
            acc.successes += 1
        else:
            acc.failures += 1
            acc.error_types[error_type] = acc.error_types.get(error_type, 0) + 1
        acc.duration_ns += max(0, end_ns - start_ns)
        if self.active.add(start_ns, end_ns) >= self.next_compact_at:
            self.maybe_compact()

    def add_decision(self, decision: str) -> None:
        """Count one user decision about a tool call."""
        self.decisions[decision] = self.decisions.get(decision, 0) + 1

    def absorb(self, other: SessionState) -> None:
        """Add everything ``other`` counted (a provisional session that was no agent run)."""
        for key, m in other.models.items():
            acc = self.models.get(key)
            if acc is None:
                acc = self.models[key] = _ModelAcc()
            for name in _ModelAcc.__slots__:
                setattr(acc, name, getattr(acc, name) + getattr(m, name))
        for name, t in other.tools.items():
            tool = self.tools.get(name)
            if tool is None:
                tool = self.tools[name] = _ToolAcc()
            tool.calls += t.calls
            tool.successes += t.successes
            tool.failures += t.failures
            tool.duration_ns += t.duration_ns
            for error, count in t.error_types.items():
                tool.error_types[error] = tool.error_types.get(error, 0) + count
        for decision, count in other.decisions.items():
            self.decisions[decision] = self.decisions.get(decision, 0) + count
        self.dropped_attributes += other.dropped_attributes
        self.api.absorb(other.api)
        self.active.absorb(other.active)
        first = other.first_start_ns
        if first is not None and (self.first_start_ns is None or first < self.first_start_ns):
            self.first_start_ns = first
        if other.last_end_ns is not None and (
            self.last_end_ns is None or other.last_end_ns > self.last_end_ns
        ):
            self.last_end_ns = other.last_end_ns
        ids = other.metadata.get("conversation_ids")
        if ids:
            add_conversation_id(self.metadata, *ids)
        self.maybe_compact()

    def is_empty(self) -> bool:
        """Whether nothing was counted: no request, tool call or decision."""
        return not (self.models or self.tools or self.decisions)

    def maybe_compact(self) -> None:
        """Forget intervals that no open span can overlap any more, now and then.

        Tried whenever 64 more intervals piled up since the last try (the ``add_*`` methods
        call it when the union they add to reaches ``next_compact_at``). Normally nothing that
        an open span could still overlap is frozen, which keeps the unions exact; past
        ``HARD_CAP`` intervals (a span open for a very long time holds everything back)
        memory wins and the oldest are frozen anyway.
        """
        held = len(self.active)
        if held < self.next_compact_at:
            return
        self.compact(force=held > HARD_CAP)
        self.next_compact_at = len(self.active) + COMPACT_STEP

    def compact(self, *, force: bool = False) -> None:
        """Freeze what no open span can overlap (everything but the recent few if ``force``).

        Both unions freeze at the same instant: a span classified only when it ended (its
        start was never announced) is then clipped alike in both, so API time stays within
        active time and tool time is never negative.
        """
        watermark = None if force or not self.open_starts else min(self.open_starts.values())
        cuts = [
            c for c in (self.api.cutoff(watermark), self.active.cutoff(watermark)) if c is not None
        ]
        if cuts:
            cut = max(cuts)
            self.api.freeze(cut)
            self.active.freeze(cut)

    # --- reading -------------------------------------------------------------------------
    def bounds(self, now_ns: int) -> tuple[int, int]:
        """(start, end) in ns: the session's own bounds, else those of its spans."""
        start = self.start_ns if self.start_ns is not None else self.first_start_ns
        if start is None:
            start = now_ns
        end = self.end_ns
        if end is None:
            end = now_ns if self.explicit or self.last_end_ns is None else self.last_end_ns
        elif not self.explicit and self.last_end_ns is not None:
            # Known only from spans: a span that ended after the root (timestamps say so)
            # is still inside the session, so that active time never exceeds wall time.
            end = max(end, self.last_end_ns)
        return start, max(start, end)

    def to_record(self, status: str, now_ns: int) -> SessionRecord:
        """A snapshot of the totals so far as a `SessionRecord`."""
        start, end = self.bounds(now_ns)
        api_ns = self.api.total_ns
        active_ns = self.active.total_ns
        tools = {
            name: ToolStats(
                calls=t.calls,
                successes=t.successes,
                failures=t.failures,
                duration_s=t.duration_ns / _NS,
                error_types=dict(sorted(t.error_types.items())),
            )
            for name, t in sorted(self.tools.items())
        }
        models = _model_rows(self.models)
        input_tokens = sum(m.input_tokens for m in models)
        cache_read = sum(m.cache_read_tokens for m in models)
        calls = sum(t.calls for t in tools.values())
        successes = sum(t.successes for t in tools.values())
        diagnostics = (
            {"dropped_attributes": self.dropped_attributes} if self.dropped_attributes else {}
        )
        return SessionRecord(
            id=self.id,
            status=status,
            start_time=_to_datetime(start),
            end_time=None if status == "active" else _to_datetime(end),
            updated_time=_to_datetime(now_ns),
            metadata=dict(self.metadata),
            wall_time_s=(end - start) / _NS,
            agent_active_time_s=active_ns / _NS,
            api_time_s=api_ns / _NS,
            tool_time_s=(active_ns - api_ns) / _NS,
            tool_calls=calls,
            tool_successes=successes,
            tool_failures=calls - successes,
            tools=tools,
            decisions=dict(sorted(self.decisions.items())),
            model_usage=models,
            cache_stats=CacheStats(
                cache_read_tokens=cache_read,
                cache_creation_tokens=sum(m.cache_creation_tokens for m in models),
                hit_rate=cache_read / input_tokens if input_tokens else 0.0,
            ),
            diagnostics=diagnostics if self.dropped_attributes else {},
        )


MAX_CONVERSATION_IDS = 16


def add_conversation_id(metadata: dict[str, Any], *ids: str) -> None:
    """Keep a framework's own conversation ids of a session (a few, in order of arrival)."""
    kept: list[str] = metadata.setdefault("conversation_ids", [])
    for cid in ids:
        if cid not in kept and len(kept) < MAX_CONVERSATION_IDS:
            kept.append(cid)


def _model_rows(accs: dict[tuple[str, str | None, int], _ModelAcc]) -> list[ModelUsage]:
    """One row per canonical (model, provider), each name with its counts by input size.

    (Runs at every checkpoint and session end: plain loops, and a short way for the usual
    session, one model name whose requests are all in one band.)
    """
    if len(accs) == 1:
        (((model, provider, band), acc),) = accs.items()
        name = ModelName(model, provider, acc.requests, acc.errors, (_band(band, acc),))
        return [_row(model, provider, acc, (name,))]
    by_name: dict[tuple[str, str | None], list[tuple[int, _ModelAcc]]] = {}
    for (model, provider, band), acc in accs.items():
        bands = by_name.get((model, provider))
        if bands is None:
            by_name[model, provider] = [(band, acc)]
        else:
            bands.append((band, acc))
    canonical = canonical_names(by_name)
    rows: dict[tuple[str, str | None], tuple[list[ModelName], list[_ModelAcc]]] = {}
    for key in sorted(by_name, key=_name_order):
        bands = sorted(by_name[key]) if len(by_name[key]) > 1 else by_name[key]
        total = bands[0][1] if len(bands) == 1 else _sum([acc for _, acc in bands])
        made = tuple(_band(band, acc) for band, acc in bands)
        row = rows.get(canonical[key])
        if row is None:
            row = rows[canonical[key]] = ([], [])
        row[0].append(ModelName(key[0], key[1], total.requests, total.errors, made))
        row[1].append(total)
    return [
        _row(model, provider, totals[0] if len(totals) == 1 else _sum(totals), tuple(names))
        for (model, provider), (names, totals) in sorted(rows.items(), key=_row_order)
    ]


def _band(band: int, acc: _ModelAcc) -> TokenBand:
    """Band number ``band`` (edges below the requests' input) of one name's requests."""
    return TokenBand(
        0 if band == 0 else INPUT_BAND_EDGES[band - 1] + 1,
        INPUT_BAND_EDGES[band] if band < len(INPUT_BAND_EDGES) else None,
        acc.requests, acc.input_tokens, acc.output_tokens, acc.cache_read_tokens,
        acc.cache_creation_tokens, acc.cache_creation_1h_tokens, acc.reasoning_tokens,
    )  # fmt: skip


def _row(
    model: str, provider: str | None, t: _ModelAcc, names: tuple[ModelName, ...]
) -> ModelUsage:
    return ModelUsage(
        model=model,
        provider=provider,
        requests=t.requests,
        errors=t.errors,
        input_tokens=t.input_tokens,
        output_tokens=t.output_tokens,
        cache_read_tokens=t.cache_read_tokens,
        cache_creation_tokens=t.cache_creation_tokens,
        reasoning_tokens=t.reasoning_tokens,
        cache_creation_1h_tokens=t.cache_creation_1h_tokens,
        latency_s=t.latency_ns / _NS,
        names=names,
    )


def _sum(accs: list[_ModelAcc]) -> _ModelAcc:
    total = _ModelAcc()
    for acc in accs:
        _add(total, acc)
    return total


def _add(total: _ModelAcc, acc: _ModelAcc) -> None:
    total.requests += acc.requests
    total.errors += acc.errors
    total.input_tokens += acc.input_tokens
    total.output_tokens += acc.output_tokens
    total.cache_read_tokens += acc.cache_read_tokens
    total.cache_creation_tokens += acc.cache_creation_tokens
    total.reasoning_tokens += acc.reasoning_tokens
    total.cache_creation_1h_tokens += acc.cache_creation_1h_tokens
    total.latency_ns += acc.latency_ns


def _name_order(key: tuple[str, str | None]) -> tuple[str, str]:
    return key[0], key[1] or ""


def _row_order(item: tuple[tuple[str, str | None], object]) -> tuple[str, str]:
    return item[0][0], item[0][1] or ""


def _same_request(a: ModelCall, b: ModelCall) -> bool:
    """Whether ``a`` and ``b`` (same tokens, other layers) overlap like one request."""
    overlap = min(a.end_ns, b.end_ns) - max(a.start_ns, b.start_ns)
    shorter = min(a.end_ns - a.start_ns, b.end_ns - b.start_ns)
    if overlap < 0 or 2 * overlap < shorter:
        return False
    return _same_model(a.model, b.model)


def _same_model(a: str, b: str) -> bool:
    """One model under two spellings: a dated snapshot of an alias, a routed name
    (``openai/gpt-4o``), or a layer that did not know it.
    """
    if a == b or "unknown" in (a, b):
        return True
    a, b = a.rpartition("/")[2], b.rpartition("/")[2]
    return a.startswith(b) or b.startswith(a)


def _kept_name(kept: str, other: str) -> str:
    """The name a request two records describe keeps: that of the record whose usage is
    kept, unless it is ``unknown`` or the other names a dated snapshot of it
    (``gpt-4o-2024-08-06`` over ``gpt-4o``).
    """
    if kept == "unknown":
        return other
    bare, other_bare = kept.rpartition("/")[2], other.rpartition("/")[2]
    if other_bare != bare and other_bare.startswith(bare):
        return other
    return kept


def _detail(call: ModelCall) -> int:
    """How much a record of a request says beyond its input and output tokens."""
    return 2 * (
        (call.cache_read_tokens > 0)
        + (call.cache_creation_tokens > 0)
        + (call.reasoning_tokens > 0)
    ) + (call.provider is not None)


def process_metadata() -> dict[str, Any]:
    """Facts about this process that every session record carries."""
    from radium_otel import __version__

    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "radium_otel_version": __version__,
    }


def _to_datetime(ns: int) -> datetime:
    seconds, rest = divmod(ns, _NS)
    return datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=rest // 1000)
