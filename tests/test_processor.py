"""`SessionSpanProcessor`: SPEC "Span → analytics contract", fed by the real OpenTelemetry SDK.

Spans come from a plain tracer (not radium's decorators), the way any GenAI instrumentation
would emit them, with explicit nanosecond timestamps so that every number is exact.
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan, Span, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from radium_otel._internal.processor import SessionSpanProcessor, session_context
from radium_otel._internal.record import ModelUsage, SessionRecord, ToolStats
from radium_otel.testing import StepClock, isolated

S = 10**9
T0 = 1_700_000_000 * S
CONV = "gen_ai.conversation.id"
OP = "gen_ai.operation.name"
AGENT = {OP: "invoke_agent", "gen_ai.agent.name": "coder"}


class Harness:
    """The session processor and an in-memory exporter on a fresh provider."""

    def __init__(self, clock: StepClock | None = None) -> None:
        self.records: list[SessionRecord] = []
        self.clock = clock or StepClock()
        self.processor = SessionSpanProcessor(self.records.append, time_ns=self.clock)
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.processor)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("third-party-instrumentation")

    def start(
        self,
        name: str,
        at: float,
        attrs: Mapping[str, Any] | None = None,
        parent: Span | None = None,
    ) -> Span:
        context = set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(
            name, context=context, attributes=dict(attrs or {}), start_time=ns(at)
        )
        assert isinstance(span, Span)
        return span

    def span(
        self,
        name: str,
        at: float,
        until: float,
        attrs: Mapping[str, Any] | None = None,
        parent: Span | None = None,
        *,
        error: bool = False,
    ) -> Span:
        """Start and end a span; ``error`` sets status ERROR before it ends."""
        span = self.start(name, at, attrs, parent)
        if error:
            span.set_status(Status(StatusCode.ERROR, "failed"))
        span.end(end_time=ns(until))
        return span

    def agent_session(self, *spans: tuple[str, Mapping[str, Any]]) -> SessionRecord:
        """One top-level ``invoke_agent`` span with the given children, one second each."""
        root = self.start("invoke_agent coder", 0, AGENT)
        for i, (name, attrs) in enumerate(spans):
            self.span(name, i + 1, i + 2, attrs, root)
        root.end(end_time=ns(len(spans) + 2))
        return self.only_record()

    def only_record(self) -> SessionRecord:
        assert len(self.records) == 1, self.records
        return self.records[0]

    def exported(self, name: str) -> ReadableSpan:
        (span,) = [s for s in self.exporter.get_finished_spans() if s.name == name]
        return span


def rows(record: SessionRecord) -> list[ModelUsage]:
    """The record's model rows without the names their requests reported (tested apart)."""
    return [dataclasses.replace(m, names=()) for m in record.model_usage]


def ns(seconds: float) -> int:
    return T0 + round(seconds * S)


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.provider.shutdown()


def chat(model: str | None = "gpt-4o", /, **usage: object) -> dict[str, Any]:
    attrs: dict[str, Any] = {OP: "chat", "gen_ai.provider.name": "openai"}
    if model is not None:
        attrs["gen_ai.request.model"] = model
    attrs.update({f"gen_ai.usage.{key}": value for key, value in usage.items()})
    return attrs


def tool(name: str, **extra: Any) -> dict[str, Any]:
    attrs = {OP: "execute_tool", "gen_ai.tool.name": name}
    attrs.update({f"radium.tool.{key}": value for key, value in extra.items()})
    return attrs


# --- raw GenAI semantic-convention spans ----------------------------------------------------


