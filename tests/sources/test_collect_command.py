"""`rad collect` as a user runs it: a process on loopback ports, live sessions that
`rad stats` shows, acknowledged batches that survive a SIGKILL, one collector per workspace,
and the set-up lines for each CLI.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from radium_otel._internal.pricing import CostHook
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.sources.collector import Collector

from .collecting import post
from .test_mappings import capture

RAD = [sys.executable, "-m", "radium_otel"]
SESSION = "fa8e3479-8b77-4d3a-bccb-419c430e6f7f"  # the Claude Code capture's session


@dataclass
class Collecting:
    proc: subprocess.Popen[str]
    http_port: int
    banner: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/v1/logs"


def _env(workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADIUM_", "OTEL_"))}
    return {**env, "RADIUM_WORKSPACE": str(workspace), "NO_COLOR": "1"}


@contextmanager
def rad_collect(workspace: Path, *args: str) -> Iterator[Collecting]:
    """``rad collect`` on free ports; stopped with SIGTERM unless the test killed it."""
    proc = subprocess.Popen(
        [*RAD, "collect", "--http-port", "0", "--grpc-port", "0", *args],
        env=_env(workspace),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert found, banner + proc.stderr.read()
        yield Collecting(proc, int(found.group(1)), banner)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        if proc.stderr is not None:
            proc.stderr.close()


def _halves() -> tuple[ExportLogsServiceRequest, ExportLogsServiceRequest]:
    """The capture's log records split in two batches."""
    whole = capture("claude", "logs")
    first, second = ExportLogsServiceRequest(), ExportLogsServiceRequest()
    first.CopyFrom(whole)
    second.CopyFrom(whole)
    for a, b in zip(first.resource_logs, second.resource_logs, strict=True):
        for sa, sb in zip(a.scope_logs, b.scope_logs, strict=True):
            records = list(sa.log_records)
            half = len(records) // 2
            del sa.log_records[half:]
            del sb.log_records[:half]
    return first, second


def _wait_for(store: SessionStore, status: str) -> SessionRecord:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for path in store.paths():
            record = store.read(path)
            if record.id == SESSION and record.status == status:
                return record
        time.sleep(0.1)
    raise AssertionError(f"no {status} record of {SESSION} in {store.folder}")


def _figures(record: SessionRecord) -> tuple[object, ...]:
    data = record.to_json()
    return (data["model_usage"], data["tools"], data["decisions"], data["decision_sources"],
            data["api_time_s"], data["tool_time_s"], data["wall_time_s"],
            data["reported_cost_usd"])  # fmt: skip


def test_a_sigkill_loses_nothing_acknowledged(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    store = SessionStore(sessions_dir(workspace))
    first, second = _halves()

    with rad_collect(workspace, "--idle-timeout", "2s") as collecting:
        assert post(collecting.url, first.SerializeToString())[0] == 200
        collecting.proc.kill()  # SIGKILL right after the 200: no chance to write anything
        collecting.proc.wait(30)
    with rad_collect(workspace, "--idle-timeout", "2s") as collecting:
        assert "1 live session(s) resumed" in collecting.banner
        assert post(collecting.url, second.SerializeToString())[0] == 200
        after_restart = _wait_for(store, "completed")

    reference = Collector(SessionStore(tmp_path / "ref"), tmp_path / "ref-journal")
    reference.ingest("logs", capture("claude", "logs"))
    (expected,) = reference.snapshot()  # (the whole session in one go, never killed)
    expected = CostHook(workspace).session_ended(expected)
    assert _figures(after_restart) == _figures(expected)
    assert after_restart.cost_usd == expected.cost_usd
    assert after_restart.cost_usd == pytest.approx(0.02808)  # = what Claude Code reported


def test_rad_stats_shows_a_live_session_then_the_finished_one(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    store = SessionStore(sessions_dir(workspace))
    with rad_collect(workspace, "--idle-timeout", "3s") as collecting:
        assert post(collecting.url, capture("claude", "logs").SerializeToString())[0] == 200
        _wait_for(store, "active")
        shown = subprocess.run([*RAD, "stats", "session", SESSION], env=_env(workspace),
                               capture_output=True, text=True, check=True)  # fmt: skip
        assert "active" in shown.stdout
        _wait_for(store, "completed")
        history = subprocess.run([*RAD, "stats", "history"], env=_env(workspace),
                                 capture_output=True, text=True, check=True)  # fmt: skip
        assert SESSION[:8] in history.stdout


def test_one_collector_per_workspace(tmp_path: Path) -> None:
    with rad_collect(tmp_path):
        second = subprocess.run([*RAD, "collect", "--http-port", "0", "--grpc-port", "0"],
                                env=_env(tmp_path), capture_output=True, text=True,
                                timeout=60)  # fmt: skip
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"rad: error: another rad collect is running on this workspace ({tmp_path})"
    ]


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with rad_collect(tmp_path / "a") as first:
        taken = subprocess.run([*RAD, "collect", "--http-port", str(first.http_port),
                                "--grpc-port", "0"], env=_env(tmp_path / "b"),
                               capture_output=True, text=True, timeout=60)  # fmt: skip
    assert taken.returncode == 1
    assert taken.stderr.startswith(f"rad: error: cannot listen on 127.0.0.1:{first.http_port}")
    assert len(taken.stderr.strip().splitlines()) == 1


def test_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    refused = subprocess.run([*RAD, "collect", "--host", "0.0.0.0"], env=_env(tmp_path),
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 1
    assert "needs a bearer token" in refused.stderr


@pytest.mark.parametrize(
    ("cli", "lines"),
    [
        ("claude-code", ["export CLAUDE_CODE_ENABLE_TELEMETRY=1",
                         "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"]),
        ("codex", ["[otel]", "log_user_prompt = false"]),
        ("gemini-cli", ['    "otlpEndpoint": "http://127.0.0.1:4317",', '    "logPrompts": false']),
    ],
)  # fmt: skip
def test_setup_prints_the_settings(tmp_path: Path, cli: str, lines: list[str]) -> None:
    shown = subprocess.run([*RAD, "collect", "--setup", cli], env=_env(tmp_path),
                           capture_output=True, text=True, check=True)  # fmt: skip
    for line in lines:
        assert line in shown.stdout.splitlines()
    assert "PROMPTS=1" not in shown.stdout


def test_a_bad_idle_timeout_is_a_usage_error(tmp_path: Path) -> None:
    bad = subprocess.run([*RAD, "collect", "--idle-timeout", "soon"], env=_env(tmp_path),
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "rad: error: --idle-timeout: not a duration: 'soon' (e.g. 90s, 30m, 1h)"
    )


def test_the_readme_shows_what_setup_prints() -> None:
    from radium_otel.sources.serve import setup_text

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Coding CLIs and other processes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```text\n(.*?)```", section, flags=re.S)
    printed = {
        cli: setup_text(cli, host="127.0.0.1", http_port=4318, grpc_port=4317, token=None)
        for cli in ("claude-code", "codex")
    }
    for cli, block in zip(printed, blocks[:2], strict=True):
        assert set(block.splitlines()) <= set(printed[cli].splitlines()), cli
    gemini = setup_text("gemini-cli", host="127.0.0.1", http_port=4318, grpc_port=4317,
                        token=None)  # fmt: skip
    import json

    assert json.loads(blocks[2]) == json.loads(gemini.split("\n", 1)[1])
