"""Guarantee 3: hostile storage — a read-only or full disk, a folder deleted mid-session, files
replaced by symlinks — never crashes the agent: it logs ONE warning and goes on, and ``rad``
explains in one line. The store never follows a symlink out of the sessions folder.

The agent is a real subprocess; the test changes the storage under it between two of its
steps (a stdin/stdout handshake, no sleeps). Read-only and full disks are real mounts (a
read-only bind mount, a small tmpfs) where the test may mount, else skipped with the reason;
a full disk is also simulated everywhere by an injected ``OSError(ENOSPC)``."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
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
    sessions_folder,
    wait_until,
    write_script,
)

from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux mounts and errnos")

AGENT = """
    import errno
    import os
    import sys
    import time

    import radium_otel as rad

    workspace, inject = sys.argv[1], sys.argv[2] == "inject-enospc"
    failing = False
    real_write = os.write
    def write(fd, data):
        if failing and "/.tmp-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)
    if inject:
        os.write = write

    # Checkpoints only when this script says (and the one a new session asks for), so that
    # the storage is never spoiled in the middle of a write.
    inst = rad.configure(workspace=workspace, service_name="hostile", print_summary=False,
                         checkpoint_interval_s=3600)

    @rad.tool
    def step(k):
        return k

    @rad.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def ask():
        return {"type": "message", "model": "claude-sonnet-4-5",
                "usage": {"input_tokens": 100, "output_tokens": 10}}

    with rad.session(agent="hostile") as first:
        path = os.path.join(inst.store.folder, first.id + ".json")
        while not os.path.exists(path):  # the checkpoint a new session asks for
            time.sleep(0.01)
        print(first.id, flush=True)
        ask()
        step(1)
        inst.checkpoint()
        print("calls done", flush=True)
        assert sys.stdin.readline() == "go\\n"  # the storage has been spoiled
        failing = inject
        ask()
        step(2)
        inst.checkpoint()  # a write now meets the spoiled storage
        print("checkpoint tried", flush=True)
        assert sys.stdin.readline() == "end\\n"
    with rad.session(agent="hostile-2"):  # the agent goes on working
        ask()
        step(3)
    print("agent done", flush=True)
