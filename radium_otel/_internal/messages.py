"""A model call's messages for its span when content capture is on (never for the store).

`input_messages` reads the request's messages from a decorated function's keyword arguments
(OpenAI ``messages`` / Responses ``input`` and ``instructions``, Anthropic ``messages`` and
``system``, Google GenAI ``contents``); `output_messages` the reply from what it returned
(an OpenAI ChatCompletion or Response, an Anthropic Message, a GenerateContentResponse, or
dicts of their shapes). Both give the OpenTelemetry GenAI JSON form of
``gen_ai.input.messages`` / ``gen_ai.output.messages`` — ``[{"role", "parts": [...]}]``,
parts of type ``text``, ``tool_call`` and ``tool_call_response`` — as the contrib
instrumentations record them; each text is cut at `MAX_TEXT` characters. None when nothing
of a known shape is there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MAX_TEXT", "input_messages", "output_messages"]

MAX_TEXT: Final = 4096
_SYSTEM_KEYS: Final = ("system", "instructions", "system_instruction")


def input_messages(kwargs: Mapping[str, Any]) -> str | None:
    """``gen_ai.input.messages`` for a call made with ``kwargs``."""
    messages: list[dict[str, Any]] = []
    for key in _SYSTEM_KEYS:
        system = kwargs.get(key)
        if system is not None:
            messages.append({"role": "system", "parts": _parts(system)})
    for key in ("messages", "input", "contents"):
        given = kwargs.get(key)
        if given is None:
            continue
        if isinstance(given, (str, Mapping)) or not isinstance(given, (list, tuple)):
            given = [given]
        for message in given:
            if isinstance(message, str):
                messages.append({"role": "user", "parts": _parts(message)})
                continue
            role = _field(message, "role") or "user"
            content = _field(message, "content")
            if content is None:
                content = _field(message, "parts")
            messages.append({"role": "assistant" if role == "model" else str(role),
                             "parts": _parts(content)})  # fmt: skip
    return json.dumps(messages, ensure_ascii=False, default=str) if messages else None


def output_messages(result: object) -> str | None:
    """``gen_ai.output.messages`` for a call that returned ``result``."""
    out: list[dict[str, Any]] = []
    choices = _field(result, "choices")  # OpenAI Chat Completions
    if isinstance(choices, (list, tuple)):
        for choice in choices:
            message = _field(choice, "message")
            parts = _parts(_field(message, "content"))
            for call in _field(message, "tool_calls") or ():
                function = _field(call, "function")
                parts.append(_tool_call(_field(call, "id"), _field(function, "name"),
                                        _field(function, "arguments")))  # fmt: skip
            out.append(_reply(parts, _field(choice, "finish_reason")))
    candidates = _field(result, "candidates")  # Google GenAI
    if isinstance(candidates, (list, tuple)):
        for candidate in candidates:
            parts = _parts(_field(_field(candidate, "content"), "parts"))
            out.append(_reply(parts, _field(candidate, "finish_reason")))
    output = _field(result, "output")  # OpenAI Responses
    if isinstance(output, (list, tuple)):
        parts = []
        for item in output:
            kind = _field(item, "type")
            if kind == "message":
                parts.extend(_parts(_field(item, "content")))
            elif kind == "function_call":
                parts.append(_tool_call(_field(item, "call_id"), _field(item, "name"),
                                        _field(item, "arguments")))  # fmt: skip
        out.append(_reply(parts, _field(result, "status")))
    content = _field(result, "content")  # Anthropic Messages
    if not out and isinstance(content, (list, tuple)) and _field(result, "role") == "assistant":
        out.append(_reply(_parts(content), _field(result, "stop_reason")))
    return json.dumps(out, ensure_ascii=False, default=str) if out else None


def _reply(parts: list[dict[str, Any]], finish: object) -> dict[str, Any]:
    reply: dict[str, Any] = {"role": "assistant", "parts": parts}
    if finish is not None:
        reply["finish_reason"] = str(getattr(finish, "value", finish)).lower()
    return reply


def _parts(content: object) -> list[dict[str, Any]]:
    """Message content (a string, or a list of blocks / parts) as GenAI parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content[:MAX_TEXT]}]
    if not isinstance(content, (list, tuple)):
        content = [content]
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "content": block[:MAX_TEXT]})
            continue
        kind = _field(block, "type")
        text = _field(block, "text")
        call = _field(block, "function_call")
        if isinstance(text, str):
            parts.append({"type": "text", "content": text[:MAX_TEXT]})
        elif kind == "tool_use":  # Anthropic
            parts.append(_tool_call(_field(block, "id"), _field(block, "name"),
                                    _field(block, "input")))  # fmt: skip
        elif kind == "tool_result":
            parts.append({"type": "tool_call_response", "id": _field(block, "tool_use_id"),
                          "response": _text(_field(block, "content"))})  # fmt: skip
        elif call is not None:  # Google GenAI
            parts.append(_tool_call(_field(call, "id"), _field(call, "name"),
                                    _field(call, "args")))  # fmt: skip
        elif kind is not None:
            parts.append({"type": str(kind)})
    return parts


def _tool_call(call_id: object, name: object, arguments: object) -> dict[str, Any]:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False, default=str)
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments[:MAX_TEXT]}


def _text(value: object) -> str:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    return json.dumps(value, ensure_ascii=False, default=str)[:MAX_TEXT]


def _field(obj: object, name: str) -> Any:
    """``obj[name]`` for a mapping, else its attribute (None when absent)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)
