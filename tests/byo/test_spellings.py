"""The Traceloop and OpenInference spellings, on spans made by hand (through the real SDK).

The packages themselves are driven in test_openai.py; these are the corners they do not
reach with the versions installed: Traceloop's older ``llm.request.type`` and odd values.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode

from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import SessionRecord
from radium_otel.testing import StepClock

S = 10**9
T0 = 1_700_000_000 * S


def record_of(*spans: tuple[dict[str, Any], bool]) -> SessionRecord:
    """One session with one span per (attributes, failed), each a second long."""
    records: list[SessionRecord] = []
    processor = SessionSpanProcessor(records.append, time_ns=StepClock())
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("third-party")
    for n, (attributes, failed) in enumerate(spans):
        span = tracer.start_span(
            "llm", attributes={"gen_ai.conversation.id": "c1", **attributes}, start_time=T0 + n * S
        )
        if failed:
            span.set_status(Status(StatusCode.ERROR, "boom"))
        span.end(end_time=T0 + (n + 1) * S)
    processor.end_session("c1")
    (record,) = records
    return record


def test_old_traceloop_request_type_makes_a_failed_span_a_request() -> None:
    record = record_of(
        (
            {
                "llm.request.type": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.system": "OpenAI",
            },
            True,
        ),
        ({"llm.request.type": "rerank", "gen_ai.request.model": "r"}, False),  # not a model call
    )
    assert [(m.model, m.provider, m.requests, m.errors) for m in record.model_usage] == [
        ("gpt-4o", "OpenAI", 1, 1)
    ]


def test_traceloop_reasoning_tokens() -> None:
    record = record_of(
        (
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.response.model": "o4-mini",
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 50,
                "gen_ai.usage.reasoning_tokens": 30,
            },
            False,
        )
    )
    (row,) = record.model_usage
    assert (row.output_tokens, row.reasoning_tokens) == (50, 30)


@pytest.mark.parametrize(
    ("parameters", "model"),
    [
        ('{"model": "gpt-4o", "temperature": 0}', "gpt-4o"),
        ('{"model": 4}', "unknown"),
        ('["model"]', "unknown"),
        ('{"model": ', "unknown"),
        ("[" * 5000 + '"model"' + "]" * 5000, "unknown"),
        ('{"temperature": 0}', "unknown"),
        ('{"model": "' + "x" * 70_000 + '"}', "unknown"),  # too long to parse
    ],
)
def test_openinference_failed_request_model_from_invocation_parameters(
    parameters: str, model: str
) -> None:
    record = record_of(
        (
            {
                "openinference.span.kind": "LLM",
                "llm.system": "openai",
                "llm.invocation_parameters": parameters,
            },
            True,
        )
    )
    assert [(m.model, m.provider, m.errors) for m in record.model_usage] == [(model, "openai", 1)]


def test_llm_provider_is_preferred_to_llm_system() -> None:
    record = record_of(
        ({"openinference.span.kind": "LLM", "llm.provider": "azure", "llm.system": "openai"}, False)
    )
    assert record.model_usage[0].provider == "azure"
