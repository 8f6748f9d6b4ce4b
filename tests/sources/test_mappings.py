"""Each coding CLI's telemetry, as the real CLI exported it for the scripted task
(tests/sources/captures, made by `clis.save_captures`), becomes the session the stub served:
every figure the source gives, exactly; what it cannot give null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from radium_otel._internal.record import ModelUsage, SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel.sources.collector import Collector
from radium_otel.sources.events import from_row

from .collecting import Clock

CAPTURES = Path(__file__).parent / "captures"
_REQUESTS: dict[str, type[Message]] = {
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "traces": ExportTraceServiceRequest,
}
PATCH = """*** Begin Patch
*** Add File: notes.txt
+first line
+second line
*** End Patch
"""


def capture(cli: str, signal: str) -> Any:
    """A captured export request, decoded."""
    data = json.loads((CAPTURES / f"{cli}-{signal}.json").read_text())
    if cli == "codex" and signal == "logs":
        _put_patch(data)
    return json_format.ParseDict(data, _REQUESTS[signal]())


def _put_patch(data: dict[str, Any]) -> None:
    """The capture's apply_patch arguments were redacted: put a known patch back."""
    for rl in data["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for record in sl["logRecords"]:
                attrs = {a["key"]: a for a in record.get("attributes", [])}
                if attrs.get("tool_name", {}).get("value", {}).get("stringValue") == "apply_patch":
                    if "arguments" in attrs:
                        attrs["arguments"]["value"] = {"stringValue": PATCH}


def collect(tmp_path: Path, cli: str, signals: tuple[str, ...]) -> tuple[SessionRecord, Collector]:
    """The one session the captured signals make, once it went quiet."""
    clock = Clock()
    store = SessionStore(tmp_path / "sessions")
    collector = Collector(store, tmp_path / "journal", idle_timeout_s=60, clock=clock)
    for signal in signals:
        outcome = collector.ingest(signal, capture(cli, signal))
        assert outcome.rejected == 0, outcome
    collector.tick()
    clock.now += 60
    collector.tick()
    records = [store.read(p) for p in store.paths()]
    assert len(records) == 1, records
    return records[0], collector


def _models(record: SessionRecord) -> dict[str, tuple[int, ...]]:
    return {m.model: _counts(m) for m in record.model_usage}


def _counts(m: ModelUsage) -> tuple[int, ...]:
    fields = ("requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens",
              "cache_creation_tokens", "reasoning_tokens")  # fmt: skip
    return tuple(getattr(m, f) for f in fields)


def _tools(record: SessionRecord) -> dict[str, tuple[int, int, dict[str, int]]]:
    return {n: (t.successes, t.failures, t.error_types) for n, t in record.tools.items()}


def test_claude_code(tmp_path: Path) -> None:
    record, _ = collect(tmp_path, "claude", ("logs", "metrics", "traces"))

    assert record.id == "fa8e3479-8b77-4d3a-bccb-419c430e6f7f"  # Claude Code's session.id
    assert record.status == "completed"
    assert record.metadata["source"] == "claude-code"
    # Five requests; Claude Code reports input without the cache: normalised, it includes it.
    assert _models(record) == {
        "claude-sonnet-4-5": (5, 0, 21_000, 280, 14_600, 400, 0),
    }
    assert record.model_usage[0].provider == "anthropic"
    assert record.reported_cost_usd == pytest.approx(0.005475 * 2 + 0.00558 + 0.00606 + 0.00549)
    assert _tools(record) == {"Bash": (1, 1, {"ShellError": 1}), "Write": (1, 0, {})}
    # Accepted by the allow-list (source config): auto_accept; the touch refused by rule.
    assert record.decisions == {"auto_accept": 3, "reject": 1}
    assert record.decision_sources == {"auto_accept": {"config": 3}, "reject": {"config": 1}}
    assert record.code_changes is not None
    assert (record.code_changes["lines_added"], record.code_changes["lines_removed"]) == (3, 0)
    assert record.code_changes["files_changed"] is None  # (Claude Code's metric names no file)
    # API time: the union of the five requests' durations (117+20+31+67+58 ms, disjoint).
    assert record.api_time_s == pytest.approx(0.293)
    # Tool time: the tools' 47+7+11 ms less the 14 ms the first Bash call ran while its
    # request still streamed (Claude Code runs a tool as soon as its block is complete).
    assert record.tool_time_s == pytest.approx(0.051)
    # Wall: from the prompt (54.724) to the last request's end (55.182).
    assert record.wall_time_s == pytest.approx(0.458)


def test_codex(tmp_path: Path) -> None:
    record, _ = collect(tmp_path, "codex", ("logs", "metrics", "traces"))

    assert record.id == "01a238ba-7d7a-7991-8b0a-12e594a4e3bd"  # conversation.id
    assert record.metadata["source"] == "codex"
    assert record.metadata["codex.approval_policy"] == "never"
    # Input includes the cache (as OpenAI's does); each completion counted once.
    assert _models(record) == {"gpt-5.5": (5, 0, 20_600, 280, 14_600, 0, 35)}
    assert record.reported_cost_usd is None  # Codex reports no cost
    assert _tools(record) == {"apply_patch": (1, 0, {}), "exec_command": (2, 1, {"failed": 1})}
    assert record.decisions == {"auto_accept": 3}
    assert record.decision_sources == {"auto_accept": {"config": 3}}
    assert record.code_changes is not None
    assert record.code_changes["lines_added"] == 2
    assert record.code_changes["files"] == [
        {"path": "notes.txt", "added": 2, "removed": 0, "binary": False, "renamed_from": None}
    ]
    # A request lasts from its send (api_request's start) to its completion.
    assert 0 < record.api_time_s < record.wall_time_s


def test_codex_session_ends_with_its_session_loop(tmp_path: Path) -> None:
    clock = Clock()
    store = SessionStore(tmp_path / "sessions")
    collector = Collector(store, tmp_path / "journal", idle_timeout_s=3600, clock=clock)
    collector.ingest("logs", capture("codex", "logs"))
    collector.tick()
    assert [store.read(p).status for p in store.paths()] == ["active"]
    collector.ingest("traces", capture("codex", "traces"))
    collector.tick()  # (no idle timeout passed)
    assert [store.read(p).status for p in store.paths()] == ["completed"]


def test_gemini_cli(tmp_path: Path) -> None:
    record, _ = collect(tmp_path, "gemini", ("logs", "metrics", "traces"))

    assert record.id == "ab313117-6cb0-4577-88d5-3a10262d4c90"
    assert record.metadata["source"] == "gemini-cli"
    # The router's request counts too (it is billed); output includes the thoughts.
    assert _models(record) == {
        "gemini-3.5-flash-lite": (1, 0, 50, 5, 0, 0, 0),
        "gemini-3.8-flash": (5, 0, 20_600, 280, 14_600, 0, 35),
    }
    assert _tools(record) == {"run_shell_command": (2, 0, {}), "write_file": (1, 0, {})}
    # The touch a policy rule refused is a decision, not a failed tool call.
    assert record.decisions == {"accept": 3, "reject": 1}
    assert record.decision_sources == {"reject": {"policy": 1}}
    assert record.code_changes is not None
    assert (record.code_changes["lines_added"], record.code_changes["lines_removed"]) == (2, 0)
    assert record.reported_cost_usd is None


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_a_batch_sent_twice_counts_once(tmp_path: Path, cli: str) -> None:
    once, _ = collect(tmp_path / "once", cli, ("logs", "metrics", "traces"))
    twice, collector = collect(tmp_path / "twice", cli, ("logs", "logs", "metrics", "metrics"))

    assert _models(twice) == _models(once)
    assert _tools(twice) == _tools(once)
    assert twice.decisions == once.decisions
    assert twice.code_changes == once.code_changes
    assert collector.duplicates > 0


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_the_journal_holds_no_content(tmp_path: Path, cli: str) -> None:
    collect(tmp_path, cli, ("logs", "metrics", "traces"))
    text = "".join(p.read_text() for p in (tmp_path / "journal").glob("*.jsonl"))
    rows = [json.loads(line) for line in text.splitlines()]

    assert [from_row(r) for r in rows if r[0] != "#" and r != ["C"]]  # (all rows readable)
    for secret in ("<redacted>", "first line", "user.id", "user.email", "prompt"):
        assert secret not in text


def test_a_session_resumed_after_its_journal_expired_is_stored_beside_it(tmp_path: Path) -> None:
    clock = Clock()
    store = SessionStore(tmp_path / "sessions")
    collector = Collector(store, tmp_path / "journal", idle_timeout_s=60, clock=clock)
    collector.ingest("logs", capture("claude", "logs"))
    clock.now += 60
    collector.tick()  # closed and stored
    (first,) = [store.read(p) for p in store.paths()]
    for path in (tmp_path / "journal").glob("*.jsonl"):
        path.unlink()  # (what RETENTION_S does to a journal untouched for days)

    collector.ingest("logs", capture("claude", "logs"))  # the CLI resumed it
    clock.now += 60
    collector.tick()

    records = {r.id: r for r in (store.read(p) for p in store.paths())}
    assert set(records) == {first.id, f"{first.id}-2"}
    assert records[first.id].to_json() == first.to_json()  # never overwritten
    assert records[f"{first.id}-2"].metadata["continues_session_id"] == first.id
    assert records[f"{first.id}-2"].requests == first.requests
