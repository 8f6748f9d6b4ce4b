"""SPEC "Span → analytics contract" rules that agent frameworks need, on the real SDK.

Session ownership, attributes set after a span starts, no empty sessions, framework
providers and tools, and "one request counts once" across layers (siblings and cousins),
with a property test over random trees of wrapper, sibling and nested usage spans.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import Span, TracerProvider
from opentelemetry.trace import set_span_in_context
from test_time_accounting import Harness

from radium_otel._internal.processor import SessionSpanProcessor, session_context
from radium_otel._internal.record import SessionRecord
from radium_otel.testing import StepClock, isolated

S = 10**9
T0 = 1_700_000_000 * S
OP = "gen_ai.operation.name"
CONV = "gen_ai.conversation.id"
OI_KIND = "openinference.span.kind"


def ns(seconds: float) -> int:
    return T0 + round(seconds * S)


class Layers(Harness):
    """One processor on a fresh provider; spans of a tracer per instrumentation scope."""

    def start(  # type: ignore[override]  # (the scope comes first: the layer)
        self,
        scope: str,
        name: str,
        at: float,
        attrs: Mapping[str, Any] | None = None,
        parent: Span | None = None,
    ) -> Span:
        return super().start(name, at, attrs or {}, parent, scope=scope)

    def span(
        self,
        scope: str,
        name: str,
        at: float,
        until: float,
        attrs: Mapping[str, Any] | None = None,
        parent: Span | None = None,
    ) -> Span:
        span = self.start(scope, name, at, attrs, parent)
        span.end(end_time=ns(until))
        return span


@pytest.fixture
def lay() -> Iterator[Layers]:
    layers = Layers()
    yield layers
    layers.provider.shutdown()


def usage(
    model: str, inp: int, out: int, *, cached: int = 0, reasoning: int = 0, provider: str = "openai"
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        OP: "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": inp,
        "gen_ai.usage.output_tokens": out,
    }
    if cached:
        attrs["gen_ai.usage.cache_read.input_tokens"] = cached
    if reasoning:
        attrs["gen_ai.usage.reasoning.output_tokens"] = reasoning
    return attrs


def oi_llm(model: str, inp: int, out: int) -> dict[str, Any]:
    """An OpenInference LLM span, as framework instrumentations emit (no cache detail)."""
    return {
        OI_KIND: "LLM",
        "llm.model_name": model,
        "llm.token_count.prompt": inp,
        "llm.token_count.completion": out,
    }


# --- session ownership ----------------------------------------------------------------------


def test_a_user_session_owns_a_framework_run_with_its_own_conversation_id(lay: Layers) -> None:
    """pydantic-ai gives every run a conversation id: inside rad.session it is one session."""
    sid = lay.processor.open_session("user-1", agent="mine", start_ns=ns(0))
    token = session_context.set(sid)
    try:
        run = lay.start("fw", "invoke_agent weather", 1, {OP: "invoke_agent", CONV: "run-abc"})
        lay.span("fw", "chat", 2, 3, {**usage("gpt-4o", 10, 2), CONV: "run-abc"}, run)
        lay.span("fw", "execute_tool x", 3, 4, {OP: "execute_tool", "gen_ai.tool.name": "x",
                                                 CONV: "run-abc"}, run)  # fmt: skip
        run.end(end_time=ns(5))
    finally:
        session_context.reset(token)
    assert lay.records == []  # the run's end closed nothing
    record = lay.processor.end_session(sid, end_ns=ns(6))
    assert record is not None and lay.records == [record]
    assert (record.id, record.metadata["agent"]) == ("user-1", "mine")
    assert (record.requests, record.input_tokens, record.tool_calls) == (1, 10, 1)
    assert record.metadata["conversation_ids"] == ["run-abc"]


def test_a_nested_user_session_still_opens_its_own(tmp_path: Any) -> None:
    with isolated(tmp_path) as (rad, _):
        with rad.session(agent="outer") as outer:
            with rad.session(agent="inner") as inner:
                pass
    assert outer.record is not None and inner.record is not None
    assert outer.record.id != inner.record.id


# --- top-level runs whose attributes come late; OpenInference roots -------------------------


def test_agent_runs_named_only_after_they_started_are_one_session_each(lay: Layers) -> None:
    for run in range(2):
        at = 10 * run
        root = lay.start("strands", "invoke_agent", at)  # no attributes yet
        lay.span("strands", "chat", at + 1, at + 2, usage("gpt-4o", 100 + run, 5), root)
        root.set_attributes({OP: "invoke_agent", "gen_ai.agent.name": f"agent-{run}"})
        root.end(end_time=ns(at + 3))
    assert [(r.metadata["agent"], r.input_tokens, r.status) for r in lay.records] == [
        ("agent-0", 100, "completed"),
        ("agent-1", 101, "completed"),
    ]
    assert [r.wall_time_s for r in lay.records] == [3.0, 3.0]


@pytest.mark.parametrize(("kind", "agent"), [("AGENT", "weather"), ("CHAIN", None)])
def test_openinference_agent_and_chain_roots_are_one_session_each(
    lay: Layers, kind: str, agent: str | None
) -> None:
    for run in range(2):
        root = lay.start("oi", "weather", 10 * run, {OI_KIND: kind})
        lay.span("oi", "ChatOpenAI", 10 * run + 1, 10 * run + 2, oi_llm("gpt-4o", 7, 1), root)
        root.end(end_time=ns(10 * run + 3))
    assert len(lay.records) == 2
    assert [r.metadata.get("agent") for r in lay.records] == [agent, agent]
    assert [r.requests for r in lay.records] == [1, 1]


def test_a_top_level_span_that_is_no_agent_run_goes_to_the_default_session(
    lay: Layers,
) -> None:
    request = lay.start("web", "GET /ask", 0)  # e.g. a web framework's server span
    lay.span("client", "chat", 1, 2, usage("gpt-4o", 10, 1), request)
    request.end(end_time=ns(3))
    lay.span("client", "chat", 4, 5, usage("gpt-4o", 20, 2))  # a lone call, no parent
    assert lay.records == []
    lay.provider.shutdown()
    (record,) = lay.records
    assert (record.requests, record.input_tokens, record.api_time_s) == (2, 30, 2.0)


def test_a_checkpoint_leaves_out_runs_not_yet_known_as_agents_and_empty_sessions(
    lay: Layers,
) -> None:
    pending = lay.start("strands", "invoke_agent", 0)
    lay.span("strands", "chat", 1, 2, usage("gpt-4o", 10, 1), pending)
    lay.start("traceloop", "create_agent", 0)  # holds nothing
    assert lay.processor.snapshot_active() == []
    pending.set_attribute(OP, "invoke_agent")  # now it says what it is
    (active,) = lay.processor.snapshot_active()
    assert (active.status, active.requests) == ("active", 1)


# --- no empty sessions ----------------------------------------------------------------------


def test_a_session_nobody_opened_that_counted_nothing_is_never_written(lay: Layers) -> None:
    lay.span("traceloop", "create_agent", 0, 1, {OP: "create_agent"})
    lay.span("fw", "invoke_agent idle", 2, 3, {OP: "invoke_agent"})
    lay.span("oi", "router", 4, 5, {OI_KIND: "CHAIN"})
    sid = lay.processor.open_session("user-empty", start_ns=ns(0))
    lay.processor.end_session(sid, end_ns=ns(9))
    lay.provider.shutdown()
    assert [r.id for r in lay.records] == ["user-empty"]  # a user's session always is


# --- framework providers and tools ----------------------------------------------------------


def test_a_framework_named_as_provider_is_priced_by_its_model(tmp_path: Any) -> None:
    with isolated(tmp_path) as (rad, _):
        tracer = rad.tracer_provider.get_tracer("strands.telemetry.tracer")
        with rad.session() as s:
            with tracer.start_as_current_span("chat") as span:
                span.set_attributes(usage("gpt-4o-mini", 1000, 100, provider="strands-agents"))
    assert s.record is not None
    (row,) = s.record.model_usage
    assert (row.model, row.provider) == ("gpt-4o-mini", None)
    assert s.record.cost_usd is not None and s.record.cost_usd > 0


def test_a_frameworks_own_answer_tool_is_not_a_tool_call(lay: Layers) -> None:
    root = lay.start("oi", "weather", 0, {OI_KIND: "AGENT"})
    for i, name in enumerate(["get_weather", "final_answer"]):
        lay.span("oi", name, i + 1, i + 2, {OI_KIND: "TOOL", "tool.name": name}, root)
    root.end(end_time=ns(4))
    (record,) = lay.records
    assert (record.tool_calls, list(record.tools)) == (1, ["get_weather"])
    assert record.tool_time_s == 1.0


# --- one request counts once ----------------------------------------------------------------


@pytest.mark.parametrize("client_first", [True, False])
def test_a_framework_span_and_a_client_span_of_one_request_count_once(
    lay: Layers, client_first: bool
) -> None:
    """LangChain + the openai instrumentation: the two spans are siblings, not nested."""
    sid = lay.processor.open_session("s", start_ns=ns(0))
    token = session_context.set(sid)
    try:
        graph = lay.start("oi", "LangGraph", 0, {OI_KIND: "CHAIN"})
        fw = lay.start("oi", "ChatOpenAI", 1, oi_llm("gpt-4o-mini", 1200, 80), graph)
        client = lay.start(
            "openai", "chat gpt-4o-mini", 1.1,
            usage("gpt-4o-mini-2024-07-18", 1200, 80, cached=1000, reasoning=16), graph,
        )  # fmt: skip
        ends = [(client, 1.9), (fw, 2)] if client_first else [(fw, 2), (client, 1.9)]
        for span, at in ends:
            span.end(end_time=ns(at))
        graph.end(end_time=ns(3))
    finally:
        session_context.reset(token)
    record = lay.processor.end_session(sid, end_ns=ns(4))
    assert record is not None
    (row,) = record.model_usage  # the richer record: cache and reasoning detail, provider
    assert (row.model, row.provider, row.requests) == ("gpt-4o-mini-2024-07-18", "openai", 1)
    assert (row.input_tokens, row.cache_read_tokens, row.reasoning_tokens) == (1200, 1000, 16)
    # The time of the request is the one counted first.
    assert record.api_time_s == pytest.approx(0.8 if client_first else 1.0)


def test_identical_parallel_requests_of_one_layer_all_count(lay: Layers) -> None:
    root = lay.start("fw", "invoke_agent", 0, {OP: "invoke_agent"})
    for _ in range(3):
        lay.span("client", "chat", 1, 2, usage("gpt-4o", 50, 5), root)
    root.end(end_time=ns(3))
    (record,) = lay.records
    assert record.requests == 3


def test_requests_that_do_not_overlap_enough_are_two(lay: Layers) -> None:
    root = lay.start("fw", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("client", "chat", 1, 2, usage("gpt-4o", 50, 5), root)
    lay.span("oi", "ChatOpenAI", 1.8, 3, oi_llm("gpt-4o", 50, 5), root)
    lay.span("oi", "ChatOpenAI", 1, 2, oi_llm("gpt-4.1", 50, 5), root)  # another model
    root.end(end_time=ns(4))
    (record,) = lay.records
    assert record.requests == 3


# A request as the layers record it: its tokens, whether a framework span records it too
# (a sibling of the client span, around it in time), whether radium's decorator wraps it
# (an ancestor with usage), and whether the framework span is the client span's parent.
_request = st.tuples(
    st.integers(1, 4),  # input tokens (few values: identical requests are common)
    st.booleans(),  # framework span too
    st.booleans(),  # radium wrapper around it
    st.booleans(),  # framework span is the client span's parent (else its sibling)
    st.integers(0, 3),  # start slot: requests in one slot run in parallel
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_request, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_each_real_request_counts_once_whatever_the_layers(
    requests: list[tuple[int, bool, bool, bool, int]], rnd: random.Random
) -> None:
    lay = Layers()
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    ends: list[tuple[float, Span]] = []
    for i, (inp, framework, wrapped, nested, slot) in enumerate(requests):
        at = 1 + 10 * slot + 0.01 * i
        parent = root
        if wrapped:
            parent = lay.start("radium_otel", "model_call", at, usage("gpt-4o", inp, 1), parent)
            ends.append((at + 5, parent))
        sibling_parent = parent
        if framework:
            fw = lay.start("oi", "ChatOpenAI", at + 0.1, oi_llm("gpt-4o", inp, 1), parent)
            ends.append((at + 4, fw))
            if nested:
                sibling_parent = fw
        client = lay.start(
            "openai", "chat", at + 0.2, usage("gpt-4o-2024-08-06", inp, 1, cached=inp),
            sibling_parent,
        )  # fmt: skip
        ends.append((at + 3, client))
    # Spans end in time order, ties (parallel requests) in any order.
    rnd.shuffle(ends)
    for at, span in sorted(ends, key=lambda e: e[0]):
        span.end(end_time=ns(at))
    root.end(end_time=ns(100))
    (record,) = lay.records
    assert record.requests == len(requests)
    assert record.input_tokens == sum(r[0] for r in requests)
    assert record.cache_stats.cache_read_tokens == record.input_tokens  # the richer record
    assert [(m.model, m.provider) for m in record.model_usage] == [("gpt-4o-2024-08-06", "openai")]
    lay.provider.shutdown()


def test_a_workflow_root_is_named_after_the_first_agent_that_names_itself(lay: Layers) -> None:
    """OpenAI Agents SDK under OpenInference: "Agent workflow" around the "weather" agent,
    whose name is set only when its span ends."""
    root = lay.start("oi", "Agent workflow", 0, {OI_KIND: "AGENT"})
    agent = lay.start("oi", "weather", 1, {OI_KIND: "AGENT"}, root)
    lay.span("oi", "response", 2, 3, oi_llm("gpt-4o", 5, 1), agent)
    agent.set_attribute("agent.name", "weather")
    agent.end(end_time=ns(4))
    root.end(end_time=ns(5))
    (record,) = lay.records
    assert record.metadata["agent"] == "weather"


def test_the_scope_is_read_from_the_sdk_field() -> None:
    """`_scope` reads the SDK's private field; this fails loudly if the SDK renames it."""
    from radium_otel._internal.processor import _scope

    provider = TracerProvider()
    span = provider.get_tracer("some.instrumentation").start_span("x")
    span.end()
    assert isinstance(span, Span)
    assert span._instrumentation_scope is span.instrumentation_scope
    scope = _scope(span)
    assert scope is not None and scope.name == "some.instrumentation"


