"""Metrics derived from finished spans: GenAI client metrics, tool calls, session cost.

`MetricsRecorder` is fed by `SessionSpanProcessor` with the model and tool calls it has just
counted (outside its lock), so spans from any instrumentation feed the metrics, and a request
that a wrapper span and an inner span both describe is measured once, as it is counted once.
It exists only when a MeterProvider does (the application's, or the one radium makes to export
metrics); without one the processor skips this module entirely.

Instruments (OpenTelemetry GenAI semantic conventions, plus radium's own):

- ``gen_ai.client.token.usage`` histogram, ``{token}``, by ``gen_ai.token.type`` = ``input``,
  ``output``, and the extra types ``cache_read`` and ``cache_creation`` (subsets of input);
- ``gen_ai.client.operation.duration`` histogram, ``s``;
- ``radium.tool.calls`` counter and ``radium.tool.duration`` histogram (``s``), by
  ``gen_ai.tool.name`` and ``radium.tool.outcome`` (``success`` | ``failure``, with
  ``error.type`` on failures); a rejected call never ran and is not counted;
- ``radium.session.cost`` histogram, ``USD``, one measurement per priced session at its end,
  by ``radium.session.status`` and ``gen_ai.agent.name`` (``radium.cost.partial`` when some
  of its models had no price, so the cost is a lower bound).

Histograms carry the semantic conventions' bucket boundaries as an advisory, which any SDK
honours unless a View says otherwise. ``gen_ai.conversation.id`` is never a metric attribute:
one time series per session would grow without bound. Spans keep it.

Who records ``gen_ai.client.*``. Some GenAI instrumentations record these two metrics
themselves (opentelemetry-python-contrib's OpenAI, Anthropic, Google GenAI and Vertex AI
instrumentations and ``opentelemetry-util-genai``, OpenLLMetry, Logfire, Pydantic AI, ...);
measuring their spans again would count each request twice in the backend. So radium records
them only for a model call whose span comes from

- radium's own instrumentation scope (``radium_otel``: ``@rad.model_call``),
- no instrumentation scope at all (a span built by hand or replayed), or
- an OpenInference instrumentation (scope ``openinference.*``), which records traces only,

and leaves every other scope to record its own. ``radium.*`` metrics have no such overlap and
count every executed tool call, whatever made its span.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan

from radium_otel._internal import constants as k
from radium_otel._internal.aggregate import ModelCall
from radium_otel._internal.record import SessionRecord

__all__ = [
    "COST_BUCKETS_USD",
    "DURATION_BUCKETS_S",
    "TOKEN_BUCKETS",
    "MetricsRecorder",
    "measures_gen_ai_client",
]

TOKEN_USAGE: Final = "gen_ai.client.token.usage"
OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
TOOL_CALLS: Final = "radium.tool.calls"
TOOL_DURATION: Final = "radium.tool.duration"
SESSION_COST: Final = "radium.session.cost"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
RADIUM_SESSION_STATUS: Final = "radium.session.status"
RADIUM_COST_PARTIAL: Final = "radium.cost.partial"

#: Semantic-convention boundaries of ``gen_ai.client.token.usage``.
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
#: Semantic-convention boundaries of ``gen_ai.client.operation.duration`` (also tool duration).
DURATION_BUCKETS_S: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
#: Session cost, from a cent's fraction to a long, expensive session.
COST_BUCKETS_USD: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 100.0)

_OWN_SCOPE: Final = "radium_otel"
_OPENINFERENCE_PREFIX: Final = "openinference"
_NS: Final = 1e9


def measures_gen_ai_client(span: ReadableSpan) -> bool:
    """Whether radium records ``gen_ai.client.*`` for a model call read from ``span``."""
    scope = span.instrumentation_scope
    name = scope.name if scope is not None else None
    return not name or name == _OWN_SCOPE or name.startswith(_OPENINFERENCE_PREFIX)


class MetricsRecorder:
    """Records radium's metrics on instruments from ``meter_provider``.

    Thread-safe (the instruments are); never called under the processor's lock.
    """

    def __init__(self, meter_provider: MeterProvider) -> None:
        from radium_otel import __version__

        meter = meter_provider.get_meter(_OWN_SCOPE, __version__)
        self.token_usage = meter.create_histogram(
            TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )
        self.operation_duration = meter.create_histogram(
            OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_S),
        )
        self.tool_calls = meter.create_counter(
            TOOL_CALLS, unit="{call}", description="Executed tool calls."
        )
        self.tool_duration = meter.create_histogram(
            TOOL_DURATION,
            unit="s",
            description="Duration of executed tool calls.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_S),
        )
        self.session_cost = meter.create_histogram(
            SESSION_COST,
            unit="USD",
            description="Cost of a finished session (priced sessions only).",
            explicit_bucket_boundaries_advisory=list(COST_BUCKETS_USD),
        )

    def model_call(self, span: ReadableSpan, call: ModelCall) -> None:
        """One counted model request (``call`` holds its normalised usage)."""
        if not measures_gen_ai_client(span):
            return
        attrs = span.attributes or {}
        op = attrs.get(k.GEN_AI_OPERATION_NAME)
        common: dict[str, Any] = {
            k.GEN_AI_OPERATION_NAME: op if isinstance(op, str) and op else k.OP_CHAT
        }
        if call.provider:
            common[k.GEN_AI_PROVIDER_NAME] = call.provider
        request_model = _text(attrs.get(k.GEN_AI_REQUEST_MODEL)) or _text(
            attrs.get(k.OI_MODEL_NAME)
        )
        if request_model is None and call.model != "unknown":
            request_model = call.model
        if request_model:
            common[k.GEN_AI_REQUEST_MODEL] = request_model
        response_model = _text(attrs.get(k.GEN_AI_RESPONSE_MODEL))
        if response_model:
            common[k.GEN_AI_RESPONSE_MODEL] = response_model

        duration = dict(common)
        if call.error:
            duration[k.ERROR_TYPE] = _error_type(span, attrs)
        self.operation_duration.record(max(0, call.end_ns - call.start_ns) / _NS, duration)

        if call.input_tokens or call.output_tokens:  # the response reported usage
            self._tokens(common, "input", call.input_tokens)
            self._tokens(common, "output", call.output_tokens)
        if call.cache_read_tokens:
            self._tokens(common, "cache_read", call.cache_read_tokens)
        if call.cache_creation_tokens:
            self._tokens(common, "cache_creation", call.cache_creation_tokens)

    def _tokens(self, common: Mapping[str, Any], token_type: str, count: int) -> None:
        self.token_usage.record(count, {**common, GEN_AI_TOKEN_TYPE: token_type})

    def tool_call(self, name: str, error_type: str | None, start_ns: int, end_ns: int) -> None:
        """One executed tool call; ``error_type`` is set when it failed."""
        attrs: dict[str, Any] = {
            k.GEN_AI_TOOL_NAME: name,
            k.RADIUM_TOOL_OUTCOME: "success" if error_type is None else "failure",
        }
        if error_type is not None:
            attrs[k.ERROR_TYPE] = error_type
        self.tool_calls.add(1, attrs)
        self.tool_duration.record(max(0, end_ns - start_ns) / _NS, attrs)

    def session_ended(self, record: SessionRecord) -> None:
        """The cost of a finished session, when it was priced (``cost_usd`` not None)."""
        cost = _usd(getattr(record, "cost_usd", None))
        if cost is None:
            return
        attrs: dict[str, Any] = {RADIUM_SESSION_STATUS: str(getattr(record, "status", ""))}
        if getattr(getattr(record, "pricing", None), "partial", False) is True:
            attrs[RADIUM_COST_PARTIAL] = True  # some models had no price: a lower bound
        metadata = getattr(record, "metadata", None)
        agent = metadata.get("agent") if isinstance(metadata, Mapping) else None
        if isinstance(agent, str) and agent:
            attrs[k.GEN_AI_AGENT_NAME] = agent
        self.session_cost.record(cost, attrs)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _usd(value: object) -> float | None:
    """A cost read defensively: a finite, non-negative number, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    cost = float(value)
    return cost if math.isfinite(cost) and cost >= 0 else None


def _error_type(span: ReadableSpan, attrs: Mapping[str, Any]) -> str:
    error_type = _text(attrs.get(k.ERROR_TYPE))
    if error_type:
        return error_type
    for event in span.events:
        if event.name == "exception" and event.attributes:
            exc_type = _text(event.attributes.get("exception.type"))
            if exc_type:
                return exc_type.rsplit(".", 1)[-1]
    return "_OTHER"
