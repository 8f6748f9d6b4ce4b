"""The main job's example agent (`examples/coding_agent.py`) runs again on its own folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

ROOT = Path(__file__).resolve().parent.parent


def run_example(workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RADIUM_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "coding_agent.py"), "--workspace", str(workspace)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_second_run_on_the_same_folder_adds_a_second_session(tmp_path: Path) -> None:
    for _ in range(2):
        proc = run_example(tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    stored, warnings = SessionStore(sessions_dir(tmp_path)).load_all()
    assert not warnings
    records = [s.record for s in stored]
    assert len(records) == 2 and records[0].id != records[1].id
    assert all(r.requests == 7 and r.tool_calls == 6 for r in records)


def test_a_folder_that_cannot_hold_the_repository_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run_example(blocker)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("coding_agent: cannot set up the scratch git repository")
    assert len(proc.stderr.strip().splitlines()) == 1
