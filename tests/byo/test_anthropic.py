"""Bring your own instrumentation: Anthropic.

The real ``anthropic`` client, instrumented by a third-party package, talks to a scripted
local server that answers in the API's recorded shapes; radium's session record must come out
with SPEC's numbers. Two packages, each test run with both:

- ``contrib``: the official ``opentelemetry-instrumentation-genai-anthropic`` (built on
  ``opentelemetry-util-genai``), scope ``opentelemetry.instrumentation.genai.anthropic``;
- ``traceloop``: Traceloop's ``opentelemetry-instrumentation-anthropic``, scope
  ``opentelemetry.instrumentation.anthropic``.

Token semantics, as these packages report them (asserted on the spans below): both already
put input + cache reads + cache writes in ``gen_ai.usage.input_tokens``, so radium must not add
the cache again. Cache writes are ``gen_ai.usage.cache_write.input_tokens`` (contrib) or
``gen_ai.usage.cache_creation.input_tokens`` (traceloop); neither reports the 1-hour part.
Only contrib reports thinking (``gen_ai.usage.reasoning.output_tokens``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anthropic
import pytest
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor as TraceloopInstrumentor
from opentelemetry.instrumentation.genai.anthropic import (
    AnthropicInstrumentor as ContribInstrumentor,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from radium_otel._internal.instance import Radium
from radium_otel._internal.instrument import SessionScope
from radium_otel._internal.record import ModelUsage, SessionRecord
from radium_otel.testing import isolated

from . import anthropic_api as api
from .llm_server import LLMServer

MODEL = "claude-sonnet-4-6"
ASK: list[Any] = [{"role": "user", "content": "Run the tests and fix what fails."}]


class Instrumentor(Protocol):
    def instrument(self, **kwargs: Any) -> None: ...
    def uninstrument(self, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class Flavour:
    """One Anthropic instrumentation package and what it reports differently."""

    name: str
    instrumentor: Callable[[], Instrumentor]
    scope: str
    cache_write_key: str
    reports_thinking: bool
    error_type: dict[str, str]
    # Traceloop adds message_start's output_tokens to message_delta's, although the API's
    # message_delta count is already the cumulative total: its streamed output is that much
    # too high. radium cannot see this in the span (no other attribute holds the true count).
    stream_output_surplus: int
    # Traceloop never ends the span of a stream that breaks off with an error event (its
    # stream proxy re-raises without ending it): that request never reaches any processor.
    ends_span_of_broken_stream: bool


CONTRIB = Flavour(
    name="contrib",
    instrumentor=ContribInstrumentor,
    scope="opentelemetry.instrumentation.genai.anthropic",
    cache_write_key="gen_ai.usage.cache_write.input_tokens",
    reports_thinking=True,
    error_type={
        "429": "anthropic.RateLimitError",
        "500": "anthropic.InternalServerError",
    },
    stream_output_surplus=0,
    ends_span_of_broken_stream=True,
)
TRACELOOP = Flavour(
    name="traceloop",
    instrumentor=TraceloopInstrumentor,
    scope="opentelemetry.instrumentation.anthropic",
    cache_write_key="gen_ai.usage.cache_creation.input_tokens",
    reports_thinking=False,
    error_type={"429": "RateLimitError", "500": "InternalServerError"},
    stream_output_surplus=1,  # the output_tokens of message_start in START below
    ends_span_of_broken_stream=False,
)


@dataclass
class Setup:
    rad: Radium
    spans: InMemorySpanExporter
    flavour: Flavour
    server: LLMServer

    def model_spans(self) -> list[ReadableSpan]:
        return [
            span
            for span in self.spans.get_finished_spans()
            if span.instrumentation_scope is not None
            and span.instrumentation_scope.name == self.flavour.scope
        ]


@pytest.fixture(params=[CONTRIB, TRACELOOP], ids=lambda flavour: flavour.name)
def setup(request: pytest.FixtureRequest, tmp_path: Path, llm_server: LLMServer) -> Iterator[Setup]:
    """radium on a private provider, with the package instrumenting ``anthropic`` into it."""
    flavour: Flavour = request.param
    with isolated(tmp_path) as (rad, spans):
        instrumentor = flavour.instrumentor()
        instrumentor.instrument(tracer_provider=rad.tracer_provider)
        try:
            yield Setup(rad, spans, flavour, llm_server)
        finally:
            instrumentor.uninstrument()


@pytest.fixture
def client(llm_server: LLMServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=llm_server.base_url, api_key="test-key", max_retries=0
    ) as client:
        yield client


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def record_of(scope: SessionScope) -> SessionRecord:
    assert scope.record is not None, "the session published no record"
    return scope.record


def row(usage: ModelUsage) -> dict[str, object]:
    """A model row without its measured latency and its price."""
    return {
        "model": usage.model,
        "provider": usage.provider,
        "requests": usage.requests,
        "errors": usage.errors,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_creation_tokens": usage.cache_creation_tokens,
        "cache_creation_1h_tokens": usage.cache_creation_1h_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }


def expected_row(**counts: int) -> dict[str, object]:
    row: dict[str, object] = {
        "model": MODEL,
        "provider": "anthropic",
        "requests": 1,
        "errors": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_creation_tokens": 0,
        "cache_creation_1h_tokens": 0,
        "reasoning_tokens": 0,
    }
    row.update(counts)
    return row


# Streams: message_start says input 12 (without the cache), cache reads 1000, cache writes
# 300, a first output token; message_delta repeats the input side and ends at 40 output.
START = api.usage(12, 1, cache_read=1000, cache_write_5m=300)
FINAL = api.usage(12, 40, cache_read=1000, cache_write_5m=300)


# --- complete messages -----------------------------------------------------------------------


def test_cache_reads_and_writes_are_added_to_input_once(
    setup: Setup, client: anthropic.Anthropic
) -> None:
    # Anthropic's input_tokens excludes the cache. The first answer's input is smaller than
    # its cache, the second's larger: radium must neither add the cache again nor miss it.
    cached = api.usage(12, 40, cache_read=1000, cache_write_5m=200, cache_write_1h=100)
    bigger = api.usage(2000, 60, cache_read=1000, cache_write_5m=300)
    setup.server.add("POST", api.MESSAGES_PATH, api.message(MODEL, cached), times=1)
    setup.server.add("POST", api.MESSAGES_PATH, api.message(MODEL, bigger), times=1)

    with setup.rad.session(agent="coder") as scope:
        first = client.messages.create(model=MODEL, max_tokens=1024, messages=ASK)
        client.messages.create(model=MODEL, max_tokens=1024, messages=ASK)

    assert first.usage.input_tokens == 12  # the client is untouched
    spans = setup.model_spans()
    assert [attributes(span)["gen_ai.usage.input_tokens"] for span in spans] == [1312, 3300]
    assert [attributes(span)[setup.flavour.cache_write_key] for span in spans] == [300, 300]
    record = record_of(scope)
    assert [row(usage) for usage in record.model_usage] == [
        expected_row(
            requests=2,
            input_tokens=1312 + 3300,
            output_tokens=100,
            cache_read_tokens=2000,
            cache_creation_tokens=600,
        )
    ]
    # Priced (genai-prices, claude-sonnet-4-6: $3 input, $0.30 cache read, $3.75 cache write,
    # $15 output per million): the 100 one-hour cache writes are priced as 5-minute ones,
    # since neither package reports the lifetime split.
    (usage,) = record.model_usage
    assert usage.cost_usd == pytest.approx((2012 * 3 + 2000 * 0.3 + 600 * 3.75 + 100 * 15) / 1e6)
    assert record.cache_stats.cache_read_tokens == 2000
    assert record.cache_stats.cache_creation_tokens == 600
    assert record.cache_stats.hit_rate == pytest.approx(2000 / 4612)


def test_beta_messages_and_raw_responses(setup: Setup, client: anthropic.Anthropic) -> None:
    one_hour = api.usage(12, 40, cache_read=1000, cache_write_1h=100)
    setup.server.add("POST", api.MESSAGES_PATH, api.message(MODEL, one_hour))

    with setup.rad.session(agent="coder") as scope:
        client.beta.messages.create(
            model=MODEL, max_tokens=1024, messages=ASK, betas=["context-1m-2025-08-07"]
        )
        raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=1024, messages=ASK)
        raw.parse()

    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(
            requests=2,
            input_tokens=2 * 1112,
            output_tokens=80,
            cache_read_tokens=2000,
            cache_creation_tokens=200,
            cache_creation_1h_tokens=0,  # not reported by either package
        )
    ]


def test_extended_thinking(setup: Setup, client: anthropic.Anthropic) -> None:
    # output_tokens already includes the thinking (output_tokens_details is a breakdown).
    thinking = api.usage(50, 200, thinking=150)
    setup.server.add(
        "POST", api.MESSAGES_PATH, api.message(MODEL, thinking, thinking="The failing test...")
    )

    with setup.rad.session(agent="coder") as scope:
        client.messages.create(
            model=MODEL,
            max_tokens=2048,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=ASK,
        )

    reasoning = 150 if setup.flavour.reports_thinking else 0
    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(input_tokens=50, output_tokens=200, reasoning_tokens=reasoning)
    ]


# --- streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "final",
    [FINAL, {"output_tokens": 40}],
    ids=["delta-with-input-side", "delta-with-output-only"],  # the API today, and before
)
def test_streamed_messages(
    setup: Setup, client: anthropic.Anthropic, final: dict[str, Any]
) -> None:
    setup.server.add("POST", api.MESSAGES_PATH, api.stream(MODEL, START, final))

    with setup.rad.session(agent="coder") as scope:
        events = client.messages.create(model=MODEL, max_tokens=1024, messages=ASK, stream=True)
        kinds = [event.type for event in events]
        with client.messages.stream(model=MODEL, max_tokens=1024, messages=ASK) as stream:
            text = "".join(stream.text_stream)

    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert text == "Done: the tests pass."
    surplus = setup.flavour.stream_output_surplus
    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(
            requests=2,
            input_tokens=2 * 1312,
            output_tokens=2 * (40 + surplus),
            cache_read_tokens=2000,
            cache_creation_tokens=600,
        )
    ]


def test_async_client(setup: Setup, llm_server: LLMServer) -> None:
    setup.server.add(
        "POST", api.MESSAGES_PATH, api.message(MODEL, api.usage(12, 40, cache_read=1000)), times=1
    )
    setup.server.add("POST", api.MESSAGES_PATH, api.stream(MODEL, START, FINAL))

    async def agent() -> None:
        async with anthropic.AsyncAnthropic(
            base_url=llm_server.base_url, api_key="test-key", max_retries=0
        ) as client:
            await client.messages.create(model=MODEL, max_tokens=1024, messages=ASK)
            events = await client.messages.create(
                model=MODEL, max_tokens=1024, messages=ASK, stream=True
            )
            async for _ in events:
                pass
            async with client.messages.stream(model=MODEL, max_tokens=1024, messages=ASK) as stream:
                async for _ in stream.text_stream:
                    pass

    with setup.rad.session(agent="coder") as scope:
        asyncio.run(agent())

    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(
            requests=3,
            input_tokens=1012 + 2 * 1312,
            output_tokens=3 * 40 + 2 * setup.flavour.stream_output_surplus,
            cache_read_tokens=3000,
            cache_creation_tokens=600,
        )
    ]


# --- errors ----------------------------------------------------------------------------------


def test_rate_limit_and_server_error_are_failed_requests(
    setup: Setup, client: anthropic.Anthropic
) -> None:
    setup.server.add(
        "POST", api.MESSAGES_PATH, api.error(429, "rate_limit_error", "Slow down"), times=1
    )
    setup.server.add(
        "POST", api.MESSAGES_PATH, api.error(500, "api_error", "Internal server error"), times=1
    )
    setup.server.add("POST", api.MESSAGES_PATH, api.message(MODEL, api.usage(30, 5)))

    with setup.rad.session(agent="coder") as scope:
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model=MODEL, max_tokens=1024, messages=ASK)
        with pytest.raises(anthropic.InternalServerError):
            client.messages.create(model=MODEL, max_tokens=1024, messages=ASK)
        client.messages.create(model=MODEL, max_tokens=1024, messages=ASK)

    assert len(setup.server.requests) == 3  # max_retries=0: one HTTP request each
    assert [attributes(span).get("error.type") for span in setup.model_spans()] == [
        setup.flavour.error_type["429"],
        setup.flavour.error_type["500"],
        None,
    ]
    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(requests=3, errors=2, input_tokens=30, output_tokens=5)
    ]


def test_stream_broken_off_by_an_error_event(setup: Setup, client: anthropic.Anthropic) -> None:
    broken = api.stream(MODEL, START, FINAL, error=("overloaded_error", "Overloaded"))
    setup.server.add("POST", api.MESSAGES_PATH, broken)

    with setup.rad.session(agent="coder") as scope:
        events = client.messages.create(model=MODEL, max_tokens=1024, messages=ASK, stream=True)
        with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
            for _ in events:
                pass

    usage_rows = [row(usage) for usage in record_of(scope).model_usage]
    if setup.flavour.ends_span_of_broken_stream:
        # Counted as a failed request, with the usage message_start had reported.
        assert usage_rows == [
            expected_row(
                errors=1,
                input_tokens=1312,
                output_tokens=1,
                cache_read_tokens=1000,
                cache_creation_tokens=300,
            )
        ]
    else:
        assert usage_rows == []  # the package never ended the span (see Flavour)


# --- radium's decorator around an instrumented call -----------------------------------------


def test_model_call_around_an_instrumented_client_counts_once(
    setup: Setup, client: anthropic.Anthropic
) -> None:
    rad = setup.rad
    setup.server.add(
        "POST", api.MESSAGES_PATH, api.message(MODEL, api.usage(12, 40, cache_read=1000)), times=1
    )
    setup.server.add("POST", api.MESSAGES_PATH, api.stream(MODEL, START, FINAL), times=1)
    setup.server.add(
        "POST", api.MESSAGES_PATH, api.error(429, "rate_limit_error", "Slow down"), times=1
    )

    @rad.model_call(provider="anthropic", model=MODEL)
    def ask() -> anthropic.types.Message:
        return client.messages.create(model=MODEL, max_tokens=1024, messages=ASK)

    @rad.model_call(provider="anthropic", model=MODEL)
    def ask_streaming() -> Iterator[anthropic.types.RawMessageStreamEvent]:
        yield from client.messages.create(model=MODEL, max_tokens=1024, messages=ASK, stream=True)

    with rad.session(agent="coder") as scope:
        ask()
        list(ask_streaming())
        with pytest.raises(anthropic.RateLimitError):
            ask()

    # Each decorator span carries usage too (read from the message or the events): only the
    # innermost span of a request, the package's, counts.
    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(
            requests=3,
            errors=1,
            input_tokens=1012 + 1312,
            output_tokens=40 + 40 + setup.flavour.stream_output_surplus,
            cache_read_tokens=2000,
            cache_creation_tokens=300,
        )
    ]
