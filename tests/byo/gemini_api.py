"""Gemini API answers in the shapes the real API sends, for `LLMServer` routes.

Bodies follow ``generateContent`` and ``streamGenerateContent?alt=sse`` responses recorded
from the Gemini Developer API: camelCase ``usageMetadata`` with ``cachedContentTokenCount``
(part of ``promptTokenCount``) and ``thoughtsTokenCount`` (NOT part of
``candidatesTokenCount``), per-modality details, and ``google.rpc.Status`` error bodies.
"""

from __future__ import annotations

from typing import Any

from .llm_server import Response, json_response, sse_response

__all__ = ["GENERATE_PATH", "STREAM_PATH", "chunks", "error", "response", "usage"]

GENERATE_PATH = r"/v1(beta)?/models/[^/:]+:generateContent"
STREAM_PATH = r"/v1(beta)?/models/[^/:]+:streamGenerateContent"


def usage(
    prompt: int, candidates: int | None, *, cached: int = 0, thoughts: int = 0
) -> dict[str, Any]:
    """A ``usageMetadata`` object (``candidates=None``: not yet reported, as in early chunks)."""
    body: dict[str, Any] = {
        "promptTokenCount": prompt,
        "totalTokenCount": prompt + (candidates or 0) + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if candidates is not None:
        body["candidatesTokenCount"] = candidates
    if cached:
        body["cachedContentTokenCount"] = cached
        body["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if thoughts:
        body["thoughtsTokenCount"] = thoughts
    return body


def body(
    model: str, parts: list[dict[str, Any]], usage: dict[str, Any], *, final: bool
) -> dict[str, Any]:
    """A ``GenerateContentResponse`` body (or a stream's chunk: ``final`` ends it)."""
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if final:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": "mQlFaOfUKoiFnvgPxIbM-Ak",
    }


def response(model: str, usage: dict[str, Any], text: str = "Done: the tests pass.") -> Response:
    """A complete ``GenerateContentResponse`` (200)."""
    return json_response(200, body(model, [{"text": text}], usage, final=True))


def chunks(model: str, pieces: list[tuple[str, dict[str, Any]]]) -> Response:
    """A ``streamGenerateContent?alt=sse`` answer: one chunk per ``(text, usageMetadata)``.

    Every chunk carries the usage so far (cumulative); the last one has ``finishReason``.
    """
    return sse_response(
        (
            body(model, [{"text": text}], usage, final=index == len(pieces) - 1)
            for index, (text, usage) in enumerate(pieces)
        ),
        done=False,
    )


_STATUS = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def error(status: int, detail: str) -> Response:
    """A ``google.rpc.Status`` error answer."""
    return json_response(
        status, {"error": {"code": status, "message": detail, "status": _STATUS[status]}}
    )