def test_raw_semconv_chat_spans_become_model_usage(h: Harness) -> None:
    record = h.agent_session(
        (
            "chat gpt-4o",
            {
                OP: "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 300,
                "gen_ai.usage.cache_read.input_tokens": 1000,
                "gen_ai.usage.reasoning.output_tokens": 100,
            },
        ),
        ("chat", chat("gpt-4o-2024-08-06", input_tokens=800, output_tokens=20)),
        ("generate_content", {OP: "generate_content", "gen_ai.system": "gcp.gemini"}),
        (
            "text_completion",
            {OP: "text_completion", "gen_ai.request.model": "davinci", "gen_ai.system": "openai"},
        ),
        ("embeddings", {OP: "embeddings", "gen_ai.request.model": "text-embedding-3-small"}),
    )
    assert rows(record) == [
        ModelUsage(model="davinci", provider="openai", requests=1, errors=0, latency_s=1.0),
        ModelUsage(
            model="gpt-4o-2024-08-06",  # the response model wins over the request model
            provider="openai",
            requests=2,
            input_tokens=2000,
            output_tokens=320,
            cache_read_tokens=1000,
            reasoning_tokens=100,
            latency_s=2.0,
        ),
        ModelUsage(model="text-embedding-3-small", provider=None, requests=1, latency_s=1.0),
        ModelUsage(model="unknown", provider="gcp.gemini", requests=1, latency_s=1.0),
    ]
    assert record.requests == 5
    assert record.cache_stats.cache_read_tokens == 1000
    assert record.cache_stats.hit_rate == 0.5
    assert record.tool_calls == 0


def test_provider_name_wins_over_legacy_system(h: Harness) -> None:
    record = h.agent_session(
        ("chat", {**chat("claude"), "gen_ai.provider.name": "anthropic", "gen_ai.system": "x"}),
        ("chat", {OP: "chat", "gen_ai.request.model": "claude", "gen_ai.system": "anthropic"}),
    )
    assert [(m.model, m.provider, m.requests) for m in record.model_usage] == [
        ("claude", "anthropic", 2)
    ]


def test_a_span_with_usage_is_a_model_call_whatever_its_operation(h: Harness) -> None:
    record = h.agent_session(
        ("llm", {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2}),
        ("weird", {OP: "some_future_op", "gen_ai.usage.output_tokens": 5}),
        ("other usage key", {"gen_ai.usage.total_tokens": 9}),
        ("plain", {"app.step": 1}),
        ("unknown op", {OP: "some_future_op"}),
    )
    assert rows(record) == [
        ModelUsage(model="unknown", requests=3, input_tokens=10, output_tokens=7, latency_s=3.0)
    ]
    assert record.api_time_s == 3.0
    assert record.tool_calls == 0


def test_usage_set_after_the_span_started_still_counts(h: Harness) -> None:
    root = h.start("invoke_agent", 0, AGENT)
    span = h.start("chat", 1, {OP: "chat"}, root)
    span.set_attribute("gen_ai.response.model", "gpt-4o-mini")
    span.set_attribute("gen_ai.usage.input_tokens", 50)
    span.set_attribute("gen_ai.usage.output_tokens", 5)
    span.end(end_time=ns(2))
    root.end(end_time=ns(3))
    (usage,) = h.only_record().model_usage
    assert (usage.model, usage.input_tokens, usage.output_tokens) == ("gpt-4o-mini", 50, 5)


def test_failed_model_request_counts_as_an_error(h: Harness) -> None:
    root = h.start("invoke_agent", 0, AGENT)
    h.span("chat", 1, 2, chat(input_tokens=5), root, error=True)
    h.span("chat", 2, 3, chat(input_tokens=7), root)
    root.end(end_time=ns(4))
    (usage,) = h.only_record().model_usage
    assert (usage.requests, usage.errors, usage.input_tokens) == (2, 1, 12)


# --- alternate spellings ---------------------------------------------------------------------


def test_contrib_anthropic_cache_write_spelling(h: Harness) -> None:
    record = h.agent_session(
        (
            "chat claude",
            {
                **chat("claude-sonnet-4-5"),
                "gen_ai.usage.input_tokens": 1500,
                "gen_ai.usage.output_tokens": 40,
                "gen_ai.usage.cache_read.input_tokens": 1000,
                "gen_ai.usage.cache_write.input_tokens": 300,
            },
        )
    )
    (usage,) = record.model_usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_creation_tokens) == (
        1500,
        1000,
        300,
    )
    assert record.cache_stats.cache_creation_tokens == 300


def test_legacy_usage_spellings(h: Harness) -> None:
    record = h.agent_session(
        (
            "chat",
            {
                OP: "chat",
                "gen_ai.system": "anthropic",
                "gen_ai.request.model": "claude-3-5-haiku",
                "gen_ai.usage.prompt_tokens": 900,
                "gen_ai.usage.completion_tokens": 60,
                "gen_ai.usage.cache_read_input_tokens": 500,
                "gen_ai.usage.cache_creation_input_tokens": 100,
            },
        )
    )
    assert rows(record) == [
        ModelUsage(
            model="claude-3-5-haiku",
            provider="anthropic",
            requests=1,
            input_tokens=900,
            output_tokens=60,
            cache_read_tokens=500,
            cache_creation_tokens=100,
            latency_s=1.0,
        )
    ]


