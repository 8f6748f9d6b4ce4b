"""SPEC "Time": wall, API, tool and agent-active time, measured from real SDK spans.

Every span is emitted through the OpenTelemetry SDK with explicit nanosecond timestamps, so
every expected number is exact.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import Span, TracerProvider
from opentelemetry.trace import set_span_in_context

from radium_otel._internal.aggregate import COMPACT_STEP, HARD_CAP
from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.render import split_percent
from radium_otel.testing import StepClock

S = 10**9
T0 = 1_700_000_000 * S

CHAT = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
TOOL = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}
AGENT = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"}


class Harness:
    """A fresh provider with only the session processor; records collected in a list."""

    def __init__(self) -> None:
        self.records: list[SessionRecord] = []
        self.clock = StepClock()
        self.processor = SessionSpanProcessor(self.records.append, time_ns=self.clock)
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer("test")

    def start(
        self,
        name: str,
        at: float,
        attrs: Mapping[str, Any],
        parent: Span | None,
        *,
        scope: str | None = None,
    ) -> Span:
        """A span started at ``at`` s, by the tracer of ``scope`` (default: "test")."""
        context = set_span_in_context(parent) if parent is not None else None
        tracer = self.tracer if scope is None else self.provider.get_tracer(scope)
        span = tracer.start_span(
            name, context=context, attributes=dict(attrs), start_time=T0 + round(at * S)
        )
        assert isinstance(span, Span)
        return span

    def only_record(self) -> SessionRecord:
        assert len(self.records) == 1
        return self.records[0]


def end(span: Span, at: float) -> None:
    span.end(end_time=T0 + round(at * S))


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.provider.shutdown()


def brute_length(intervals: list[tuple[int, int]]) -> int:
    """Length of a union: sort, merge, add up."""
    total, reach = 0, None
    for start, stop in sorted(i for i in intervals if i[1] > i[0]):
        if reach is None or start > reach:
            total += stop - start
            reach = stop
        elif stop > reach:
            total += stop - reach
            reach = stop
    return total


# --- golden numbers --------------------------------------------------------------------------


def test_golden_session_time_contract(h: Harness) -> None:
    """Wall 100 s; parallel chats [10,30) and [20,40); tool X [50,80) calls chat C [60,70);
    tool Y [35,45) overlaps chat B.

    API    = [10,40) ∪ [60,70)               = 30 + 10 = 40 s
    tool   = ([35,45) ∪ [50,80)) − API       = 5 + 20  = 25 s
    active = API ∪ tools = [10,45) ∪ [50,80) = 35 + 30 = 65 s
    """
    root = h.start("invoke_agent a", 0, AGENT, None)
    chat_a = h.start("chat m", 10, CHAT, root)
    chat_b = h.start("chat m", 20, CHAT, root)
    tool_y = h.start("execute_tool t", 35, TOOL, root)
    tool_x = h.start("execute_tool t", 50, TOOL, root)
    chat_c = h.start("chat m", 60, CHAT, tool_x)
    # Ends arrive out of order: neither start order nor end-timestamp order.
    end(chat_c, 70)
    end(chat_b, 40)
    end(tool_x, 80)
    end(tool_y, 45)
    end(chat_a, 30)
    assert h.records == []
    end(root, 100)

    record = h.only_record()
    assert record.wall_time_s == 100.0
    assert record.api_time_s == 40.0
    assert record.tool_time_s == 25.0
    assert record.agent_active_time_s == 65.0
    assert record.agent_active_time_s == record.api_time_s + record.tool_time_s
    # Per-model and per-tool totals are sums of durations, not unions.
    assert [(m.requests, m.latency_s) for m in record.model_usage] == [(3, 50.0)]
    assert record.tools["t"].calls == 2
    assert record.tools["t"].duration_s == 40.0
    assert split_percent(record.api_time_s, record.tool_time_s) == (61.5, 38.5)


def test_parallel_model_calls_are_not_double_counted(h: Harness) -> None:
    root = h.start("invoke_agent a", 0, AGENT, None)
    calls = [h.start("chat m", 1, CHAT, root) for _ in range(5)]
    for i, call in enumerate(calls):
        end(call, 2 + i)  # [1,2) [1,3) ... [1,6)
    end(root, 10)
    record = h.only_record()
    assert record.api_time_s == 5.0
    assert record.model_usage[0].latency_s == 1.0 + 2 + 3 + 4 + 5
    assert record.tool_time_s == 0.0
    assert record.agent_active_time_s == 5.0


def test_tool_made_entirely_of_a_model_call_gives_all_its_time_to_api(h: Harness) -> None:
    root = h.start("invoke_agent a", 0, AGENT, None)
    tool = h.start("execute_tool t", 1, TOOL, root)
    chat = h.start("chat m", 1, CHAT, tool)
    end(chat, 4)
    end(tool, 4)
    end(root, 5)
    record = h.only_record()
    assert (record.api_time_s, record.tool_time_s, record.agent_active_time_s) == (3.0, 0.0, 3.0)
    assert record.tools["t"].duration_s == 3.0


def test_parallel_tools_are_not_double_counted(h: Harness) -> None:
    root = h.start("invoke_agent a", 0, AGENT, None)
    first = h.start("execute_tool t", 2, TOOL, root)
    second = h.start("execute_tool t", 3, TOOL, root)
    end(second, 9)
    end(first, 5)
    end(root, 10)
    record = h.only_record()
    assert (record.api_time_s, record.tool_time_s) == (0.0, 7.0)
    assert record.tools["t"].duration_s == 3.0 + 6.0


def test_idle_gaps_are_wall_time_but_not_active_time(h: Harness) -> None:
    root = h.start("invoke_agent a", 0, AGENT, None)
    end(h.start("chat m", 100, CHAT, root), 101.5)
    end(h.start("execute_tool t", 3600, TOOL, root), 3600.25)
    end(root, 7200)
    record = h.only_record()
    assert record.wall_time_s == 7200.0
    assert record.api_time_s == 1.5
    assert record.tool_time_s == 0.25
    assert record.agent_active_time_s == 1.75


def test_child_ending_after_the_root_by_its_timestamps_stays_within_wall_time(
    h: Harness,
) -> None:
    """Regression: the wall time once ended at the root's end while a span processed before
    it carried a later end timestamp, so active (9 s) exceeded wall (5 s)."""
    root = h.start("invoke_agent a", 0, AGENT, None)
    chat = h.start("chat m", 1, CHAT, root)
    end(chat, 10)
    end(root, 5)
    record = h.only_record()
    assert record.api_time_s == 9.0
    assert record.wall_time_s == 10.0
    assert record.agent_active_time_s <= record.wall_time_s


def test_span_without_duration_or_with_end_before_start_adds_no_time(h: Harness) -> None:
    root = h.start("invoke_agent a", 0, AGENT, None)
    end(h.start("chat m", 5, CHAT, root), 5)
    end(h.start("chat m", 8, CHAT, root), 6)  # end < start: corrupt clock
    end(h.start("execute_tool t", 9, TOOL, root), 7)
    end(root, 10)
    record = h.only_record()
    assert record.model_usage[0].requests == 2
    assert record.model_usage[0].latency_s == 0.0
    assert record.tools["t"].duration_s == 0.0
    assert (record.api_time_s, record.tool_time_s, record.agent_active_time_s) == (0, 0, 0)
    assert record.wall_time_s == 10.0


@pytest.mark.parametrize(
    ("api", "tool", "expected"),
    [
        (40.0, 25.0, (61.5, 38.5)),
        (1.0, 2.0, (33.3, 66.7)),
        (2.0, 1.0, (66.7, 33.3)),
        (1.0, 0.0, (100.0, 0.0)),
        (0.0, 3.0, (0.0, 100.0)),
        (1e-9, 1e9, (0.0, 100.0)),
        (0.0, 0.0, (0.0, 0.0)),
    ],
)
def test_split_percent_golden(api: float, tool: float, expected: tuple[float, float]) -> None:
    assert split_percent(api, tool) == expected


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 1e7), st.floats(0, 1e7))
def test_percentages_add_up_to_exactly_100(api: float, tool: float) -> None:
    api_pct, tool_pct = split_percent(api, tool)
    if api + tool > 0:
        assert api_pct + tool_pct == 100.0
        assert 0.0 <= api_pct <= 100.0
        assert abs(api_pct - 100 * api / (api + tool)) <= 0.05 + 1e-9
    else:
        assert (api_pct, tool_pct) == (0.0, 0.0)


# --- properties against a brute-force reference ---------------------------------------------

_END, _START, _END_EMPTY = 0, 1, 2


def timeline(intervals: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(time, kind, index) events in the order a live process sees them: at one instant,
    spans end before others start (half-open intervals), and an empty span starts first."""
    events = []
    for i, (start, stop) in enumerate(intervals):
        events += [(start, _START, i), (stop, _END if stop > start else _END_EMPTY, i)]
    return sorted(events)


