"""The transcript readers' figures, exactly, in a second: the real CLIs' transcripts of the
standard task (tests/sources/captures/transcripts, saved by `capture_transcripts`: Claude
Code 2.x, Codex 0.171, Gemini CLI 0.61) and hand-made lines for every branch a real run does
not take (issue 20: mutation testing of ``radium_otel/sources/transcripts``).

The oracles: what the stub served (``served.json``, tokens per model, normalised as the SPEC
says), ccusage on the same transcript (``ccusage.json``), and, for what neither gives, the
values read off the transcript's own rows (times, ids). The slow tests that run the CLIs
(test_import_claude.py, test_import_codex_gemini.py) check the same against live runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.sources.events import Item, Seen, to_row
from radium_otel.sources.importer import Importer
from radium_otel.sources.transcripts import Format, Skip, formats
from radium_otel.sources.transcripts.claude_code import parse_time

CAPTURES = Path(__file__).parent / "captures" / "transcripts"
FORMAT_OF = {"claude": "claude-code", "codex": "codex", "gemini": "gemini-cli"}
_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
           "reasoning_tokens")  # fmt: skip


# --- the real CLIs' transcripts ----------------------------------------------------------------


def _import(workspace: Path, root: Path, fmt: Format) -> dict[str, SessionRecord]:
    summary = Importer(workspace, fmt, active_after_s=0, workers=1).run([root])
    assert summary.problems == [] and summary.skipped == {}
    store = SessionStore(sessions_dir(workspace))
    return {r.id: r for r in (store.read(p) for p in store.paths())}


def _served(cli: str) -> dict[str, tuple[int, ...]]:
    """Requests and normalised tokens per model, as the stub served them: input with the
    cache reads and writes, output with the reasoning.
    """
    out: dict[str, list[int]] = {}
    for turn in json.loads((CAPTURES / cli / "served.json").read_text()):
        u = turn["usage"]
        row = out.setdefault(turn["model"], [0] * 6)
        prompt = u["input_tokens"] + u["cache_read_tokens"] + u["cache_creation_tokens"]
        counts = (1, prompt, u["output_tokens"], u["cache_read_tokens"],
                  u["cache_creation_tokens"], u["reasoning_tokens"])  # fmt: skip
        for i, n in enumerate(counts):
            row[i] += n
    return {m: tuple(r) for m, r in out.items()}


@dataclass(frozen=True)
class Captured:
    cli: str
    session_id: str
    tools: dict[str, tuple[int, int, int]]  # calls, successes, failures
    refused_by: str
    notes: str  # notes.txt as the CLI names it
    wall_s: float
    api_s: float
    tool_s: float


CAPTURED = [
    Captured("claude", "7836486f-81ec-45c3-aba8-4b9f9f665290",
             {"Bash": (2, 1, 1), "Write": (1, 1, 0)}, "config", "/capture/work/notes.txt",
             0.453, 0.078, 0.167),
    Captured("codex", "01a23a99-d9bb-7982-bcd2-3df8b6bc9cf9",
             {"exec_command": (2, 2, 0), "apply_patch": (1, 1, 0)}, "config", "notes.txt",
             0.418, 0.223, 0.124),
    Captured("gemini", "7e006c38-3b3d-44f0-a21d-25ed70fc4c4d",
             {"run_shell_command": (2, 2, 0), "write_file": (1, 1, 0)}, "policy",
             "/capture/work/notes.txt", 0.401, 0.213, 0.104),
]  # fmt: skip


@pytest.mark.parametrize("case", CAPTURED, ids=lambda c: c.cli)
def test_a_real_transcript_makes_the_stub_s_session(case: Captured, tmp_path: Path) -> None:
    fmt = formats()[FORMAT_OF[case.cli]]
    records = _import(tmp_path, CAPTURES / case.cli, fmt)

    (record,) = records.values()
    assert record.id == case.session_id
    assert record.metadata["source"] == fmt.name
    tokens = {m.model: (m.requests, *(getattr(m, f) for f in _FIELDS)) for m in record.model_usage}
    assert tokens == _served(case.cli)
    assert {n: (t.calls, t.successes, t.failures) for n, t in record.tools.items()} == case.tools
    assert record.decisions == {"reject": 1}
    assert record.decision_sources == {"reject": {case.refused_by: 1}}
    assert record.code_changes is not None
    assert record.code_changes["measured_by"] == fmt.name
    assert record.code_changes["files"] == [
        {"path": case.notes, "added": 2, "removed": 0, "binary": False, "renamed_from": None}
    ]
    assert (record.wall_time_s, record.api_time_s, record.tool_time_s) == pytest.approx(
        (case.wall_s, case.api_s, case.tool_s), abs=1e-9
    )


@pytest.mark.parametrize("cli", ["claude", "codex"])
def test_ccusage_reads_the_same_tokens_from_the_real_transcript(cli: str, tmp_path: Path) -> None:
    (peer,) = json.loads((CAPTURES / cli / "ccusage.json").read_text())["sessions"]
    (ours,) = _import(tmp_path, CAPTURES / cli, formats()[FORMAT_OF[cli]]).values()

    # ccusage's input leaves out the cache reads and writes; ours includes them.
    cache = peer["cacheReadTokens"] + peer["cacheCreationTokens"]
    assert ours.input_tokens == peer["inputTokens"] + cache
    assert ours.output_tokens == peer["outputTokens"]
    assert ours.cache_stats.cache_read_tokens == peer["cacheReadTokens"]
    assert ours.cache_stats.cache_creation_tokens == peer["cacheCreationTokens"]
    reasoning = sum(m.reasoning_tokens for m in ours.model_usage)
    assert reasoning == peer.get("reasoningOutputTokens", 0)


# --- reading lines: the items each reader makes -------------------------------------------------

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def at(ms: int) -> str:
    """The ISO time ``ms`` milliseconds after `T0`, as the CLIs write it."""
    moment = datetime.fromtimestamp(T0 / 1e9 + ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rows(items: list[Item]) -> list[list[Any]]:
    """The items as journal rows, times in ms after `T0`."""
    return [[(v - T0) // 1_000_000 if isinstance(v, int) and v > T0 // 2 else v
             for v in to_row(item)] for item in items]  # fmt: skip


SID = {"claude-code": "s1", "codex": "c1", "gemini-cli": "g1"}


def _ran(
    source: str, key: str, name: str, start: int, end: int, error: str | None = None
) -> list[Any]:
    """A ``ToolRun`` row of ``source``'s reader, in session `SID`."""
    return [SID[source], source, key, "T", name, start, end, error, f"{source}/transcript"]


