"""Bring your own instrumentation: Google GenAI (Gemini).

The real ``google.genai.Client``, instrumented by the official contrib package
``opentelemetry-instrumentation-google-genai`` (scope
``opentelemetry.instrumentation.google_genai``), talks to a scripted local server that answers
in the Gemini API's recorded shapes; radium's session record must come out with SPEC's numbers.

Token semantics, as the package reports them (asserted on the spans below):
``gen_ai.usage.input_tokens`` = ``promptTokenCount`` (cached tokens included, as SPEC wants),
``gen_ai.usage.cache_read.input_tokens`` = ``cachedContentTokenCount``,
``gen_ai.usage.reasoning.output_tokens`` = ``thoughtsTokenCount`` and
``gen_ai.usage.output_tokens`` = ``candidatesTokenCount`` + ``thoughtsTokenCount`` (the
package adds the thoughts itself): radium must add nothing. Provider: ``gemini``.

The package declares ``google-genai<3``; with google-genai 3 it must be told
``skip_dep_check=True`` or it does not instrument at all (shown below).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from opentelemetry.instrumentation.google_genai import GoogleGenAiSdkInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from radium_otel._internal.instance import Radium
from radium_otel._internal.instrument import SessionScope
from radium_otel._internal.record import ModelUsage, SessionRecord
from radium_otel.testing import isolated

from . import gemini_api as api
from .llm_server import LLMServer

MODEL = "gemini-2.5-flash"
SCOPE = "opentelemetry.instrumentation.google_genai"
ASK = "Run the tests and fix what fails."


@dataclass
class Setup:
    rad: Radium
    spans: InMemorySpanExporter
    server: LLMServer

    def model_spans(self) -> list[ReadableSpan]:
        return [
            span
            for span in self.spans.get_finished_spans()
            if span.instrumentation_scope is not None and span.instrumentation_scope.name == SCOPE
        ]


@pytest.fixture
def setup(tmp_path: Path, llm_server: LLMServer) -> Iterator[Setup]:
    """radium on a private provider, with the package instrumenting ``google.genai`` into it."""
    with isolated(tmp_path) as (rad, spans):
        instrumentor = GoogleGenAiSdkInstrumentor()
        instrumentor.instrument(tracer_provider=rad.tracer_provider, skip_dep_check=True)
        try:
            yield Setup(rad, spans, llm_server)
        finally:
            instrumentor.uninstrument()


def make_client(server: LLMServer) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=server.url()))


@pytest.fixture
def client(llm_server: LLMServer) -> Iterator[genai.Client]:
    with make_client(llm_server) as client:
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
        "reasoning_tokens": usage.reasoning_tokens,
    }


def expected_row(**counts: int) -> dict[str, object]:
    row: dict[str, object] = {
        "model": MODEL,
        "provider": "gemini",
        "requests": 1,
        "errors": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_creation_tokens": 0,
        "reasoning_tokens": 0,
    }
    row.update(counts)
    return row


# 1200 prompt tokens of which 1000 from the cached content; 30 answer tokens after 70 of
# thoughts. SPEC: input 1200, cache_read 1000, output 100, reasoning 70.
THINKING = api.usage(1200, 30, cached=1000, thoughts=70)
STREAMED = [
    ("Done: ", api.usage(1200, None, cached=1000, thoughts=70)),
    ("the tests ", api.usage(1200, 12, cached=1000, thoughts=70)),
    ("pass.", THINKING),
]


def test_cached_content_and_thoughts(setup: Setup, client: genai.Client) -> None:
    setup.server.add("POST", api.GENERATE_PATH, api.response(MODEL, THINKING), times=1)
    setup.server.add("POST", api.GENERATE_PATH, api.response(MODEL, api.usage(300, 20)), times=1)

    with setup.rad.session(agent="coder") as scope:
        first = client.models.generate_content(model=MODEL, contents=ASK)
        client.models.generate_content(model=MODEL, contents=ASK)

    assert first.usage_metadata is not None
    assert first.usage_metadata.candidates_token_count == 30  # the client is untouched
    span = setup.model_spans()[0]
    assert {
        key: value for key, value in attributes(span).items() if key.startswith("gen_ai.usage.")
    } == {
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 100,  # candidates + thoughts, added by the package
        "gen_ai.usage.cache_read.input_tokens": 1000,
        "gen_ai.usage.reasoning.output_tokens": 70,
        "gen_ai.usage.text.input_tokens": 1200,
        "gen_ai.usage.text.cache_read.input_tokens": 1000,
    }
    record = record_of(scope)
    assert [row(usage) for usage in record.model_usage] == [
        expected_row(
            requests=2,
            input_tokens=1500,
            output_tokens=120,
            cache_read_tokens=1000,
            reasoning_tokens=70,
        )
    ]
    # Priced by the provider name "gemini" (genai-prices "google", gemini-2.5-flash: $0.30
    # input, $0.03 cache read, $2.50 output per million).
    (usage,) = record.model_usage
    assert usage.cost_usd == pytest.approx((500 * 0.3 + 1000 * 0.03 + 120 * 2.5) / 1e6)
    assert record.cache_stats.hit_rate == pytest.approx(1000 / 1500)


def test_streamed_generate_content(setup: Setup, client: genai.Client) -> None:
    setup.server.add("POST", api.STREAM_PATH, api.chunks(MODEL, STREAMED))

    with setup.rad.session(agent="coder") as scope:
        text = "".join(
            chunk.text or ""
            for chunk in client.models.generate_content_stream(model=MODEL, contents=ASK)
        )

    assert text == "Done: the tests pass."
    (request,) = setup.server.requests
    assert request.query == "alt=sse"
    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(
            input_tokens=1200, output_tokens=100, cache_read_tokens=1000, reasoning_tokens=70
        )
    ]


def test_async_client(setup: Setup, client: genai.Client) -> None:
    setup.server.add("POST", api.GENERATE_PATH, api.response(MODEL, THINKING))
    setup.server.add("POST", api.STREAM_PATH, api.chunks(MODEL, STREAMED))

    async def agent() -> None:
        await client.aio.models.generate_content(model=MODEL, contents=ASK)
        async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents=ASK):
            pass
        await client.aio.aclose()

    with setup.rad.session(agent="coder") as scope:
        asyncio.run(agent())

    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(
            requests=2,
            input_tokens=2400,
            output_tokens=200,
            cache_read_tokens=2000,
            reasoning_tokens=140,
        )
    ]


def test_rate_limit_and_server_error_are_failed_requests(
    setup: Setup, client: genai.Client
) -> None:
    setup.server.add("POST", api.GENERATE_PATH, api.error(429, "Resource exhausted."), times=1)
    setup.server.add("POST", api.GENERATE_PATH, api.error(500, "Internal error."), times=1)
    setup.server.add("POST", api.GENERATE_PATH, api.response(MODEL, api.usage(300, 20)))
    setup.server.add("POST", api.STREAM_PATH, api.error(503, "The model is overloaded."))

    with setup.rad.session(agent="coder") as scope:
        with pytest.raises(errors.ClientError) as rate_limited:
            client.models.generate_content(model=MODEL, contents=ASK)
        with pytest.raises(errors.ServerError):
            client.models.generate_content(model=MODEL, contents=ASK)
        client.models.generate_content(model=MODEL, contents=ASK)
        with pytest.raises(errors.ServerError):
            list(client.models.generate_content_stream(model=MODEL, contents=ASK))

    assert rate_limited.value.code == 429
    assert len(setup.server.requests) == 4  # no retries by default
    assert [attributes(span).get("error.type") for span in setup.model_spans()] == [
        "429",
        "500",
        None,
        "503",
    ]
    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(requests=4, errors=3, input_tokens=300, output_tokens=20)
    ]


def test_model_call_around_an_instrumented_client_counts_once(
    setup: Setup, client: genai.Client
) -> None:
    rad = setup.rad
    setup.server.add("POST", api.GENERATE_PATH, api.response(MODEL, THINKING), times=1)
    setup.server.add("POST", api.GENERATE_PATH, api.error(429, "Resource exhausted."), times=1)
    setup.server.add("POST", api.STREAM_PATH, api.chunks(MODEL, STREAMED))

    @rad.model_call(provider="gemini", model=MODEL)
    def ask() -> types.GenerateContentResponse:
        return client.models.generate_content(model=MODEL, contents=ASK)

    @rad.model_call(provider="gemini", model=MODEL)
    def ask_streaming() -> Iterator[types.GenerateContentResponse]:
        yield from client.models.generate_content_stream(model=MODEL, contents=ASK)

    with rad.session(agent="coder") as scope:
        ask()
        with pytest.raises(errors.ClientError):
            ask()
        list(ask_streaming())

    # The decorator spans read the same usage from the responses: only the innermost span of
    # each request, the package's, counts.
    assert [row(usage) for usage in record_of(scope).model_usage] == [
        expected_row(
            requests=3,
            errors=1,
            input_tokens=2400,
            output_tokens=200,
            cache_read_tokens=2000,
            reasoning_tokens=140,
        )
    ]


def test_without_skip_dep_check_google_genai_3_is_not_instrumented(
    tmp_path: Path, llm_server: LLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.add("POST", api.GENERATE_PATH, api.response(MODEL, THINKING))
    with isolated(tmp_path) as (rad, spans), make_client(llm_server) as client:
        instrumentor = GoogleGenAiSdkInstrumentor()
        with caplog.at_level(logging.ERROR, logger="opentelemetry.instrumentation.instrumentor"):
            instrumentor.instrument(tracer_provider=rad.tracer_provider)
        try:
            with rad.session(agent="coder") as scope:
                client.models.generate_content(model=MODEL, contents=ASK)
        finally:
            instrumentor.uninstrument()

    assert "google-genai>=1.32.0,<3" in caplog.text
    assert [span.name for span in spans.get_finished_spans()] == ["invoke_agent coder"]
    assert record_of(scope).model_usage == []
