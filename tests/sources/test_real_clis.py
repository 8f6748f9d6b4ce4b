"""`rad collect`'s receiver and collector with the real coding CLIs: each CLI plays the
scripted task (tests/sources/clis.py) against the stub, exports to the receiver over every
protocol it offers, and the stored session is exactly what the stub served.

One run per CLI and protocol (module-scoped, shared by the assertions).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from radium_otel._internal.pricing import CostHook
from radium_otel._internal.record import SessionRecord

from .clis import PROTOCOLS, TASK, Cli, CliRun, Protocol, available, run_cli, standard_script
from .collecting import Clock, running

RUNS = [(cli, protocol) for cli, protocols in PROTOCOLS.items() for protocol in protocols]
SOURCE = {"claude": "claude-code", "codex": "codex", "gemini": "gemini-cli"}
IDLE_S = 3600.0


@dataclass(repr=False)
class Collected:
    cli: Cli
    protocol: Protocol
    run: CliRun
    records: list[SessionRecord]
    live: list[SessionRecord]  # what `rad stats` showed while the session was live


@pytest.fixture(scope="module", params=RUNS, ids=[f"{c}-{p}" for c, p in RUNS])
def collected(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Collected]:
    cli, protocol = request.param
    if not available(cli):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{cli} is not installed: scripts/bootstrap.sh --tests installs it")
        pytest.skip(f"{cli} is not installed (scripts/bootstrap.sh --tests)")
    tmp = tmp_path_factory.mktemp(f"collect-{cli}-{protocol.replace('/', '-')}")
    clock = Clock()
    finish = CostHook(tmp).session_ended
    with running(tmp, idle_timeout_s=IDLE_S, clock=clock, finish=finish) as run:
        endpoint = f"http://127.0.0.1:{run.receiver.grpc_port}" if protocol == "grpc" else run.http
        workdir = tmp / "work"
        cli_run = run_cli(cli, TASK, standard_script(cli, workdir), endpoint, protocol, workdir,
                          timeout_s=90)  # fmt: skip
        assert cli_run.returncode == 0 and cli_run.played_out, cli_run.describe()
        run.collector.tick()
        live = list(run.records().values())
        clock.now += IDLE_S
        run.collector.tick()
        yield Collected(cli, protocol, cli_run, list(run.records().values()), live)


def _served_models(run: CliRun) -> dict[str, tuple[int, ...]]:
    """Per model: requests, input (all of it), output, cache reads, writes, reasoning."""
    out: dict[str, list[int]] = {}
    for s in run.served:
        if s.usage is None or s.model is None:
            continue
        u = s.usage
        row = out.setdefault(s.model, [0] * 6)
        for i, n in enumerate((1, u.prompt_tokens, u.output_tokens, u.cache_read_tokens,
                               u.cache_creation_tokens, u.reasoning_tokens)):  # fmt: skip
            row[i] += n
    return {model: tuple(row) for model, row in out.items()}


def _stored_models(record: SessionRecord) -> dict[str, tuple[int, ...]]:
    fields = ("requests", "input_tokens", "output_tokens", "cache_read_tokens",
              "cache_creation_tokens", "reasoning_tokens")  # fmt: skip
    return {m.model: tuple(getattr(m, f) for f in fields) for m in record.model_usage}


def test_one_session_under_the_clis_own_id(collected: Collected) -> None:
    assert [r.id for r in collected.records] == [collected.run.session_id]
    record = collected.records[0]
    assert record.status == "completed"
    assert record.metadata["source"] == SOURCE[collected.cli]


def test_it_is_live_until_it_ends_or_goes_quiet(collected: Collected) -> None:
    # Codex ends a session with its session_loop span; the others send no end signal: the
    # session stays active until the idle timeout.
    expected = "completed" if collected.cli == "codex" else "active"
    assert [r.status for r in collected.live] == [expected]
    assert collected.live[0].requests == collected.records[0].requests


def test_requests_and_tokens_are_what_the_stub_served(collected: Collected) -> None:
    record = collected.records[0]
    assert _stored_models(record) == _served_models(collected.run)
    assert all(m.errors == 0 for m in record.model_usage)


def test_tool_calls_decisions_and_lines(collected: Collected) -> None:
    record = collected.records[0]
    tools = {n: (t.calls, t.successes, t.failures) for n, t in record.tools.items()}
    changes = record.code_changes
    assert changes is not None
    lines = (changes["lines_added"], changes["lines_removed"])
    if collected.cli == "claude":
        # echo ran; Write ran; touch refused by the allow-list (a decision, not a call);
        # ls failed.
        assert tools == {"Bash": (2, 1, 1), "Write": (1, 1, 0)}
        assert record.tools["Bash"].error_types == {"ShellError": 1}
        assert record.decisions == {"auto_accept": 3, "reject": 1}
        assert record.decision_sources == {"auto_accept": {"config": 3}, "reject": {"config": 1}}
        assert lines == (3, 0)  # (Claude Code counts the 2-line write as 3 lines added)
        assert record.reported_cost_usd is not None and record.reported_cost_usd > 0
        assert record.cost_usd is not None and record.cost_usd > 0  # ours, beside it
    elif collected.cli == "codex":
        # Codex reports the forbidden touch as a failed call (no decision) and the failing
        # ls as a success (its exit code is in the output).
        assert tools == {"exec_command": (3, 2, 1), "apply_patch": (1, 1, 0)}
        assert record.decisions == {"auto_accept": 3}
        assert lines == (2, 0)
        assert changes["files"][0]["path"] == "notes.txt"
        assert record.reported_cost_usd is None
    else:
        assert tools == {"run_shell_command": (2, 2, 0), "write_file": (1, 1, 0)}
        assert record.decisions == {"accept": 3, "reject": 1}
        assert record.decision_sources == {"reject": {"policy": 1}}
        assert lines == (2, 0)
        assert record.reported_cost_usd is None


def test_times_come_from_the_events(collected: Collected) -> None:
    record = collected.records[0]
    run = collected.run
    assert 0 < record.api_time_s <= record.agent_active_time_s <= record.wall_time_s
    assert record.wall_time_s <= run.finished - run.started
    assert record.start_time.timestamp() >= run.started - 1