def _refused(source: str, key: str, by: str, ms: int) -> list[Any]:
    """A reject ``Decision`` row of ``source``'s reader, in session `SID`."""
    return [SID[source], source, key, "D", "reject", by, ms, f"{source}/transcript"]


def _seen(source: str, ms: int, sid: str | None = None) -> list[Any]:
    """A ``Seen`` row of ``source``'s reader (in session `SID`, unless ``sid``)."""
    return [sid or SID[source], source, None, "S", ms, ms]


def read(fmt: str, rows: list[Any], path: str = "x.jsonl") -> tuple[list[list[Any]], list[str]]:
    """What a reader makes of ``rows`` (one file): its items' rows, and the skips' reasons."""
    reader = formats()[fmt]
    state: dict[str, Any] = {}
    out: list[Item] = []
    skips = []
    for row in rows:
        try:
            reader.read(row, Path(path), state, out)
        except Skip as skip:
            skips.append(str(skip))
        state = json.loads(json.dumps(state))  # (saved between runs: JSON-able)
    return _rows(out), skips


def test_parse_time_is_exact_to_the_microsecond_and_needs_a_zone() -> None:
    assert parse_time("2026-01-01T00:00:00.000Z") == T0
    assert parse_time("2026-01-01T00:00:01.123456Z") == T0 + 1_123_456_000
    assert parse_time("2026-01-01T00:00:01.5z") == T0 + 1_500_000_000  # (RFC 3339 allows z)
    assert parse_time("") is None
    assert parse_time("2026-01-02T01:00:00+01:00") == T0 + 86_400_000_000_000
    assert parse_time("2026-01-01T00:00:00") is None
    assert parse_time("yesterday") is None
    assert parse_time(1767225600) is None


def test_seen_rows_are_the_same_as_from_the_reader() -> None:
    assert _rows([Item("s", "x", None, Seen(T0 + 5_000_000, T0 + 7_000_000))]) == [
        ["s", "x", None, "S", 5, 7]
    ]


# --- Claude Code -----------------------------------------------------------------------------


def _claude(kind: str, ms: int, sid: str = "s1", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "sessionId": sid, "timestamp": at(ms), **fields}


def _usage(fresh: int, out: int, read: int = 0, write: int = 0) -> dict[str, int]:
    return {"input_tokens": fresh, "output_tokens": out, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write}  # fmt: skip


def _answer(ms: int, rid: str | None, *blocks: dict[str, Any], **message: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"requestId": rid} if rid is not None else {}
    body = {"model": "claude-opus-4-1", "content": list(blocks), "usage": _usage(10, 5, 100, 20)}
    return _claude("assistant", ms, message=body | message, **fields)


def _use(use_id: str, name: str | None = "Bash") -> dict[str, Any]:
    return {"type": "tool_use", "id": use_id, "name": name, "input": {}}


def _result(
    ms: int, use_id: str, error: bool = False, text: Any = "ok", **row: Any
) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": use_id, "content": text, "is_error": error}
    return _claude("user", ms, message={"role": "user", "content": [block]}, **row)


CLAUDE_REQUEST = ["s1", "claude-code", "request:r1:api_request", "R", "claude-code/transcript",
                  "claude-opus-4-1", "anthropic", 100, 250, False, 130, 5, 100, 20, 0, 0, None,
                  False]  # fmt: skip

