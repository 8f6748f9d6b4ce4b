"""Token usage read from real SDK objects and their dict forms, normalised to GenAI semantics."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any
from unittest.mock import MagicMock

import anthropic.types as anthropic_types
import pytest
from anthropic.lib.streaming import MessageStopEvent
from google.genai import types as genai_types
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseTextDeltaEvent,
)

from radium_otel._internal import errors
from radium_otel._internal import usage as usage_module
from radium_otel._internal.usage import StreamUsage, Usage, usage_from_response


def stream_usage(chunks: Iterable[object]) -> Usage | None:
    stream = StreamUsage()
    for chunk in chunks:
        stream.add(chunk)
    return stream.result()


# --- OpenAI Chat Completions -----------------------------------------------------------------

CHAT_USAGE: dict[str, Any] = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
}
CHAT_EXPECTED = Usage(
    input_tokens=2006,
    output_tokens=300,
    cache_read_tokens=1920,
    reasoning_tokens=192,
    response_model="o4-mini-2025-04-16",
)


def chat_completion(usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "o4-mini-2025-04-16",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Done."},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def chat_chunk(content: str | None, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": "o4-mini-2025-04-16",
        "choices": choices,
        "usage": usage,
    }


CHAT_STREAM = [chat_chunk("Do"), chat_chunk("ne."), chat_chunk(None, CHAT_USAGE)]


def test_openai_chat_completion_object() -> None:
    response = ChatCompletion.model_validate(chat_completion(CHAT_USAGE))
    assert usage_from_response(response) == CHAT_EXPECTED


def test_openai_chat_completion_dict() -> None:
    assert usage_from_response(chat_completion(CHAT_USAGE)) == CHAT_EXPECTED


def test_openai_chat_completion_model_dump() -> None:
    response = ChatCompletion.model_validate(chat_completion(CHAT_USAGE))
    assert usage_from_response(response.model_dump()) == CHAT_EXPECTED


def test_openai_chat_cache_write_tokens_are_cache_creation() -> None:
    usage = {
        "prompt_tokens": 5000,
        "completion_tokens": 40,
        "total_tokens": 5040,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 4800},
    }
    response = ChatCompletion.model_validate(chat_completion(usage))
    assert usage_from_response(response) == Usage(
        input_tokens=5000,
        output_tokens=40,
        cache_read_tokens=0,
        cache_creation_tokens=4800,
        response_model="o4-mini-2025-04-16",
    )


def test_openai_chat_without_details() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}
    assert usage_from_response(ChatCompletion.model_validate(chat_completion(usage))) == Usage(
        input_tokens=9, output_tokens=12, response_model="o4-mini-2025-04-16"
    )


def test_openai_chat_usage_with_proxy_cache_fields_keeps_openai_meaning() -> None:
    # OpenAI-compatible proxies add Anthropic-style cache fields; prompt_tokens already counts them.
    usage = {
        "prompt_tokens": 1212,
        "completion_tokens": 50,
        "prompt_tokens_details": {"cached_tokens": 1000},
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
    }
    assert usage_from_response({"model": "claude-sonnet-4-5", "usage": usage}) == Usage(
        input_tokens=1212,
        output_tokens=50,
        cache_read_tokens=1000,
        response_model="claude-sonnet-4-5",
    )


def test_openai_chat_stream_objects() -> None:
    chunks = [ChatCompletionChunk.model_validate(chunk) for chunk in CHAT_STREAM]
    assert stream_usage(chunks) == CHAT_EXPECTED


def test_openai_chat_stream_dicts() -> None:
    assert stream_usage(CHAT_STREAM) == CHAT_EXPECTED


def test_openai_chat_stream_without_usage_chunk() -> None:
    chunks = [ChatCompletionChunk.model_validate(chunk) for chunk in CHAT_STREAM[:2]]
    assert stream_usage(chunks) is None


def test_openai_completion_usage_alone() -> None:
    assert usage_from_response(CompletionUsage.model_validate(CHAT_USAGE)) == Usage(
        input_tokens=2006, output_tokens=300, cache_read_tokens=1920, reasoning_tokens=192
    )


# --- OpenAI Responses ------------------------------------------------------------------------

RESPONSES_USAGE: dict[str, Any] = {
    "input_tokens": 8000,
    "input_tokens_details": {"cached_tokens": 6144, "cache_write_tokens": 1024},
    "output_tokens": 1500,
    "output_tokens_details": {"reasoning_tokens": 1088},
    "total_tokens": 9500,
}
RESPONSES_EXPECTED = Usage(
    input_tokens=8000,
    output_tokens=1500,
    cache_read_tokens=6144,
    cache_creation_tokens=1024,
    reasoning_tokens=1088,
    response_model="gpt-5-2025-08-07",
)


def responses_response(usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1_760_000_000,
        "model": "gpt-5-2025-08-07",
        "status": "completed" if usage else "in_progress",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def responses_stream() -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "sequence_number": 0, "response": responses_response(None)},
        {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "Done.",
            "logprobs": [],
        },
        {
            "type": "response.completed",
            "sequence_number": 2,
            "response": responses_response(RESPONSES_USAGE),
        },
    ]


def test_openai_response_object() -> None:
    response = Response.model_validate(responses_response(RESPONSES_USAGE))
    assert usage_from_response(response) == RESPONSES_EXPECTED


def test_openai_response_dict() -> None:
    assert usage_from_response(responses_response(RESPONSES_USAGE)) == RESPONSES_EXPECTED


def test_openai_response_usage_is_not_read_as_anthropic() -> None:
    # Same input_tokens/output_tokens names as Anthropic, but input already includes the cache.
    usage = {"input_tokens": 8000, "output_tokens": 1500}
    assert usage_from_response({"object": "response", "model": "gpt-5", "usage": usage}) == Usage(
        input_tokens=8000, output_tokens=1500, response_model="gpt-5"
    )


def test_openai_response_usage_alone() -> None:
    expected = Usage(
        input_tokens=8000,
        output_tokens=1500,
        cache_read_tokens=6144,
        cache_creation_tokens=1024,
        reasoning_tokens=1088,
    )
    assert usage_from_response(RESPONSES_USAGE) == expected


def test_openai_response_stream_objects() -> None:
    created, delta, completed = responses_stream()
    events: list[object] = [
        ResponseCreatedEvent.model_validate(created),
        ResponseTextDeltaEvent.model_validate(delta),
        ResponseCompletedEvent.model_validate(completed),
    ]
    assert stream_usage(events) == RESPONSES_EXPECTED


def test_openai_response_stream_dicts() -> None:
    assert stream_usage(responses_stream()) == RESPONSES_EXPECTED


def test_openai_response_stream_before_completion() -> None:
    assert stream_usage(responses_stream()[:2]) is None


# --- Anthropic Messages ----------------------------------------------------------------------

ANTHROPIC_USAGE: dict[str, Any] = {
    "input_tokens": 12,
    "cache_read_input_tokens": 1000,
    "cache_creation_input_tokens": 200,
    "output_tokens": 350,
    "output_tokens_details": {"thinking_tokens": 120},
}
ANTHROPIC_EXPECTED = Usage(
    input_tokens=1212,
    output_tokens=350,
    cache_read_tokens=1000,
    cache_creation_tokens=200,
    reasoning_tokens=120,
    response_model="claude-sonnet-4-5-20250929",
)


def anthropic_message(usage: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Done."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": dict(usage),
    }


def anthropic_stream(delta_usage: dict[str, Any]) -> list[dict[str, Any]]:
    start_usage = {
        "input_tokens": 12,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
        "output_tokens": 1,
    }
    start_message = anthropic_message(start_usage) | {"content": [], "stop_reason": None}
    return [
        {"type": "message_start", "message": start_message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Ok"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": delta_usage,
        },
        {"type": "message_stop"},
    ]


NEW_STYLE_DELTA_USAGE: dict[str, Any] = {
    "input_tokens": 12,
    "cache_read_input_tokens": None,
    "cache_creation_input_tokens": None,
    "output_tokens": 350,
    "output_tokens_details": {"thinking_tokens": 120},
}


def anthropic_events(stream: list[dict[str, Any]]) -> list[object]:
    start, block_start, block_delta, block_stop, delta, stop = stream
    return [
        anthropic_types.RawMessageStartEvent.model_validate(start),
        anthropic_types.RawContentBlockStartEvent.model_validate(block_start),
        anthropic_types.RawContentBlockDeltaEvent.model_validate(block_delta),
        anthropic_types.RawContentBlockStopEvent.model_validate(block_stop),
        anthropic_types.RawMessageDeltaEvent.model_validate(delta),
        anthropic_types.RawMessageStopEvent.model_validate(stop),
    ]


def test_anthropic_message_object_counts_cache_in_input() -> None:
    message = anthropic_types.Message.model_validate(anthropic_message(ANTHROPIC_USAGE))
    assert usage_from_response(message) == ANTHROPIC_EXPECTED


def test_anthropic_message_dict() -> None:
    assert usage_from_response(anthropic_message(ANTHROPIC_USAGE)) == ANTHROPIC_EXPECTED


def test_anthropic_message_without_cache() -> None:
    message = anthropic_types.Message.model_validate(
        anthropic_message({"input_tokens": 25, "output_tokens": 7})
    )
    assert usage_from_response(message) == Usage(
        input_tokens=25, output_tokens=7, response_model="claude-sonnet-4-5-20250929"
    )


def test_anthropic_usage_alone_is_told_by_its_cache_fields() -> None:
    usage = anthropic_types.Usage.model_validate(ANTHROPIC_USAGE)
    assert usage_from_response(usage) == Usage(
        input_tokens=1212,
        output_tokens=350,
        cache_read_tokens=1000,
        cache_creation_tokens=200,
        reasoning_tokens=120,
    )


def test_anthropic_stream_events_with_output_only_delta() -> None:
    events = anthropic_events(
        anthropic_stream({"output_tokens": 350, "output_tokens_details": {"thinking_tokens": 120}})
    )
    assert stream_usage(events) == Usage(
        input_tokens=1212,
        output_tokens=350,
        cache_read_tokens=1000,
        cache_creation_tokens=200,
        reasoning_tokens=120,
        response_model="claude-sonnet-4-5-20250929",
    )


def test_anthropic_stream_delta_with_input_but_no_cache_keeps_the_cache() -> None:
    events = anthropic_events(anthropic_stream(NEW_STYLE_DELTA_USAGE))
    assert stream_usage(events) == ANTHROPIC_EXPECTED


def test_anthropic_stream_dicts() -> None:
    assert stream_usage(anthropic_stream(NEW_STYLE_DELTA_USAGE)) == ANTHROPIC_EXPECTED


def test_anthropic_stream_delta_updates_cumulative_counts() -> None:
    delta_usage = {
        "input_tokens": 15,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 0,
        "output_tokens": 360,
        "output_tokens_details": {"thinking_tokens": 130},
    }
    events = anthropic_events(anthropic_stream(delta_usage))
    assert stream_usage(events) == Usage(
        input_tokens=1015,
        output_tokens=360,
        cache_read_tokens=1000,
        cache_creation_tokens=0,
        reasoning_tokens=130,
        response_model="claude-sonnet-4-5-20250929",
    )


def test_anthropic_sdk_message_stop_event_carries_the_final_message() -> None:
    stop = MessageStopEvent.model_validate(
        {"type": "message_stop", "message": anthropic_message(ANTHROPIC_USAGE)}
    )
    assert usage_from_response(stop) == ANTHROPIC_EXPECTED


# --- Google GenAI ----------------------------------------------------------------------------

GEMINI_EXPECTED = Usage(
    input_tokens=5050,
    output_tokens=1000,
    cache_read_tokens=4000,
    reasoning_tokens=800,
    response_model="gemini-2.5-pro",
)


def gemini_response(
    text: str, usage_metadata: genai_types.GenerateContentResponseUsageMetadata | None
) -> genai_types.GenerateContentResponse:
    content = genai_types.Content(role="model", parts=[genai_types.Part(text=text)])
    return genai_types.GenerateContentResponse(
        candidates=[genai_types.Candidate(content=content, index=0)],
        model_version="gemini-2.5-pro",
        response_id="resp-1",
        usage_metadata=usage_metadata,
    )


GEMINI_USAGE = genai_types.GenerateContentResponseUsageMetadata(
    prompt_token_count=5000,
    cached_content_token_count=4000,
    tool_use_prompt_token_count=50,
    candidates_token_count=200,
    thoughts_token_count=800,
    total_token_count=6050,
)


def gemini_stream() -> Iterator[genai_types.GenerateContentResponse]:
    meta = genai_types.GenerateContentResponseUsageMetadata
    yield gemini_response(
        "Do",
        meta(
            prompt_token_count=5000,
            cached_content_token_count=4000,
            tool_use_prompt_token_count=50,
            thoughts_token_count=800,
        ),
    )
    yield gemini_response("n", None)
    yield gemini_response(
        "e.",
        meta(prompt_token_count=5000, candidates_token_count=200, thoughts_token_count=800),
    )


def test_gemini_response_object_counts_thoughts_in_output() -> None:
    assert usage_from_response(gemini_response("Done.", GEMINI_USAGE)) == GEMINI_EXPECTED


def test_gemini_response_dict() -> None:
    response = gemini_response("Done.", GEMINI_USAGE).model_dump(exclude_none=True)
    assert usage_from_response(response) == GEMINI_EXPECTED


def test_gemini_without_thoughts_or_tools() -> None:
    usage = genai_types.GenerateContentResponseUsageMetadata(
        prompt_token_count=30, candidates_token_count=10, total_token_count=40
    )
    assert usage_from_response(gemini_response("Hi", usage)) == Usage(
        input_tokens=30, output_tokens=10, response_model="gemini-2.5-pro"
    )


def test_gemini_stream_objects_keep_latest_value_per_field() -> None:
    assert stream_usage(gemini_stream()) == GEMINI_EXPECTED


def test_gemini_stream_dicts() -> None:
    chunks = [chunk.model_dump(exclude_none=True) for chunk in gemini_stream()]
    assert stream_usage(chunks) == GEMINI_EXPECTED


# --- plain, already-normalised dicts ---------------------------------------------------------


def test_plain_usage_dict_is_already_normalised() -> None:
    assert usage_from_response({"input_tokens": 1212, "output_tokens": 350}) == Usage(
        input_tokens=1212, output_tokens=350
    )


def test_plain_response_dict_with_usage() -> None:
    response = {"model": "my-model", "usage": {"input_tokens": 10, "output_tokens": 5}}
    assert usage_from_response(response) == Usage(
        input_tokens=10, output_tokens=5, response_model="my-model"
    )


def test_plain_dict_with_normalised_detail_fields() -> None:
    usage = {
        "input_tokens": 1212,
        "output_tokens": 350,
        "cache_read_tokens": 1000,
        "cache_creation_tokens": 200,
        "reasoning_tokens": 120,
    }
    assert usage_from_response(usage) == Usage(1212, 350, 1000, 200, 120)


# --- no usage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(ChatCompletion.model_validate(chat_completion(None)), id="chat"),
        pytest.param(chat_completion(None), id="chat-dict"),
        pytest.param(Response.model_validate(responses_response(None)), id="responses"),
        pytest.param(gemini_response("Hi", None), id="gemini"),
        pytest.param(gemini_response("Hi", None).model_dump(), id="gemini-dict"),
        pytest.param({"type": "message_start", "message": None}, id="anthropic-start-no-message"),
        pytest.param({"type": "response.completed"}, id="responses-event-no-response"),
        pytest.param({"id": "x", "choices": []}, id="unknown-dict"),
        pytest.param({}, id="empty-dict"),
    ],
)
def test_response_without_usage(response: object) -> None:
    assert usage_from_response(response) is None


def test_usage_with_all_counts_missing_is_none() -> None:
    assert usage_from_response({"model": "gpt-4o", "usage": {"prompt_tokens": None}}) is None


# --- garbage ---------------------------------------------------------------------------------


class Exploding:
    """Every attribute access fails."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(name)


