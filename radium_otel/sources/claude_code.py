"""Claude Code (``@anthropic-ai/claude-code``): its OTLP log events and metrics → session events.

Mapping (SPEC "Sessions from agents we do not run"; README "rad collect"):

==========================  ==============================================================
``claude_code.user_prompt``   activity (bounds the session's wall time)
``claude_code.api_request``   a model request: ``model``, tokens (input WITHOUT the cache,
                              normalised), ``duration_ms`` ending at the record's time,
                              ``cost_usd`` kept as the agent's own reported cost
``claude_code.api_error``     a failed model request (``model``, ``duration_ms``)
``claude_code.tool_decision`` a decision: ``accept`` by a person (source ``user*``) →
                              accept; by configuration (``config``, a mode, a hook) →
                              auto_accept; ``reject`` → reject, its source kept
``claude_code.tool_result``   a tool call that ran: ``tool_name``, ``success``,
                              ``duration_ms``, ``error_type``; a call refused before it
                              ran has no result (only its decision)
metric ``claude_code.lines_of_code.count``  lines added / removed (``type``), the only line
                              counts Claude Code gives; they fill what events lack
==========================  ==============================================================

Session id: ``session.id`` (on every record). Content (prompts, tool inputs) is never read.
Claude Code's spans (``claude_code.*``, beta) repeat what the events say: claimed, not counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from radium_otel._internal.errors import warn_once
from radium_otel.sources import otlp
from radium_otel.sources.events import Decision, Event, Item, Lines, Request, Seen, ToolRun
from radium_otel.sources.mapping import EventSource, Record, as_bool, as_float, as_int, digest

__all__ = ["SOURCE", "ClaudeCode"]

_LINES_METRIC: Final = "claude_code.lines_of_code.count"
_REFUSED: Final = ("reject", "denied", "deny")
_DELTA: Final = 1  # AGGREGATION_TEMPORALITY_DELTA


class ClaudeCode(EventSource):
    """Claude Code's events (see the module docstring)."""

    name = "claude-code"
    lines_known = True
    service_names = frozenset({"claude-code"})
    prefix = "claude_code."

    def __init__(self) -> None:
        super().__init__()
        self.handlers.update(
            user_prompt=self._activity,
            api_request=self._api_request,
            api_error=self._api_error,
            tool_decision=self._tool_decision,
            tool_result=self._tool_result,
        )

    def recognises(self, resource: Mapping[str, Any], scope: str, event: str | None) -> bool:
        """Also by its instrumentation scope."""
        return super().recognises(resource, scope, event) or scope.startswith(
            "com.anthropic.claude_code"
        )

    def key_of(self, event: str, record: Record) -> str | None:
        """A request by its ``request_id``, a tool call's decision and result by its
        ``tool_use_id``: the ids Claude Code's transcripts carry too.
        """
        if event in ("api_request", "api_error"):
            found = record.text("request_id")
            return None if found is None else f"request:{found}:{event}"
        if event in ("tool_result", "tool_decision"):
            found = record.text("tool_use_id")
            return None if found is None else f"{event}:{found}"
        return None

    def provider(self, record: Record) -> str | None:
        """Claude Code talks to Anthropic's API (or a gateway serving its models)."""
        return "anthropic"

    def _activity(self, record: Record) -> Sequence[Event]:
        return (Seen(record.time_ns, record.time_ns),)

    def _api_request(self, record: Record) -> Sequence[Event]:
        start, end = record.span_ms()
        call = self.model_call(record, record.text("model"), start, end, error=False)
        return (Request(call, "claude-code/events", as_float(record.get("cost_usd"))),)

    def _api_error(self, record: Record) -> Sequence[Event]:
        start, end = record.span_ms()
        call = self.model_call(record, record.text("model"), start, end, error=True)
        return (Request(call, "claude-code/events"),)

    def _tool_decision(self, record: Record) -> Sequence[Event]:
        decision = (record.text("decision") or "").lower()
        source = record.text("source")
        if decision in _REFUSED:
            verdict = "reject"
        elif decision == "accept":
            by_person = source is not None and source.lower().startswith("user")
            verdict = "accept" if by_person else "auto_accept"
        else:
            verdict = decision or "unknown"  # counted as a dropped attribute
        return (Decision(verdict, source, record.time_ns),)

    def _tool_result(self, record: Record) -> Sequence[Event]:
        name = record.text("tool_name") or "unknown"
        start, end = record.span_ms()
        ok = as_bool(record.get("success"))
        error_type = None
        if ok is False:  # (Claude Code names the error's type; its message is content)
            error_type = record.text("error_type") or "error"
        return (ToolRun(name, start, end, error_type),)

    def metrics(self, resource: Mapping[str, Any], metrics: Sequence[Any], out: list[Item]) -> int:
        """Lines of code added and removed (the only figure events lack)."""
        rejected = 0
        for metric in metrics:
            if metric.name != _LINES_METRIC or not metric.HasField("sum"):
                continue
            if metric.sum.aggregation_temporality != _DELTA:
                # Claude Code sends deltas; running totals would need a series' last value.
                warn_once("claude-code:cumulative", "radium-otel: ignoring cumulative %s "
                          "(send deltas: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="
                          "delta)", metric.name)  # fmt: skip
                rejected += len(metric.sum.data_points)
                continue
            for point in metric.sum.data_points:
                attrs = otlp.attributes(point.attributes)
                session_id = attrs.get("session.id") or resource.get("session.id")
                kind = attrs.get("type")
                count = as_int(point.as_int) if point.HasField("as_int") else None
                if count is None and point.HasField("as_double"):
                    count = as_int(point.as_double)
                if not isinstance(session_id, str) or kind not in ("added", "removed"):
                    rejected += 1
                    continue
                if count is None or count < 0:
                    rejected += 1
                    continue
                added, removed = (count, 0) if kind == "added" else (0, count)
                key = "m." + digest(
                    metric.name.encode() + point.SerializeToString(deterministic=True)
                )
                event = Lines(added, removed, None, point.time_unix_nano)
                out.append(Item(session_id, self.name, key, event))
        return rejected


SOURCE: Final = ClaudeCode()