# fmt: off
CLAUDE_CASES: dict[str, tuple[list[Any], list[list[Any]], list[str]]] = {
    "a request from its api-request row, a later block of its message adds nothing": (
        [_claude("api-request", 100), _answer(250, "r1", {"type": "text", "text": "hi"}),
         _answer(260, "r1", _use("u1"))],
        [CLAUDE_REQUEST],
        [],
    ),
    "no api-request row: the request starts at its row; message.id is its key": (
        [_answer(250, None, id="m1"), _claude("api-request", 300), _answer(280, None, id="m2")],
        [[*CLAUDE_REQUEST[:2], "request:m1:api_request", *CLAUDE_REQUEST[3:7], 250, 250,
          *CLAUDE_REQUEST[9:]],
         [*CLAUDE_REQUEST[:2], "request:m2:api_request", *CLAUDE_REQUEST[3:7], 280, 280,
          *CLAUDE_REQUEST[9:]]],
        [],
    ),
    "no id at all: no key, each row its own request": (
        [_answer(250, None), _answer(260, None, model="claude-haiku-4-5")],
        [[*CLAUDE_REQUEST[:2], None, *CLAUDE_REQUEST[3:7], 250, 250, *CLAUDE_REQUEST[9:]],
         [*CLAUDE_REQUEST[:2], None, *CLAUDE_REQUEST[3:5], "claude-haiku-4-5", "anthropic", 260,
          260, *CLAUDE_REQUEST[9:]]],
        [],
    ),
    "a synthetic message, a message without usage, a prompt: seen, no request": (
        [_answer(10, "r0", model="<synthetic>"), _answer(20, "r2", usage=None),
         _answer(25, "r3", model=None),
         _claude("user", 30, message={"role": "user", "content": "do it"})],
        [["s1", "claude-code", None, "S", 10, 10], ["s1", "claude-code", None, "S", 20, 20],
         ["s1", "claude-code", None, "S", 25, 25], ["s1", "claude-code", None, "S", 30, 30]],
        [],
    ),
    "tool calls: ran, failed, refused by a rule, by the user, unknown, nameless": (
        [_answer(100, "r1", _use("u1"), _use("u2"), _use("u3"), _use("u4"), _use("u6", None)),
         _result(150, "u1"), _result(160, "u2", True, "Exit code 1"),
         _result(170, "u3", True, "Claude requested permissions to write to /w/x.txt, but "
                 "you haven't granted it yet."),
         _result(180, "u4", True, "x", toolUseResult="The user doesn't want to proceed"),
         _result(190, "u5"), _result(195, "u6", False, [{"type": "text", "text": "ok"}])],
        [[*CLAUDE_REQUEST[:7], 100, 100, *CLAUDE_REQUEST[9:]],
         _ran("claude-code", "tool_result:u1", "Bash", 100, 150),
         _ran("claude-code", "tool_result:u2", "Bash", 100, 160, "error"),
         _refused("claude-code", "tool_decision:u3", "config", 170),
         _refused("claude-code", "tool_decision:u4", "user", 180),
         _ran("claude-code", "tool_result:u5", "unknown", 190, 190),
         _ran("claude-code", "tool_result:u6", "unknown", 100, 195)],
        [],
    ),
    "lines per file: an Edit's patch, a created file; none for a failed edit": (
        [_answer(100, "r1", _use("e1", "Edit"), _use("w1", "Write"), _use("e2", "Edit")),
         _result(150, "e1", toolUseResult={"filePath": "a.py", "structuredPatch": [
             {"lines": [" keep", "-old", "-older", "+new", 7]}, {"lines": ["+more"]}, "x"]}),
         _result(160, "w1", toolUseResult={"type": "create", "filePath": "b.py",
                                            "content": "1\n2\n3"}),
         _result(170, "e2", True, "String to replace not found", toolUseResult={
             "filePath": "c.py", "structuredPatch": [{"lines": ["+x"]}]})],
        [[*CLAUDE_REQUEST[:7], 100, 100, *CLAUDE_REQUEST[9:]],
         _ran("claude-code", "tool_result:e1", "Edit", 100, 150),
         ["s1", "claude-code", "lines:e1:a.py", "L", 2, 2, "a.py", 150],
         _ran("claude-code", "tool_result:w1", "Write", 100, 160),
         ["s1", "claude-code", "lines:w1:b.py", "L", 3, 0, "b.py", 160],
         _ran("claude-code", "tool_result:e2", "Edit", 100, 170, "error")],
        [],
    ),
    "results that give no lines: no file, an update without a patch, an empty patch": (
        [_result(150, "a", toolUseResult={"structuredPatch": [{"lines": ["+x"]}]}),
         _result(160, "b", toolUseResult={"filePath": "b", "type": "update", "content": "x"}),
         _result(170, "c", toolUseResult={"filePath": "c", "structuredPatch": []}),
         _result(180, "d", toolUseResult={"filePath": "", "type": "create", "content": "x"}),
         _result(190, "e", toolUseResult="written")],
        [["s1", "claude-code", f"tool_result:{u}", "T", "unknown", ms, ms, None,
          "claude-code/transcript"]
         for u, ms in zip("abcde", (150, 160, 170, 180, 190), strict=True)],
        [],
    ),
    "a sub-agent's side-chain rows count in the parent's session": (
        [_claude("api-request", 50, isSidechain=True),
         _answer(100, "r1", isSidechain=True, agentId="a1")],
        [[*CLAUDE_REQUEST[:7], 50, 100, *CLAUDE_REQUEST[9:]]],
        [],
    ),
    "several results in one row, around other blocks; a result read as it is written": (
        [_answer(100, "r1", _use("u1"), _use("u2"), _use("u3"), _use("u4"),
                 {"type": "server_tool_use", "id": "v1", "name": "web_search"}),
         _claude("user", 150, message={"role": "user", "content": [
             {"type": "text", "text": "x"}, {"type": "tool_result", "content": "no id"},
             {"type": "tool_result", "tool_use_id": "u1", "is_error": True,
              "content": [{"type": "text", "text": "Permission to use Bash has been denied."}]},
             {"type": "tool_result", "tool_use_id": "u2", "is_error": False,
              "content": "echo: not allowed, needs approval"},
             {"type": "tool_result", "tool_use_id": "v1", "content": "ok"}]}),
         _result(90, "u3", True, ["x"] * 8 + ["has been denied"]),
         _result(160, "u4", True, "x" * 1987 + "needs approval"),
         _claude("user", 170, message={"role": "user", "content": None})],
        [['s1', 'claude-code', 'request:r1:api_request', 'R', 'claude-code/transcript',
          'claude-opus-4-1', 'anthropic', 100, 100, False, 130, 5, 100, 20, 0, 0, None, False],
         _refused("claude-code", "tool_decision:u1", "config", 150),
         _ran("claude-code", "tool_result:u2", "Bash", 100, 150),
         _ran("claude-code", "tool_result:v1", "unknown", 150, 150),
         _ran("claude-code", "tool_result:u3", "Bash", 90, 90, "error"),
         _ran("claude-code", "tool_result:u4", "Bash", 100, 160, "error"),
         _seen("claude-code", 170)],
        [],
    ),
    "lines skipped, each with its reason; ignored types without one": (
        [[1], "x", {"type": "summary"}, {"type": "hologram", "sessionId": "s1"},
         _claude("user", 0, sid=""), {"type": "user", "timestamp": at(0)},
         {"type": "x" * 45, "sessionId": "s1"},
         _claude("assistant", 0, timestamp="2026-01-01T00:00:00"),
         _claude("assistant", 0, timestamp=None), _claude("user", 0, message="hi")],
        [],
        ["not a JSON object", "not a JSON object", "unknown record type 'hologram'",
         "no sessionId", "no sessionId", f"unknown record type {'x' * 40!r}",
         "no timestamp", "no timestamp",
         "user row without a message"],
    ),
}
# fmt: on


# --- Codex -----------------------------------------------------------------------------------

