"""`rad import codex` and `rad import gemini-cli`: the real CLIs' transcripts of the scripted
task, read into the session the stub served; ccusage, run on the same Codex rollout, as the
oracle for its tokens; incremental and idempotent; bad lines counted; one session with what
`rad collect` saw live of the same run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
from radium_otel.sources.transcripts import Format, formats

from .clis import BIN, TASK, Cli, CliRun, Protocol, available, run_cli, standard_script
from .collecting import Clock

CCUSAGE = BIN / "ccusage"
PROTOCOL: dict[str, Protocol] = {"codex": "http/protobuf", "gemini": "http/json"}
FORMAT_OF: dict[str, Format] = {"codex": formats()["codex"], "gemini": formats()["gemini-cli"]}


@dataclass(repr=False)
class Ran:
    cli: Cli
    run: CliRun
    root: Path  # the folder `rad import` reads (<home>/sessions, ~/.gemini/tmp)
    live_workspace: Path  # where `rad collect` stored the same run, live
    collected: SessionRecord

    @property
    def format(self) -> Format:
        return FORMAT_OF[self.cli]

    @property
    def transcript(self) -> Path:
        (only,) = self.run.transcripts
        return only

    def copy_root(self, tmp_path: Path) -> Path:
        """A folder shaped like ``root`` to put an edited copy of the transcript in."""
        folder = tmp_path / "root" / self.transcript.parent.relative_to(self.root)
        folder.mkdir(parents=True)
        return folder


def _run(cli: Cli, tmp: Path) -> Ran:
    if not available(cli):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{cli} is not installed: scripts/bootstrap.sh --tests installs it")
        pytest.skip(f"{cli} is not installed (scripts/bootstrap.sh --tests)")
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
        run = run_cli(cli, TASK, standard_script(cli, workdir), endpoint, PROTOCOL[cli], workdir,
                      timeout_s=90)  # fmt: skip
        assert run.returncode == 0 and run.played_out, run.describe()
    finally:
        receiver.stop()
    clock.now += 60
    collector.tick()
    (collected,) = (store.read(p) for p in store.paths())
    root = run.home / (".codex/sessions" if cli == "codex" else ".gemini/tmp")
    assert len(run.transcripts) == 1 and root in run.transcripts[0].parents
    return Ran(cli, run, root, live, collected)


@pytest.fixture(scope="module")
def codex(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    return _run("codex", tmp_path_factory.mktemp("codex-import"))


@pytest.fixture(scope="module")
def gemini(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    return _run("gemini", tmp_path_factory.mktemp("gemini-import"))


@pytest.fixture(params=["codex", "gemini"])
def ran(request: pytest.FixtureRequest) -> Iterator[Ran]:
    yield request.getfixturevalue(request.param)


def _import(
    workspace: Path, root: Path, fmt: Format
) -> tuple[ImportSummary, dict[str, SessionRecord]]:
    summary = Importer(workspace, fmt, active_after_s=0).run([root])
    store = SessionStore(sessions_dir(workspace))
    return summary, {r.id: r for r in (store.read(p) for p in store.paths())}


_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
           "reasoning_tokens")  # fmt: skip


def _tokens(record: SessionRecord) -> dict[str, tuple[int, ...]]:
    return {m.model: (m.requests, *(getattr(m, f) for f in _FIELDS)) for m in record.model_usage}


def _served(run: CliRun) -> dict[str, tuple[int, ...]]:
    """What the stub served the script's turns, normalised (input with the cache)."""
    out: dict[str, list[int]] = {}
    for s in run.turns:
        assert s.usage is not None and s.model is not None
        row = out.setdefault(s.model, [0] * 6)
        u = s.usage
        counts = (1, u.prompt_tokens, u.output_tokens, u.cache_read_tokens,
                  u.cache_creation_tokens, u.reasoning_tokens)  # fmt: skip
        for i, n in enumerate(counts):
            row[i] += n
    return {m: tuple(r) for m, r in out.items()}


def _notes(ran: Ran) -> str:
    """notes.txt as each CLI names it: Codex's patch names it relative to the workdir."""
    return "notes.txt" if ran.cli == "codex" else str(ran.run.workdir / "notes.txt")


EXPECTED_TOOLS = {
    "codex": {"exec_command": (2, 2, 0), "apply_patch": (1, 1, 0)},
    "gemini": {"run_shell_command": (2, 2, 0), "write_file": (1, 1, 0)},
}
# The refused touch: Codex's rollout says a rule rejected it; Gemini's that a policy denied it.
EXPECTED_REFUSAL = {"codex": "config", "gemini": "policy"}


