"""A stub OpenAI-compatible model that plays one agent turn: a tool call, then an answer.

Agent frameworks drive the model in a loop, so a fixed script of answers does not fit them;
this stub answers each request from what it carries, statelessly (two runs, or two agents in
parallel, each get the same two answers):

1. a request with no tool result in it → a call to the request's tool (the first it offers
   that is not a framework's own answer tool) with ``{"city": "Paris"}``;
2. a request that carries a tool result (a ``tool`` message, or user text with smolagents'
   ``Observation:`` / ``Error executing tool``) → the final answer (as a call to ``final_answer``
   when the request offers that tool: smolagents ends a run that way), with other usage.

Both the Chat Completions API (``/v1/chat/completions``) and the Responses API
(``/v1/responses``) are served, plain or streamed (``"stream": true``; Chat Completions sends
its usage chunk only when ``stream_options.include_usage`` asks for it, as OpenAI does).
So is the Gemini API (``/v1beta/models/{model}:generateContent``, and
``:streamGenerateContent?alt=sse``), for the base URL without ``/v1``: a request whose
contents carry a ``functionResponse`` part is answered, any other gets a ``functionCall``;
its model version is `GEMINI_MODEL`.
`USAGE` is what each of the two requests reports, so tests know the exact totals.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from byo.gemini_api import GENERATE_PATH, STREAM_PATH
from byo.gemini_api import body as gemini_body
from byo.gemini_api import usage as gemini_usage
from byo.llm_server import LLMServer, Request, Response, json_response, sse_response

__all__ = [
    "ANSWER",
    "CITY",
    "GEMINI_MODEL",
    "MODEL",
    "RESPONSE_MODEL",
    "USAGE",
    "Usage",
    "serve_agent_turns",
]

MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"  # what the "API" says answered
GEMINI_MODEL = "gemini-2.5-flash"  # the Gemini API's modelVersion
CITY = "Paris"
ANSWER = "It is sunny in Paris."
ANSWER_TOOLS = frozenset({"final_answer", "final_result"})  # frameworks' own answer tools
MODEL_S = 0.02  # how long the stub "thinks" before answering


@dataclass(frozen=True)
class Usage:
    """Usage one request reports: input includes cached, output includes reasoning."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int


#: The first request (→ tool call) and the second (→ answer) of every agent turn.
USAGE = (Usage(1200, 80, 0, 16), Usage(1400, 30, 1024, 0))


def serve_agent_turns(server: LLMServer) -> None:
    """Route both APIs of ``server`` to the stub model."""
    server.add("POST", r"(/v1)?/chat/completions", _chat)
    server.add("POST", r"(/v1)?/responses", _responses)
    server.add("POST", GENERATE_PATH, _gemini)
    server.add("POST", STREAM_PATH, _gemini_stream)


# --- Chat Completions -----------------------------------------------------------------------