ROLLOUT = "rollout-2026-01-01T00-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000.jsonl"


def _codex(kind: str, ms: int, **payload: Any) -> dict[str, Any]:
    return {"timestamp": at(ms), "type": kind, "payload": payload}


def _meta(ms: int = 0, sid: str = "c1", **fields: Any) -> dict[str, Any]:
    return _codex("session_meta", ms, id=sid, **fields)


def _record(ms: int, response: str | None, fresh: int = 100, **usage: int) -> dict[str, Any]:
    counts = {"input_tokens": fresh, "cached_input_tokens": 40, "output_tokens": 20,
              "reasoning_output_tokens": 5} | usage  # fmt: skip
    return _codex("token_usage_record", ms, response_id=response, usage=counts)


def _codex_request(
    key: str | None, start: int, end: int, model: str = "unknown", sid: str = "c1"
) -> list[Any]:
    """The row of a `_record`'s request (its default counts)."""
    return [sid, "codex", key, "R", "codex/transcript", model, None, start, end, False, 100, 20,
            40, 0, 5, 0, None, False]  # fmt: skip


def _call(
    ms: int, call_id: Any, name: str | None = "exec_command", **fields: Any
) -> dict[str, Any]:
    kind = fields.pop("type", "function_call")
    return _codex("response_item", ms, type=kind, name=name, call_id=call_id, **fields)


def _output(ms: int, call_id: Any, output: Any, kind: str = "function_call_output") -> Any:
    return _codex("response_item", ms, type=kind, call_id=call_id, output=output)


def _token_count(ms: int, total: int, last: int) -> dict[str, Any]:
    def usage(n: int) -> dict[str, int]:
        return {"input_tokens": n, "cached_input_tokens": 0, "output_tokens": 1}

    info = {"total_token_usage": usage(total), "last_token_usage": usage(last)}
    return _codex("event_msg", ms, type="token_count", info=info)


PATCH = ("*** Begin Patch\n*** Add File: new.txt\n+a\n+b\n*** Update File: old.py\n@@\n-x\n+y\n"
         "+z\n*** End Patch\n")  # fmt: skip

# An exec_command's output and what it says: "ran", "failed" or who refused the call.
OUTPUTS: list[tuple[Any, str]] = [
    ({"content": "apply_patch verification failed"}, "failed"),
    ({"output": "rejected by user"}, "user"),
    ('{"output": broken', "ran"),  # (not JSON: read as it is)
    (["rejected by user"], "user"),
    (["x", "x", "x", "x", "rejected by user"], "ran"),  # (the first 4 items are read)
    ("  Exit code: 1", "failed"),
    ("x" * 1009 + "rejected by user", "ran"),  # (the first KiB is read)
    (json.dumps({"output": "x" * 1009 + "rejected by user"}), "ran"),
    (["x" * 1000, "x" * 8 + "rejected by user"], "ran"),
    (None, "ran"),
]


def _verdict_row(n: int, verdict: str) -> list[Any]:
    key, start, end = f"tool_result:o{n}", n * 10, n * 10 + 5
    if verdict in ("user", "config"):
        return _refused("codex", key, verdict, end)
    return _ran("codex", key, "exec_command", start, end, None if verdict == "ran" else verdict)


