"""Codex CLI transcripts ("rollouts"): ``<home>/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``.

``<home>`` is ``$CODEX_HOME``, else ``~/.codex``. One JSON object per line, each
``{"timestamp", "type", "payload"}``; the rows used (as Codex 0.171 writes them):

==============================  ==================================================================
``session_meta``                the session: ``payload.id`` is the ``conversation.id`` Codex's
                                telemetry carries (a sub-agent's rollout names its parent thread:
                                it counts in the parent's session); version, provider
``turn_context``                the model of the requests that follow; the approval policy
``token_usage_record``          a model request: ``usage`` (input INCLUDING
                                ``cached_input_tokens``, output including the reasoning,
                                normalised as the telemetry's), keyed by ``response_id``; it ran
                                from the last row that sent something to the model (the prompt,
                                a tool's output) to this row
``event_msg`` ``token_count``   a model request, in rollouts without ``token_usage_record``
                                (older Codex): ``info.last_token_usage``, counted once per
                                change of the cumulative ``info.total_token_usage`` (Codex
                                writes the same totals again, e.g. with new rate limits)
``response_item``               ``function_call`` / ``custom_tool_call`` start a tool call;
``function_call_output``,       ``*_output`` ends it, matched by ``call_id``: a failed call when
``custom_tool_call_output``     the output says the tool failed (``<tool> failed: ...``, a patch
                                that did not apply: ``Exit code: N`` of ``apply_patch``); a call
                                a rule or the user refused (``Rejected(...)``, ``rejected by
                                user``) is a reject decision (source ``config`` / ``user``), not
                                a tool call; ``apply_patch``'s lines added and removed, per
                                file, counted from its patch (`sources.patches.patch_lines`)
==============================  ==================================================================

Every row with a ``timestamp`` bounds the session. Keys: a tool call is keyed by its
``call_id`` (``tool_result:<call_id>``, its lines ``.1``, ``.2``, ...), as the telemetry's
``codex.tool_result`` for the same call would be; a request by its ``response_id``, which the
telemetry does not carry (one request reported by both is found by its tokens and time, SPEC
"One request counts once").

What a rollout cannot give: the accepts (Codex writes no approval; its telemetry's
``tool_decision`` does), the cost (ours only), a tool's own duration (its time is from the
call row to its output row). A shell command that ran and exited non-zero is a successful
tool call, as Codex's telemetry reports it (its output says ``Process exited with code N``:
counting it failed here would make one run's figures depend on how it was captured). Prompts,
replies, commands, outputs and patches are read only to count lines and tell refusals and
failures; nothing of them is kept.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Final

from radium_otel._internal.usage import usage_from_counts
from radium_otel.sources.events import (
    Decision,
    Describe,
    Item,
    Lines,
    Request,
    Seen,
    ToolRun,
    model_call,
)
from radium_otel.sources.patches import patch_lines
from radium_otel.sources.transcripts import Skip, walk
from radium_otel.sources.transcripts.claude_code import parse_time

__all__ = ["FORMAT", "CodexTranscripts"]

_SCOPE: Final = "codex/transcript"
_SHAPE: Final = "codex/transcript"
_KNOWN: Final = frozenset({"session_meta", "turn_context", "token_usage_record", "event_msg",
                           "response_item", "world_state", "compacted"})  # fmt: skip
_CALLS: Final = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
_OUTPUTS: Final = frozenset({"function_call_output", "custom_tool_call_output"})
#: Rows after which Codex sends the model something (the next request starts there).
_SENDING_EVENTS: Final = frozenset({"task_started", "user_message", "token_count"})
_SESSION_ID: Final = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
#: How Codex words a call refused before it ran: by the user; by a rule or the sandbox policy.
_REFUSED_BY_USER: Final = ("rejected by user", "rejected by the user", "denied by the user")
_REFUSED_BY_RULE: Final = ("rejected(", "patch rejected", "approval required by policy")
_FAILED: Final = re.compile(
    r"^(?:[\w.-]+ failed\b|failed to\b|error:|apply_patch verification failed|Exit code: [1-9])",
    re.IGNORECASE,
)
_TOKEN_FIELDS: Final = ("input_tokens", "cached_input_tokens", "cache_write_input_tokens",
                        "output_tokens", "reasoning_output_tokens")  # fmt: skip


class CodexTranscripts:
    """The reader (see the module docstring)."""

    name: ClassVar[str] = "codex"
    lines_known: ClassVar[bool] = True
    skip_prefixes: ClassVar[tuple[bytes, ...]] = ()  # (every line is parsed)

    def default_roots(self) -> list[Path]:
        """``$CODEX_HOME/sessions``, else ``~/.codex/sessions``."""
        configured = os.environ.get("CODEX_HOME", "").strip()
        home = Path(configured).expanduser() if configured else Path.home() / ".codex"
        return [home / "sessions"]

    def files(self, root: Path) -> Iterator[str]:
        """Every ``rollout-*.jsonl`` under ``root``."""
        return walk(root, lambda _, name: name.startswith("rollout-") and name.endswith(".jsonl"))

    def group(self, name: str) -> str:
        """The day's folder (``sessions/YYYY/MM/DD``: a session is one rollout file)."""
        return os.path.dirname(name)

    def read(self, row: Any, path: Path, state: dict[str, Any], out: list[Item]) -> None:
        """Add one row's items to ``out`` (see the module docstring)."""
        if not isinstance(row, dict):
            raise Skip("not a JSON object")
        kind = row.get("type")
        if kind not in _KNOWN:
            raise Skip(f"unknown record type {str(kind)[:40]!r}")
        payload = row.get("payload")
        if not isinstance(payload, dict):
            raise Skip(f"{kind} row without a payload")
        time_ns = parse_time(row.get("timestamp"))
        if time_ns is None:
            raise Skip("no timestamp")
        if kind == "session_meta":
            self._session_meta(payload, state, out)
        sid = state.get("sid") or _id_from_name(path)
        if sid is None:
            raise Skip("no session_meta")
        if kind == "turn_context":
            model = payload.get("model")
            if isinstance(model, str) and model:
                state["model"] = model
            found = (("model", model), ("codex.approval_policy", payload.get("approval_policy")))
            fields = tuple((k, v) for k, v in found if isinstance(v, str) and v)
            out.append(Item(sid, self.name, None, Describe(fields)))
        elif kind == "token_usage_record":
            state["records"] = True  # (then token_count rows repeat what these say)
            response = payload.get("response_id")
            key = f"response:{response}" if isinstance(response, str) and response else None
            self._request(payload.get("usage"), key, sid, time_ns, state, out)
        elif kind == "event_msg":
            self._event(payload, sid, time_ns, state, out)
        elif kind == "response_item":
            self._item(payload, sid, time_ns, state, out)
        out.append(Item(sid, self.name, None, Seen(time_ns, time_ns)))

    def _session_meta(
        self, payload: dict[str, Any], state: dict[str, Any], out: list[Item]
    ) -> None:
        if "sid" in state:
            return  # (a rollout that goes on from another one repeats its session_meta)
        sid = _parent_thread(payload.get("source")) or payload.get("id")
        if not isinstance(sid, str) or not sid:
            raise Skip("session_meta without an id")
        state["sid"] = sid
        names = (("source_version", "cli_version"), ("codex.provider", "model_provider"),
                 ("codex.originator", "originator"))  # fmt: skip
        fields = [
            (name, value)
            for name, key in names
            if isinstance(value := payload.get(key), str) and value
        ]
        if fields:
            out.append(Item(sid, self.name, None, Describe(tuple(fields))))

    def _event(
        self,
        payload: dict[str, Any],
        sid: str,
        time_ns: int,
        state: dict[str, Any],
        out: list[Item],
    ) -> None:
        kind = payload.get("type")
        if kind == "token_count" and not state.get("records"):
            info = payload.get("info")
            if isinstance(info, dict):
                total = info.get("total_token_usage")
                totals = [total.get(f) for f in _TOKEN_FIELDS] if isinstance(total, dict) else None
                if totals is None or totals != state.get("totals"):
                    state["totals"] = totals
                    self._request(info.get("last_token_usage"), None, sid, time_ns, state, out)
        if kind in _SENDING_EVENTS:
            state["sent"] = time_ns

    def _request(
        self, usage: Any, key: str | None, sid: str, time_ns: int, state: dict[str, Any],
        out: list[Item],
    ) -> None:  # fmt: skip
        counts = usage_from_counts(_SHAPE, usage) if isinstance(usage, dict) else None
        if counts is None:
            return
        sent = state.pop("sent", None)
        start = sent if isinstance(sent, int) and sent <= time_ns else time_ns
        call = model_call(str(state.get("model") or ""), None, start, time_ns, False, counts)
        out.append(Item(sid, self.name, key, Request(call, _SCOPE)))

    def _item(
        self,
        payload: dict[str, Any],
        sid: str,
        time_ns: int,
        state: dict[str, Any],
        out: list[Item],
    ) -> None:
        kind = payload.get("type")
        tools: dict[str, list[Any]] = state.setdefault("tools", {})
        call_id = payload.get("call_id")
        if kind in _CALLS and isinstance(call_id, str):
            name = str(
                payload.get("name") or ("shell" if kind == "local_shell_call" else "unknown")
            )
            patch = payload.get("input") if kind == "custom_tool_call" else payload.get("arguments")
            lines = patch_lines(patch) if name == "apply_patch" and isinstance(patch, str) else []
            tools.setdefault(call_id, [name, time_ns, [list(entry) for entry in lines]])
        elif kind in _OUTPUTS and isinstance(call_id, str):
            state["sent"] = time_ns
            name, start, lines = tools.pop(call_id, ["unknown", time_ns, []])
            start = start if isinstance(start, int) and start <= time_ns else time_ns
            key = f"tool_result:{call_id}"
            verdict = _verdict(payload.get("output"))
            if verdict in ("user", "config"):
                out.append(Item(sid, self.name, key, Decision("reject", verdict, time_ns, _SCOPE)))
                return
            out.append(
                Item(sid, self.name, key, ToolRun(str(name), start, time_ns, verdict, _SCOPE))
            )
            if verdict is None:
                for i, (file, added, removed) in enumerate(lines, 1):
                    edit = Lines(added, removed, file, time_ns)
                    out.append(Item(sid, self.name, f"{key}.{i}", edit))
        elif kind == "message" and payload.get("role") in ("user", "developer"):
            state["sent"] = time_ns