def test_an_openinference_agent_span_is_named_by_its_graph_node(lay: Layers) -> None:
    """CrewAI: the agent's role is only the AGENT span's graph node (its CHAIN root is the
    crew)."""
    crew = lay.start("oi", "Crew_1.kickoff", 0, {OI_KIND: "CHAIN"})
    agent = lay.start("oi", "weather._execute_core", 1, {OI_KIND: "AGENT"}, crew)
    lay.span("client", "chat", 2, 3, usage("gpt-4o", 5, 1), agent)
    agent.set_attribute("graph.node.id", "weather")
    agent.end(end_time=ns(4))
    crew.end(end_time=ns(5))
    (record,) = lay.records
    assert record.metadata["agent"] == "weather"


def test_a_frameworks_own_preparation_span_is_not_a_request(lay: Layers) -> None:
    """LlamaIndex traces ``<LLM>._prepare_chat_with_tools`` as an LLM span with no usage."""
    root = lay.start("oi", "FunctionAgent.run", 0, {OI_KIND: "CHAIN"})
    llm = {OI_KIND: "LLM", "llm.model_name": "gpt-4o-mini"}
    lay.span("oi", "OpenAI._prepare_chat_with_tools", 1, 1.1, llm, root)
    lay.span("oi", "OpenAI.achat", 1.2, 2, oi_llm("gpt-4o-mini", 7, 1), root)
    root.end(end_time=ns(3))
    (record,) = lay.records
    assert (record.requests, record.input_tokens) == (1, 7)


