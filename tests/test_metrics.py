"""Metrics derived from finished spans (`radium_otel._internal.metrics`), read back through the
SDK's in-memory reader: what is measured, once, with which attributes, and when nothing is."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from radium_otel import Radium
from radium_otel._internal import errors
from radium_otel._internal import processor as processor_module
from radium_otel._internal.metrics import (
    COST_BUCKETS_USD,
    DURATION_BUCKETS_S,
    TOKEN_BUCKETS,
    MetricsRecorder,
    measures_gen_ai_client,
)
from radium_otel._internal.record import PricingInfo, SessionRecord
from radium_otel.testing import StepClock, isolated

S = 10**9
MODEL = "gpt-4o"
Key = frozenset[tuple[str, Any]]


class Bench:
    """An isolated instance whose metrics go to an in-memory reader."""

    def __init__(self, rad: Radium, reader: InMemoryMetricReader, clock: StepClock) -> None:
        self.rad = rad
        self.reader = reader
        self.clock = clock

    def tracer(self, scope: str) -> Any:
        return self.rad.tracer_provider.get_tracer(scope)

    def span(
        self,
        scope: str,
        name: str,
        attrs: Mapping[str, Any],
        at: float,
        until: float,
        parent: Span | None = None,
        *,
        error: bool = False,
    ) -> Span:
        context = set_span_in_context(parent) if parent is not None else None
        span = self.tracer(scope).start_span(
            name, context=context, attributes=dict(attrs), start_time=self.at(at)
        )
        if error:
            span.set_status(Status(StatusCode.ERROR, "boom"))
        span.end(end_time=self.at(until))
        assert isinstance(span, Span)
        return span

    def at(self, seconds: float) -> int:
        return self.clock.now_ns + round(seconds * S)

    def metrics(self) -> dict[str, Metric]:
        data = self.reader.get_metrics_data()
        if data is None:
            return {}
        return {
            m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        }

    def points(self, name: str) -> dict[Key, Any]:
        metric = self.metrics().get(name)
        if metric is None:
            return {}
        out: dict[Key, Any] = {}
        for point in metric.data.data_points:
            key: Key = frozenset((point.attributes or {}).items())
            if isinstance(point, HistogramDataPoint):
                out[key] = (point.count, point.sum)
            elif isinstance(point, NumberDataPoint):
                out[key] = point.value
        return out


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    clock = StepClock()
    with isolated(tmp_path, meter_provider=meters, time_ns=clock) as (rad, _spans):
        yield Bench(rad, reader, clock)
    meters.shutdown()


def chat(**usage: int) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        **{f"gen_ai.usage.{key}": value for key, value in usage.items()},
    }


def tool(name: str, **extra: Any) -> dict[str, Any]:
    return {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, **extra}


def key(**attrs: Any) -> Key:
    return frozenset((k.replace("__", "."), v) for k, v in attrs.items())


CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": MODEL,
}


def token_key(token_type: str, **extra: Any) -> Key:
    return frozenset({**CHAT, **extra, "gen_ai.token.type": token_type}.items())


# --- what is measured ---------------------------------------------------------------------------
def test_a_model_call_records_tokens_by_type_and_its_duration(bench: Bench) -> None:
    bench.span(
        "radium_otel",
        f"chat {MODEL}",
        chat(input_tokens=1200, output_tokens=80, **{"cache_read.input_tokens": 1000}),
        0,
        1.5,
    )

    assert bench.points("gen_ai.client.token.usage") == {
        token_key("input"): (1, 1200),
        token_key("output"): (1, 80),
        token_key("cache_read"): (1, 1000),
    }
    assert bench.points("gen_ai.client.operation.duration") == {frozenset(CHAT.items()): (1, 1.5)}
    metrics = bench.metrics()
    assert metrics["gen_ai.client.token.usage"].unit == "{token}"
    assert metrics["gen_ai.client.operation.duration"].unit == "s"
    [tokens] = metrics["gen_ai.client.token.usage"].data.data_points[:1]
    assert isinstance(tokens, HistogramDataPoint)
    assert tokens.explicit_bounds == TOKEN_BUCKETS
    [duration] = metrics["gen_ai.client.operation.duration"].data.data_points
    assert isinstance(duration, HistogramDataPoint)
    assert duration.explicit_bounds == DURATION_BUCKETS_S


def test_usage_in_anthropic_convention_is_measured_normalised(bench: Bench) -> None:
    # Input reported without the cache: radium's input includes cache reads and writes.
    bench.span(
        "radium_otel",
        "chat",
        chat(
            input_tokens=300,
            output_tokens=90,
            **{"cache_read.input_tokens": 2048, "cache_creation.input_tokens": 512},
        ),
        0,
        1,
    )

    assert bench.points("gen_ai.client.token.usage") == {
        token_key("input"): (1, 2860),
        token_key("output"): (1, 90),
        token_key("cache_read"): (1, 2048),
        token_key("cache_creation"): (1, 512),
    }


def test_a_failed_model_call_has_an_error_type_on_its_duration_only(bench: Bench) -> None:
    bench.span("radium_otel", "chat", chat(), 0, 2, error=True)

    assert bench.points("gen_ai.client.operation.duration") == {
        frozenset({**CHAT, "error.type": "_OTHER"}.items()): (1, 2.0)
    }
    assert bench.points("gen_ai.client.token.usage") == {}  # no usage was reported


def test_tool_calls_count_by_name_and_outcome(bench: Bench) -> None:
    bench.span("radium_otel", "execute_tool read", tool("read_file"), 0, 0.25)
    bench.span("radium_otel", "execute_tool read", tool("read_file"), 1, 1.75)
    bench.span(
        "radium_otel", "execute_tool run", tool("run_tests", **{"error.type": "Boom"}), 2, 3,
        error=True,
    )  # fmt: skip
    bench.span(
        "radium_otel", "execute_tool lint", tool("lint", **{"radium.tool.outcome": "failure"}), 3, 4
    )

    ok = key(gen_ai__tool__name="read_file", radium__tool__outcome="success")
    failed = key(
        gen_ai__tool__name="run_tests", radium__tool__outcome="failure", error__type="Boom"
    )
    lint = key(gen_ai__tool__name="lint", radium__tool__outcome="failure", error__type="_OTHER")
    assert bench.points("radium.tool.calls") == {ok: 2, failed: 1, lint: 1}
    assert bench.points("radium.tool.duration") == {ok: (2, 1.0), failed: (1, 1.0), lint: (1, 1.0)}
    metrics = bench.metrics()
    assert (metrics["radium.tool.calls"].unit, metrics["radium.tool.duration"].unit) == (
        "{call}",
        "s",
    )


def test_a_rejected_call_never_ran_and_is_not_measured(bench: Bench) -> None:
    bench.span(
        "radium_otel", "execute_tool rm", tool("rm", **{"radium.tool.decision": "reject"}), 0, 1
    )

    assert bench.points("radium.tool.calls") == {}


def test_session_ids_never_become_metric_attributes(bench: Bench) -> None:
    for session in ("s-1", "s-2", "s-3"):
        conv = {"gen_ai.conversation.id": session}
        root = bench.tracer("radium_otel").start_span(
            "invoke_agent", attributes={"gen_ai.operation.name": "invoke_agent", **conv}
        )
        bench.span(
            "radium_otel", "chat", {**chat(input_tokens=10, output_tokens=1), **conv}, 0, 1, root
        )
        bench.span("radium_otel", "execute_tool t", {**tool("t"), **conv}, 1, 2, root)
        root.end()

    for name in ("gen_ai.client.token.usage", "radium.tool.calls", "radium.tool.duration"):
        points = bench.points(name)
        assert all("gen_ai.conversation.id" not in dict(k) for k in points)
    assert bench.points("radium.tool.calls") == {
        key(gen_ai__tool__name="t", radium__tool__outcome="success"): 3  # one series, 3 sessions
    }


# --- one request counts once ------------------------------------------------------------------
def test_gen_ai_client_metrics_are_left_to_instrumentations_that_record_their_own(
    bench: Bench,
) -> None:
    # A decorated function around an instrumented client call: the processor counts the inner
    # span (the request) and not its wrapper; the inner instrumentation records its own
    # gen_ai.client.* metrics, so radium records none for it.
    wrapper = bench.tracer("radium_otel").start_span(
        "chat", attributes=chat(), start_time=bench.at(0)
    )
    bench.span(
        "opentelemetry.instrumentation.openai_v2",
        f"chat {MODEL}",
        chat(input_tokens=500, output_tokens=20),
        0.1,
        0.9,
        wrapper,
    )
    wrapper.set_attributes({"gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 20})
    wrapper.end(end_time=bench.at(1))
    bench.span("opentelemetry.instrumentation.openai_v2", "execute_tool f", tool("f"), 1, 2)

    assert bench.points("gen_ai.client.token.usage") == {}
    assert bench.points("gen_ai.client.operation.duration") == {}
    assert bench.points("radium.tool.calls") == {
        key(gen_ai__tool__name="f", radium__tool__outcome="success"): 1  # radium.* count all
    }
    [record] = bench.rad.processor.snapshot_active()
    assert record.requests == 1  # and the session counts the request once


def test_a_wrapped_openinference_request_is_measured_once_from_the_inner_span(
    bench: Bench,
) -> None:
    wrapper = bench.tracer("radium_otel").start_span(
        "chat", attributes=chat(), start_time=bench.at(0)
    )
    bench.span(
        "openinference.instrumentation.openai",
        "ChatCompletion",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": MODEL,
            "llm.provider": "openai",
            "llm.token_count.prompt": 700,
            "llm.token_count.completion": 30,
        },
        0.2,
        0.7,
        wrapper,
    )
    wrapper.set_attributes({"gen_ai.usage.input_tokens": 700, "gen_ai.usage.output_tokens": 30})
    wrapper.end(end_time=bench.at(1))

    assert bench.points("gen_ai.client.token.usage") == {
        token_key("input"): (1, 700),
        token_key("output"): (1, 30),
    }
    assert bench.points("gen_ai.client.operation.duration") == {frozenset(CHAT.items()): (1, 0.5)}


def test_one_request_two_layers_recorded_side_by_side_is_measured_once(bench: Bench) -> None:
    """A framework's LLM span and the client's span of one request, siblings under the agent
    run (SPEC "One request counts once"): the second record measures nothing again."""
    root = bench.tracer("app").start_span(
        "invoke_agent", attributes={"gen_ai.operation.name": "invoke_agent"}, start_time=bench.at(0)
    )
    oi = {
        "openinference.span.kind": "LLM",
        "llm.model_name": MODEL,
        "llm.provider": "openai",
        "llm.token_count.prompt": 700,
        "llm.token_count.completion": 30,
    }
    bench.span("openinference.instrumentation.openai", "ChatCompletion", oi, 0.2, 0.7, root)
    client = chat(input_tokens=700, output_tokens=30)
    bench.span("radium_otel", f"chat {MODEL}", client, 0.25, 0.65, root)
    root.end(end_time=bench.at(1))

    assert bench.points("gen_ai.client.token.usage") == {
        token_key("input"): (1, 700),
        token_key("output"): (1, 30),
    }


def test_from_many_threads_every_call_is_measured_once(bench: Bench) -> None:
    """Spans that queue for the processor's lock (see its module docstring) are measured by
    whichever thread folds them: once each, and a wrapper never besides the request inside.
    """
    threads, calls = 8, 300
    barrier = threading.Barrier(threads)

    def agent(n: int) -> None:
        barrier.wait()
        tracer = bench.tracer("radium_otel")
        for i in range(calls):
            bench.span("radium_otel", "execute_tool t", tool(f"tool-{n % 3}"), 0, 0.5)
            wrapper = tracer.start_span("chat", attributes=chat(), start_time=bench.at(1))
            bench.span(
                "radium_otel", "chat", chat(input_tokens=10, output_tokens=i % 2), 1, 2, wrapper
            )
            wrapper.set_attributes(
                {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 1}
            )
            wrapper.end(end_time=bench.at(3))

    pool = [threading.Thread(target=agent, args=(n,)) for n in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often, so spans do queue
    try:
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    [record] = bench.rad.processor.snapshot_active()  # (folds anything still queued)

    total = threads * calls
    success = {"radium.tool.outcome": "success"}
    assert sum(bench.points("radium.tool.calls").values()) == total
    assert bench.points("radium.tool.calls") == {
        key(gen_ai__tool__name=f"tool-{n}", **success): calls * len(range(n, threads, 3))
        for n in range(3)
    }
    assert bench.points("gen_ai.client.token.usage") == {
        token_key("input"): (total, 10 * total),
        token_key("output"): (total, total // 2),
    }
    assert (record.tool_calls, record.requests, record.input_tokens) == (total, total, 10 * total)


@pytest.mark.parametrize(
    ("scope", "measured"),
    [
        ("radium_otel", True),
        (None, True),
        ("", True),
        ("openinference.instrumentation.anthropic", True),
        ("opentelemetry.instrumentation.openai_v2", False),
        ("opentelemetry.instrumentation.anthropic", False),
        ("opentelemetry.util.genai", False),
        ("logfire.openai", False),
        ("pydantic-ai", False),
    ],
)
def test_who_records_gen_ai_client_metrics(scope: str | None, measured: bool) -> None:
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    span = ReadableSpan(
        "chat", instrumentation_scope=None if scope is None else InstrumentationScope(scope)
    )
    assert measures_gen_ai_client(span) is measured


# --- session cost -----------------------------------------------------------------------------
def _record(**changes: Any) -> SessionRecord:
    start = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
    record = SessionRecord(
        id="s", status="completed", start_time=start, metadata={"agent": "coder"}
    )
    return replace(record, **changes)


def test_session_cost_is_recorded_when_the_session_was_priced() -> None:
    reader = InMemoryMetricReader()
    recorder = MetricsRecorder(MeterProvider(metric_readers=[reader]))
    recorder.session_ended(_record(cost_usd=0.25))
    recorder.session_ended(_record(cost_usd=Decimal("0.75"), status="failed"))
    recorder.session_ended(
        _record(cost_usd=0.5, pricing=PricingInfo(partial=True, unpriced_models=("x",)))
    )
    for bad in (None, math.nan, -1.0, True, "0.3"):
        recorder.session_ended(_record(cost_usd=bad))

    data = reader.get_metrics_data()
    assert data is not None
    [metric] = [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    assert (metric.name, metric.unit) == ("radium.session.cost", "USD")
    points = {}
    for p in metric.data.data_points:
        assert isinstance(p, HistogramDataPoint)
        assert p.explicit_bounds == COST_BUCKETS_USD
        points[frozenset((p.attributes or {}).items())] = (p.count, p.sum)
    agent = ("gen_ai.agent.name", "coder")
    assert points == {
        frozenset({("radium.session.status", "completed"), agent}): (1, 0.25),
        frozenset({("radium.session.status", "failed"), agent}): (1, 0.75),
        frozenset({("radium.session.status", "completed"), agent, ("radium.cost.partial", True)}): (
            1,
            0.5,
        ),
    }


# --- when nothing is measured -----------------------------------------------------------------
def one() -> int:
    return 1


def answer() -> dict[str, Any]:
    return {"usage": {"prompt_tokens": 5, "completion_tokens": 1}}


def test_without_a_meter_provider_the_processor_never_reaches_the_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("metrics recorded without a MeterProvider")

    monkeypatch.setattr(processor_module, "_record_metrics", fail)
    with isolated(tmp_path) as (rad, _spans):
        assert (rad.metrics, rad.processor.metrics) == (None, None)
        step = rad.tool(name="step")(one)
        ask = rad.model_call(provider="openai", model=MODEL)(answer)
        with rad.session(agent="quiet") as session:
            step()
            ask()
    assert session.record is not None and session.record.tool_calls == 1


def test_a_failing_meter_never_costs_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("meter is broken")

    errors.raise_internal_errors(False)
    try:
        with isolated(tmp_path, meter_provider=meters) as (rad, _spans):
            assert rad.metrics is not None
            monkeypatch.setattr(rad.metrics.tool_calls, "add", broken)
            monkeypatch.setattr(rad.metrics, "session_ended", broken)
            step = rad.tool(name="step")(one)
            with rad.session(agent="resilient") as session:
                assert step() == 1
                assert step() == 1
    finally:
        errors.raise_internal_errors(None)
        meters.shutdown()
    assert session.record is not None
    assert (session.record.tool_calls, session.record.status) == (2, "completed")
