"""``rad … --help`` from the help cache (`cli/_help.py`): byte for byte what typer prints,
on a terminal (colour, its width) and into a pipe; a new entry whenever the setting changes;
nothing cached from a failed command line.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

import pytest

RAD = ["-c", "from radium_otel.cli import main; main()"]


def _env(cache: Path | None, **extra: str) -> dict[str, str]:
    drop = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERMINAL_WIDTH", "TTY_COMPATIBLE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("HOME", None)  # no cache: typer answers (the oracle)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    env.update(TERM="xterm-256color", **extra)
    return env


def _run(args: list[str], env: dict[str, str], *, tty: bool, cols: int = 100) -> tuple[bytes, str]:
    """Output and stderr of ``rad ARGS`` (-X importtime) into a pty of ``cols`` or a pipe."""
    argv = [sys.executable, "-X", "importtime", *RAD, *args]
    if not tty:
        done = subprocess.run(argv, env=env, capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return done.stdout, done.stderr.decode()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=errors)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # (EIO: the other side closed)
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    code = proc.wait(timeout=60)
    with errors:
        errors.seek(0)
        err = errors.read().decode()
    assert code == 0, err[-2000:]
    return bytes(out), err


def _typer_imported(stderr: str) -> bool:
    return any(line.split("|")[-1].strip() == "typer" for line in stderr.splitlines())


@pytest.mark.parametrize(
    ("args", "tty", "extra"),
    [
        (["--help"], True, {}),
        (["stats", "--help"], True, {}),
        (["stats", "history", "--help"], True, {}),
        (["collect", "--help"], True, {"NO_COLOR": "1"}),
        (["--help"], False, {}),
        (["import", "--help"], False, {"FORCE_COLOR": "1"}),
    ],
)
def test_a_cached_help_is_what_typer_prints(
    tmp_path: Path, args: list[str], tty: bool, extra: dict[str, str]
) -> None:
    expected, err = _run(args, _env(None, **extra), tty=tty)
    assert _typer_imported(err)
    shown = re.sub(rb"\x1b\[[0-9;]*m", b"", expected)
    assert b"Usage: " in shown and b"--help" in shown
    if tty and not extra:
        assert b"\x1b[" in expected  # (colour on a terminal)
    first, err = _run(args, _env(tmp_path, **extra), tty=tty)
    assert first == expected and _typer_imported(err)
    assert len(list((tmp_path / "radium-otel" / "help").iterdir())) == 1
    second, err = _run(args, _env(tmp_path, **extra), tty=tty)
    assert second == expected
    assert not _typer_imported(err)  # (answered from the cache)


def test_another_setting_is_another_entry(tmp_path: Path) -> None:
    folder = tmp_path / "radium-otel" / "help"
    _run(["--help"], _env(tmp_path), tty=True, cols=120)
    narrow, err = _run(["--help"], _env(tmp_path), tty=True, cols=70)
    assert _typer_imported(err)
    assert narrow == _run(["--help"], _env(None), tty=True, cols=70)[0]
    assert len(list(folder.iterdir())) == 2
    _, err = _run(["--help"], _env(tmp_path, NO_COLOR="1"), tty=True, cols=70)
    assert _typer_imported(err)
    _, err = _run(["--help"], _env(tmp_path, RADIUM_WORKSPACE="/elsewhere"), tty=True, cols=70)
    assert _typer_imported(err)
    assert len(list(folder.iterdir())) == 4
    again, err = _run(["--help"], _env(tmp_path), tty=True, cols=70)
    assert again == narrow and not _typer_imported(err)


def test_a_failed_command_line_is_not_cached(tmp_path: Path) -> None:
    argv = [sys.executable, *RAD, "nosuch", "--help"]
    done = subprocess.run(argv, env=_env(tmp_path), capture_output=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.decode() == "rad: error: no such command 'nosuch'\n"
    assert not (tmp_path / "radium-otel" / "help").exists()


def test_an_unwritable_cache_only_means_typer_answers(tmp_path: Path) -> None:
    (tmp_path / "radium-otel").write_text("a file where the folder would be")
    expected, _ = _run(["stats", "--help"], _env(None), tty=False)
    for _ in range(2):
        out, err = _run(["stats", "--help"], _env(tmp_path), tty=False)
        assert out == expected and _typer_imported(err)


def test_only_a_real_standard_output_is_answered_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from radium_otel.cli import _help

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert _help.setting_key(["--help"]) is None
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert _help.setting_key(["--help"]) is not None
    assert _help.setting_key(["stats", "--help"]) != _help.setting_key(["--help"])
    assert _help.setting_key(["stats", "history"]) is None
    assert _help.setting_key(["-w", "x", "--help"]) is None