def test_openinference_spans(h: Harness) -> None:
    record = h.agent_session(
        (
            "ChatCompletion",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4.1",
                "llm.provider": "openai",
                "llm.token_count.prompt": 700,
                "llm.token_count.completion": 90,
                "llm.token_count.prompt_details.cache_read": 200,
                "llm.token_count.prompt_details.cache_write": 50,
                "llm.token_count.completion_details.reasoning": 30,
            },
        ),
        ("search", {"openinference.span.kind": "TOOL", "tool.name": "web_search"}),
        ("chain", {"openinference.span.kind": "CHAIN"}),
    )
    assert rows(record) == [
        ModelUsage(
            model="gpt-4.1",
            provider="openai",
            requests=1,
            input_tokens=700,
            output_tokens=90,
            cache_read_tokens=200,
            cache_creation_tokens=50,
            reasoning_tokens=30,
            latency_s=1.0,
        )
    ]
    assert record.tools == {"web_search": ToolStats(calls=1, successes=1, duration_s=1.0)}


def test_canonical_keys_win_over_fallbacks(h: Harness) -> None:
    record = h.agent_session(
        (
            "chat",
            {
                **chat(input_tokens=100, output_tokens=10),
                "gen_ai.usage.prompt_tokens": 999,
                "gen_ai.usage.completion_tokens": 999,
                "llm.token_count.prompt": 999,
                "gen_ai.usage.cache_creation.input_tokens": 20,
                "gen_ai.usage.cache_write.input_tokens": 999,
            },
        )
    )
    (usage,) = record.model_usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_creation_tokens) == (100, 10, 20)


def test_input_reported_without_cache_is_normalised_to_include_it(h: Harness) -> None:
    """Anthropic's own convention (input excludes the cache) → SPEC: input includes it."""
    record = h.agent_session(
        (
            "chat",
            {
                **chat("claude", input_tokens=12, output_tokens=50),
                "gen_ai.usage.cache_read.input_tokens": 3000,
                "gen_ai.usage.cache_creation.input_tokens": 400,
            },
        ),
        (
            "chat",
            {
                **chat("claude", output_tokens=10),
                "gen_ai.usage.reasoning.output_tokens": 25,
            },
        ),
    )
    (usage,) = record.model_usage
    assert usage.input_tokens == 12 + 3000 + 400
    assert usage.cache_read_tokens == 3000
    assert usage.cache_creation_tokens == 400
    assert usage.output_tokens == 50 + 10 + 25  # output includes reasoning
    assert usage.reasoning_tokens == 25


# --- tools and decisions ---------------------------------------------------------------------


class ToolBrokeError(Exception):
    pass


def test_tool_outcomes_error_types_and_success_rate(h: Harness) -> None:
    root = h.start("invoke_agent coder", 0, AGENT)
    h.span("execute_tool read", 1, 2, tool("read"), root)
    h.span("execute_tool read", 2, 3.5, tool("read", outcome="success"), root)
    h.span(
        "execute_tool write",
        4,
        5,
        {**tool("write"), "error.type": "PermissionError"},
        root,
        error=True,
    )
    h.span("execute_tool write", 5, 6, tool("write", outcome="failure"), root)
    bash = h.start("execute_tool bash", 6, tool("bash"), root)
    bash.record_exception(ToolBrokeError("exit 1"))
    bash.set_status(Status(StatusCode.ERROR, "exit 1"))
    bash.end(end_time=ns(8))
    with pytest.raises(TimeoutError):  # an exception escaping the span sets ERROR itself
        with h.tracer.start_as_current_span(
            "execute_tool bash", context=set_span_in_context(root), attributes=tool("bash")
        ):
            raise TimeoutError("slow")
    h.span("execute_tool bash", 8, 9, tool("bash"), root)
    root.end(end_time=ns(10))

    record = h.only_record()
    assert record.tools["read"] == ToolStats(calls=2, successes=2, failures=0, duration_s=2.5)
    assert record.tools["write"] == ToolStats(
        calls=2, failures=2, duration_s=2.0, error_types={"PermissionError": 1, "_OTHER": 1}
    )
    bash_stats = record.tools["bash"]
    assert (bash_stats.calls, bash_stats.successes, bash_stats.failures) == (3, 1, 2)
    assert bash_stats.error_types == {"TimeoutError": 1, "ToolBrokeError": 1}
    assert (record.tool_calls, record.tool_successes, record.tool_failures) == (7, 3, 4)
    assert record.tool_successes / record.tool_calls == 3 / 7