# fmt: off
CODEX_CASES: dict[str, tuple[list[Any], list[list[Any]], list[str]]] = {
    "session_meta, turn_context, a request from the prompt to its record": (
        [_meta(0, cli_version="0.171.0", model_provider="openai", originator="codex_exec"),
         _codex("turn_context", 5, model="gpt-5.5", approval_policy="on-request"),
         _codex("response_item", 10, type="message", role="user"),
         _codex("response_item", 20, type="message", role="assistant"),
         _record(50, "resp1")],
        [['c1', 'codex', None, 'M', [['source_version', '0.171.0'], ['codex.provider', 'openai'],
          ['codex.originator', 'codex_exec']]],
         _seen("codex", 0),
         ['c1', 'codex', None, 'M', [['model', 'gpt-5.5'], ['codex.approval_policy',
          'on-request']]],
         _seen("codex", 5),
         _seen("codex", 10),
         _seen("codex", 20),
         _codex_request("response:resp1", 10, 50, "gpt-5.5"),
         _seen("codex", 50)],
        [],
    ),
    "no model, no policy, no metadata; a request without a response id has no key": (
        [_meta(0), _codex("turn_context", 5, model="", approval_policy=None),
         _codex("event_msg", 10, type="user_message"), _record(50, None),
         _codex("event_msg", 60, type="task_started"), _record(55, ""),
         _codex("response_item", 70, type="message", role="developer"),
         _codex("token_usage_record", 80, response_id="r", usage="x")],
        [_seen("codex", 0),
         ['c1', 'codex', None, 'M', []],
         _seen("codex", 5),
         _seen("codex", 10),
         _codex_request(None, 10, 50),
         _seen("codex", 50),
         _seen("codex", 60),
         _codex_request(None, 55, 55),
         _seen("codex", 55),
         _seen("codex", 70),
         _seen("codex", 80)],
        [],
    ),
    "an older rollout: token_count once per change of the totals, none after records": (
        [_meta(0), _codex("event_msg", 10, type="user_message"), _token_count(30, 100, 100),
         _token_count(35, 100, 100), _token_count(60, 150, 50),
         _codex("event_msg", 65, type="token_count", info=None),
         _codex("event_msg", 66, type="token_count", info={"last_token_usage": {}}),
         _record(90, "r9"), _token_count(95, 300, 150)],
        [_seen("codex", 0),
         _seen("codex", 10),
         ['c1', 'codex', None, 'R', 'codex/transcript', 'unknown', None, 10, 30, False, 100, 1,
          0, 0, 0, 0, None, False],
         _seen("codex", 30),
         _seen("codex", 35),
         ['c1', 'codex', None, 'R', 'codex/transcript', 'unknown', None, 35, 60, False, 50, 1, 0,
          0, 0, 0, None, False],
         _seen("codex", 60),
         _seen("codex", 65),
         _seen("codex", 66),
         _codex_request("response:r9", 66, 90),
         _seen("codex", 90),
         _seen("codex", 95)],
        [],
    ),
    "tool calls: ran, failed, a patch's lines per file, refused by the user and by a rule": (
        [_meta(0),
         _call(10, "t1"), _output(20, "t1", "Process exited with code 1\nls: no such file"),
         _call(30, "t2", "apply_patch", type="custom_tool_call", input=PATCH),
         _output(40, "t2", {"content": "Success. Updated the following files"},
                 "custom_tool_call_output"),
         _call(50, "t3", "apply_patch", arguments=json.dumps({"input": PATCH})),
         _output(60, "t3", '{"output":"Exit code: 1\\nverification failed","metadata":{}}'),
         _call(70, "t4"), _output(80, "t4", "exec command rejected by user"),
         _call(90, "t5"), _output(100, "t5", 'Rejected("not allowed in this test")'),
         _call(110, "t6", "", type="local_shell_call"),
         _output(120, "t6", [{"type": "input_text", "text": "exec_command failed: boom"}]),
         _call(130, "t7", "web_search"), _output(140, "t7", {"success": False, "content": "x"}),
         _output(150, "t8", "apply_patch verification failed: no such file"),
         _call(160, "t9", None), _output(150, "t9", "ok"),
         _call(170, 7), _output(180, 7, "ok")],
        [_seen("codex", 0),
         _seen("codex", 10),
         _ran("codex", "tool_result:t1", "exec_command", 10, 20),
         _seen("codex", 20),
         _seen("codex", 30),
         _ran("codex", "tool_result:t2", "apply_patch", 30, 40),
         ['c1', 'codex', 'tool_result:t2.1', 'L', 2, 0, 'new.txt', 40],
         ['c1', 'codex', 'tool_result:t2.2', 'L', 2, 1, 'old.py', 40],
         _seen("codex", 40),
         _seen("codex", 50),
         _ran("codex", "tool_result:t3", "apply_patch", 50, 60, "failed"),
         _seen("codex", 60),
         _seen("codex", 70),
         _refused("codex", "tool_result:t4", "user", 80),
         _seen("codex", 80),
         _seen("codex", 90),
         _refused("codex", "tool_result:t5", "config", 100),
         _seen("codex", 100),
         _seen("codex", 110),
         _ran("codex", "tool_result:t6", "shell", 110, 120, "failed"),
         _seen("codex", 120),
         _seen("codex", 130),
         _ran("codex", "tool_result:t7", "web_search", 130, 140, "failed"),
         _seen("codex", 140),
         _ran("codex", "tool_result:t8", "unknown", 150, 150, "failed"),
         _seen("codex", 150),
         _seen("codex", 160),
         _ran("codex", "tool_result:t9", "unknown", 150, 150),
         _seen("codex", 150),
         _seen("codex", 170),
         _seen("codex", 180)],
        [],
    ),
    "a request starts at the last tool output; odd metadata is left out": (
        [_meta(0, originator=5, cli_version=""), _codex("turn_context", 5, model=5),
         _call(10, "t1", "apply_patch", arguments=json.dumps({"input": PATCH})),
         _call(11, "t2", "exec", type="custom_tool_call", input=PATCH),
         _output(20, "t1", "Done!"), _output(30, "t2", "ok"), _record(50, "r1"),
         _codex("response_item", 60, type="message", role="developer"), _record(70, "r2")],
        [_seen("codex", 0),
         ['c1', 'codex', None, 'M', []],
         _seen("codex", 5),
         _seen("codex", 10),
         _seen("codex", 11),
         _ran("codex", "tool_result:t1", "apply_patch", 10, 20),
         ['c1', 'codex', 'tool_result:t1.1', 'L', 2, 0, 'new.txt', 20],
         ['c1', 'codex', 'tool_result:t1.2', 'L', 2, 1, 'old.py', 20],
         _seen("codex", 20),
         _ran("codex", "tool_result:t2", "exec", 11, 30),
         _seen("codex", 30),
         _codex_request("response:r1", 30, 50),
         _seen("codex", 50),
         _seen("codex", 60),
         _codex_request("response:r2", 60, 70),
         _seen("codex", 70)],
        [],
    ),
    "what a tool's output says, wherever it says it": (
        [_meta(0), *(row for n, (output, _) in enumerate(OUTPUTS, 1)
                     for row in (_call(n * 10, f"o{n}"), _output(n * 10 + 5, f"o{n}", output)))],
        [_seen("codex", 0),
         *(row for n, (_, verdict) in enumerate(OUTPUTS, 1)
           for row in (_seen("codex", n * 10), _verdict_row(n, verdict),
                       _seen("codex", n * 10 + 5)))],
        [],
    ),
    "a sub-agent's rollout counts in its parent's session; a repeated session_meta is ignored": (
        [_meta(0, "child", source={"subagent": {"thread_spawn": {"parent_thread_id": "p1",
                                                                 "depth": 1}}}),
         _meta(5, "other"), _record(50, "r1")],
        [_seen("codex", 0, "p1"),
         _seen("codex", 5, "p1"),
         _codex_request("response:r1", 50, 50, sid="p1"),
         _seen("codex", 50, "p1")],
        [],
    ),
    "a parent thread that is not an id is no parent": (
        [_meta(0, "c1", source={"parent_thread_id": 123})],
        [_seen("codex", 0)],
        [],
    ),
    "before its session_meta, the id in the file's name": (
        [_record(50, "r1"), _meta(60, "c1")],
        [_codex_request("response:r1", 50, 50, sid="0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000"),
         _seen("codex", 50, "0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000"),
         _seen("codex", 60)],
        [],
    ),
    "lines skipped, each with its reason": (
        [[1], {"type": "hologram"}, {"type": "event_msg", "payload": []},
         {"type": "event_msg", "payload": {}, "timestamp": "now"},
         _codex("session_meta", 0, id=""),
         _codex("session_meta", 0, source={"parent_thread_id": ""}),
         _codex("hologram" * 6, 0),
         _record(50, "r1")],
        [],
        ['not a JSON object',
          "unknown record type 'hologram'",
          'event_msg row without a payload',
          'no timestamp',
          'session_meta without an id',
          'session_meta without an id',
          f"unknown record type {'hologram' * 5!r}",
          'no session_meta'],
    ),
}
# fmt: on