class ExplodingMapping(Mapping[str, object]):
    """A mapping whose every lookup fails."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError(key)

    def __contains__(self, key: object) -> bool:
        raise RuntimeError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iter")

    def __len__(self) -> int:
        raise RuntimeError("len")


GARBAGE: list[object] = [
    None,
    42,
    "x",
    b"usage",
    3.5,
    [],
    [CHAT_USAGE],
    object(),
    Exploding(),
    ExplodingMapping(),
    MagicMock(),
    {"usage": 42},
    {"usage": "lots"},
    {"usage_metadata": [1, 2]},
    {"type": 7, "usage": {}},
    {"type": "message_delta"},
    {"type": "message_start", "message": "hello"},
    {"type": "response.completed", "response": ["x"]},
]


@pytest.mark.parametrize("garbage", GARBAGE, ids=lambda value: type(value).__name__)
def test_garbage_response_is_none(garbage: object) -> None:
    assert usage_from_response(garbage) is None


def test_garbage_stream_chunks_are_ignored() -> None:
    stream = StreamUsage()
    for garbage in GARBAGE:
        stream.add(garbage)
    assert stream.result() is None
    for chunk in CHAT_STREAM:
        stream.add(chunk)
    stream.add(None)
    stream.add(MagicMock())
    assert stream.result() == CHAT_EXPECTED


def test_wrong_typed_fields_are_ignored() -> None:
    usage = {
        "prompt_tokens": "2006",
        "completion_tokens": 300.0,
        "prompt_tokens_details": {"cached_tokens": True},
        "completion_tokens_details": {"reasoning_tokens": float("nan")},
    }
    assert usage_from_response({"model": 4, "usage": usage}) is None


def test_negative_and_absurd_counts_are_dropped_not_summed(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(errors, "_reported", set())  # forget warnings other tests gave
    usage = {
        "input_tokens": 12,
        "cache_read_input_tokens": -1000,
        "cache_creation_input_tokens": 10**15,
        "output_tokens": 350,
    }
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        result = usage_from_response(anthropic_message(usage))
        usage_from_response(anthropic_message(usage))  # the same fault again: warned once
    assert result == Usage(
        input_tokens=12, output_tokens=350, response_model="claude-sonnet-4-5-20250929"
    )
    assert [record.getMessage() for record in caplog.records] == [
        "ignoring usage field cache_read_input_tokens: -1000 is not a token count",
        "ignoring usage field cache_creation_input_tokens: 1000000000000000 is not a token count",
    ]


def test_wrong_typed_fields_on_objects_are_ignored() -> None:
    response = MagicMock()
    response.usage_metadata = MagicMock(
        prompt_token_count="5000", candidates_token_count=200, thoughts_token_count=None
    )
    response.model_version = ["gemini"]
    assert usage_from_response(response) == Usage(output_tokens=200)


def test_garbage_after_a_stream_does_not_erase_its_usage() -> None:
    stream = StreamUsage()
    for event in anthropic_stream(NEW_STYLE_DELTA_USAGE):
        stream.add(event)
    stream.add({"type": "message_delta", "usage": {"output_tokens": "many"}})
    assert stream.result() == ANTHROPIC_EXPECTED


# --- Usage and StreamUsage -------------------------------------------------------------------


def test_usage_is_empty() -> None:
    assert Usage().is_empty()
    assert Usage(response_model="gpt-4o").is_empty()
    assert not Usage(cache_read_tokens=0).is_empty()


def test_empty_stream_has_no_usage() -> None:
    assert StreamUsage().result() is None


def test_stream_of_another_shape_starts_afresh() -> None:
    stream = StreamUsage()
    for event in anthropic_stream(NEW_STYLE_DELTA_USAGE):
        stream.add(event)
    stream.add(chat_chunk(None, {"prompt_tokens": 9, "completion_tokens": 12}))
    assert stream.result() == Usage(
        input_tokens=9, output_tokens=12, response_model="o4-mini-2025-04-16"
    )


def test_chunk_of_another_shape_without_counts_changes_nothing() -> None:
    stream = StreamUsage()
    for chunk in CHAT_STREAM:
        stream.add(chunk)
    stream.add(gemini_response("late", None))
    assert stream.result() == CHAT_EXPECTED


def test_gemini_usage_metadata_alone() -> None:
    assert usage_from_response(GEMINI_USAGE) == Usage(
        input_tokens=5050, output_tokens=1000, cache_read_tokens=4000, reasoning_tokens=800
    )


def test_anthropic_one_hour_cache_writes_are_kept_apart() -> None:
    from anthropic.types import Message

    message = Message.model_validate(
        {
            "id": "msg_1h",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 2_000,
                "cache_read_input_tokens": 50_000,
                "cache_creation_input_tokens": 14_000,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 10_000,
                    "ephemeral_1h_input_tokens": 4_000,
                },
                "output_tokens": 1_500,
            },
        }
    )
    usage = usage_from_response(message)
    assert usage is not None
    assert (usage.input_tokens, usage.cache_creation_tokens, usage.cache_creation_1h_tokens) == (
        66_000,
        14_000,
        4_000,
    )


# --- the fast path agrees with the general one -----------------------------------------------


class PlainResponse:
    """A plain class holding a response's fields as attributes (read through ``__dict__``)."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