def test_tool_name_falls_back_to_the_span_name(h: Harness) -> None:
    record = h.agent_session(("execute_tool", {OP: "execute_tool"}))
    assert list(record.tools) == ["execute_tool"]


def test_decisions_and_a_rejected_call_is_not_a_tool_call(h: Harness) -> None:
    record = h.agent_session(
        ("execute_tool write", tool("write", decision="reject")),
        ("execute_tool write", tool("write", decision="accept")),
        ("execute_tool read", tool("read", decision="auto_accept")),
        ("execute_tool edit", tool("edit", decision="modify", outcome="failure")),
        ("tool_decision write", {"radium.tool.decision": "reject", "gen_ai.tool.name": "write"}),
        ("tool_decision", {"radium.tool.decision": "accept"}),
    )
    assert record.decisions == {"accept": 2, "auto_accept": 1, "modify": 1, "reject": 2}
    assert record.tools == {
        "edit": ToolStats(calls=1, failures=1, duration_s=1.0, error_types={"_OTHER": 1}),
        "read": ToolStats(calls=1, successes=1, duration_s=1.0),
        "write": ToolStats(calls=1, successes=1, duration_s=1.0),
    }
    assert (record.tool_calls, record.tool_successes) == (3, 2)
    # A rejected call never ran: its time is not tool time.
    assert record.tool_time_s == 3.0


def test_unknown_decision_is_dropped_and_counted(h: Harness) -> None:
    record = h.agent_session(("execute_tool x", tool("x", decision="maybe")))
    assert record.decisions == {}
    assert record.tool_calls == 1
    assert record.diagnostics == {"dropped_attributes": 1}


# --- one request counts once -----------------------------------------------------------------


def test_wrapper_span_with_usage_around_an_instrumented_call_counts_once(h: Harness) -> None:
    root = h.start("invoke_agent", 0, AGENT)
    wrapper = h.start("chat claude", 1, chat("claude", input_tokens=100, output_tokens=10), root)
    h.span("chat claude", 1.5, 2.5, chat("claude", input_tokens=100, output_tokens=10), wrapper)
    wrapper.end(end_time=ns(3))
    root.end(end_time=ns(4))
    record = h.only_record()
    assert rows(record) == [
        ModelUsage(
            model="claude",
            provider="openai",
            requests=1,
            input_tokens=100,
            output_tokens=10,
            latency_s=1.0,  # the innermost span's duration
        )
    ]
    assert record.api_time_s == 1.0


def test_three_nested_spans_with_usage_count_once(h: Harness) -> None:
    root = h.start("invoke_agent", 0, AGENT)
    outer = h.start("llm", 1, {"gen_ai.usage.input_tokens": 70}, root)
    middle = h.start("chat", 2, chat(input_tokens=70), outer)
    h.span("chat", 3, 4, {"llm.token_count.prompt": 70, "openinference.span.kind": "LLM"}, middle)
    middle.end(end_time=ns(5))
    outer.end(end_time=ns(6))
    root.end(end_time=ns(7))
    record = h.only_record()
    assert (record.requests, record.input_tokens) == (1, 70)
    assert record.api_time_s == 1.0


def test_agent_span_with_aggregate_usage_does_not_add_a_request(h: Harness) -> None:
    root = h.start("invoke_agent", 0, {**AGENT, "gen_ai.usage.input_tokens": 30})
    h.span("chat", 1, 2, chat(input_tokens=10), root)
    h.span("chat", 2, 3, chat(input_tokens=20), root)
    root.end(end_time=ns(4))
    record = h.only_record()
    assert (record.requests, record.input_tokens) == (2, 30)


def test_model_call_inside_a_tool_counts_and_the_tool_still_counts(h: Harness) -> None:
    root = h.start("invoke_agent", 0, AGENT)
    summarise = h.start("execute_tool summarise", 1, tool("summarise"), root)
    h.span("chat", 2, 3, chat(input_tokens=40), summarise)
    summarise.end(end_time=ns(4))
    root.end(end_time=ns(5))
    record = h.only_record()
    assert (record.requests, record.input_tokens, record.tool_calls) == (1, 40, 1)
    assert (record.api_time_s, record.tool_time_s) == (1.0, 2.0)


