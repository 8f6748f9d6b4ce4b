"""`rad import claude-code`: the real Claude Code's transcript of the scripted task, read into
the session the stub served; ccusage, run on the same transcript, as the oracle for tokens;
incremental and idempotent; bad lines counted; one session with what `rad collect` saw live.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from radium_otel._internal.pricing import CostHook
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.sources.collector import Collector
from radium_otel.sources.importer import Importer, ImportSummary
from radium_otel.sources.receiver import Receiver
from radium_otel.sources.serve import journal_dir
from radium_otel.sources.transcripts.claude_code import FORMAT

from .clis import BIN, TASK, CliRun, available, run_claude, standard_script
from .collecting import Clock

CCUSAGE = BIN / "ccusage"


@dataclass(repr=False)
class Ran:
    run: CliRun
    projects: Path  # the transcripts' folder (<config>/projects)
    live_workspace: Path  # where `rad collect` stored the same run, live
    collected: SessionRecord


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    if not available("claude"):
        if os.environ.get("CI") == "true":
            pytest.fail("claude is not installed: scripts/bootstrap.sh --tests installs it")
        pytest.skip("claude is not installed (scripts/bootstrap.sh --tests)")
    tmp = tmp_path_factory.mktemp("claude-import")
    clock = Clock()
    live = tmp / "live"
    store = SessionStore(sessions_dir(live))
    collector = Collector(store, journal_dir(live), idle_timeout_s=60, clock=clock,
                          finish=CostHook(live).session_ended)  # fmt: skip
    receiver = Receiver(collector, http_port=0, grpc_port=None)
    receiver.start()
    try:
        workdir = tmp / "work"
        endpoint = f"http://127.0.0.1:{receiver.http_port}"
        run = run_claude(TASK, standard_script("claude", workdir), endpoint, "http/protobuf",
                         workdir, timeout_s=90)  # fmt: skip
        assert run.returncode == 0 and run.played_out, run.describe()
    finally:
        receiver.stop()
    clock.now += 60
    collector.tick()
    (collected,) = (store.read(p) for p in store.paths())
    projects = run.home / ".claude" / "projects"
    assert run.transcripts and all(projects in t.parents for t in run.transcripts)
    yield Ran(run, projects, live, collected)


def _import(workspace: Path, root: Path) -> tuple[ImportSummary, dict[str, SessionRecord]]:
    summary = Importer(workspace, FORMAT, active_after_s=0).run([root])
    store = SessionStore(sessions_dir(workspace))
    return summary, {r.id: r for r in (store.read(p) for p in store.paths())}


_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")


def _tokens(record: SessionRecord) -> dict[str, tuple[int, ...]]:
    return {m.model: (m.requests, *(getattr(m, f) for f in _FIELDS)) for m in record.model_usage}


def _served(run: CliRun) -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for s in run.turns:
        assert s.usage is not None and s.model is not None
        row = out.setdefault(s.model, [0] * 5)
        counts = (1, s.usage.prompt_tokens, s.usage.output_tokens, s.usage.cache_read_tokens,
                  s.usage.cache_creation_tokens)  # fmt: skip
        for i, n in enumerate(counts):
            row[i] += n
    return {m: tuple(r) for m, r in out.items()}


def test_the_transcript_makes_the_session_the_stub_served(ran: Ran, tmp_path: Path) -> None:
    summary, records = _import(tmp_path, ran.projects)

    (record,) = records.values()
    assert record.id == ran.run.session_id
    assert record.status == "completed"
    assert record.metadata["received_by"] == "rad import"
    assert _tokens(record) == _served(ran.run)
    tools = {n: (t.calls, t.successes, t.failures) for n, t in record.tools.items()}
    assert tools == {"Bash": (2, 1, 1), "Write": (1, 1, 0)}  # the refused touch never ran
    assert record.decisions == {"reject": 1}
    assert record.decision_sources == {"reject": {"config": 1}}
    assert record.code_changes is not None
    assert record.code_changes["files"] == [
        {"path": str(ran.run.workdir / "notes.txt"), "added": 2, "removed": 0,
         "binary": False, "renamed_from": None}
    ]  # fmt: skip
    assert record.cost_usd is not None and record.cost_usd > 0
    assert 0 < record.api_time_s <= record.agent_active_time_s <= record.wall_time_s
    assert (summary.sessions_new, summary.sessions_updated, summary.files_read) == (1, 0, 1)
    assert summary.problems == []


def test_ccusage_reads_the_same_tokens(ran: Ran, tmp_path: Path) -> None:
    if not CCUSAGE.exists():
        pytest.fail("ccusage is not installed: scripts/bootstrap.sh --tests installs it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE")}
    env["CLAUDE_CONFIG_DIR"] = str(ran.projects.parent)
    out = subprocess.run([str(CCUSAGE), "claude", "session", "--json", "--offline"], env=env,
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    (peer,) = json.loads(out.stdout)["sessions"]
    _, records = _import(tmp_path, ran.projects)
    ours = records[peer["sessionId"]]

    # ccusage's input leaves out cache reads and writes; ours includes them.
    assert ours.input_tokens == (
        peer["inputTokens"] + peer["cacheReadTokens"] + peer["cacheCreationTokens"]
    )
    assert ours.output_tokens == peer["outputTokens"]
    assert ours.cache_stats.cache_read_tokens == peer["cacheReadTokens"]
    assert ours.cache_stats.cache_creation_tokens == peer["cacheCreationTokens"]
    assert ours.cost_usd == pytest.approx(peer["totalCost"])


def test_a_second_import_with_nothing_new_adds_nothing(ran: Ran, tmp_path: Path) -> None:
    _, first = _import(tmp_path, ran.projects)
    summary, second = _import(tmp_path, ran.projects)

    assert (summary.files, summary.files_read, summary.lines) == (1, 0, 0)
    assert (summary.sessions_new, summary.sessions_updated) == (0, 0)
    assert second == first


def test_a_growing_transcript_is_read_from_where_it_stopped(ran: Ran, tmp_path: Path) -> None:
    (source,) = ran.run.transcripts
    lines = source.read_bytes().splitlines(keepends=True)
    grown = tmp_path / "projects" / "p" / source.name
    grown.parent.mkdir(parents=True)
    third = len(lines) // 3
    grown.write_bytes(b"".join(lines[:third]) + lines[third][:7])  # a line mid-write
    summary, _ = _import(tmp_path / "ws", tmp_path / "projects")
    assert summary.skipped == {"incomplete last line (still being written)": 1}
    with grown.open("ab") as f:
        f.write(lines[third][7:] + b"".join(lines[third + 1 : 2 * third]))
    _import(tmp_path / "ws", tmp_path / "projects")
    with grown.open("ab") as f:
        f.write(b"".join(lines[2 * third :]))
    summary, grown_records = _import(tmp_path / "ws", tmp_path / "projects")
    _, whole = _import(tmp_path / "whole", ran.projects)

    assert summary.lines == len(lines) - 2 * third  # only the new lines were read
    (grew,) = grown_records.values()
    (once,) = whole.values()
    assert _tokens(grew) == _tokens(once)
    assert (grew.tools, grew.decisions, grew.code_changes) == (
        once.tools, once.decisions, once.code_changes)  # fmt: skip
    assert grew.api_time_s == once.api_time_s
    assert grew.tool_time_s == once.tool_time_s


def test_a_rewritten_transcript_is_read_again_and_counts_once(ran: Ran, tmp_path: Path) -> None:
    (source,) = ran.run.transcripts
    copy = tmp_path / "projects" / "p" / source.name
    copy.parent.mkdir(parents=True)
    shutil.copy(source, copy)
    _, first = _import(tmp_path / "ws", tmp_path / "projects")
    copy.unlink()
    copy.write_bytes(b'{"type": "summary", "summary": "x"}\n' + source.read_bytes())
    summary, again = _import(tmp_path / "ws", tmp_path / "projects")

    assert summary.files_read == 1
    assert _tokens(next(iter(again.values()))) == _tokens(next(iter(first.values())))


def test_bad_lines_are_counted_and_the_rest_is_read(ran: Ran, tmp_path: Path) -> None:
    (source,) = ran.run.transcripts
    folder = tmp_path / "projects" / "p"
    folder.mkdir(parents=True)
    lines = source.read_bytes().splitlines(keepends=True)
    (folder / source.name).write_bytes(
        b"not json at all\n" + lines[0] + b'{"type": "hologram", "sessionId": "x"}\n'
        + b"[1, 2]\n" + b"".join(lines[1:])
    )  # fmt: skip
    (folder / "loop-a.jsonl").symlink_to(folder / "loop-b.jsonl")
    (folder / "loop-b.jsonl").symlink_to(folder / "loop-a.jsonl")
    before = _tree_digest(tmp_path / "projects")
    summary, records = _import(tmp_path / "ws", tmp_path / "projects")

    assert summary.skipped == {
        "not JSON": 1,
        "unknown record type 'hologram'": 1,
        "not a JSON object": 1,
    }
    assert sorted(reason for _, reason in summary.problems) == ["symlink loop", "symlink loop"]
    (record,) = records.values()
    assert record.requests == 5
    assert _tree_digest(tmp_path / "projects") == before  # transcripts only ever read


def test_collected_live_then_imported_is_one_session(ran: Ran, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ran.live_workspace, workspace)  # what `rad collect` kept of the run
    summary, records = _import(workspace, ran.projects)
    _, alone = _import(tmp_path / "alone", ran.projects)

    (both,) = records.values()
    (imported,) = alone.values()
    live = ran.collected
    assert both.id == imported.id == live.id == ran.run.session_id
    assert summary.sessions_updated == 1
    # Where they overlap, equal to either alone: each request and tool call counted once.
    assert _tokens(both) == _tokens(imported) == _tokens(live)
    assert {n: t.calls for n, t in both.tools.items()} == {"Bash": 2, "Write": 1}
    # What only one of them knows, kept: the accepts (telemetry), the files (transcript),
    # Claude Code's own cost (telemetry).
    assert both.decisions == live.decisions == {"auto_accept": 3, "reject": 1}
    assert both.code_changes is not None and imported.code_changes is not None
    assert both.code_changes["files"] == imported.code_changes["files"]
    assert both.reported_cost_usd == live.reported_cost_usd


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        h.update(str(path).encode())
        if path.is_file() and not path.is_symlink():
            h.update(path.read_bytes())
    return h.hexdigest()


def test_rad_import_command_line(ran: Ran, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADIUM_", "CLAUDE"))}
    env.update(RADIUM_WORKSPACE=str(tmp_path), NO_COLOR="1")
    rad = [sys.executable, "-m", "radium_otel"]
    out = subprocess.run([*rad, "import", "claude-code", str(ran.projects), "--json"],
                         env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(out.stdout)["sessions_new"] == 1
    again = subprocess.run([*rad, "import", "claude-code", str(ran.projects)], env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert again.stdout.startswith("claude-code: 1 files (0 with new lines), 0 sessions new")
    bad = subprocess.run([*rad, "import"], env=env, capture_output=True, text=True)
    assert (bad.returncode, bad.stderr.strip()) == (
        2, "rad: error: name a CLI (claude-code, codex, gemini-cli) or give --all")  # fmt: skip
    missing = subprocess.run([*rad, "import", "claude-code", str(tmp_path / "nope")], env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"rad: error: no such file or folder: {tmp_path / 'nope'}"


def test_an_active_session_is_closed_once_its_transcript_went_quiet(
    ran: Ran, tmp_path: Path
) -> None:
    (source,) = ran.run.transcripts
    copy = tmp_path / "projects" / "p" / source.name
    copy.parent.mkdir(parents=True)
    shutil.copy(source, copy)
    workspace = tmp_path / "ws"
    summary = Importer(workspace, FORMAT, active_after_s=3600).run([tmp_path / "projects"])
    assert summary.sessions_active == 1  # written a moment ago: still being written
    store = SessionStore(sessions_dir(workspace))
    assert [store.read(p).status for p in store.paths()] == ["active"]
    old = time.time() - 7200
    os.utime(copy, (old, old))  # two hours later, nothing new was written to it

    again = Importer(workspace, FORMAT, active_after_s=3600).run([tmp_path / "projects"])

    assert (again.files_read, again.sessions_active) == (0, 0)  # nothing new: closed anyway
    (record,) = (store.read(p) for p in store.paths())
    assert record.status == "completed"
    assert record.cost_usd is not None
