"""Claude Code transcripts: ``<config>/projects/<project>/<session-id>.jsonl``.

``<config>`` is ``$CLAUDE_CONFIG_DIR`` (comma-separated folders allowed, as ccusage reads
it), else ``~/.claude`` and ``~/.config/claude``. One JSON object per line; the rows used:

=====================  ======================================================================
``assistant``           a model request: ``message.usage`` (Anthropic's shape, normalised by
                        the same rules as the SDK's), ``message.model``, ``requestId``; it
                        ran from the last ``api-request`` row to this row's time. A message
                        written more than once (one row per content block) is one request:
                        its key is ``requestId``, as in Claude Code's telemetry. Each
                        ``tool_use`` block starts a tool call.
``user``                its ``tool_result`` blocks end tool calls (``is_error``: failed); a
                        call refused before it ran (a permission rule, or the user) is a
                        reject decision, not a tool call; ``toolUseResult``'s structured
                        patch (Edit, MultiEdit) or created file (Write) gives the lines
                        added and removed, per file
``api-request``         a request was sent (its start)
=====================  ======================================================================

Every row with a ``timestamp`` bounds the session (through the request or tool call it
records, else as activity). Side-chain (sub-agent) rows carry their
parent's ``sessionId``: they count in the parent session. Prompts, replies, tool inputs and
outputs are read only to count lines and tell refusals; nothing of them is kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Final

from radium_otel._internal.usage import usage_from_response
from radium_otel.sources.events import Decision, Item, Lines, Request, Seen, ToolRun, model_call
from radium_otel.sources.transcripts import Skip, walk

__all__ = ["FORMAT", "ClaudeCodeTranscripts", "parse_time"]

_SCOPE: Final = "claude-code/transcript"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Row types Claude Code writes that say nothing about requests, tools or time.
_IGNORED: Final = frozenset({
    "summary", "attachment", "queue-operation", "system", "file-history-snapshot",
    "last-prompt", "cost-state", "tools-used", "api-request-shape", "api-request-blob",
    "atis-latch", "progress", "custom-title", "tag",
})  # fmt: skip
#: How Claude Code words a tool call refused before it ran (by a rule; by the user). In
#: ``-p`` mode a call no rule allows is refused as nobody can be asked: "Claude requested
#: permissions to write to <path>, but you haven't granted it yet." (also "to use",
#: "to read from", "to edit", "to glob").
_REFUSED_BY_RULE: Final = ("needs approval", "permission to use", "has been denied",
                           "was blocked", "not allowed",
                           "haven't granted it yet")  # fmt: skip
_REFUSED_BY_USER: Final = ("doesn't want to proceed", "user rejected", "rejected by the user")


class ClaudeCodeTranscripts:
    """The reader (see the module docstring)."""

    name: ClassVar[str] = "claude-code"
    lines_known: ClassVar[bool] = True
    #: Rows of an ignored type, told by their first key (Claude Code writes ``type`` first
    #: in those rows) without parsing them: the request blobs are the largest rows.
    skip_prefixes: ClassVar[tuple[bytes, ...]] = tuple(
        sorted(b'{"type":"%s"' % t.encode() for t in _IGNORED)
    )

    def default_roots(self) -> list[Path]:
        """``$CLAUDE_CONFIG_DIR`` (comma-separated), else ``~/.claude``, ``~/.config/claude``."""
        configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
        if configured:
            bases = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
        else:
            home = Path.home()
            bases = [home / ".claude", home / ".config" / "claude"]
        return [base / "projects" for base in bases]

    def files(self, root: Path) -> Iterator[str]:
        """Every ``*.jsonl`` under ``root`` (sub-agents' files included)."""
        return walk(root, lambda _, name: name.endswith(".jsonl"))

    def group(self, name: str) -> str:
        """The project's folder (``<project>/<session>.jsonl``, and a sub-agent's
        ``<project>/<session>/subagents/*.jsonl``).
        """
        folder = os.path.dirname(name)
        if os.path.basename(folder) == "subagents":
            return os.path.dirname(os.path.dirname(folder))
        return folder

    def read(self, row: Any, path: Path, state: dict[str, Any], out: list[Item]) -> None:
        """Add one row's items to ``out`` (see the module docstring)."""
        if not isinstance(row, dict):
            raise Skip("not a JSON object")
        kind = row.get("type")
        if kind in _IGNORED:
            return
        sid = row.get("sessionId")
        stamp = row.get("timestamp")
        if kind not in ("user", "assistant", "api-request"):
            raise Skip(f"unknown record type {str(kind)[:40]!r}")
        if not isinstance(sid, str) or not sid:
            raise Skip("no sessionId")
        time_ns = parse_time(stamp)
        if time_ns is None:
            raise Skip("no timestamp")
        if kind == "api-request":
            state["sent"] = time_ns  # (the request's start: its `Request` bounds the session)
            return
        message = row.get("message")
        if not isinstance(message, dict):
            raise Skip(f"{kind} row without a message")
        content = message.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        before = len(out)
        if kind == "assistant":
            if self._assistant(row, message, blocks, sid, time_ns, state, out):
                return  # (nothing new: as if its request were read again, and dropped)
        else:
            self._user(row, blocks, sid, time_ns, state, out)
        if len(out) == before:  # (a prompt, a message with no usage: it still bounds the session)
            out.append(Item(sid, self.name, None, Seen(time_ns, time_ns)))

    def _assistant(
        self,
        row: dict[str, Any],
        message: dict[str, Any],
        blocks: list[dict[str, Any]],
        sid: str,
        time_ns: int,
        state: dict[str, Any],
        out: list[Item],
    ) -> bool:
        """Add the request an assistant row records; True for a later block of a message
        whose request was added from its first.
        """
        tools: dict[str, list[Any]] = state.setdefault("tools", {})
        for block in blocks:
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                tools.setdefault(block["id"], [str(block.get("name") or "unknown"), time_ns])
        model = message.get("model")
        if model == "<synthetic>" or not isinstance(model, str):
            return False  # (an error or interruption Claude Code wrote itself: no request)
        request_id = row.get("requestId") or message.get("id")
        if isinstance(request_id, str) and state.get("request") == request_id:
            return True  # (its request keeps its first block's time, as its key would)
        usage = usage_from_response(message)
        if usage is None:
            return False
        sent = state.pop("sent", None)
        start = sent if isinstance(sent, int) and sent <= time_ns else time_ns
        call = model_call(model, "anthropic", start, time_ns, False, usage)
        key = f"request:{request_id}:api_request" if isinstance(request_id, str) else None
        out.append(Item(sid, self.name, key, Request(call, _SCOPE)))
        state["request"] = request_id
        return False

    def _user(
        self,
        row: dict[str, Any],
        blocks: list[dict[str, Any]],
        sid: str,
        time_ns: int,
        state: dict[str, Any],
        out: list[Item],
    ) -> None:
        tools: dict[str, list[Any]] = state.setdefault("tools", {})
        for block in blocks:
            if block.get("type") != "tool_result":
                continue
            use_id = block.get("tool_use_id")
            if not isinstance(use_id, str):
                continue
            name, start = tools.pop(use_id, ["unknown", time_ns])
            start = start if isinstance(start, int) and start <= time_ns else time_ns
            failed = block.get("is_error") is True
            refused = _refusal(block, row) if failed else None
            if refused is not None:
                decision = Decision("reject", refused, time_ns, _SCOPE)
                out.append(Item(sid, self.name, f"tool_decision:{use_id}", decision))
                continue
            run = ToolRun(str(name), start, time_ns, "error" if failed else None, _SCOPE)
            out.append(Item(sid, self.name, f"tool_result:{use_id}", run))
            if not failed:
                for path, added, removed in _patch_lines(row.get("toolUseResult")):
                    edit = Lines(added, removed, path, time_ns)
                    out.append(Item(sid, self.name, f"lines:{use_id}:{path}", edit))


def _refusal(block: dict[str, Any], row: dict[str, Any]) -> str | None:
    """Who refused a tool call before it ran (``config``, ``user``), None if it ran."""
    text = _text(block.get("content")) + " " + _text(row.get("toolUseResult"))
    lowered = text.lower()
    if any(marker in lowered for marker in _REFUSED_BY_USER):
        return "user"
    if any(marker in lowered for marker in _REFUSED_BY_RULE):
        return "config"
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value[:2000]
    if isinstance(value, list):
        return " ".join(_text(v.get("text") if isinstance(v, dict) else v) for v in value[:8])
    return ""


def _patch_lines(result: Any) -> list[tuple[str, int, int]]:
    """(file, added, removed) of an edit tool's result: Edit/MultiEdit's structured patch,
    a created file's content (Write).
    """
    if not isinstance(result, dict):
        return []
    path = result.get("filePath")
    if not isinstance(path, str) or not path:
        return []
    hunks = result.get("structuredPatch")
    added = removed = 0
    if isinstance(hunks, list) and hunks:
        for hunk in hunks:
            lines = hunk.get("lines") if isinstance(hunk, dict) else None
            for line in lines if isinstance(lines, list) else ():
                if isinstance(line, str) and line.startswith("+"):
                    added += 1
                elif isinstance(line, str) and line.startswith("-"):
                    removed += 1
    elif result.get("type") == "create" and isinstance(result.get("content"), str):
        added = len(result["content"].splitlines())
    else:
        return []
    return [(path, added, removed)]


def parse_time(value: Any) -> int | None:
    """Nanoseconds since the epoch of an ISO 8601 timestamp (``...Z``, or RFC 3339's ``...z``),
    None when it is not one.
    """
    if not isinstance(value, str):
        return None
    if value.endswith(("Z", "z")):  # (Python 3.10 reads neither; 3.11 only "Z")
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    delta = moment - _EPOCH  # (exact: no float on the way)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


FORMAT: Final = ClaudeCodeTranscripts()