"""


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip() or done.returncode})")


@contextlib.contextmanager
def mounted(target: Path) -> Iterator[None]:
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@contextlib.contextmanager
def _restoring_modes(folders: list[Path]) -> Iterator[None]:
    try:
        yield
    finally:
        for folder in reversed(folders):
            with contextlib.suppress(OSError):
                folder.chmod(0o700)


class Run:
    """One agent run: its session id, stdout lines, exit code and stderr."""

    def __init__(self, session_id: str, stdout: list[str], returncode: int, stderr: str) -> None:
        self.session_id = session_id
        self.stdout = stdout
        self.returncode = returncode
        self.stderr = stderr


def run_agent_through(
    tmp_path: Path,
    workspace: Path,
    env: dict[str, str],
    spoil: Callable[[Path], None],
    restore: Callable[[], None] = lambda: None,
    *,
    inject: bool = False,
) -> Run:
    """Run the agent; ``spoil`` the storage once a checkpoint holds its first calls,
    ``restore`` it before the session ends."""
    script = write_script(tmp_path, "agent.py", AGENT)
    proc = subprocess.Popen(
        [PYTHON, str(script), str(workspace), "inject-enospc" if inject else "real"],
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
        wait_until(lambda: _checkpointed(path), "a checkpoint with the first calls")
        spoil(path)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert read_line(proc.stdout, proc) == "checkpoint tried"
        restore()
        proc.stdin.write("end\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return Run(session_id, out.splitlines(), proc.returncode, err)


def _checkpointed(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return bool(data.get("tool_calls") == 1 and data.get("model_usage"))


def one_warning(run: Run, workspace: Path, reason: str) -> None:
    """The agent finished its work and said exactly one thing: the write failure, naming
    its session by the full id and the folder it could not write to."""
    assert run.returncode == 0, run.stderr
    assert run.stdout == ["agent done"]
    assert run.stderr.splitlines() == [
        f"radium-otel could not write session {run.session_id} to "
        f"{sessions_folder(workspace)}: {reason}"
    ]


def checkpoint_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    assert (data["status"], data["tool_calls"], data["model_usage"][0]["requests"]) == (
        "active",
        1,
        1,
    )
    return data


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def env(clean_env: dict[str, str]) -> dict[str, str]:
    return agent_env(clean_env)


def test_read_only_storage(
    tmp_path: Path, workspace: Path, env: dict[str, str], rad_exe: str
) -> None:
    radium = workspace / ".radium"
    folders = [radium / "_internals" / "sessions", radium / "_internals", radium]

    def read_only(path: Path) -> None:
        if os.geteuid() == 0:  # root writes through permissions: a read-only mount
            mount("--bind", str(radium), str(radium))
            mount("-o", "remount,ro,bind", str(radium))
        else:
            for folder in folders:
                folder.chmod(0o500)

    with mounted(radium), _restoring_modes(folders):
        run = run_agent_through(tmp_path, workspace, env, read_only)
        as_root = os.geteuid() == 0
        one_warning(run, workspace, "Read-only file system" if as_root else "Permission denied")
        path = sessions_folder(workspace) / f"{run.session_id}.json"
        checkpoint = checkpoint_of(path)
        # The CLI reads what is there; the index, which it cannot update, says so once.
        shown = rad(rad_exe, workspace, "stats", "session", run.session_id, "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == {**checkpoint, "status": "interrupted"}
        history = rad(rad_exe, workspace, "stats", "history", "--json", env=env)
        assert history.returncode == 0, history.stderr
        warnings = history.stderr.splitlines()
        if as_root or warnings:  # a read-only mount: the index cannot even be opened
            [warning] = warnings
            assert warning.startswith("rad: warning: session index unavailable ("), warning
            assert warning.endswith("; reading every session file"), warning
        assert [row["id"] for row in json.loads(history.stdout)["sessions"]] == [run.session_id]


def test_full_disk_then_space_again(
    tmp_path: Path, workspace: Path, env: dict[str, str], rad_exe: str
) -> None:
    radium = workspace / ".radium"
    radium.mkdir(mode=0o700)
    # (room for the session index and its write-ahead log, about 250 KiB at schema 6)
    mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(radium))
    filler = radium / "filler"

    def fill(path: Path) -> None:
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)

    with mounted(radium):
        run = run_agent_through(tmp_path, workspace, env, fill, filler.unlink)
        assert run.returncode == 0, run.stderr
        assert len(run.stderr.splitlines()) == 1, run.stderr
        [line] = run.stderr.splitlines()
        assert line == (
            f"radium-otel could not write session {run.session_id} to "
            f"{sessions_folder(workspace)}: No space left on device"
        )
        # Space came back before the session ended: its final record is whole.
        final = rad_json(rad_exe, workspace, "stats", "session", run.session_id, env=env)
        assert (final["status"], final["tool_calls"], final["model_usage"][0]["requests"]) == (
            "completed",
            2,
            2,
        )
        assert not [p for p in sessions_folder(workspace).iterdir() if p.name.startswith(".")]


def test_full_disk_injected(tmp_path: Path, workspace: Path, env: dict[str, str]) -> None:
    run = run_agent_through(tmp_path, workspace, env, lambda path: None, inject=True)
    assert run.returncode == 0, run.stderr
    assert len(run.stderr.splitlines()) == 1, run.stderr
    [line] = run.stderr.splitlines()
    assert line == (
        f"radium-otel could not write session {run.session_id} to "
        f"{sessions_folder(workspace)}: No space left on device"
    )
    folder = sessions_folder(workspace)
    path = folder / f"{run.session_id}.json"
    checkpoint_of(path)  # the last good checkpoint is intact
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp file left
    store = SessionStore(folder)
    assert store.read(path).status == "interrupted"


def test_sessions_folder_deleted_mid_session_is_recreated(
    tmp_path: Path, workspace: Path, env: dict[str, str], rad_exe: str
) -> None:
    run = run_agent_through(tmp_path, workspace, env, lambda path: shutil.rmtree(path.parent))
    assert (run.returncode, run.stdout, run.stderr) == (0, ["agent done"], "")
    final = rad_json(rad_exe, workspace, "stats", "session", run.session_id, env=env)
    assert (final["status"], final["tool_calls"]) == ("completed", 2)
    assert sessions_folder(workspace).stat().st_mode & 0o777 == 0o700


def test_workspace_deleted_mid_session(
    tmp_path: Path, workspace: Path, env: dict[str, str], rad_exe: str
) -> None:
    run = run_agent_through(tmp_path, workspace, env, lambda path: shutil.rmtree(workspace))
    assert run.returncode == 0, run.stderr
    assert run.stdout == ["agent done"]
    assert len(run.stderr.splitlines()) == 1, run.stderr
    [line] = run.stderr.splitlines()
    assert line == (
        f"radium-otel could not write session {run.session_id} to "
        f"{sessions_folder(workspace)}: No such file or directory"
    )
    workspace.mkdir()
    shown = rad(rad_exe, workspace, "stats", "session", env=env)
    assert (shown.returncode, shown.stdout) == (1, "")
    assert shown.stderr == f"rad: error: no sessions stored in {sessions_folder(workspace)}\n"


def test_session_file_replaced_by_a_symlink(
    tmp_path: Path, workspace: Path, env: dict[str, str], rad_exe: str
) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("not yours\n")

    def swap(path: Path) -> None:
        path.unlink()
        path.symlink_to(outside)

    run = run_agent_through(tmp_path, workspace, env, swap)
    path = sessions_folder(workspace) / f"{run.session_id}.json"
    one_warning(run, workspace, f"refusing to write through a symlink: {path}")
    assert outside.read_text() == "not yours\n"
    assert path.is_symlink()
    shown = rad(rad_exe, workspace, "stats", "session", run.session_id, env=env)
    assert (shown.returncode, shown.stdout) == (1, "")
    assert shown.stderr == (
        f"rad: error: {path.name} is a symbolic link; radium-otel reads only regular files "
        f"in {path.parent}\n"
    )


def test_sessions_folder_replaced_by_a_symlink(
    tmp_path: Path, workspace: Path, env: dict[str, str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def swap(path: Path) -> None:
        shutil.rmtree(path.parent)
        path.parent.symlink_to(elsewhere, target_is_directory=True)

    run = run_agent_through(tmp_path, workspace, env, swap)
    one_warning(run, workspace, f"sessions folder is a symlink: {sessions_folder(workspace)}")
    assert list(elsewhere.iterdir()) == []


def test_a_planted_symlink_at_the_temp_name_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ws").mkdir()
    store = SessionStore(sessions_folder(tmp_path / "ws"))
    record = SessionRecord(
        id="abcd1234", status="completed", start_time=datetime(2026, 1, 1, tzinfo=timezone.utc)
    )
    store.write(record)
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    monkeypatch.setattr(time, "monotonic_ns", lambda: 42)
    from radium_otel._internal.store import _host_tag

    planted = store.folder / f".tmp-abcd1234.{os.getpid()}.42.{_host_tag()}"
    planted.symlink_to(victim)

    with pytest.raises(FileExistsError) as caught:
        store.write(record)

    assert caught.value.errno == errno.EEXIST
    assert victim.read_text() == "keep\n"
    assert planted.is_symlink()
    assert store.cleanup_temp_files() == 0  # a symlink is never followed nor removed
    assert victim.read_text() == "keep\n"
