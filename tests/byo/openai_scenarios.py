"""OpenAI agent code for the bring-your-own-instrumentation tests, and what the server answers.

The scenarios use only ``openai`` and radium's decorators, never an instrumentation package,
so the same code runs with every OpenAI instrumentation: here, or in another venv through
`byo.runner`. `script_*` queue the answers on an `LLMServer` (in the pytest process) in the
order the matching scenario asks for them. Bodies are the shapes the OpenAI API returns.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai

from radium_otel import Radium

from .llm_server import LLMServer, json_response, sse_response

MESSAGES: list[Any] = [{"role": "user", "content": "Say hi"}]
CHAT_PATH = r"/v1/chat/completions"
RESPONSES_PATH = r"/v1/responses"
TOOL_S = 0.03  # how long read_file works
MODEL_S = 0.05  # how long the server thinks before answering the mixed session's requests


def chat_completion(model: str, usage: dict[str, Any]) -> dict[str, Any]:
    """A Chat Completions response body."""
    return {
        "id": "chatcmpl-byo1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_byo",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def chat_usage(prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
    """Chat Completions usage: prompt includes the cached tokens, completion the reasoning."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_chunks(model: str, usage: dict[str, Any]) -> list[dict[str, Any]]:
    """A streamed completion with ``stream_options={"include_usage": True}``."""
    base = {"id": "chatcmpl-byo2", "object": "chat.completion.chunk", "created": 1_700_000_001}
    base |= {"model": model, "system_fingerprint": "fp_byo"}
    return [
        base | {"choices": [_delta({"role": "assistant", "content": ""}, None)], "usage": None},
        base | {"choices": [_delta({"content": "Hi"}, None)], "usage": None},
        base | {"choices": [_delta({"content": "!"}, None)], "usage": None},
        base | {"choices": [_delta({}, "stop")], "usage": None},
        base | {"choices": [], "usage": usage},
    ]


def _delta(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def response_object(model: str, usage: dict[str, Any]) -> dict[str, Any]:
    """A Responses API response body."""
    return {
        "id": "resp_byo",
        "object": "response",
        "created_at": 1_700_000_002,
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_byo",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi!", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def error_body(message: str, kind: str, code: str | None) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# --- 1. every kind of request: sync, stream, errors, Responses API, async -----------------


def script_requests(server: LLMServer) -> None:
    """Answers for `requests`, in its order."""
    chat = server.add
    chat(
        "POST",
        CHAT_PATH,
        json_response(200, chat_completion("gpt-4o-2024-08-06", chat_usage(1200, 300, 1000, 200))),
        times=1,
    )
    chat(
        "POST",
        CHAT_PATH,
        sse_response(chat_chunks("gpt-4o-mini-2024-07-18", chat_usage(50, 7, 10, 3))),
        times=1,
    )
    chat(
        "POST",
        CHAT_PATH,
        json_response(
            429,
            error_body("Rate limit reached", "requests", "rate_limit_exceeded"),
            headers={"retry-after": "20"},
        ),
        times=1,
    )
    chat("POST", CHAT_PATH, json_response(500, error_body("boom", "server_error", None)), times=1)
    chat(
        "POST",
        CHAT_PATH,
        json_response(200, chat_completion("gpt-4.1-nano-2025-04-14", chat_usage(20, 5, 0, 0))),
        times=1,
    )
    responses_usage = {
        "input_tokens": 900,
        "input_tokens_details": {"cached_tokens": 600},
        "output_tokens": 400,
        "output_tokens_details": {"reasoning_tokens": 250},
        "total_tokens": 1300,
    }
    server.add(
        "POST",
        RESPONSES_PATH,
        json_response(200, response_object("o4-mini-2025-04-16", responses_usage)),
        times=1,
    )


def requests(rad: Radium, base_url: str) -> None:
    """A chat completion, a stream, a 429, a 500, an async completion, a Responses call."""
    client = openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0)
    with rad.session(agent="byo-openai"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hi!"
        for _ in range(2):  # 429, then 500
            try:
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            except openai.APIStatusError:
                pass
            else:
                raise AssertionError("the server answered an error")
        asyncio.run(_async_request(base_url))
        client.responses.create(model="o4-mini", input="Say hi")
    client.close()


async def _async_request(base_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="test-key", max_retries=0) as client:
        await client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES)


# --- 2. tools and model calls in one session ---------------------------------------------


def script_mixed(server: LLMServer) -> None:
    """Answers for `mixed`: two slow completions."""
    body = chat_completion("gpt-4o-mini-2024-07-18", chat_usage(100, 20, 0, 0))
    server.add("POST", CHAT_PATH, json_response(200, body, delay_s=MODEL_S), times=2)


def mixed(rad: Radium, base_url: str) -> None:
    """A tool, a model call, and a tool that calls the model."""
    client = openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0)

    @rad.tool
    def read_file(path: str) -> str:
        time.sleep(TOOL_S)
        return "print('hi')"

    @rad.tool
    def summarize(text: str) -> str | None:
        time.sleep(TOOL_S)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return reply.choices[0].message.content

    with rad.session(agent="byo-mixed"):
        source = read_file("app.py")
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        summarize(source)
    client.close()


# --- 3. an instrumented client inside @rad.model_call -------------------------------------


def script_wrapped(server: LLMServer) -> None:
    """Answers for `wrapped`."""
    body = chat_completion("gpt-4o-2024-08-06", chat_usage(1200, 300, 1000, 200))
    server.add("POST", CHAT_PATH, json_response(200, body), times=1)


def wrapped(rad: Radium, base_url: str) -> None:
    """One request made inside ``@rad.model_call``: the decorator reads the same usage."""
    client = openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0)

    @rad.model_call(provider="openai", model="gpt-4o")
    def ask() -> Any:
        return client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    with rad.session(agent="byo-wrapped"):
        ask()
    client.close()


# --- 4. rad.instrument() picks the package --------------------------------------------------


def instrumented_by_radium(rad: Radium, base_url: str) -> None:
    """`wrapped`'s request with no decorator, traced by what ``rad.instrument`` enabled.

    The session's tags say which package each client got ("-": none).
    """
    enabled = rad.instrument("openai", "anthropic")
    client = openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0)
    with rad.session(agent="byo-auto", tags={k: v or "-" for k, v in enabled.items()}):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    client.close()
