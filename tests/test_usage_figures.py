"""Every count read from the responses, streams and source counts whose shape the usage reader
has to tell apart, exact, whichever path reads them: the fast path for dicts and SDK models and
the general one for any other mapping or object (issue 20: mutants alive in ``usage.py``).
"""

from __future__ import annotations

import logging
from collections import UserDict
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any

import anthropic.types as anthropic_types
import pydantic
import pytest
from google.genai import types as genai_types
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from test_usage import (
    CHAT_USAGE,
    GEMINI_USAGE,
    PlainResponse,
    anthropic_events,
    anthropic_message,
    anthropic_stream,
    chat_completion,
    gemini_response,
    responses_response,
    stream_usage,
)

from radium_otel._internal import errors
from radium_otel._internal import usage as usage_module
from radium_otel._internal.usage import Usage, response_counts, usage_from_counts

CLAUDE = "claude-sonnet-4-5-20250929"
O4 = "o4-mini-2025-04-16"
GPT5 = "gpt-5-2025-08-07"
GEMINI = "gemini-2.5-pro"
Meta = genai_types.GenerateContentResponseUsageMetadata


@pytest.fixture(autouse=True)
def _plans_learnt_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test learns how its classes read (`usage._PLANS`, kept per class for the process)
    as a fresh process would: its result never depends on what ran before it, and mutation
    testing sees every test that decides a class's plan, not only the first."""
    monkeypatch.setattr(usage_module, "_PLANS", {})


@pytest.fixture
def warnings_given(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], list[str]]]:
    """The usage warnings given so far in the test, in order (those of earlier tests forgotten)."""
    monkeypatch.setattr(errors, "_reported", set())
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        yield lambda: [record.getMessage() for record in caplog.records]


# --- complete responses, read the fast way (dict, SDK model) and the general way (mapping) ----


def gemini_dict(usage: genai_types.GenerateContentResponseUsageMetadata) -> dict[str, Any]:
    """A Gemini response as its JSON has it (no null fields)."""
    return gemini_response("Hi", usage).model_dump(exclude_none=True)


def embeddings(usage: dict[str, Any]) -> dict[str, Any]:
    data = [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}]
    return {"object": "list", "model": "text-embedding-3-small", "data": data, "usage": usage}


class Tokens(int):
    """An ``int`` subclass (an ``IntEnum``, a decoder's own integer type): still a count."""


# (the response as its JSON has it, the SDK type it validates as or None, what it reports)
RESPONSES: dict[str, tuple[dict[str, Any], Any, Usage]] = {
    # An Anthropic message is told by its type: without the cache fields (as the SDK's
    # model_dump(exclude_none=True) leaves it) its usage would read as a normalised one.
    "anthropic-thinking-no-cache": (
        anthropic_message(
            {
                "input_tokens": 25,
                "output_tokens": 70,
                "output_tokens_details": {"thinking_tokens": 30},
            }
        ),
        anthropic_types.Message,
        Usage(25, 70, None, None, 30, None, CLAUDE),
    ),
    # A Responses API response is told by its object: Anthropic-style cache fields that a proxy
    # adds do not make its input exclude the cache (it would read 2212 with the cache added).
    "responses-proxy-cache-fields": (
        responses_response(
            {
                "input_tokens": 1212,
                "cache_read_input_tokens": 1000,
                "output_tokens": 50,
                "output_tokens_details": {"reasoning_tokens": 20},
            }
        ),
        None,
        Usage(1212, 50, None, None, 20, None, GPT5),
    ),
    "gemini-thoughts-and-cache-only": (
        gemini_dict(Meta(thoughts_token_count=800, cached_content_token_count=4000)),
        genai_types.GenerateContentResponse,
        Usage(None, 800, 4000, None, 800, None, GEMINI),
    ),
    "gemini-full": (
        gemini_dict(GEMINI_USAGE),
        genai_types.GenerateContentResponse,
        Usage(5050, 1000, 4000, None, 800, None, GEMINI),
    ),
    # Chat usage is told by prompt_tokens or completion_tokens, either alone.
    "embeddings-prompt-only": (
        embeddings({"prompt_tokens": 8, "total_tokens": 8}),
        CreateEmbeddingResponse,
        Usage(8, None, None, None, None, None, "text-embedding-3-small"),
    ),
    "chat-completion-only": (
        chat_completion(
            {"completion_tokens": 12, "completion_tokens_details": {"reasoning_tokens": 4}}
        ),
        None,
        Usage(None, 12, None, None, 4, None, O4),
    ),
    # Anthropic usage in a response that does not name its API: either cache field tells it.
    "anthropic-usage-cache-read-only": (
        {
            "model": CLAUDE,
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 1000, "output_tokens": 350},
        },
        None,
        Usage(1012, 350, 1000, None, None, None, CLAUDE),
    ),
    "anthropic-usage-cache-write-only": (
        {
            "model": CLAUDE,
            "usage": {
                "input_tokens": 12,
                "cache_creation_input_tokens": 200,
                "cache_creation": {"ephemeral_1h_input_tokens": 50},
                "output_tokens": 350,
            },
        },
        None,
        Usage(212, 350, None, 200, None, 50, CLAUDE),
    ),
    # A model name that is empty or not a string names no model.
    "chat-empty-model": (
        chat_completion(CHAT_USAGE) | {"model": ""},
        ChatCompletion,
        Usage(2006, 300, 1920, None, 192, None, None),
    ),
    "chat-model-not-a-string": (
        chat_completion(CHAT_USAGE) | {"model": ["o4-mini"]},
        None,
        Usage(2006, 300, 1920, None, 192, None, None),
    ),
    "chat-int-subclass-counts": (
        chat_completion({"prompt_tokens": Tokens(9), "completion_tokens": Tokens(12)}),
        None,
        Usage(9, 12, None, None, None, None, O4),
    ),
}

