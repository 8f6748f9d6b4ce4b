"""Guarantee 2: an agent killed with SIGKILL — mid checkpoint write, mid session end, mid git
snapshot, or at a random instant — never leaves a half-written session file visible; its
session reads as ``interrupted`` with the data of its last checkpoint; the next run starts
cleanly and removes the leftover temporary files.

Kill points are deterministic: the agent (a real subprocess) is patched to stop at a named
point and say so on stdout, and only then is it killed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    HANG_S,
    PYTHON,
    agent_env,
    rad,
    rad_json,
    read_line,
    run_agent,
    sessions_folder,
    wait_until,
    write_script,
)

from radium_otel._internal.record import SessionRecord

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs SIGKILL and /proc")

AGENT = """
    import os
    import sys
    import threading
    import time

    import radium_otel as rad
    from radium_otel._internal import codechanges
    from radium_otel._internal.store import SessionStore

    workspace, mode = sys.argv[1], sys.argv[2]
    armed = threading.Event()
    final = threading.local()

    def pause(point, detail):
        print(f"PAUSED {point} {detail}", flush=True)
        while True:
            time.sleep(60)

    real_write = os.write
    def write(fd, data):  # mode checkpoint-write: half the bytes, then stop
        if armed.is_set() and mode == "checkpoint-write" \\
                and threading.current_thread().name == "radium-checkpoint":
            path = os.readlink(f"/proc/self/fd/{fd}")
            if "/.tmp-" in path:
                real_write(fd, bytes(data[: len(data) // 2]))
                pause(mode, path)
        return real_write(fd, data)
    os.write = write

    real_store_write = SessionStore.write
    def store_write(self, record, **options):
        final.on = record.status != "active"
        return real_store_write(self, record, **options)
    SessionStore.write = store_write

    real_replace = os.replace
    def replace(src, dst):  # mode session-end: the final record is written, not yet renamed
        if armed.is_set() and mode == "session-end" and getattr(final, "on", False):
            pause(mode, src)
        return real_replace(src, dst)
    os.replace = replace

    real_run = codechanges._run
    def run(git, args, *rest, **options):  # mode git-snapshot: stop in the end snapshot
        if armed.is_set() and mode == "git-snapshot" and args[:1] == ("write-tree",):
            pause(mode, os.environ.get("TMPDIR"))
        return real_run(git, args, *rest, **options)
    codechanges._run = run

    rad.configure(workspace=workspace, service_name="crash", print_summary=False,
                  checkpoint_interval_s=0.1)

    @rad.tool
    def edit(name):
        with open(os.path.join(workspace, name), "a") as f:
            f.write("one more line\\n")

    @rad.tool
    def run_tests():
        raise RuntimeError("1 test failed")

    @rad.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def ask():
        return {"type": "message", "model": "claude-sonnet-4-5",
                "usage": {"input_tokens": 120, "output_tokens": 30}}

    if mode == "loop":  # killed at a random instant
        print("started", flush=True)
        while True:
            with rad.session(agent="looper"):
                ask()
                edit("a.txt")
    with rad.session(agent=mode) as session:
        print(session.id, flush=True)
        ask()
        edit("a.txt")
        edit("b.txt")
        try:
            run_tests()
        except RuntimeError:
            pass
        print("calls done", flush=True)
        if mode != "clean":
            assert sys.stdin.readline() == "arm\\n"
            armed.set()
            if mode == "checkpoint-write":
                time.sleep(HANG)
    print("session over", flush=True)
""".replace("HANG", str(HANG_S))

CHECKPOINTED = {"tool_calls": 3, "tool_successes": 2, "tool_failures": 1}


def make_workspace(tmp_path: Path, *, git: bool) -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("first line\n")
    if git:
        for args in (
            ["init", "-q"],
            ["add", "a.txt"],
            ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"],
        ):
            subprocess.run(["git", "-C", str(workspace), *args], check=True)
    return workspace


def wait_for_checkpoint(path: Path) -> dict[str, Any]:
    """The session file once a checkpoint holds every call of the agent."""
    seen: dict[str, Any] = {}

    def complete() -> bool:
        nonlocal seen
        try:
            seen = json.loads(path.read_bytes())
        except (FileNotFoundError, ValueError):
            return False
        requests = sum(m["requests"] for m in seen.get("model_usage", []))
        return requests == 1 and all(seen.get(k) == v for k, v in CHECKPOINTED.items())

    wait_until(complete, f"a checkpoint with every call in {path}")
    return seen


def leftovers(workspace: Path, tmpdir: Path) -> list[str]:
    """Temporary files a writer left: in the sessions folder and in the snapshot temp dir."""
    return sorted(
        [p.name for p in sessions_folder(workspace).iterdir() if p.name.startswith(".")]
        + [p.name for p in tmpdir.iterdir()]
    )


@pytest.mark.parametrize("point", ["checkpoint-write", "session-end", "git-snapshot"])
def test_killed_at_a_named_point(
    point: str, tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = make_workspace(tmp_path, git=True)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    script = write_script(tmp_path, "agent.py", AGENT)
    env = agent_env(clean_env, TMPDIR=str(tmpdir), RADIUM_RAISE_INTERNAL_ERRORS="1")
    proc = subprocess.Popen(
        [PYTHON, str(script), str(workspace), point],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        session_id = read_line(proc.stdout, proc)
        assert read_line(proc.stdout, proc) == "calls done"
        path = sessions_folder(workspace) / f"{session_id}.json"
        checkpoint = wait_for_checkpoint(path)
        proc.stdin.write("arm\n")
        proc.stdin.flush()
        paused = read_line(proc.stdout, proc)
        assert paused.startswith(f"PAUSED {point} ")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=HANG_S)
    assert proc.returncode == -signal.SIGKILL, err

    # What the killed writer left: its half-written or unrenamed temp file (or the snapshot's
    # temporary index), never a visible session file other than the last checkpoint.
    left = leftovers(workspace, tmpdir)
    if point == "git-snapshot":
        [snapshot_dir] = left
        assert snapshot_dir.startswith(f"radium-snapshot-{proc.pid}-")
    else:
        [temp] = left
        assert temp.startswith(f".tmp-{session_id}.{proc.pid}.")
        assert paused.endswith(temp)
    assert [p.name for p in sessions_folder(workspace).glob("*.json")] == [path.name]
    on_disk = json.loads(path.read_bytes())
    assert on_disk["status"] == "active"
    assert {**on_disk, "updated_time": None} == {**checkpoint, "updated_time": None}

    shown = rad_json(rad_exe, workspace, "stats", "session", session_id, env=env)
    assert shown == {**on_disk, "status": "interrupted"}
    assert {k: shown[k] for k in CHECKPOINTED} == CHECKPOINTED
    assert shown["model_usage"][0]["input_tokens"] == 120

    # The next run starts cleanly and removes what the killed one left.
    done = run_agent(script, str(workspace), "clean", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[1:] == ["calls done", "session over"]
    assert leftovers(workspace, tmpdir) == []
    history = rad_json(rad_exe, workspace, "stats", "history", env=env)
    assert [(row["id"], row["status"]) for row in history["sessions"]] == [
        (done.stdout.split()[0], "completed"),
        (session_id, "interrupted"),
    ]


def test_killed_at_random_instants_never_shows_a_broken_file(
    tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = make_workspace(tmp_path, git=False)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    script = write_script(tmp_path, "agent.py", AGENT)
    env = agent_env(clean_env, TMPDIR=str(tmpdir))
    folder = sessions_folder(workspace)
    for seed in range(6):
        proc = subprocess.Popen(
            [PYTHON, str(script), str(workspace), "loop"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        try:
            assert proc.stdout is not None
            assert read_line(proc.stdout, proc) == "started"
            wait_until(lambda: folder.is_dir() and any(folder.glob("*.json")), "a session file")
            try:
                proc.wait(timeout=random.Random(seed).uniform(0.0, 0.5))
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate(timeout=HANG_S)
        assert proc.returncode == -signal.SIGKILL, err

        for path in folder.glob("*.json"):  # every visible file is a whole record
            SessionRecord.from_json(json.loads(path.read_bytes()))
        history = rad(rad_exe, workspace, "stats", "history", "--json", "--limit", "0", env=env)
        assert history.returncode == 0, history.stderr
        assert history.stderr == ""
        statuses = {row["status"] for row in json.loads(history.stdout)["sessions"]}
        assert statuses <= {"completed", "interrupted"}

    done = run_agent(script, str(workspace), "clean", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert leftovers(workspace, tmpdir) == []


def test_cleanup_removes_a_dead_writers_temp_file_and_never_a_live_ones(tmp_path: Path) -> None:
    from radium_otel._internal.store import SessionStore, _host_tag

    folder = sessions_folder(tmp_path)
    folder.mkdir(parents=True)
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)  # reaped: no process has this pid now (nor soon)
    here = _host_tag()
    names = {
        "dead writer here": f".tmp-abcd1234.{dead_pid}.1.{here}",
        "live writer here": f".tmp-abcd1234.{os.getpid()}.2.{here}",
        "writer on another host": f".tmp-abcd1234.{dead_pid}.3.ffffffff",
        "writer of an older version": f".tmp-abcd1234.{dead_pid}.4",
    }
    for name in names.values():
        (folder / name).write_text('{"half": ')

    assert SessionStore(folder).cleanup_temp_files() == 1

    left = {what for what, name in names.items() if (folder / name).exists()}
    assert left == {"live writer here", "writer on another host", "writer of an older version"}
    an_hour_ago = time.time() - 3601
    for name in names.values():
        if (folder / name).exists():
            os.utime(folder / name, (an_hour_ago, an_hour_ago))
    assert SessionStore(folder).cleanup_temp_files() == 3  # whoever wrote them, they are old