# --- session id resolution -------------------------------------------------------------------


def test_conversation_id_on_the_span_names_the_session(h: Harness) -> None:
    h.span("chat", 1, 2, {**chat(input_tokens=5), CONV: "conv-A"})
    h.span("chat", 3, 5, {**chat(input_tokens=6), CONV: "conv-A"})
    h.span("chat", 2, 3, {**chat(input_tokens=7), CONV: "conv-B"})
    assert h.records == []  # no root span: open until shutdown
    assert sorted(h.processor.session_ids()) == ["conv-A", "conv-B"]
    h.provider.shutdown()
    by_id = {r.id: r for r in h.records}
    assert set(by_id) == {"conv-A", "conv-B"}
    a = by_id["conv-A"]
    assert (a.status, a.input_tokens, a.requests) == ("completed", 11, 2)
    assert a.start_time == datetime.fromtimestamp(1_700_000_001, timezone.utc)
    assert a.end_time == datetime.fromtimestamp(1_700_000_005, timezone.utc)
    assert a.wall_time_s == 4.0  # earliest span start to latest span end
    assert a.api_time_s == 3.0
    assert by_id["conv-B"].input_tokens == 7


def test_child_inherits_the_session_of_its_parent_and_is_stamped(h: Harness) -> None:
    parent = h.start("workflow", 0, {CONV: "conv-parent"})
    h.span("chat child", 1, 2, chat(input_tokens=3), parent)
    parent.end(end_time=ns(3))
    child = h.exported("chat child").attributes
    assert child is not None and child[CONV] == "conv-parent"
    h.provider.shutdown()
    record = h.only_record()
    assert (record.id, record.input_tokens, record.wall_time_s) == ("conv-parent", 3, 3.0)


def test_session_context_variable_gathers_unparented_spans(h: Harness) -> None:
    sid = h.processor.open_session("ctx-session", agent="planner", start_ns=ns(0))
    token = session_context.set(sid)
    try:
        h.span("chat", 1, 2, chat(input_tokens=4))
        h.span("execute_tool read", 3, 4, tool("read"))
    finally:
        session_context.reset(token)
    h.span("chat outside", 5, 6, chat(input_tokens=1000))  # context reset: not this session
    record = h.processor.end_session(sid, end_ns=ns(60))
    assert record is not None
    assert h.records == [record]
    assert record.id == "ctx-session"
    assert record.metadata["agent"] == "planner"
    assert (record.wall_time_s, record.api_time_s, record.tool_time_s) == (60.0, 1.0, 1.0)
    assert (record.input_tokens, record.tool_calls) == (4, 1)
    attrs = h.exported("execute_tool read").attributes
    assert attrs is not None and attrs[CONV] == "ctx-session"
    outside = h.exported("chat outside").attributes
    assert outside is not None and outside[CONV] != "ctx-session"


def test_spans_outside_any_session_go_to_the_process_default_session(h: Harness) -> None:
    h.span("chat", 10, 12, chat(input_tokens=1))
    h.span("execute_tool read", 20, 25, tool("read"))
    ids = {s.attributes[CONV] for s in h.exporter.get_finished_spans() if s.attributes}
    assert len(ids) == 1
    (default_id,) = ids
    assert uuid.UUID(str(default_id)).version == 4
    assert h.records == []
    h.provider.shutdown()
    record = h.only_record()
    assert (record.id, record.status) == (default_id, "completed")
    assert record.wall_time_s == 15.0  # first span start to last span end
    assert (record.api_time_s, record.tool_time_s, record.agent_active_time_s) == (2.0, 5.0, 7.0)