def _chat(request: Request) -> Response:
    body = request.json()
    messages = body.get("messages") or []
    answered = any(_carries_tool_result(m) for m in messages)
    tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
    usage = USAGE[1] if answered else USAGE[0]
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    call = _next_call(tools, answered)
    if call is None:
        message["content"] = ANSWER
    else:
        message["tool_calls"] = [
            {
                "id": f"call_{int(answered)}",
                "type": "function",
                "function": {"name": call[0], "arguments": json.dumps(call[1])},
            }
        ]
    finish = "stop" if call is None else "tool_calls"
    chat_usage = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    base = {
        "id": f"chatcmpl-stub{int(answered)}",
        "created": int(time.time()),
        "model": RESPONSE_MODEL,
        "system_fingerprint": "fp_stub",
    }
    if not body.get("stream"):
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return json_response(
            200,
            base | {"object": "chat.completion", "choices": [choice], "usage": chat_usage},
            delay_s=MODEL_S,
        )
    chunk = base | {"object": "chat.completion.chunk"}
    delta: dict[str, Any] = {"role": "assistant", "content": message["content"]}
    if call is not None:
        delta["tool_calls"] = [dict(message["tool_calls"][0], index=0)]
    chunks: list[Any] = [
        chunk | {"choices": [_delta(delta, None)]},
        chunk | {"choices": [_delta({}, finish)]},
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append(chunk | {"choices": [], "usage": chat_usage})
    return sse_response(chunks, delay_s=MODEL_S)


# How frameworks that send tool results as user text (smolagents) mark them.
_RESULT_MARKERS = ("Observation:", "Error executing tool")


def _carries_tool_result(message: object) -> bool:
    if not isinstance(message, dict):
        return False
    if message.get("role") == "tool":
        return True
    if message.get("role") != "user":
        return False  # (a system prompt may explain the markers)
    content = message.get("content")
    parts = content if isinstance(content, list) else [{"text": content}]
    return any(
        isinstance(part, dict)
        and isinstance(part.get("text"), str)
        and any(marker in part["text"] for marker in _RESULT_MARKERS)
        for part in parts
    )


def _delta(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _next_call(tools: list[Any], answered: bool) -> tuple[str, dict[str, Any]] | None:
    """(tool, arguments) the stub calls next, or None for a plain-text answer."""
    if answered:
        return ("final_answer", {"answer": ANSWER}) if "final_answer" in tools else None
    for name in tools:
        if isinstance(name, str) and name not in ANSWER_TOOLS:
            return name, {"city": CITY}
    return None


# --- Responses API --------------------------------------------------------------------------


def _responses(request: Request) -> Response:
    body = request.json()
    items = body.get("input")
    answered = isinstance(items, list) and any(
        isinstance(i, dict) and i.get("type") == "function_call_output" for i in items
    )
    tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
    usage = USAGE[1] if answered else USAGE[0]
    call = _next_call(tools, answered)
    if call is None:
        output: dict[str, Any] = {
            "type": "message",
            "id": f"msg_stub{int(answered)}",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
        }
    else:
        output = {
            "type": "function_call",
            "id": f"fc_stub{int(answered)}",
            "call_id": f"call_{int(answered)}",
            "name": call[0],
            "arguments": json.dumps(call[1]),
            "status": "completed",
        }
    response = {
        "id": f"resp_stub{int(answered)}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": RESPONSE_MODEL,
        "output": [output],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
        "usage": {
            "input_tokens": usage.input_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_tokens},
            "output_tokens": usage.output_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.input_tokens + usage.output_tokens,
        },
    }
    if not body.get("stream"):
        return json_response(200, response, delay_s=MODEL_S)
    started = response | {"status": "in_progress", "output": [], "usage": None}
    events = [
        ("response.created", {"type": "response.created", "sequence_number": 0,
                              "response": started}),
        ("response.in_progress", {"type": "response.in_progress", "sequence_number": 1,
                                  "response": started}),
        ("response.output_item.added", {"type": "response.output_item.added",
                                        "sequence_number": 2, "output_index": 0,
                                        "item": output | {"status": "in_progress"}}),
        ("response.output_item.done", {"type": "response.output_item.done",
                                       "sequence_number": 3, "output_index": 0, "item": output}),
        ("response.completed", {"type": "response.completed", "sequence_number": 4,
                                "response": response}),
    ]  # fmt: skip
    return sse_response(events, done=False, delay_s=MODEL_S)


# --- Gemini API -----------------------------------------------------------------------------


def _gemini_turn(request: Request) -> tuple[Usage, list[dict[str, Any]]]:
    """The usage and the answer's parts for a ``generateContent`` request."""
    body = request.json()
    answered = any(
        isinstance(part, dict) and "functionResponse" in part
        for content in body.get("contents") or []
        if isinstance(content, dict)
        for part in content.get("parts") or []
    )
    tools = [
        declaration.get("name")
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
        for declaration in tool.get("functionDeclarations") or []
        if isinstance(declaration, dict)
    ]
    call = _next_call(tools, answered)
    if call is None:
        parts: list[dict[str, Any]] = [{"text": ANSWER}]
    else:
        parts = [{"functionCall": {"name": call[0], "args": call[1]}}]
    return (USAGE[1] if answered else USAGE[0]), parts


def _gemini_usage(usage: Usage, *, final: bool = True) -> dict[str, Any]:
    """Gemini's ``usageMetadata`` for `usage` (its candidates exclude the thoughts);
    not ``final``: the prompt counts only, as a stream's first chunks report them.
    """
    return gemini_usage(
        usage.input_tokens,
        usage.output_tokens - usage.reasoning_tokens if final else None,
        cached=usage.cached_tokens,
        thoughts=usage.reasoning_tokens if final else 0,
    )


def _gemini_body(
    parts: list[dict[str, Any]], usage: dict[str, Any], *, final: bool
) -> dict[str, Any]:
    return gemini_body(GEMINI_MODEL, parts, usage, final=final)


def _gemini(request: Request) -> Response:
    usage, parts = _gemini_turn(request)
    body = _gemini_body(parts, _gemini_usage(usage), final=True)
    return json_response(200, body, delay_s=MODEL_S)


def _gemini_stream(request: Request) -> Response:
    """``alt=sse``: a function call in one chunk; an answer in two, the usage so far in
    each (the prompt only, then all of it), the last with ``finishReason``.
    """
    usage, parts = _gemini_turn(request)
    if "text" not in parts[0]:
        chunks = [_gemini_body(parts, _gemini_usage(usage), final=True)]
    else:
        head, tail = ANSWER[:10], ANSWER[10:]
        chunks = [
            _gemini_body([{"text": head}], _gemini_usage(usage, final=False), final=False),
            _gemini_body([{"text": tail}], _gemini_usage(usage), final=True),
        ]
    return sse_response(chunks, done=False, delay_s=MODEL_S)