VIEWS: dict[str, Callable[[dict[str, Any], Any], object]] = {
    "dict": lambda response, sdk: response,  # the fast path
    "sdk": lambda response, sdk: sdk.model_validate(response),  # the fast path, SDK models
    "mapping": lambda response, sdk: MappingProxyType(response),  # the general path
}


@pytest.mark.parametrize(
    ("case", "view"),
    [
        (case, view)
        for case, (_, sdk, _) in RESPONSES.items()
        for view in VIEWS
        if view != "sdk" or sdk is not None
    ],
)
def test_every_count_of_a_response_whichever_path_reads_it(case: str, view: str) -> None:
    response, sdk, expected = RESPONSES[case]
    assert response_counts(VIEWS[view](response, sdk)) == expected.counts()


# Bare usage objects (the general path): which API they are is told by their fields alone.
BARE_USAGE: dict[str, tuple[dict[str, Any], Usage]] = {
    "gemini-first-chunk": (
        Meta(
            prompt_token_count=5000,
            cached_content_token_count=4000,
            tool_use_prompt_token_count=50,
            thoughts_token_count=800,
        ).model_dump(exclude_none=True),
        Usage(5050, 800, 4000, None, 800),
    ),
    "gemini-candidates-only": (
        Meta(candidates_token_count=200).model_dump(exclude_none=True),
        Usage(None, 200),
    ),
    "normalised-input-only": ({"input_tokens": 3}, Usage(3)),
    "normalised-output-only": ({"output_tokens": 4}, Usage(None, 4)),
}


@pytest.mark.parametrize("case", list(BARE_USAGE))
def test_every_count_of_a_bare_usage(case: str) -> None:
    usage, expected = BARE_USAGE[case]
    assert usage_module.usage_from_response(usage) == expected


# --- streams -------------------------------------------------------------------------------


def test_anthropic_stream_as_json_with_an_output_only_delta() -> None:
    """The SDK's events as their JSON has them: the delta has no cache fields, and is
    Anthropic's by its type (read as a normalised usage, it would lose the thinking)."""
    delta = {"output_tokens": 350, "output_tokens_details": {"thinking_tokens": 120}}
    events = [
        event.model_dump(exclude_none=True)  # type: ignore[attr-defined]
        for event in anthropic_events(anthropic_stream(delta))
    ]
    assert stream_usage(events) == Usage(1212, 350, 1000, 200, 120, None, CLAUDE)


def test_stream_whose_chunks_name_no_model() -> None:
    chunks = [
        genai_types.GenerateContentResponse(usage_metadata=Meta(prompt_token_count=30)),
        genai_types.GenerateContentResponse(
            usage_metadata=Meta(prompt_token_count=30, candidates_token_count=10)
        ),
    ]
    assert stream_usage(chunks) == Usage(30, 10)


# --- which classes the fast path reads through their __dict__ --------------------------------