# --- Gemini CLI ------------------------------------------------------------------------------

GEMINI_CHATS = "tmp/proj/chats/session-2026-01-01T00-00-g1.jsonl"


def _start(sid: Any = "g1", **fields: Any) -> dict[str, Any]:
    return {"sessionId": sid, "projectHash": "h", "startTime": at(0), "lastUpdated": at(1),
            "kind": "main"} | fields  # fmt: skip


def _said(ms: int, mid: str = "u") -> dict[str, Any]:
    return {"id": mid, "timestamp": at(ms), "type": "user", "content": [{"text": "go"}]}


def _gemini(ms: int, mid: str | None, *calls: Any, **fields: Any) -> dict[str, Any]:
    tokens = {"input": 300, "output": 40, "cached": 200, "thoughts": 10, "tool": 5}
    return {"id": mid, "timestamp": at(ms), "type": "gemini", "content": "ok", "tokens": tokens,
            "model": "gemini-2.5-pro", "toolCalls": list(calls)} | fields  # fmt: skip


def _tool(call_id: Any, status: str, ms: int | None, name: str = "run_shell_command",
          **fields: Any) -> dict[str, Any]:  # fmt: skip
    stamp = at(ms) if ms is not None else None
    return {"id": call_id, "name": name, "status": status, "timestamp": stamp} | fields


def _refusal(text: str) -> list[dict[str, Any]]:
    return [{"functionResponse": {"id": "x", "response": {"error": text}}}]


def _diff(added: Any, removed: Any, user_added: Any = 0, user_removed: Any = 0, **where: Any
          ) -> dict[str, Any]:  # fmt: skip
    stats = {"model_added_lines": added, "model_removed_lines": removed,
             "user_added_lines": user_added, "user_removed_lines": user_removed}  # fmt: skip
    return {"diffStat": stats, **where}


def _gemini_request(
    mid: str, start: int, end: int, model: str = "gemini-2.5-pro", sid: str = "g1"
) -> list[Any]:
    """The row of a `_gemini` message's request (input with the tool's prompt, output
    with the thoughts).
    """
    return [sid, "gemini-cli", f"message:{mid}", "R", "gemini-cli/transcript", model, "google",
            start, end, False, 305, 50, 200, 0, 10, 0, None, False]  # fmt: skip


def gemini_path(case: str) -> str:
    """A sub-agent's transcript is in a folder named after its parent session."""
    if "sub-agent's transcript" in case:
        return "tmp/proj/chats/parent-1/a1.jsonl"
    return GEMINI_CHATS