def _responses_everywhere() -> list[object]:
    """Every response, chunk, event and bad value the tests above read, as dicts and objects."""
    chat = chat_completion(CHAT_USAGE)
    responses = responses_response(RESPONSES_USAGE)
    anthropic = anthropic_message(ANTHROPIC_USAGE)
    gemini = gemini_response("Hi", GEMINI_USAGE)
    extra = ChatCompletion.model_validate(chat)
    extra.usage_metadata = {"prompt_token_count": 1}  # type: ignore[attr-defined]  # an extra field
    return [
        chat,
        ChatCompletion.model_validate(chat),
        ChatCompletion.model_validate(chat).model_dump(),
        extra,
        chat_completion({**CHAT_USAGE, "cache_read_input_tokens": 5}),
        chat_completion({"prompt_tokens": None}),
        chat_completion(None),
        *CHAT_STREAM,
        responses,
        Response.model_validate(responses),
        responses_response(None),
        *responses_stream(),
        anthropic,
        anthropic_types.Message.model_validate(anthropic),
        anthropic_message({"input_tokens": 12, "output_tokens": 350}),
        *anthropic_stream(NEW_STYLE_DELTA_USAGE),
        gemini,
        gemini.model_dump(),
        gemini_response("Hi", None),
        GEMINI_USAGE,
        CHAT_USAGE,
        RESPONSES_USAGE,
        {"model": "m", "usage": {"input_tokens": 3, "output_tokens": 4}},
        {"model": "m", "usage": {"input_tokens": -3, "output_tokens": 10**15}},
        {"model": "m", "usage": {"input_tokens": True, "output_tokens": 2.0}},
        {"model": 4, "usage": {"prompt_tokens": "2006", "completion_tokens": 300}},
        {"model": "m", "usage": {"prompt_tokens": 1, "prompt_tokens_details": 7}},
        {"model": "m", "usage": {"prompt_tokens": 1, "prompt_tokens_details": MagicMock()}},
        {"model": "m", "usage": MagicMock(prompt_tokens=3, completion_tokens=4)},
        {"type": "message", "model": "m", "usage": {"input_tokens": 5}},
        {"object": "response", "model": "m", "usage": {"input_tokens": 5}},
        {"usage_metadata": None, "model_version": "g"},
        PlainResponse(model="m", usage=PlainResponse(prompt_tokens=3, completion_tokens=4)),
        PlainResponse(model="m", usage={"input_tokens": 3, "output_tokens": 4}),
        *GARBAGE,
    ]