def test_a_streamed_openinference_request_ends_at_its_last_event(lay: Layers) -> None:
    """LlamaIndex ends the span of a streamed request when the stream is handed over and
    records the first token later: the client's span of that request comes after the span
    ended, and is still that request (counted once)."""
    root = lay.start("oi", "FunctionAgent.run", 0, {OI_KIND: "CHAIN"})
    stream = lay.start("oi", "OpenAI.astream_chat", 1, oi_llm("gpt-4o-mini", 7, 1), root)
    stream.add_event("First Token Stream Event", timestamp=ns(2.9))
    stream.end(end_time=ns(1.2))
    lay.span("openai", "chat", 1.25, 3, usage("gpt-4o-mini-2024-07-18", 7, 1, cached=4), root)
    root.end(end_time=ns(4))
    (record,) = lay.records
    (row,) = record.model_usage
    assert (row.requests, row.model, row.cache_read_tokens) == (1, "gpt-4o-mini-2024-07-18", 4)


def test_a_call_waiting_for_approval_is_not_a_tool_call(lay: Layers) -> None:
    """OpenAI Agents SDK: the interrupted run leaves a 0 ms span for the call awaiting the
    user (radium's companion marks it); a call refused by a standing rule is a decision."""
    root = lay.start("fw", "invoke_agent", 0, {OP: "invoke_agent"})
    tool = {OI_KIND: "TOOL", "tool.name": "get_weather"}
    lay.span("oi", "get_weather", 1, 1, {**tool, "radium.tool.approval": "pending"}, root)
    refused = {**tool, "radium.tool.approval": "rejected", "radium.tool.decision": "reject"}
    lay.span("oi", "get_weather", 2, 2.1, refused, root)
    lay.span("oi", "get_weather", 3, 4, tool, root)  # approved, then run
    root.end(end_time=ns(5))
    (record,) = lay.records
    assert (record.tool_calls, record.decisions) == (1, {"reject": 1})