def test_the_transcript_makes_the_session_the_stub_served(ran: Ran, tmp_path: Path) -> None:
    summary, records = _import(tmp_path, ran.root, ran.format)

    (record,) = records.values()
    assert record.id == ran.run.session_id
    assert record.status == "completed"
    assert record.metadata["received_by"] == "rad import"
    assert record.metadata["source"] == ran.format.name
    # Every turn the stub served, tokens normalised; Gemini CLI's router request is not in
    # its transcript (the stub served it as an "auxiliary" request).
    assert _tokens(record) == _served(ran.run)
    tools = {n: (t.calls, t.successes, t.failures) for n, t in record.tools.items()}
    # The failing ls counts as a call that ran (as both CLIs' telemetry reports it); the
    # refused touch never ran: a reject.
    assert tools == EXPECTED_TOOLS[ran.cli]
    assert record.decisions == {"reject": 1}
    assert record.decision_sources == {"reject": {EXPECTED_REFUSAL[ran.cli]: 1}}
    assert record.code_changes is not None
    assert record.code_changes["measured_by"] == ran.format.name
    assert record.code_changes["files"] == [
        {"path": _notes(ran), "added": 2, "removed": 0, "binary": False, "renamed_from": None}
    ]
    assert record.cost_usd is not None and record.cost_usd > 0
    assert 0 < record.api_time_s <= record.agent_active_time_s <= record.wall_time_s
    assert record.tool_time_s > 0
    assert record.wall_time_s <= ran.run.finished - ran.run.started
    assert (summary.sessions_new, summary.sessions_updated, summary.files_read) == (1, 0, 1)
    assert summary.skipped == {} and summary.problems == []