class BaseModel(pydantic.BaseModel):
    """A library's own base model, named as the SDKs name theirs, that serves the names its
    models lack from the response they wrap."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["response"], name)


class Traced(BaseModel):
    """A framework's result: its own usage; its model, from the response it wraps."""

    usage: dict[str, int]
    response: ChatCompletion


class ResponsesRecord:
    """A plain class that names its API in a class attribute, not in each instance."""

    object = "response"

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def with_extra_field() -> ChatCompletion:
    response = ChatCompletion.model_validate(chat_completion(CHAT_USAGE))
    response.usage_metadata = GEMINI_USAGE  # type: ignore[attr-defined]  # an extra field
    return response


PROXY_CACHE_USAGE = {"input_tokens": 1212, "cache_read_input_tokens": 1000, "output_tokens": 50}
CHAT_COUNTS = Usage(2006, 300, 1920, None, 192, None, O4)

# (the response, whether the fast path reads it, what it reports)
CLASSES: dict[str, tuple[Callable[[], object], bool, Usage | None]] = {
    "openai-sdk": (
        lambda: ChatCompletion.model_validate(chat_completion(CHAT_USAGE)),
        True,
        CHAT_COUNTS,
    ),
    "anthropic-sdk": (
        lambda: anthropic_types.Message.model_validate(
            anthropic_message({"input_tokens": 5, "output_tokens": 6})
        ),
        True,
        Usage(5, 6, None, None, None, None, CLAUDE),
    ),
    "gemini-sdk": (
        lambda: gemini_response("Hi", GEMINI_USAGE),
        True,
        Usage(5050, 1000, 4000, None, 800, None, GEMINI),
    ),
    "plain-class": (
        lambda: PlainResponse(model="m", usage=PlainResponse(prompt_tokens=3, completion_tokens=4)),
        True,
        Usage(3, 4, None, None, None, None, "m"),
    ),
    # Counts of 0 (in most OpenAI responses: cached_tokens) and the largest count read fast.
    "zero-and-largest-counts": (
        lambda: chat_completion(
            {
                "prompt_tokens": 1_000_000_000,
                "completion_tokens": 0,
                "prompt_tokens_details": {"cached_tokens": 0},
            }
        ),
        True,
        Usage(1_000_000_000, 0, 0, None, None, None, O4),
    ),
    # Fields pydantic keeps apart from __dict__: a usage_metadata field is Gemini's.
    "pydantic-extra-field": (with_extra_field, False, Usage(5050, 1000, 4000, None, 800)),
    "own-getattr": (
        lambda: Traced(
            usage={"prompt_tokens": 9, "completion_tokens": 12},
            response=ChatCompletion.model_validate(chat_completion(None)),
        ),
        False,
        Usage(9, 12, None, None, None, None, O4),
    ),
    "class-attribute": (
        lambda: ResponsesRecord(model=GPT5, usage=PROXY_CACHE_USAGE),
        False,
        Usage(1212, 50, None, None, None, None, GPT5),
    ),
    "usage-in-a-mapping-not-a-dict": (
        lambda: {"model": O4, "usage": UserDict(CHAT_USAGE)},
        False,
        CHAT_COUNTS,
    ),
}


@pytest.mark.parametrize("case", list(CLASSES))
def test_which_responses_the_fast_path_reads_and_their_counts(case: str) -> None:
    make, fast, expected = CLASSES[case]
    response = make()
    assert (usage_module._fast_counts(response) is not usage_module._GENERAL) is fast
    assert response_counts(make()) == (None if expected is None else expected.counts())


def test_the_fast_path_plan_of_a_shape() -> None:
    """Each raw count of the shape once, with the normalised count it adds to (input, output,
    cache read, cache write, reasoning, 1-hour cache write)."""
    assert usage_module._compile(usage_module._ANTHROPIC) == (
        (0, "input_tokens", None),
        (0, "cache_read_input_tokens", None),
        (0, "cache_creation_input_tokens", None),
        (1, "output_tokens", None),
        (2, "cache_read_input_tokens", None),
        (3, "cache_creation_input_tokens", None),
        (4, "output_tokens_details", "thinking_tokens"),
        (5, "cache_creation", "ephemeral_1h_input_tokens"),
    )


# --- the flat counts of external sources -------------------------------------------------------