_span_shape = st.tuples(st.booleans(), st.integers(0, 60), st.integers(0, 15))


def expected_times(shapes: list[tuple[bool, int, int]]) -> tuple[int, int, int]:
    """(api, tool, active) in seconds, by brute force over unit seconds."""
    models = [(s, s + d) for is_model, s, d in shapes if is_model]
    tools = [(s, s + d) for is_model, s, d in shapes if not is_model]
    api = brute_length(models)
    active = brute_length(models + tools)
    return api, active - api, active


@settings(max_examples=150, deadline=None)
@given(st.lists(_span_shape, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_times_match_brute_force_for_any_end_order(
    shapes: list[tuple[bool, int, int]], rnd: random.Random
) -> None:
    """Up to 40 spans (no compaction yet): starts and ends in any order, numbers exact."""
    h = Harness()
    root = h.start("invoke_agent a", 0, AGENT, None)
    spans = [
        (h.start("chat m" if m else "execute_tool t", s, CHAT if m else TOOL, root), s + d)
        for m, s, d in shapes
    ]
    rnd.shuffle(spans)
    for span, at in spans:
        end(span, at)
    end(root, 100)
    record = h.only_record()
    api, tool, active = expected_times(shapes)
    assert (record.api_time_s, record.tool_time_s, record.agent_active_time_s) == (
        api,
        tool,
        active,
    )
    assert record.agent_active_time_s <= record.wall_time_s == 100.0
    h.provider.shutdown()


# Mostly short spans, one after the other (many disjoint intervals to compact), and now and
# then a long one that stays open while well over ``keep`` others come and go.
_live_shape = st.tuples(
    st.booleans(),
    st.integers(0, 4),
    st.integers(0, 3)
    | st.integers(0, 3)
    | st.integers(0, 3)
    | st.integers(0, 3)
    | st.integers(400, 1500),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_live_shape, min_size=1, max_size=300))
def test_times_match_brute_force_in_real_time_order_with_compaction(
    shapes: list[tuple[bool, int, int]],
) -> None:
    """Many spans, started and ended in timestamp order as a live agent would: compaction
    runs (more than ``keep`` intervals) and the numbers stay exact."""
    h = Harness()
    root = h.start("invoke_agent a", 0, AGENT, None)
    placed = [(m, s + 5 * i, d) for i, (m, s, d) in enumerate(shapes)]
    events = timeline([(s, s + d) for _, s, d in placed])
    open_spans: dict[int, Span] = {}
    for at, kind, i in events:
        if kind == _START:
            m = placed[i][0]
            open_spans[i] = h.start(
                "chat m" if m else "execute_tool t", at, CHAT if m else TOOL, root
            )
        else:
            end(open_spans.pop(i), at)
    last = max(s + d for _, s, d in placed)
    end(root, last + 1)
    record = h.only_record()
    api, tool, active = expected_times(placed)
    assert (record.api_time_s, record.tool_time_s, record.agent_active_time_s) == (
        api,
        tool,
        active,
    )
    h.provider.shutdown()


@pytest.mark.parametrize("shorts", [100, HARD_CAP])
@pytest.mark.parametrize("outer", ["tool", "chat"])
def test_long_span_open_while_many_others_finish_is_exact(
    h: Harness, outer: str, shorts: int
) -> None:
    """A long tool (or streaming chat) runs while 100 short calls of the other kind end, or
    as many as compaction holds back (``HARD_CAP`` intervals, not one more): compaction must
    not freeze what the long span will still merge with."""
    length = 2 * shorts + 100
    root = h.start("invoke_agent a", 0, AGENT, None)
    long_attrs, short_attrs = (TOOL, CHAT) if outer == "tool" else (CHAT, TOOL)
    long_span = h.start(outer, 0, long_attrs, root)
    for i in range(shorts):
        end(h.start("short", 2 * i + 1, short_attrs, root), 2 * i + 2)
    end(long_span, length)
    end(root, length)
    record = h.only_record()
    expected = (shorts, length - shorts, length) if outer == "tool" else (length, 0, length)
    assert (record.api_time_s, record.tool_time_s, record.agent_active_time_s) == expected


@pytest.mark.parametrize("tools", [100, 1000, HARD_CAP + 500])
def test_model_call_classified_at_its_end_around_many_tools_keeps_the_invariants(
    h: Harness, tools: int
) -> None:
    """A usage-only span (attributes set after start, so never announced to compaction)
    around many tool calls. While it is open it holds compaction back, so the result is exact
    up to ``HARD_CAP`` held intervals; beyond that, intervals frozen before the span was known
    cannot merge with it any more, but API and active time are clipped alike.

    Regression: API and active time once froze at different instants, giving API 300 s,
    active 264 s and tool time -36 s.
    """
    length = 3 * tools
    root = h.start("invoke_agent a", 0, AGENT, None)
    llm = h.start("llm", 0, {}, root)
    for i in range(tools):
        end(h.start("execute_tool t", 2 * i + 1, TOOL, root), 2 * i + 2)
    llm.set_attribute("gen_ai.usage.input_tokens", 5)
    end(llm, length)
    end(root, length)
    record = h.only_record()
    assert record.tool_time_s >= 0.0
    assert 0.0 <= record.api_time_s <= record.agent_active_time_s <= record.wall_time_s
    assert record.agent_active_time_s == record.api_time_s + record.tool_time_s
    if tools < HARD_CAP:  # the open span held compaction back: exact
        assert (record.api_time_s, record.tool_time_s) == (length, 0)
        assert record.agent_active_time_s == length
    else:  # memory won: what was frozen before the span was known is clipped
        assert record.api_time_s < length


# Mostly tools, so that active time has many more intervals than API time.
_late_shape = st.tuples(
    st.sampled_from(["tool", "tool", "tool", "tool", "chat", "late"]),
    st.integers(0, 4),
    st.integers(0, 3),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_late_shape, min_size=1, max_size=200))