def _ccusage(codex_home: Path) -> dict[str, object]:
    if not CCUSAGE.exists():
        pytest.fail("ccusage is not installed: scripts/bootstrap.sh --tests installs it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX")}
    env["CODEX_HOME"] = str(codex_home)
    out = subprocess.run([str(CCUSAGE), "codex", "session", "--json", "--offline"], env=env,
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    (peer,) = json.loads(out.stdout)["sessions"]
    assert isinstance(peer, dict)
    return peer


def _assert_same_tokens(ours: SessionRecord, peer: dict[str, object]) -> None:
    # ccusage's input leaves out the cache reads and writes; ours includes them.
    assert ours.input_tokens == (
        peer["inputTokens"] + peer["cacheReadTokens"] + peer["cacheCreationTokens"]  # type: ignore[operator]
    )
    assert ours.output_tokens == peer["outputTokens"]
    assert sum(m.reasoning_tokens for m in ours.model_usage) == peer["reasoningOutputTokens"]
    assert ours.cache_stats.cache_read_tokens == peer["cacheReadTokens"]
    assert ours.cache_stats.cache_creation_tokens == peer["cacheCreationTokens"]
    assert ours.cost_usd == pytest.approx(peer["costUSD"])


def test_ccusage_reads_the_same_codex_tokens(codex: Ran, tmp_path: Path) -> None:
    peer = _ccusage(codex.root.parent)
    _, records = _import(tmp_path, codex.root, codex.format)

    assert str(peer["sessionFile"]).endswith(str(codex.run.session_id))
    _assert_same_tokens(records[str(codex.run.session_id)], peer)


def test_an_older_codex_rollout_counts_token_count_events_once(codex: Ran, tmp_path: Path) -> None:
    # Codex before token_usage_record: only token_count events, the cumulative totals and the
    # last request's; Codex writes one again with the same totals (new rate limits): once.
    home = tmp_path / "codex-home"
    folder = home / "sessions" / codex.transcript.parent.relative_to(codex.root)
    folder.mkdir(parents=True)
    rows = []
    for line in codex.transcript.read_text().splitlines():
        row = json.loads(line)
        if row["type"] == "token_usage_record":
            continue
        rows.append(line)
        if row["type"] == "event_msg" and row["payload"]["type"] == "token_count":
            rows.append(line)  # the same totals again
    (folder / codex.transcript.name).write_text("\n".join(rows) + "\n")
    _, records = _import(tmp_path / "ws", home / "sessions", codex.format)
    _, current = _import(tmp_path / "current", codex.root, codex.format)

    (record,) = records.values()
    assert _tokens(record) == _tokens(current[record.id]) == _served(codex.run)
    _assert_same_tokens(record, _ccusage(home))


def test_a_second_import_with_nothing_new_adds_nothing(ran: Ran, tmp_path: Path) -> None:
    _, first = _import(tmp_path, ran.root, ran.format)
    summary, second = _import(tmp_path, ran.root, ran.format)

    assert (summary.files, summary.files_read, summary.lines) == (1, 0, 0)
    assert (summary.sessions_new, summary.sessions_updated) == (0, 0)
    assert second == first


def test_a_growing_transcript_is_read_from_where_it_stopped(ran: Ran, tmp_path: Path) -> None:
    lines = ran.transcript.read_bytes().splitlines(keepends=True)
    grown = ran.copy_root(tmp_path) / ran.transcript.name
    third = len(lines) // 3
    grown.write_bytes(b"".join(lines[:third]) + lines[third][:7])  # a line mid-write
    summary, _ = _import(tmp_path / "ws", tmp_path / "root", ran.format)
    assert summary.skipped == {"incomplete last line (still being written)": 1}
    with grown.open("ab") as f:
        f.write(lines[third][7:] + b"".join(lines[third + 1 : 2 * third]))
    _import(tmp_path / "ws", tmp_path / "root", ran.format)
    with grown.open("ab") as f:
        f.write(b"".join(lines[2 * third :]))
    summary, grown_records = _import(tmp_path / "ws", tmp_path / "root", ran.format)
    _, whole = _import(tmp_path / "whole", ran.root, ran.format)

    assert summary.lines == len(lines) - 2 * third  # only the new lines were read
    (grew,) = grown_records.values()
    (once,) = whole.values()
    assert _tokens(grew) == _tokens(once) == _served(ran.run)
    assert (grew.tools, grew.decisions, grew.decision_sources, grew.code_changes) == (
        once.tools, once.decisions, once.decision_sources, once.code_changes)  # fmt: skip
    assert grew.api_time_s == once.api_time_s
    assert grew.tool_time_s == once.tool_time_s
    assert grew.wall_time_s == once.wall_time_s


def test_bad_lines_are_counted_and_the_rest_is_read(ran: Ran, tmp_path: Path) -> None:
    lines = ran.transcript.read_bytes().splitlines(keepends=True)
    (ran.copy_root(tmp_path) / ran.transcript.name).write_bytes(
        lines[0] + b"not json at all\n" + b'{"type": "hologram", "payload": {}}\n'
        + b"[1, 2]\n" + b"".join(lines[1:])
    )  # fmt: skip
    summary, records = _import(tmp_path / "ws", tmp_path / "root", ran.format)

    assert summary.skipped == {
        "not JSON": 1,
        "unknown record type 'hologram'": 1,
        "not a JSON object": 1,
    }
    (record,) = records.values()
    assert _tokens(record) == _served(ran.run)
    assert {n: t.calls for n, t in record.tools.items()} == {
        n: calls for n, (calls, _, _) in EXPECTED_TOOLS[ran.cli].items()
    }


def test_collected_live_then_imported_is_one_session(ran: Ran, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ran.live_workspace, workspace)  # what `rad collect` kept of the run
    summary, records = _import(workspace, ran.root, ran.format)
    _, alone = _import(tmp_path / "alone", ran.root, ran.format)

    (both,) = records.values()
    (imported,) = alone.values()
    live = ran.collected
    assert both.id == imported.id == live.id == ran.run.session_id
    assert summary.sessions_updated == 1
    # Each request counted once (no id is shared: found by its tokens and time). Gemini
    # CLI's router request only its telemetry reports: kept.
    assert _tokens(both) == _tokens(live)
    assert {m: t for m, t in _tokens(both).items() if m in _tokens(imported)} == _tokens(imported)


def test_collected_live_then_imported_counts_each_tool_call_once(ran: Ran, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ran.live_workspace, workspace)
    _, records = _import(workspace, ran.root, ran.format)
    _, alone = _import(tmp_path / "alone", ran.root, ran.format)

    (both,) = records.values()
    (imported,) = alone.values()
    assert both.code_changes is not None and imported.code_changes is not None
    assert both.code_changes["files"] == imported.code_changes["files"]
    assert {n: t.calls for n, t in both.tools.items()} == {
        n: t.calls for n, t in ran.collected.tools.items()
    }
    assert sum(both.decisions.values()) == sum(ran.collected.decisions.values())