@pytest.mark.parametrize("response", _responses_everywhere(), ids=lambda r: type(r).__name__)
def test_the_fast_path_reads_what_the_general_path_reads(response: object) -> None:
    """`response_counts` takes a fast path for common responses; where it does, it gives
    exactly what the general reading gives (and where it cannot, it hands over)."""
    fast = usage_module._fast_counts(response)
    reading = usage_module._read(response)
    general = None if reading is None else reading.shape.normalise(reading.raw, reading.model)
    if fast is not usage_module._GENERAL:
        assert fast == (None if general is None else general.counts())
    assert usage_from_response(response) == general


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(ChatCompletion.model_validate(chat_completion(CHAT_USAGE)), id="chat"),
        pytest.param(chat_completion(CHAT_USAGE), id="chat-dict"),
        pytest.param(Response.model_validate(responses_response(RESPONSES_USAGE)), id="responses"),
        pytest.param(
            anthropic_types.Message.model_validate(anthropic_message(ANTHROPIC_USAGE)),
            id="anthropic",
        ),
        pytest.param(gemini_response("Hi", GEMINI_USAGE), id="gemini"),
        pytest.param(gemini_response("Hi", GEMINI_USAGE).model_dump(), id="gemini-dict"),
    ],
)
def test_sdk_responses_take_the_fast_path(response: object) -> None:
    """The SDKs' complete responses (pydantic models) and their dicts are read by the fast
    path: if an SDK changed how its objects keep their fields, this says so."""
    assert usage_module._fast_counts(response) is not usage_module._GENERAL


def test_a_model_with_extra_fields_is_read_the_general_way() -> None:
    response = ChatCompletion.model_validate(chat_completion(CHAT_USAGE))
    response.usage_metadata = GEMINI_USAGE  # type: ignore[attr-defined]  # an extra field
    assert usage_module._fast_counts(response) is usage_module._GENERAL
    # (as before: a field named usage_metadata is Gemini's, wherever it is found)
    assert usage_from_response(response) == replace(GEMINI_EXPECTED, response_model=None)