def _verdict(output: Any) -> str | None:
    """What a tool's output says: None (it ran), ``"failed"``, or who refused it before it
    ran (``"user"``, ``"config"``).
    """
    text = _text(output)
    lowered = text.lower()
    if any(marker in lowered for marker in _REFUSED_BY_USER):
        return "user"
    if any(marker in lowered for marker in _REFUSED_BY_RULE):
        return "config"
    if isinstance(output, dict) and output.get("success") is False:
        return "failed"
    return "failed" if _FAILED.match(text.lstrip()) else None


def _text(output: Any) -> str:
    """The first KiB of a tool's output: a string, ``{"content": ...}`` or content items;
    an older Codex's ``{"output": ..., "metadata": ...}`` JSON text read as its output.
    """
    if isinstance(output, str):
        if output.startswith('{"output"'):
            try:
                data = json.loads(output)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("output"), str):
                return str(data["output"])[:1024]
        return output[:1024]
    if isinstance(output, dict):
        return _text(output.get("content") or output.get("output"))
    if isinstance(output, list):
        return " ".join(_text(item.get("text") if isinstance(item, dict) else item)
                        for item in output[:4])[:1024]  # fmt: skip
    return ""


def _parent_thread(source: Any) -> str | None:
    """The parent thread a sub-agent's ``session_meta.source`` names, else None."""
    if not isinstance(source, dict):
        return None
    found = source.get("parent_thread_id")
    if isinstance(found, str) and found:
        return found
    for value in source.values():
        if isinstance(value, dict) and (parent := _parent_thread(value)) is not None:
            return parent
    return None


def _id_from_name(path: Path) -> str | None:
    """The session id at the end of a rollout's name (before its session_meta is read)."""
    match = _SESSION_ID.search(path.stem)
    return match.group(1) if match else None


FORMAT: Final = CodexTranscripts()
