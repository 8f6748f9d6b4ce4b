"""A synthetic agent session for the memory and throughput benchmarks.

Real SDK spans (``tracer.start_span`` / ``span.end``) on a provider whose only processor is
the `SessionSpanProcessor`: every span goes through the SDK and the processor's
``on_start``/``on_end`` exactly as in an agent, without an exporter's cost on top. The mix:
three tool calls (50 tool names, one call in 50 failing) for each model call (5 models,
with usage set on the span before it ends, as instrumentations do).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode

from radium_otel._internal import constants as k
from radium_otel._internal.metrics import MetricsRecorder
from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import SessionRecord

TOOLS = [f"tool_{i:02d}" for i in range(50)]
MODELS = [f"model-{i}" for i in range(5)]
USAGE = {
    k.GEN_AI_USAGE_INPUT_TOKENS: 1200,
    k.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
    k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 800,
}
FAILED = Status(StatusCode.ERROR, "TimeoutError: bench")


@dataclass
class Emitted:
    """What was sent, to check the session's totals against."""

    tools: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    models: Counter[str] = field(default_factory=Counter)

    def add(self, other: Emitted) -> None:
        self.tools.update(other.tools)
        self.failures += other.failures
        self.models.update(other.models)


class Session:
    """One open session on a provider with the `SessionSpanProcessor` only; with
    ``metrics``, the processor also records radium's metrics (to an in-memory reader).
    """

    def __init__(self, *, metrics: bool = False) -> None:
        self.records: list[SessionRecord] = []
        self.processor = SessionSpanProcessor(self.records.append)
        if metrics:
            reader = InMemoryMetricReader()
            self.processor.metrics = MetricsRecorder(MeterProvider(metric_readers=[reader]))
        provider = TracerProvider()
        provider.add_span_processor(self.processor)
        self.tracer = provider.get_tracer("bench")
        self.id = str(uuid.uuid4())
        self.root = self.tracer.start_span(
            "invoke_agent bench",
            attributes={
                k.GEN_AI_OPERATION_NAME: k.OP_INVOKE_AGENT,
                k.GEN_AI_CONVERSATION_ID: self.id,
                k.RADIUM_SESSION_ROOT: True,
            },
        )
        self.context: Context = trace.set_span_in_context(self.root)
        conv = {k.GEN_AI_CONVERSATION_ID: self.id}
        self._tool_attrs: list[dict[str, Any]] = [
            {k.GEN_AI_OPERATION_NAME: k.OP_EXECUTE_TOOL, k.GEN_AI_TOOL_NAME: name, **conv}
            for name in TOOLS
        ]
        self._model_attrs: list[dict[str, Any]] = [
            {
                k.GEN_AI_OPERATION_NAME: "chat",
                k.GEN_AI_PROVIDER_NAME: "openai",
                k.GEN_AI_REQUEST_MODEL: model,
                **conv,
            }
            for model in MODELS
        ]

    def emit(self, n: int, offset: int = 0) -> Emitted:
        """Emit ``n`` spans of the mix; ``offset`` varies the names between threads."""
        tracer, ctx = self.tracer, self.context
        emitted = Emitted()
        for i in range(offset, offset + n):
            if i % 4 == 3:
                attrs = self._model_attrs[i % 5]
                span = tracer.start_span("chat", context=ctx, attributes=attrs)
                span.set_attributes(USAGE)
                span.end()
                emitted.models[attrs[k.GEN_AI_REQUEST_MODEL]] += 1
            else:
                attrs = self._tool_attrs[i % 50]
                span = tracer.start_span("execute_tool", context=ctx, attributes=attrs)
                if i % 50 == 0:
                    span.set_status(FAILED)
                    emitted.failures += 1
                span.end()
                emitted.tools[attrs[k.GEN_AI_TOOL_NAME]] += 1
        return emitted

    def close(self) -> SessionRecord:
        self.root.end()
        (record,) = self.records
        return record


def check(record: SessionRecord, emitted: Emitted) -> list[str]:
    """Differences between the session's totals and what was emitted (empty: none)."""
    wrong = []
    if record.tool_calls != sum(emitted.tools.values()):
        wrong.append(f"tool calls {record.tool_calls} != {sum(emitted.tools.values())}")
    if record.tool_failures != emitted.failures:
        wrong.append(f"tool failures {record.tool_failures} != {emitted.failures}")
    calls = {name: stats.calls for name, stats in record.tools.items()}
    if calls != dict(emitted.tools):
        wrong.append("per-tool calls differ")
    requests = {m.model: m.requests for m in record.model_usage}
    if requests != dict(emitted.models):
        wrong.append(f"model requests {requests} != {dict(emitted.models)}")
    n_model = sum(emitted.models.values())
    tokens = sum(m.input_tokens for m in record.model_usage)
    if tokens != n_model * USAGE[k.GEN_AI_USAGE_INPUT_TOKENS]:
        wrong.append(f"input tokens {tokens} != {n_model * 1200}")
    cached = record.cache_stats.cache_read_tokens
    if cached != n_model * USAGE[k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]:
        wrong.append(f"cache reads {cached} != {n_model * 800}")
    if record.agent_active_time_s > record.wall_time_s + 1e-9:
        wrong.append("active time exceeds wall time")
    return wrong