@example([("late", 0, 2), *[("tool", 0, 1)] * 100, ("chat", 0, 1)])
def test_time_invariants_hold_even_for_spans_classified_only_at_their_end(
    spans: list[tuple[str, int, int]],
) -> None:
    """Spans whose operation or usage is set after they started may be clipped by
    compaction, but API ≤ active ≤ wall and tool ≥ 0 always hold."""
    h = Harness()
    root = h.start("invoke_agent a", 0, AGENT, None)
    # Short chats and tools one after the other; "late" spans are long (up to 150 others).
    intervals = [
        (3 * i + offset, 3 * i + offset + (size * 150 if what == "late" else size))
        for i, (what, offset, size) in enumerate(spans)
    ]
    open_spans: dict[int, Span] = {}
    for at, kind, i in timeline(intervals):
        what = spans[i][0]
        if kind == _START:
            attrs = {"chat": CHAT, "tool": TOOL, "late": {}}[what]
            open_spans[i] = h.start(what, at, attrs, root)
        else:
            span = open_spans.pop(i)
            if what == "late":
                span.set_attribute("gen_ai.usage.input_tokens", 1)
            end(span, at)
    end(root, 3 * 200 + 4 + 3 * 150)
    record = h.only_record()
    assert 0.0 <= record.api_time_s <= record.agent_active_time_s <= record.wall_time_s
    assert record.tool_time_s >= 0.0
    assert record.agent_active_time_s == record.api_time_s + record.tool_time_s
    h.provider.shutdown()