def test_a_flat_shape_reads_each_name_into_its_count() -> None:
    shape = usage_module._flat(
        input=("in", "tool"),
        output=("out",),
        cache_read=("read",),
        cache_creation=("write",),
        reasoning=("think",),
        cache_creation_1h=("write_1h",),
    )
    paths = (shape.input, shape.output, shape.cache_read, shape.cache_creation)
    assert paths == ((("in",), ("tool",)), (("out",),), (("read",),), (("write",),))
    assert (shape.reasoning, shape.cache_creation_1h) == ((("think",),), (("write_1h",),))


SOURCE_COUNTS: dict[str, tuple[str, dict[str, object], Usage | None]] = {
    # Claude Code sends decimal strings, its input without the cache.
    "claude-code": (
        "claude-code",
        {
            "input_tokens": "12",
            "output_tokens": "350",
            "cache_read_tokens": "1000",
            "cache_creation_tokens": "200",
            "cache_creation_1h_tokens": "50",
        },
        Usage(1212, 350, 1000, 200, None, 50),
    ),
    "codex": (
        "codex",
        {
            "input_token_count": 8000,
            "output_token_count": 1500.0,
            "cached_token_count": 6144,
            "cache_write_token_count": 0,
            "reasoning_token_count": 1088,
        },
        Usage(8000, 1500, 6144, 0, 1088),
    ),
    "gemini-cli": (
        "gemini-cli",
        {
            "input_token_count": 5000,
            "tool_token_count": 50,
            "output_token_count": 200,
            "thoughts_token_count": 800,
            "cached_content_token_count": 4000,
        },
        Usage(5050, 1000, 4000, None, 800),
    ),
    "codex-transcript": (
        "codex/transcript",
        {
            "input_tokens": 10,
            "output_tokens": 20,
            "cached_input_tokens": 3,
            "cache_write_input_tokens": 2,
            "reasoning_output_tokens": 5,
        },
        Usage(10, 20, 3, 2, 5),
    ),
    "gemini-cli-transcript": (
        "gemini-cli/transcript",
        {"input": 30, "tool": 5, "output": 10, "thoughts": 4, "cached": 6},
        Usage(35, 14, 6, None, 4),
    ),
    # Any one count is usage, and the largest valid count is kept; a 1-hour part alone is not.
    "input-only": ("codex", {"input_token_count": "1000000000"}, Usage(1_000_000_000)),
    "output-only": ("codex", {"output_token_count": 5}, Usage(None, 5)),
    "cache-read-only": ("codex", {"cached_token_count": 5}, Usage(None, None, 5)),
    "cache-write-only": ("codex", {"cache_write_token_count": 0}, Usage(None, None, None, 0)),
    "reasoning-only": ("codex", {"reasoning_token_count": 5}, Usage(None, None, None, None, 5)),
    "1h-part-only": ("claude-code", {"cache_creation_1h_tokens": "50"}, None),
    "nothing": ("codex", {}, None),
}


@pytest.mark.parametrize("case", list(SOURCE_COUNTS))
def test_every_count_a_source_reports(case: str, warnings_given: Callable[[], list[str]]) -> None:
    source, counts, expected = SOURCE_COUNTS[case]
    assert usage_from_counts(source, counts) == expected
    assert warnings_given() == []


# --- counts that are not counts: dropped, each with a warning that names the field -------------


def test_invalid_counts_in_a_response_are_named_in_the_warnings(
    warnings_given: Callable[[], list[str]],
) -> None:
    usage = {
        "prompt_tokens": 2006,
        "completion_tokens": 2.5,
        "prompt_tokens_details": {"cached_tokens": True},
    }
    assert response_counts(chat_completion(usage)) == Usage(2006, response_model=O4).counts()
    assert warnings_given() == [
        "ignoring usage field completion_tokens: float is not a token count",
        "ignoring usage field prompt_tokens_details.cached_tokens: True is not a token count",
    ]


def test_source_counts_that_are_not_counts_are_dropped(
    warnings_given: Callable[[], list[str]],
) -> None:
    """Strings of digits that are no decimal number ("²"), or too long a one for ``int``, are
    dropped with a warning like any other string, never raised."""
    counts = {
        "input_tokens": "²",
        "output_tokens": "7",
        "cache_read_tokens": "9" * 5000,
        "cache_creation_tokens": 1_000_000_001,
    }
    assert usage_from_counts("claude-code", counts) == Usage(output_tokens=7)
    assert warnings_given() == [
        "ignoring usage field input_tokens: str is not a token count",
        "ignoring usage field cache_read_tokens: str is not a token count",
        "ignoring usage field cache_creation_tokens: 1000000001 is not a token count",
    ]
