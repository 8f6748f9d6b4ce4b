"""Gemini CLI transcripts: ``<home>/.gemini/tmp/<project>/chats/session-<time>-<id8>.jsonl``.

``<home>`` is ``$GEMINI_CLI_HOME``, else the user's home. A sub-agent's transcript is
``chats/<parent session id>/<its id>.jsonl``: it counts in its parent's session. One JSON
object per line, as Gemini CLI 0.61 writes them (it writes no ``.json`` checkpoint; an older
version's ``session-*.json``, one pretty-printed object, is rewritten as ``.jsonl`` when the
session is resumed, and is not read here). A message is written again, whole, each time it
changes (its tokens, its tool calls' progress): rows are deduplicated by the message's ``id``
and each tool call's ``id`` (the keys). The rows used:

============================  ==================================================================
(first row, no ``type``)       the session: ``sessionId`` (the ``session.id`` of Gemini CLI's
                               telemetry), ``startTime``
``type: "user"``               a prompt or tool results sent to the model: the next request
                               starts here
``type: "gemini"``             with ``tokens``: a model request (``model``; input INCLUDING
                               ``cached`` and ``tool``, output plus ``thoughts``, normalised as
                               the telemetry's), from the last ``user`` row to this row. Each of
                               its ``toolCalls`` in a final ``status``: ``success`` a tool call
                               that ran (lines added and removed, per file, from
                               ``resultDisplay.diffStat`` — ``model_*`` and ``user_*`` lines, as
                               the telemetry counts them), ``error`` a failed one, but refused by
                               a policy rule (``denied by policy``, ``Tool execution blocked``)
                               a reject decision (source ``policy``), ``cancelled`` a reject by
                               the user; from the message's time to the call's ``timestamp``
``{"$set": {...}}``            metadata updates; a ``messages`` list (the history rewritten)
                               read as message rows (already seen ids add nothing)
``{"$rewindTo": id}``          ignored: the requests of a rewound conversation were made
============================  ==================================================================

Every row with a time bounds the session. What a transcript cannot give: the router's
request (``utility_router``, billed: Gemini CLI's telemetry reports it, its transcript does
not), the accepts (the telemetry's ``tool_call`` decisions), a tool's own duration, the
cost (ours only), and ids its telemetry shares (none: one request reported by both is found
by its tokens and time, SPEC "One request counts once"; a tool call is not). A shell command
that exited non-zero is a successful tool call, as Gemini CLI reports it. Prompts, replies,
tool arguments and results are read only to tell refusals; nothing of them is kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Final

from radium_otel._internal.usage import usage_from_counts
from radium_otel.sources.events import Decision, Item, Lines, Request, Seen, ToolRun, model_call
from radium_otel.sources.transcripts import Skip, walk
from radium_otel.sources.transcripts.claude_code import parse_time

__all__ = ["FORMAT", "GeminiCliTranscripts"]

_SCOPE: Final = "gemini-cli/transcript"
_SHAPE: Final = "gemini-cli/transcript"
_MESSAGES: Final = frozenset({"user", "gemini", "info", "error", "warning"})
_DONE: Final = frozenset({"success", "error", "cancelled"})
#: How Gemini CLI words a call a policy rule (or a hook) refused before it ran.
_REFUSED_BY_RULE: Final = ("denied by policy", "tool execution blocked")
_LINES: Final = (("model_added_lines", "user_added_lines"),
                 ("model_removed_lines", "user_removed_lines"))  # fmt: skip


class GeminiCliTranscripts:
    """The reader (see the module docstring)."""

    name: ClassVar[str] = "gemini-cli"
    lines_known: ClassVar[bool] = True
    skip_prefixes: ClassVar[tuple[bytes, ...]] = ()  # (every line is parsed)

    def default_roots(self) -> list[Path]:
        """``$GEMINI_CLI_HOME/.gemini/tmp``, else ``~/.gemini/tmp``."""
        configured = os.environ.get("GEMINI_CLI_HOME", "").strip()
        home = Path(configured).expanduser() if configured else Path.home()
        return [home / ".gemini" / "tmp"]

    def files(self, root: Path) -> Iterator[str]:
        """Every ``*.jsonl`` in a ``chats`` folder under ``root`` (sub-agents' included)."""
        return walk(root, _in_chats)

    def group(self, name: str) -> str:
        """The ``chats`` folder (a sub-agent's files are in a folder of it)."""
        folder = os.path.dirname(name)
        return folder if os.path.basename(folder) == "chats" else os.path.dirname(folder)

    def read(self, row: Any, path: Path, state: dict[str, Any], out: list[Item]) -> None:
        """Add one row's items to ``out`` (see the module docstring)."""
        if not isinstance(row, dict):
            raise Skip("not a JSON object")
        if "sessionId" in row and "type" not in row:
            self._session(row, path, state, out)
            return
        sid = state.get("sid")
        if "$set" in row:
            update = row["$set"]
            if not isinstance(update, dict) or not isinstance(sid, str):
                raise Skip("$set before the session's first row" if isinstance(update, dict)
                           else "$set without an object")  # fmt: skip
            messages = update.get("messages")
            for message in messages if isinstance(messages, list) else ():
                if isinstance(message, dict) and message.get("type") in _MESSAGES:
                    self._message(message, sid, state, out)
            stamp = parse_time(update.get("lastUpdated"))
            if stamp is not None:
                out.append(Item(sid, self.name, None, Seen(stamp, stamp)))
            return
        if "$rewindTo" in row:
            return
        kind = row.get("type")
        if kind not in _MESSAGES:
            raise Skip(f"unknown record type {str(kind)[:40]!r}")
        if not isinstance(sid, str):
            raise Skip("a message before the session's first row")
        self._message(row, sid, state, out)

    def _session(
        self, row: dict[str, Any], path: Path, state: dict[str, Any], out: list[Item]
    ) -> None:
        sid = row.get("sessionId")
        if not isinstance(sid, str) or not sid:
            raise Skip("no sessionId")
        if row.get("kind") == "subagent" and path.parent.name != "chats":
            sid = path.parent.name  # (its folder is named after the parent session)
        state.setdefault("sid", sid)
        for key in ("startTime", "lastUpdated"):
            stamp = parse_time(row.get(key))
            if stamp is not None:
                out.append(Item(state["sid"], self.name, None, Seen(stamp, stamp)))

    def _message(
        self, row: dict[str, Any], sid: str, state: dict[str, Any], out: list[Item]
    ) -> None:
        time_ns = parse_time(row.get("timestamp"))
        if time_ns is None:
            raise Skip("no timestamp")
        message_id = row.get("id")
        kind = row.get("type")
        out.append(Item(sid, self.name, None, Seen(time_ns, time_ns)))
        if kind == "user":
            if time_ns >= state.get("sent", 0):
                state["sent"] = time_ns
            return
        if kind != "gemini" or not isinstance(message_id, str):
            return
        tokens = row.get("tokens")
        usage = usage_from_counts(_SHAPE, tokens) if isinstance(tokens, dict) else None
        if usage is not None:
            sent = state.get("sent")
            start = sent if isinstance(sent, int) and sent <= time_ns else time_ns
            model = row.get("model")
            name = model if isinstance(model, str) else None
            call = model_call(name, "google", start, time_ns, False, usage)
            out.append(Item(sid, self.name, f"message:{message_id}", Request(call, _SCOPE)))
        calls = row.get("toolCalls")
        for tool in calls if isinstance(calls, list) else ():
            if isinstance(tool, dict):
                self._tool(tool, sid, time_ns, out)

    def _tool(self, tool: dict[str, Any], sid: str, asked_ns: int, out: list[Item]) -> None:
        call_id, status = tool.get("id"), tool.get("status")
        if not isinstance(call_id, str) or status not in _DONE:
            return  # (not finished yet: its final row comes later)
        end = parse_time(tool.get("timestamp"))
        end = end if end is not None and end >= asked_ns else asked_ns
        key = f"tool_call:{call_id}"
        if status == "cancelled":
            out.append(Item(sid, self.name, key, Decision("reject", "user", end, _SCOPE)))
            return
        if status == "error" and _refused(tool):
            out.append(Item(sid, self.name, key, Decision("reject", "policy", end, _SCOPE)))
            return
        name = str(tool.get("name") or "unknown")
        run = ToolRun(name, asked_ns, end, "error" if status == "error" else None, _SCOPE)
        out.append(Item(sid, self.name, key, run))
        display = tool.get("resultDisplay")
        if status == "success" and isinstance(display, dict):
            stats = display.get("diffStat")
            path = display.get("filePath") or display.get("fileName")
            if isinstance(stats, dict):
                added, removed = (sum(_count(stats.get(k)) for k in keys) for keys in _LINES)
                where = path if isinstance(path, str) and path else None
                out.append(Item(sid, self.name, f"{key}.1", Lines(added, removed, where, end)))


def _refused(tool: dict[str, Any]) -> bool:
    """Whether a failed call was refused before it ran (by a policy rule or a hook)."""
    texts = [tool.get("resultDisplay")]
    result = tool.get("result")
    for part in result[:4] if isinstance(result, list) else ():
        response = part.get("functionResponse") if isinstance(part, dict) else None
        inner = response.get("response") if isinstance(response, dict) else None
        if isinstance(inner, dict):
            texts.append(inner.get("error"))
    lowered = " ".join(t[:500] for t in texts if isinstance(t, str)).lower()
    return any(marker in lowered for marker in _REFUSED_BY_RULE)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


FORMAT: Final = GeminiCliTranscripts()


def _in_chats(folder: str, name: str) -> bool:
    """A session file: ``chats/*.jsonl``, or a sub-agent's, ``chats/<session>/*.jsonl``."""
    parent, here = os.path.split(folder)
    return name.endswith(".jsonl") and "chats" in (here, os.path.basename(parent))