def test_model_call_classified_at_its_end_is_exact_within_the_keep_window(h: Harness) -> None:
    """A usage-only span (attributes set after start) around 60 tool calls: fewer intervals
    than ``keep``, so nothing was frozen and its whole stretch counts as API time."""
    root = h.start("invoke_agent a", 0, AGENT, None)
    llm = h.start("llm", 0, {}, root)
    for i in range(60):
        end(h.start("execute_tool t", 2 * i + 1, TOOL, root), 2 * i + 2)
    llm.set_attribute("gen_ai.usage.input_tokens", 5)
    end(llm, 200)
    end(root, 200)
    record = h.only_record()
    assert (record.api_time_s, record.tool_time_s, record.agent_active_time_s) == (200, 0, 200)
    assert record.requests == 1


# --- memory ---------------------------------------------------------------------------------


def test_memory_of_a_long_session_stays_bounded(h: Harness) -> None:
    """5,000 sequential model and tool calls: the interval unions hold O(open + keep)."""
    root = h.start("invoke_agent a", 0, AGENT, None)
    assert root.context is not None
    state = h.processor._sessions[h.processor.session_ids()[0]]
    high_water = 0
    for i in range(2_500):
        t = 10 * i + 1
        tool = h.start("execute_tool t", t, TOOL, root)
        chat = h.start("chat m", t + 1, CHAT, tool)  # a model call inside the tool
        end(chat, t + 3)
        end(tool, t + 4)
        end(h.start("chat m", t + 5, CHAT, root), t + 6)
        high_water = max(high_water, len(state.api), len(state.active))
    assert high_water <= 2 * COMPACT_STEP + 2
    assert len(state.open_starts) == 0
    end(root, 25_000)
    record = h.only_record()
    assert record.api_time_s == 2_500 * 3
    assert record.tool_time_s == 2_500 * 2
    assert record.requests == 5_000
    assert record.tools["t"].calls == 2_500
    assert h.processor._open == {}


def test_memory_stays_bounded_when_tools_far_outnumber_model_calls(h: Harness) -> None:
    """API and active time freeze at one shared instant; memory stays bounded when active
    time has many more intervals than API time."""
    root = h.start("invoke_agent a", 0, AGENT, None)
    state = h.processor._sessions[h.processor.session_ids()[0]]
    high_water = 0
    for i in range(1_000):
        t = 10 * i
        end(h.start("chat m", t, CHAT, root), t + 1)
        end(h.start("execute_tool t", t + 2, TOOL, root), t + 3)
        end(h.start("execute_tool t", t + 4, TOOL, root), t + 5)
        high_water = max(high_water, len(state.api), len(state.active))
    assert high_water <= 2 * COMPACT_STEP + 2
    end(root, 10_000)
    record = h.only_record()
    assert (record.api_time_s, record.tool_time_s) == (1_000, 2_000)
