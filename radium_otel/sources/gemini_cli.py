"""Gemini CLI (``@google/gemini-cli``): its OTLP log events → session events.

Mapping (SPEC "Sessions from agents we do not run"; README "rad collect"):

============================  =============================================================
``gemini_cli.config``           activity; the model into the metadata
``gemini_cli.user_prompt``      activity
``gemini_cli.api_response``     a model request (the router's ``utility_router`` call too:
                                it is billed): ``model``, tokens (input INCLUDING the cache,
                                output WITHOUT the thoughts, normalised), ``duration_ms``
``gemini_cli.api_error``        a failed model request
``gemini_cli.tool_call``        its ``decision`` (accept, reject, modify, auto_accept) when
                                it has one; a call that ran (not rejected): ``function_name``,
                                ``success``, ``error_type``, its own ``start_time`` /
                                ``end_time`` (else ``duration_ms``); lines added and removed
                                from ``metadata`` (``model_*`` and ``user_*`` lines); a
                                call refused by a policy rule (``error_type``
                                ``policy_violation``, no decision) is a reject (source
                                ``policy``), not a tool call
============================  =============================================================

Session id: ``session.id``. Gemini CLI reports no cost (ours only); its metrics repeat the
events and are not used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from radium_otel.sources.events import Decision, Describe, Event, Lines, Request, Seen, ToolRun
from radium_otel.sources.mapping import EventSource, Record, as_bool, as_float, as_int

__all__ = ["SOURCE", "GeminiCli"]

_SCOPE: Final = "gemini-cli/events"
_REFUSED_BY_RULE: Final = frozenset({"policy_violation"})
_NS_PER_MS: Final = 1_000_000


class GeminiCli(EventSource):
    """Gemini CLI's events (see the module docstring)."""

    name = "gemini-cli"
    lines_known = True
    service_names = frozenset({"gemini-cli"})
    prefix = "gemini_cli."

    def __init__(self) -> None:
        super().__init__()
        self.handlers.update(
            config=self._config,
            user_prompt=self._activity,
            api_response=self._api_response,
            api_error=self._api_error,
            tool_call=self._tool_call,
        )

    def provider(self, record: Record) -> str | None:
        """Gemini CLI talks to Google's Gemini API (or Vertex AI: priced alike)."""
        return "google"

    def _activity(self, record: Record) -> Sequence[Event]:
        return (Seen(record.time_ns, record.time_ns),)

    def _config(self, record: Record) -> Sequence[Event]:
        model = record.text("model")
        fields = (("model", model),) if model else ()
        return (Seen(record.time_ns, record.time_ns), Describe(fields))

    def _api_response(self, record: Record) -> Sequence[Event]:
        start, end = record.span_ms()
        status = as_int(record.get("status_code"))
        failed = status is not None and not 200 <= status < 300
        return (Request(self.model_call(record, record.text("model"), start, end, failed), _SCOPE),)

    def _api_error(self, record: Record) -> Sequence[Event]:
        start, end = record.span_ms()
        model = record.text("model") or record.text("model_name")
        return (Request(self.model_call(record, model, start, end, error=True), _SCOPE),)

    def _tool_call(self, record: Record) -> Sequence[Event]:
        events: list[Event] = []
        decision = (record.text("decision") or "").lower()
        if decision:
            # (an unknown decision is counted as a dropped attribute by `LiveSession`)
            events.append(Decision(decision, None, record.time_ns))
            if decision == "reject":
                return events  # refused before it ran: a decision, not a tool call
        start, end = self._interval(record)
        ok = as_bool(record.get("success"))
        error_type = None
        if ok is False:
            error_type = record.text("error_type") or record.text("error.type") or "error"
            if error_type in _REFUSED_BY_RULE:  # refused before it ran, by a policy rule
                return [*events, Decision("reject", "policy", record.time_ns)]
        events.append(ToolRun(record.text("function_name") or "unknown", start, end, error_type))
        added, removed = _lines(record.get("metadata"))
        if added or removed:
            events.append(Lines(added, removed, None, end))
        return events

    def _interval(self, record: Record) -> tuple[int, int]:
        """The call's own start and end (ms since the epoch) when sent, else its duration."""
        start, end = as_float(record.get("start_time")), as_float(record.get("end_time"))
        if start is not None and end is not None and 0 < start <= end:
            return round(start * _NS_PER_MS), round(end * _NS_PER_MS)
        return record.span_ms()


def _lines(metadata: Any) -> tuple[int, int]:
    """Lines added and removed from a tool call's ``metadata`` (a JSON object or its text)."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return 0, 0
    if not isinstance(metadata, dict):
        return 0, 0

    def count(key: str) -> int:
        value = as_int(metadata.get(key))
        return value if value is not None and value > 0 else 0

    added = count("model_added_lines") + count("user_added_lines")
    removed = count("model_removed_lines") + count("user_removed_lines")
    return added, removed


SOURCE: Final = GeminiCli()