# fmt: off
GEMINI_CASES: dict[str, tuple[list[Any], list[list[Any]], list[str]]] = {
    "the session's first row; a request from the prompt; a message written again adds its row": (
        [_start(), _said(10), _gemini(50, "m1", tokens=None), _gemini(60, "m1"),
         {"$set": {"lastUpdated": at(70)}}, _gemini(65, "m1"), {"$rewindTo": "m1"},
         _said(5, "u0"), _gemini(80, "m2", model=None, toolCalls=None)],
        [_seen("gemini-cli", 0),
         _seen("gemini-cli", 1),
         _seen("gemini-cli", 10),
         _seen("gemini-cli", 50),
         _seen("gemini-cli", 60),
         _gemini_request("m1", 10, 60),
         _seen("gemini-cli", 70),
         _seen("gemini-cli", 65),
         _gemini_request("m1", 10, 65),
         _seen("gemini-cli", 5),
         _seen("gemini-cli", 80),
         _gemini_request("m2", 10, 80, "unknown")],
        [],
    ),
    "tool calls: ran with lines, failed, refused by a rule and by the user, not finished": (
        [_start(), _said(10),
         _gemini(50, "m1",
                 _tool("t1", "success", 70, "write_file",
                       resultDisplay=_diff(2, 1, 1, 3, filePath="/w/a.txt", fileName="a.txt")),
                 _tool("t2", "success", 71, "replace",
                       resultDisplay=_diff(True, -4, "3", None, fileName="b.txt")),
                 _tool("t3", "success", 72, "edit", resultDisplay=_diff(1, 0, filePath="")),
                 _tool("t4", "success", 73, resultDisplay="exit code 1"),
                 _tool("t5", "error", 74, resultDisplay="Command failed"),
                 _tool("t6", "error", 75, result=_refusal("Tool execution denied by policy.")),
                 _tool("t7", "error", 76, resultDisplay="Tool execution blocked: hook"),
                 _tool("t8", "cancelled", 77), _tool("t9", "executing", 78),
                 _tool("t10", "success", 20), _tool("t11", "success", None, name=""),
                 _tool(7, "success", 79), "x")],
        [_seen("gemini-cli", 0),
         _seen("gemini-cli", 1),
         _seen("gemini-cli", 10),
         _seen("gemini-cli", 50),
         _gemini_request("m1", 10, 50),
         _ran("gemini-cli", "tool_call:t1", "write_file", 50, 70),
         ['g1', 'gemini-cli', 'tool_call:t1.1', 'L', 3, 4, '/w/a.txt', 70],
         _ran("gemini-cli", "tool_call:t2", "replace", 50, 71),
         ['g1', 'gemini-cli', 'tool_call:t2.1', 'L', 0, 0, 'b.txt', 71],
         _ran("gemini-cli", "tool_call:t3", "edit", 50, 72),
         ['g1', 'gemini-cli', 'tool_call:t3.1', 'L', 1, 0, None, 72],
         _ran("gemini-cli", "tool_call:t4", "run_shell_command", 50, 73),
         _ran("gemini-cli", "tool_call:t5", "run_shell_command", 50, 74, "error"),
         _refused("gemini-cli", "tool_call:t6", "policy", 75),
         _refused("gemini-cli", "tool_call:t7", "policy", 76),
         _refused("gemini-cli", "tool_call:t8", "user", 77),
         _ran("gemini-cli", "tool_call:t10", "run_shell_command", 50, 50),
         _ran("gemini-cli", "tool_call:t11", "unknown", 50, 50)],
        [],
    ),
    "the history rewritten in a $set: its messages read, already seen ids again": (
        [_start(), {"$set": {"messages": [_said(10), _gemini(50, "m1"), {"type": "x"}, 3]}},
         {"$set": {"messages": [_said(10), _gemini(50, "m1"), _said(60, "u2"),
                                _gemini(90, "m2")], "lastUpdated": "later"}}],
        [_seen("gemini-cli", 0),
         _seen("gemini-cli", 1),
         _seen("gemini-cli", 10),
         _seen("gemini-cli", 50),
         _gemini_request("m1", 10, 50),
         _seen("gemini-cli", 10),
         _seen("gemini-cli", 50),
         _gemini_request("m1", 10, 50),
         _seen("gemini-cli", 60),
         _seen("gemini-cli", 90),
         _gemini_request("m2", 60, 90)],
        [],
    ),
    "odd messages: no id, a model that is not a name, answered before its prompt": (
        [_start(), _said(100), _gemini(50, "m1", model=5), _gemini(120, None),
         _said(130, "u2") | {"sessionId": "g1"}, _gemini(140, "m2")],
        [_seen("gemini-cli", 0),
         _seen("gemini-cli", 1),
         _seen("gemini-cli", 100),
         _seen("gemini-cli", 50),
         _gemini_request("m1", 50, 50, "unknown"),
         _seen("gemini-cli", 120),
         _seen("gemini-cli", 130),
         _seen("gemini-cli", 140),
         _gemini_request("m2", 130, 140)],
        [],
    ),
    "refusals wherever the result says them; odd paths left out": (
        [_start(), _said(10),
         _gemini(50, "m1",
                 _tool("r1", "error", 60,
                       result=[*_refusal("x") * 4, *_refusal("denied by policy")]),
                 _tool("r2", "error", 61, result=["x", {"functionResponse": "x"},
                                                   *_refusal("Tool execution denied by policy")]),
                 _tool("r3", "error", 62, result=_refusal("x" * 485 + "denied by policy")),
                 _tool("r4", "success", 63, "edit", resultDisplay=_diff(1, 1, filePath=7)))],
        [_seen("gemini-cli", 0),
         _seen("gemini-cli", 1),
         _seen("gemini-cli", 10),
         _seen("gemini-cli", 50),
         _gemini_request("m1", 10, 50),
         _ran("gemini-cli", "tool_call:r1", "run_shell_command", 50, 60, "error"),
         _refused("gemini-cli", "tool_call:r2", "policy", 61),
         _ran("gemini-cli", "tool_call:r3", "run_shell_command", 50, 62, "error"),
         _ran("gemini-cli", "tool_call:r4", "edit", 50, 63),
         ['g1', 'gemini-cli', 'tool_call:r4.1', 'L', 1, 1, None, 63]],
        [],
    ),
    "a sub-agent's own row in the chats folder keeps its id": (
        [_start("a1", kind="subagent"), _said(10)],
        [_seen("gemini-cli", 0, "a1"),
         _seen("gemini-cli", 1, "a1"),
         _seen("gemini-cli", 10, "a1")],
        [],
    ),
    "a sub-agent's transcript counts in its parent's session": (
        [_start("a1", kind="subagent"), _said(10), _gemini(50, "m1")],
        [_seen("gemini-cli", 0, "parent-1"),
         _seen("gemini-cli", 1, "parent-1"),
         _seen("gemini-cli", 10, "parent-1"),
         _seen("gemini-cli", 50, "parent-1"),
         _gemini_request("m1", 10, 50, sid="parent-1")],
        [],
    ),
    "lines skipped, each with its reason": (
        [[1], {"type": "gemini"}, {"$set": {}}, _start(""), _start(7),
         {"type": "gemini", "id": "m"}, _start(), {"$set": []}, {"type": "hologram"},
         {"type": "x" * 45},
         {"type": "user", "id": "u", "timestamp": "then"}],
        [_seen("gemini-cli", 0),
         _seen("gemini-cli", 1)],
        ['not a JSON object',
          "a message before the session's first row",
          "$set before the session's first row",
          'no sessionId',
          'no sessionId',
          "a message before the session's first row",
          '$set without an object',
          "unknown record type 'hologram'",
          f"unknown record type {'x' * 40!r}",
          'no timestamp'],
    ),
}
# fmt: on


LINE_CASES = {"claude-code": CLAUDE_CASES, "codex": CODEX_CASES, "gemini-cli": GEMINI_CASES}


def _file(fmt: str, case: str) -> str:
    """The file the case's lines are in: a Codex rollout's name holds its session id; a
    Gemini CLI sub-agent's folder is named after its parent session.
    """
    if fmt == "codex":
        return ROLLOUT if "file's name" in case else "x.jsonl"
    return gemini_path(case) if fmt == "gemini-cli" else "x.jsonl"


@pytest.mark.parametrize(
    ("fmt", "case"), [(fmt, case) for fmt, cases in LINE_CASES.items() for case in cases]
)
def test_the_items_of_each_line(fmt: str, case: str) -> None:
    rows, expected, skips = LINE_CASES[fmt][case]
    items, skipped = read(fmt, rows, _file(fmt, case))
    assert items == expected
    assert skipped == skips


# --- where each CLI keeps its transcripts ----------------------------------------------------

