"""An agent killed with SIGKILL keeps what was checkpointed (SPEC "Session record")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import IO, Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

AGENT = textwrap.dedent(
    """
    import sys
    import time

    import radium_otel as rad

    rad.configure(
        workspace=sys.argv[1],
        service_name="crash-test",
        print_summary=False,
        checkpoint_interval_s=0.2,
    )

    @rad.tool
    def read_file(path: str) -> str:
        return "contents of " + path

    @rad.tool
    def run_tests() -> None:
        raise RuntimeError("1 test failed")

    @rad.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def ask_model() -> dict:
        return {
            "id": "msg_001",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "Reading the files."}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 120, "output_tokens": 30},
        }

    with rad.session(agent="doomed") as session:
        print(session.id, flush=True)
        ask_model()
        read_file("a.py")
        read_file("b.py")
        try:
            run_tests()
        except RuntimeError:
            pass
        print("calls done", flush=True)
        time.sleep(120)  # killed long before this ends
    print("not reached", flush=True)
    """
)


def _line(stream: IO[str], proc: subprocess.Popen[str]) -> str:
    line = stream.readline()
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"the agent exited early ({proc.returncode}):\n{err}")
    return line.strip()


def _wait_for_checkpoint(path: Path, timeout_s: float) -> dict[str, Any]:
    """The session file once a checkpoint holds all four calls (polled, never a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            last = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        else:
            requests = sum(m["requests"] for m in last.get("model_usage", []))
            if last.get("tool_calls") == 3 and requests == 1:
                return last
        time.sleep(0.05)
    pytest.fail(f"no complete checkpoint in {timeout_s} s; last seen: {last}")


def test_a_killed_agent_reads_as_interrupted_with_its_checkpointed_calls(
    tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    env = {**clean_env, "RADIUM_RAISE_INTERNAL_ERRORS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(workspace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        session_id = _line(proc.stdout, proc)
        assert _line(proc.stdout, proc) == "calls done"
        path = workspace / ".radium" / "_internals" / "sessions" / f"{session_id}.json"
        checkpoint = _wait_for_checkpoint(path, timeout_s=15.0)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=30)  # reaps it: its pid names no process now
    assert proc.returncode == -signal.SIGKILL, err
    assert checkpoint["status"] == "active"
    assert json.loads(path.read_text())["status"] == "active"  # the file itself is as left

    shown = subprocess.run(
        [rad_exe, "--workspace", str(workspace), "stats", "session"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    as_json = subprocess.run(
        [rad_exe, "--workspace", str(workspace), "stats", "session", session_id[:8], "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == ""
    lines = shown.stdout.splitlines()
    assert lines[:5] == [
        "Interaction Summary",
        f"Session ID:                 {session_id}",
        "Status:                     interrupted",
        "Agent:                      doomed",
        "Tool Calls:                 3 ( ✓ 2 x 1 )",
    ]
    assert "Success Rate:               66.7%" in lines
    assert "Model Requests:             1" in lines
    assert "Tokens:                     120 in · 30 out" in lines

    assert as_json.returncode == 0, as_json.stderr
    record = json.loads(as_json.stdout)
    assert record == {**json.loads(path.read_text()), "status": "interrupted"}
    assert record["id"] == session_id
    assert record["end_time"] is None
    assert record["metadata"]["pid"] == proc.pid
    assert record["metadata"]["agent"] == "doomed"
    assert (record["tool_calls"], record["tool_successes"], record["tool_failures"]) == (3, 2, 1)
    assert record["tools"]["read_file"]["calls"] == 2
    assert record["tools"]["run_tests"]["error_types"] == {"RuntimeError": 1}
    [usage] = record["model_usage"]
    assert (usage["model"], usage["provider"], usage["requests"]) == (
        "claude-sonnet-4-5",
        "anthropic",
        1,
    )
    assert (usage["input_tokens"], usage["output_tokens"]) == (120, 30)