def test_top_level_agent_span_opens_and_closes_its_own_session(h: Harness) -> None:
    root = h.start("invoke_agent coder", 1, AGENT)
    early = h.start("chat", 0.5, chat(input_tokens=9), root)  # started before the root
    early.end(end_time=ns(2))
    h.span("execute_tool read", 3, 4, tool("read"), root)
    assert h.records == []
    root.end(end_time=ns(11))
    record = h.only_record()  # published when the root ended, not at shutdown
    assert uuid.UUID(record.id).version == 4
    assert record.status == "completed"
    assert record.metadata["agent"] == "coder"
    # From the earliest span start (not the root's) to the root's end.
    assert record.start_time == datetime.fromtimestamp(1_700_000_000.5, timezone.utc)
    assert record.end_time == datetime.fromtimestamp(1_700_000_011, timezone.utc)
    assert record.wall_time_s == 10.5
    for span in h.exporter.get_finished_spans():
        assert span.attributes is not None and span.attributes[CONV] == record.id
    assert record.id not in h.processor.session_ids()


def test_failed_agent_span_fails_its_session(h: Harness) -> None:
    root = h.start("invoke_agent coder", 0, AGENT)
    root.set_status(Status(StatusCode.ERROR, "crashed"))
    root.end(end_time=ns(1))
    assert h.only_record().status == "failed"


def test_sub_agent_stays_in_the_session_of_its_parent(h: Harness) -> None:
    root = h.start("invoke_agent coder", 0, AGENT)
    sub = h.start("invoke_agent reviewer", 1, {OP: "invoke_agent"}, root)
    h.span("chat", 2, 3, chat(input_tokens=1), sub)
    sub.end(end_time=ns(4))
    assert h.records == []  # the sub-agent's end does not close the session
    root.end(end_time=ns(5))
    assert h.only_record().input_tokens == 1


def test_agent_span_with_a_conversation_id_closes_that_session(h: Harness) -> None:
    root = h.start("invoke_agent coder", 0, {**AGENT, CONV: "thread-7"})
    h.span("chat", 1, 2, chat(input_tokens=2), root)
    root.end(end_time=ns(3))
    record = h.only_record()
    assert (record.id, record.wall_time_s, record.input_tokens) == ("thread-7", 3.0, 2)


def test_unsafe_conversation_id_maps_to_a_stable_file_safe_id(h: Harness) -> None:
    conv = "../user 42/thread"
    root = h.start("invoke_agent coder", 0, {**AGENT, CONV: conv})
    h.span("chat", 0.5, 0.6, chat(input_tokens=5), root)
    root.end(end_time=ns(1))
    record = h.only_record()
    assert record.id == str(uuid.uuid5(uuid.NAMESPACE_URL, "gen_ai.conversation.id:" + conv))
    assert record.metadata["conversation_id"] == conv
    root_attrs = h.exported("invoke_agent coder").attributes
    assert root_attrs is not None and root_attrs[CONV] == conv  # never overwritten


def test_concurrent_sessions_in_one_provider_stay_separate(h: Harness) -> None:
    a = h.start("invoke_agent a", 0, {OP: "invoke_agent", "gen_ai.agent.name": "a"})
    b = h.start("invoke_agent b", 1, {OP: "invoke_agent", "gen_ai.agent.name": "b"})
    a_chat = h.start("chat", 2, chat(input_tokens=10), a)
    b_tool = h.start("execute_tool grep", 2, tool("grep"), b)
    b_chat = h.start("chat", 3, chat("claude", input_tokens=20), b)
    a_chat.end(end_time=ns(6))
    b_chat.end(end_time=ns(4))
    b_tool.end(end_time=ns(7))
    b.end(end_time=ns(8))
    a.end(end_time=ns(9))
    rb, ra = h.records
    assert (ra.metadata["agent"], rb.metadata["agent"]) == ("a", "b")
    assert (ra.input_tokens, ra.api_time_s, ra.tool_calls, ra.wall_time_s) == (10, 4.0, 0, 9.0)
    assert (rb.input_tokens, rb.api_time_s, rb.tool_time_s, rb.wall_time_s) == (20, 1.0, 4.0, 7.0)
    assert ra.id != rb.id
    assert h.processor._open == {}


def test_replaying_the_same_spans_later_gives_the_same_record() -> None:
    def run(clock_start: int) -> SessionRecord:
        harness = Harness(StepClock(clock_start))
        root = harness.start("invoke_agent coder", 0, {**AGENT, CONV: "replay-1"})
        harness.span("chat", 1, 3, chat(input_tokens=5, output_tokens=1), root)
        harness.span("execute_tool t", 2, 6, tool("t"), root)
        root.end(end_time=ns(10))
        harness.provider.shutdown()
        return harness.only_record()

    first = run(T0 + 3600 * S)
    second = run(T0 + 86_400 * S)
    assert first.updated_time != second.updated_time  # processing time differs ...
    assert dataclasses.replace(first, updated_time=None) == dataclasses.replace(
        second, updated_time=None
    )  # ... and nothing else does
    assert (first.wall_time_s, first.api_time_s, first.tool_time_s) == (10.0, 2.0, 3.0)


