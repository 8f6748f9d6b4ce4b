"""What the reliability tests share: agents in real subprocesses, the real ``rad`` CLI, a raw
OTLP/HTTP receiver on 127.0.0.1, and reading every byte a run left behind."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pytest

PYTHON = sys.executable
#: Bounded-vs-hanging margin: a step that needs a second on an idle machine fails only when
#: it takes this long, so a slow CI machine passes and a hang still fails.
HANG_S = 120.0


def sessions_folder(workspace: Path) -> Path:
    return workspace / ".radium" / "_internals" / "sessions"


def write_script(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def agent_env(clean_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of an agent subprocess: no ambient settings, no summaries."""
    return {**clean_env, "RADIUM_SUMMARY": "0", "PYTHONUNBUFFERED": "1", **extra}


def run_agent(
    script: Path, *args: str, env: dict[str, str], cwd: Path, timeout: float = HANG_S
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, str(script), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def rad(
    rad_exe: str, workspace: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The installed ``rad`` on ``workspace``."""
    return subprocess.run(
        [rad_exe, "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=workspace.parent,
        timeout=HANG_S,
        check=False,
    )


def rad_json(rad_exe: str, workspace: Path, *args: str, env: dict[str, str]) -> Any:
    done = rad(rad_exe, workspace, *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


def read_line(stream: IO[str], proc: subprocess.Popen[str]) -> str:
    """The child's next stdout line; fails (with its stderr) if it exited instead."""
    line = stream.readline()
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=HANG_S)
        pytest.fail(f"the agent exited early ({proc.returncode}):\n{err}")
    return line.strip()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = HANG_S) -> None:
    """Poll ``predicate`` (never a fixed sleep); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def every_byte_under(folder: Path) -> dict[Path, bytes]:
    """Every regular file under ``folder`` and its bytes (symlinks are not followed)."""
    found: dict[Path, bytes] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                found[path] = path.read_bytes()
    return found


def modes_under(folder: Path) -> dict[str, int]:
    """Permission bits of everything under ``folder`` (relative path -> mode & 0o777)."""
    modes = {".": folder.stat().st_mode & 0o777}
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root, name)
            modes[str(path.relative_to(folder))] = path.lstat().st_mode & 0o777
    return modes


class RawReceiver:
    """An OTLP/HTTP endpoint on 127.0.0.1 that keeps every request's raw (decompressed) body
    and headers, and answers ``status`` (200, or e.g. 401 for a bad API key)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 20

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                with receiver.lock:
                    receiver.bodies.append(body)
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                if receiver.status != 200:
                    self.send_error(receiver.status, "unauthorized (test)")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RawReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def received(self) -> bytes:
        with self.lock:
            return b"".join(self.bodies)
