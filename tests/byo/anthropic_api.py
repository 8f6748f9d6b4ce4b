"""Anthropic Messages API answers in the shapes the real API sends, for `LLMServer` routes.

Bodies follow responses recorded from ``POST /v1/messages`` (ids shortened): usage with the
prompt-cache counts and their ``cache_creation`` breakdown by lifetime, extended thinking's
``output_tokens_details``, the SSE event sequence of a streamed message (``message_start``
carries the input side of the usage, ``message_delta`` the cumulative counts), and error
bodies with their ``request-id`` header.
"""

from __future__ import annotations

from typing import Any

from .llm_server import Response, json_response, sse_response

__all__ = ["MESSAGES_PATH", "error", "message", "stream", "usage"]

MESSAGES_PATH = r"/v1/messages"


def usage(
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int = 0,
    cache_write_5m: int = 0,
    cache_write_1h: int = 0,
    thinking: int | None = None,
) -> dict[str, Any]:
    """A ``usage`` object; ``input_tokens`` is Anthropic's: WITHOUT cache reads and writes."""
    body: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write_5m + cache_write_1h,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_write_5m,
            "ephemeral_1h_input_tokens": cache_write_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if thinking is not None:
        body["output_tokens_details"] = {"thinking_tokens": thinking}
    return body


def message(
    model: str,
    usage: dict[str, Any],
    *,
    thinking: str | None = None,
    text: str = "Done: the tests pass.",
) -> Response:
    """A complete ``Message`` (200)."""
    content: list[dict[str, Any]] = []
    if thinking is not None:
        content.append({"type": "thinking", "thinking": thinking, "signature": "EqQBCkYIBxgC"})
    content.append({"type": "text", "text": text})
    return json_response(
        200,
        {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        },
        headers={"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"},
    )


def stream(
    model: str,
    start_usage: dict[str, Any],
    final_usage: dict[str, Any],
    *,
    text: tuple[str, ...] = ("Done: ", "the tests pass."),
    error: tuple[str, str] | None = None,
) -> Response:
    """A streamed message (``stream=True``): SSE events, as the API sends them.

    ``message_start`` carries ``start_usage`` (the input side; ``output_tokens`` is a first
    small count), ``message_delta`` carries ``final_usage`` (cumulative: the API repeats the
    input and cache counts beside the final ``output_tokens``). With ``error`` set to
    ``(type, message)`` the stream breaks off after the first text delta with an ``error``
    event, the way an overloaded API ends a stream that has begun.
    """
    events: list[tuple[str, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_01Rj4VtWxkVPbBGbKzJC5b1A",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for piece in text:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
            )
        )
        if error is not None:
            kind, detail = error
            events.append(("error", {"type": "error", "error": {"type": kind, "message": detail}}))
            return sse_response(events, done=False)
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": final_usage,
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse_response(events, done=False)


def error(status: int, kind: str, detail: str) -> Response:
    """An error answer: ``429 rate_limit_error``, ``500 api_error``, ``529 overloaded_error``."""
    headers = {"request-id": "req_011CSHoFfrt6D46L3VVrS8Gz"}
    if status == 429:
        headers["retry-after"] = "17"
    return json_response(
        status,
        {
            "type": "error",
            "error": {"type": kind, "message": detail},
            "request_id": headers["request-id"],
        },
        headers=headers,
    )