def test_span_of_an_already_closed_session_is_late_and_not_counted(h: Harness) -> None:
    root = h.start("invoke_agent coder", 0, {**AGENT, CONV: "done-1"})
    h.span("chat", 0.5, 0.6, {**chat(input_tokens=7), CONV: "done-1"}, root)
    root.end(end_time=ns(1))
    h.span("chat", 2, 3, {**chat(input_tokens=5), CONV: "done-1"})
    assert h.processor.late_spans == 1
    assert len(h.records) == 1
    assert h.records[0].requests == 1 and h.records[0].input_tokens == 7
    assert h.processor._open == {}


def test_span_ending_after_its_session_closed_is_late_and_not_counted(h: Harness) -> None:
    root = h.start("invoke_agent coder", 0, AGENT)
    h.span("chat", 0.5, 0.6, chat(input_tokens=5), root)
    straggler = h.start("execute_tool t", 1, tool("t"), root)
    root.end(end_time=ns(2))
    record = h.only_record()
    straggler.end(end_time=ns(3))
    assert h.processor.late_spans == 1
    assert h.processor._open == {}
    assert record.tool_calls == 0
    assert h.records == [record]


def test_records_reach_the_store_through_isolated(tmp_path: Path) -> None:
    with isolated(tmp_path) as (rad, exporter):
        tracer = rad.tracer_provider.get_tracer("third-party")
        root = tracer.start_span("invoke_agent coder", attributes=AGENT, start_time=ns(0))
        context = set_span_in_context(root)
        chat_span = tracer.start_span(
            "chat", context=context, attributes=chat(input_tokens=8), start_time=ns(1)
        )
        chat_span.end(end_time=ns(3))
        root.end(end_time=ns(4))
        (path,) = rad.store.paths()
        stored = json.loads(path.read_text())
        assert stored["status"] == "completed"
        assert stored["wall_time_s"] == 4.0
        assert stored["api_time_s"] == 2.0
        assert stored["model_usage"][0]["input_tokens"] == 8
        assert path.stem == stored["id"]
        assert {s.attributes[CONV] for s in exporter.get_finished_spans() if s.attributes} == {
            stored["id"]
        }


# --- bad input never raises and is counted ---------------------------------------------------


def test_bad_token_values_are_dropped_and_counted(h: Harness) -> None:
    record = h.agent_session(
        (
            "chat",
            chat(input_tokens="12", output_tokens=-5, **{"cache_read.input_tokens": math.nan}),
        ),
        (
            "chat",
            chat(input_tokens=math.inf, output_tokens=10**13, **{"reasoning.output_tokens": True}),
        ),
        ("chat", chat(input_tokens=1.5, output_tokens=[1, 2])),
        ("chat", chat(input_tokens=2**70, output_tokens=-math.inf)),
        ("chat", chat(input_tokens=100.0, output_tokens=7)),
    )
    assert record.diagnostics == {"dropped_attributes": 10}
    (usage,) = record.model_usage
    assert usage.requests == 5
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (100, 7, 0)
    assert usage.reasoning_tokens == 0
    assert type(usage.input_tokens) is int
    json.dumps(record.to_json(), allow_nan=False)  # the record stays valid JSON


def test_odd_attribute_types_never_raise(h: Harness) -> None:
    record = h.agent_session(
        ("a", {OP: ["chat"], "gen_ai.usage.input_tokens": {"n": 3}}),
        ("b", {OP: {"op": "chat"}, CONV: {"id": 1}}),
        ("c", {OP: b"chat", "gen_ai.tool.name": 5, "radium.tool.decision": ["accept"]}),
        ("d", {OP: "execute_tool", "gen_ai.tool.name": None, "error.type": 3}),
        ("e", {"radium.session.root": "yes", "gen_ai.request.model": 4}),
    )
    assert record.requests == 1  # only span "a" (it has a usage attribute)
    assert record.tools == {"d": ToolStats(calls=1, successes=1, duration_s=1.0)}
    assert record.diagnostics == {"dropped_attributes": 2}  # the dict count, the list decision