_HOMES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME")
CLAUDE_DEFAULT = ["~/.claude/projects", "~/.config/claude/projects"]
# fmt: off
ROOTS = [
    ("claude-code", {"CLAUDE_CONFIG_DIR": "/a,,~/b"}, ["/a/projects", "~/b/projects"]),
    ("claude-code", {"CLAUDE_CONFIG_DIR": "/a, ~/b "}, ["/a/projects", "~/b/projects"]),
    ("claude-code", {"CLAUDE_CONFIG_DIR": " "}, CLAUDE_DEFAULT),
    ("claude-code", {}, CLAUDE_DEFAULT),
    ("codex", {"CODEX_HOME": "~/c"}, ["~/c/sessions"]),
    ("codex", {"CODEX_HOME": " "}, ["~/.codex/sessions"]),
    ("codex", {}, ["~/.codex/sessions"]),
    ("gemini-cli", {"GEMINI_CLI_HOME": "/g"}, ["/g/.gemini/tmp"]),
    ("gemini-cli", {"GEMINI_CLI_HOME": ""}, ["~/.gemini/tmp"]),
    ("gemini-cli", {}, ["~/.gemini/tmp"]),
]
# fmt: on


@pytest.mark.parametrize(("fmt", "env", "expected"), ROOTS)
def test_default_roots(
    fmt: str,
    env: dict[str, str],
    expected: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in _HOMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    roots = formats()[fmt].default_roots()
    assert roots == [Path(p.replace("~", str(tmp_path))) for p in expected]


TREES = {
    "claude-code": (
        ["p/s.jsonl", "p/s/subagents/agent-a.jsonl", "p/notes.txt", "p/b.jsonl", "q.jsonl"],
        ["q.jsonl", "p/b.jsonl", "p/s.jsonl", "p/s/subagents/agent-a.jsonl"],
        [".", "p", "p", "p"],
    ),
    "codex": (
        ["2026/01/01/rollout-x.jsonl", "2026/01/01/other.jsonl", "2026/01/02/rollout-y.json",
         "2026/01/02/rollout-z.jsonl"],
        ["2026/01/01/rollout-x.jsonl", "2026/01/02/rollout-z.jsonl"],
        ["2026/01/01", "2026/01/02"],
    ),
    "gemini-cli": (
        ["p/chats/session-a.jsonl", "p/chats/parent/a1.jsonl", "p/chats/session-b.json",
         "p/logs.jsonl", "p/chats/x/y/deep.jsonl", "chats/top.jsonl"],
        ["chats/top.jsonl", "p/chats/session-a.jsonl", "p/chats/parent/a1.jsonl"],
        ["chats", "p/chats", "p/chats"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("fmt", list(TREES))
def test_the_files_read_and_their_groups(fmt: str, tmp_path: Path) -> None:
    made, found, groups = TREES[fmt]
    for name in made:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    reader = formats()[fmt]
    files = list(reader.files(tmp_path))

    assert files == [str(tmp_path / name) for name in found]
    assert [reader.group(f) for f in files] == [str(tmp_path / g) for g in groups]
    assert list(reader.files(tmp_path / found[0])) == [str(tmp_path / found[0])]


CLAUDE_BOOKKEEPING = ["summary", "attachment", "queue-operation", "system",
                      "file-history-snapshot", "last-prompt", "cost-state", "tools-used",
                      "api-request-shape", "api-request-blob", "atis-latch", "progress",
                      "custom-title", "tag"]  # fmt: skip


def test_claude_code_bookkeeping_rows_are_ignored_unparsed() -> None:
    reader = formats()["claude-code"]
    assert reader.skip_prefixes == tuple(
        sorted(b'{"type":"%s"' % kind.encode() for kind in CLAUDE_BOOKKEEPING)
    )
    rows = [_claude(kind, 10) for kind in CLAUDE_BOOKKEEPING]
    assert read("claude-code", rows) == ([], [])


def test_what_each_format_is() -> None:
    found = {name: (f.name, f.lines_known, f.skip_prefixes[:0]) for name, f in formats().items()}
    assert found == {n: (n, True, ()) for n in ("claude-code", "codex", "gemini-cli")}
    assert formats()["codex"].skip_prefixes == formats()["gemini-cli"].skip_prefixes == ()


# --- sub-agents' files, imported: one session ------------------------------------------------


def _lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


SUBAGENT_FILES = {
    "claude-code": {
        "p/s1.jsonl": [_claude("api-request", 0), _answer(100, "r1")],
        "p/s1/subagents/agent-a.jsonl": [
            _claude("api-request", 200, isSidechain=True),
            _answer(300, "r2", isSidechain=True, model="claude-haiku-4-5"),
        ],
    },
    "codex": {
        f"2026/01/01/{ROLLOUT}": [_meta(0, "c1"), _record(100, "r1")],
        "2026/01/01/rollout-2026-01-01T00-00-01-0199aaaa-bbbb-7ccc-8ddd-eeeeffff0001.jsonl": [
            _meta(150, "child", source={"subagent": {"thread_spawn": {"parent_thread_id": "c1"}}}),
            _codex("event_msg", 200, type="user_message"),
            _record(300, "r2"),
        ],
    },
    "gemini-cli": {
        "p/chats/session-2026-01-01T00-00-g1.jsonl": [_start(), _said(0), _gemini(100, "m1")],
        "p/chats/g1/a1.jsonl": [_start("a1", kind="subagent"), _said(200), _gemini(300, "m2")],
    },
}


@pytest.mark.parametrize("fmt", list(SUBAGENT_FILES))
def test_a_sub_agent_s_file_counts_in_its_parent_s_session(fmt: str, tmp_path: Path) -> None:
    for name, rows in SUBAGENT_FILES[fmt].items():
        (tmp_path / "root" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "root" / name).write_text(_lines(rows))
    records = _import(tmp_path / "ws", tmp_path / "root", formats()[fmt])

    (record,) = records.values()
    assert record.id == SID[fmt]
    assert record.requests == 2
    assert record.api_time_s == pytest.approx(0.1 if fmt == "codex" else 0.2, abs=1e-9)
    assert record.wall_time_s == pytest.approx(0.3, abs=1e-9)
