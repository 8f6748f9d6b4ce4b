"""Codex CLI (``@openai/codex``): its OTLP log events → session events.

Mapping (SPEC "Sessions from agents we do not run"; README "rad collect"):

===============================  ==========================================================
``codex.conversation_starts``      activity; ``provider_name``, approval and sandbox policy
                                   into the metadata
``codex.user_prompt``              activity
``codex.api_request``              a request was sent (``duration_ms`` before the record);
                                   a failed one (status not 2xx, ``error.message``) is a
                                   failed request
``codex.sse_event``                ``response.completed`` with token counts (Codex logs a
                                   plain one too): the request's usage (input INCLUDING the
                                   cache, normalised), from its send to now;
                                   ``response.failed``: a failed request
``codex.tool_decision``            ``approved*`` by ``User`` → accept, by ``Config`` →
                                   auto_accept; ``denied`` / ``abort`` → reject
``codex.tool_result``              a tool call that ran (``tool_name``, ``success``,
                                   ``duration_ms``); for ``apply_patch`` the lines its patch
                                   adds and removes, per file — the patch itself is dropped
===============================  ==========================================================

Session id: ``conversation.id``. The session ends when its ``session_loop`` span does (Codex's
traces; without them, after the idle timeout). Codex's metrics carry no session id and are
not used; it reports no cost (ours only) and no line counts (counted from the patches). A
call a rule forbids comes as a failed ``tool_result`` with no decision (Codex 0.171 says
nothing more): it is counted as a failed tool call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from radium_otel.sources.events import (
    Decision,
    Describe,
    End,
    Event,
    Item,
    Lines,
    Opened,
    Request,
    Seen,
    ToolRun,
)
from radium_otel.sources.mapping import EventSource, Record, as_bool, as_int
from radium_otel.sources.patches import patch_lines

__all__ = ["SOURCE", "Codex"]

_SCOPE: Final = "codex/events"
_REFUSED: Final = ("denied", "abort", "rejected", "reject")


class Codex(EventSource):
    """Codex CLI's events (see the module docstring)."""

    name = "codex"
    lines_known = True  # from apply_patch: every edit Codex makes goes through it
    service_names = frozenset({"codex_cli_rs", "codex-cli", "codex_exec", "codex"})
    prefix = "codex."
    session_keys = ("conversation.id", "session.id")

    def __init__(self) -> None:
        super().__init__()
        self.handlers.update(
            conversation_starts=self._starts,
            user_prompt=self._activity,
            api_request=self._api_request,
            sse_event=self._sse_event,
            tool_decision=self._tool_decision,
            tool_result=self._tool_result,
        )

    def spans(self, resource: Mapping[str, Any], spans: Sequence[Any], out: list[Item]) -> int:
        """The end of a session: its ``session_loop`` span (``thread_id`` names it)."""
        for span in spans:
            if span.name != "session_loop":
                continue
            for kv in span.attributes:
                if kv.key == "thread_id" and kv.value.string_value:
                    event = End(span.end_time_unix_nano)
                    key = "end." + span.span_id.hex()
                    out.append(Item(kv.value.string_value, self.name, key, event))
        return 0

    def key_of(self, event: str, record: Record) -> str | None:
        """A tool call's decision and result by its ``call_id`` (its rollout has it too)."""
        if event in ("tool_result", "tool_decision"):
            found = record.text("call_id")
            return None if found is None else f"{event}:{found}"
        return None

    def provider(self, record: Record) -> str | None:
        """OpenAI when Codex says so, else priced by the model's name alone."""
        return "openai" if record.text("provider_name") == "openai" else None

    def _activity(self, record: Record) -> Sequence[Event]:
        return (Seen(record.time_ns, record.time_ns),)

    def _starts(self, record: Record) -> Sequence[Event]:
        fields = [
            (name, value)
            for name, key in (
                ("codex.provider", "provider_name"),
                ("codex.approval_policy", "approval_policy"),
                ("codex.sandbox_policy", "sandbox_policy"),
                ("model", "model"),
                ("source_version", "app.version"),
            )
            if (value := record.text(key)) is not None
        ]
        return (Seen(record.time_ns, record.time_ns), Describe(tuple(fields)))

    def _api_request(self, record: Record) -> Sequence[Event]:
        start, end = record.span_ms()
        status = as_int(record.get("http.response.status_code"))
        failed = record.get("error.message") is not None or (
            status is not None and not 200 <= status < 300
        )
        if failed:
            call = self.model_call(record, record.text("model"), start, end, error=True)
            return (Request(call, _SCOPE),)
        return (Opened(start),)

    def _sse_event(self, record: Record) -> Sequence[Event]:
        kind = record.text("event.kind")
        if kind == "response.completed" and record.get("input_token_count") is None:
            return ()  # (Codex logs each completion twice: once plain, once with its usage)
        if kind == "response.completed" and record.get("error.message") is None:
            call = self.model_call(record, record.text("model"), record.time_ns,
                                   record.time_ns, error=False)  # fmt: skip
            return (Request(call, _SCOPE, from_open=True),)
        if kind == "response.failed" or (
            kind == "response.completed" and record.get("error.message") is not None
        ):
            call = self.model_call(record, record.text("model"), record.time_ns,
                                   record.time_ns, error=True)  # fmt: skip
            return (Request(call, _SCOPE, from_open=True),)
        return ()

    def _tool_decision(self, record: Record) -> Sequence[Event]:
        decision = (record.text("decision") or "").lower()
        source = record.text("source")
        if decision.startswith("approved"):
            by_person = source is not None and source.lower() == "user"
            verdict = "accept" if by_person else "auto_accept"
        elif decision in _REFUSED:
            verdict = "reject"
        else:
            verdict = decision or "unknown"  # counted as a dropped attribute
        return (Decision(verdict, source.lower() if source else None, record.time_ns),)

    def _tool_result(self, record: Record) -> Sequence[Event]:
        name = record.text("tool_name") or "unknown"
        start, end = record.span_ms()
        ok = as_bool(record.get("success"))
        events: list[Event] = [ToolRun(name, start, end, None if ok is not False else "failed")]
        if name == "apply_patch" and ok is not False:
            for path, added, removed in patch_lines(record.text("arguments") or ""):
                events.append(Lines(added, removed, path, end))
        return events


SOURCE: Final = Codex()