def test_only_sessions_known_as_agent_runs_are_announced_and_empty_ones_are_dropped() -> None:
    """Session hooks (code-change snapshots) run for sessions, not for every top-level span:
    a provisional session is announced once its root says it is an agent run (here when
    its first child starts), never when it was not one; an announced session that ends
    with nothing to write is announced as dropped (its hooks forget it)."""
    opened: list[tuple[str, bool]] = []
    dropped: list[str] = []
    records: list[SessionRecord] = []
    processor = SessionSpanProcessor(
        records.append,
        on_session_open=lambda sid, user: opened.append((sid, user)),
        on_session_drop=dropped.append,
        time_ns=StepClock(),
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("fw")
    web = tracer.start_span("GET /health", start_time=ns(0))  # no agent run
    chat = usage("gpt-4o", 1, 1)
    in_web = set_span_in_context(web)
    tracer.start_span("chat", in_web, attributes=chat, start_time=ns(1)).end(ns(2))
    assert opened == []  # (a provisional session for the web span: not announced)
    web.end(end_time=ns(3))
    assert [user for _, user in opened] == [False]  # the default session, now holding its call
    run = tracer.start_span("invoke_agent", start_time=ns(4))  # named right after it started
    run.set_attribute(OP, "invoke_agent")
    in_run = set_span_in_context(run)
    tracer.start_span("chat", in_run, attributes=chat, start_time=ns(5)).end(ns(6))
    assert len(opened) == 2  # the run, announced when its first child started
    run.end(end_time=ns(7))
    idle = tracer.start_span("idle", attributes={OP: "invoke_agent"}, start_time=ns(8))
    idle.end(end_time=ns(9))
    provider.shutdown()
    assert dropped == [opened[-1][0]]  # the idle run: announced, then dropped
    assert len(records) == 2  # the run, and the default session with the web span's call


def test_at_shutdown_a_span_still_open_that_is_no_agent_run_is_the_default_sessions(
    lay: Layers,
) -> None:
    """A web request still running when the process stops: what it held is counted in the
    default session, as when it ends, never as a session of its own."""
    lay.span("client", "chat", 0, 1, usage("gpt-4o", 5, 1))  # the default session
    request = lay.start("web", "GET /ask", 2)
    lay.span("client", "chat", 3, 4, usage("gpt-4o", 7, 1), request)
    other = lay.start("web", "GET /other", 5)
    lay.span("client", "chat", 6, 7, usage("gpt-4o", 9, 1), other)
    lay.provider.shutdown()
    (record,) = lay.records
    assert (record.requests, record.input_tokens) == (3, 21)


def test_at_shutdown_open_spans_alone_make_one_default_session(lay: Layers) -> None:
    for at in (0, 5):
        request = lay.start("web", "GET /ask", at)
        lay.span("client", "chat", at + 1, at + 2, usage("gpt-4o", 7, 1), request)
    lay.provider.shutdown()
    (record,) = lay.records
    assert (record.requests, record.input_tokens) == (2, 14)