_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(-5, 5), max_size=3),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["chat", "execute_tool", "invoke_agent", "embeddings", "reject", "LLM"]),
)
_key = st.sampled_from(
    [
        OP,
        CONV,
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "openinference.span.kind",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.provider.name",
        "gen_ai.tool.name",
        "gen_ai.agent.name",
        "radium.tool.decision",
        "radium.tool.outcome",
        "radium.session.root",
        "radium.session.tag.x",
        "error.type",
    ]
)
_span = st.tuples(
    st.dictionaries(_key, _value, max_size=6),
    st.integers(-5, 40),  # start (s)
    st.integers(-5, 20),  # duration (s), negative: end before start
    st.integers(-1, 6),  # parent index, -1: no parent
    st.booleans(),  # status ERROR
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_span, max_size=8))
def test_arbitrary_attribute_values_never_raise_and_totals_stay_sane(
    spans: list[tuple[dict[str, Any], int, int, int, bool]],
) -> None:
    h = Harness()
    started: list[Span] = []
    for attrs, start, _, parent, error in spans:
        parent_span = started[parent] if 0 <= parent < len(started) else None
        span = h.start("s", start, attrs, parent_span)
        if error:
            span.set_status(Status(StatusCode.ERROR))
        started.append(span)
    for span, (_, start, duration, _, _) in reversed(list(zip(started, spans, strict=True))):
        span.end(end_time=ns(start + duration))
    h.provider.shutdown()
    assert h.processor._open == {}
    for record in h.records:
        assert record.status in ("completed", "failed", "interrupted")
        json.dumps(record.to_json(), allow_nan=False)
        SessionRecord.from_json(record.to_json())  # the store can read it back
        for value in (record.wall_time_s, record.api_time_s, record.tool_time_s):
            assert math.isfinite(value) and value >= 0
        assert record.api_time_s <= record.agent_active_time_s
        for m in record.model_usage:
            counts = (m.input_tokens, m.output_tokens, m.cache_read_tokens, m.reasoning_tokens)
            assert all(type(n) is int and 0 <= n <= 10**13 for n in counts)
            assert m.input_tokens >= m.cache_read_tokens + m.cache_creation_tokens
            assert m.output_tokens >= m.reasoning_tokens
        assert record.tool_successes + record.tool_failures == record.tool_calls
        assert set(record.decisions) <= {"accept", "reject", "modify", "auto_accept"}


# --- processor memory ------------------------------------------------------------------------


def test_processor_forgets_every_span_once_it_ended(h: Harness) -> None:
    for n in range(50):
        root = h.start("invoke_agent coder", 3 * n, AGENT)
        for i in range(20):
            parent = h.start("execute_tool t", 3 * n + i / 10, tool("t"), root)
            h.span("chat", 3 * n + i / 10, 3 * n + i / 10 + 0.05, chat(input_tokens=1), parent)
            parent.end(end_time=ns(3 * n + i / 10 + 0.08))
        h.span("plain", 3 * n, 3 * n + 1, {"x": 1})
        root.end(end_time=ns(3 * n + 2.5))
    assert h.processor._open == {}
    assert len(h.records) == 50
    assert all(r.requests == 20 and r.tool_calls == 20 for r in h.records)
    assert len(h.processor.session_ids()) == 1  # only the default session is still open
    h.provider.shutdown()
    assert h.processor._open == {}
    assert h.processor.session_ids() == []


def test_span_attributes_reads_the_sdk_dict_directly_and_falls_back_safely() -> None:
    """The processor's fast attribute read takes the SDK's plain dict (not the slow proxy) on
    live and finished spans; other spans fall back to their public attributes, or none."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import INVALID_SPAN

    from radium_otel._internal.processor import span_attributes

    span = TracerProvider().get_tracer("t").start_span("s", attributes={"a": 1})
    live = span_attributes(span)
    assert type(live) is dict
    assert live == {"a": 1}
    span.set_attribute("b", "x")
    span.end()
    assert span_attributes(span) == {"a": 1, "b": "x"}
    assert type(span_attributes(span)) is dict
    assert dict(span_attributes(ReadableSpan("r", attributes={"c": 2}))) == {"c": 2}
    assert span_attributes(INVALID_SPAN) == {}
