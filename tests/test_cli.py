"""``rad stats session``: through typer's CliRunner and through the installed ``rad``."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from radium_otel._internal import index as index_module
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.cli import app

RecordFactory = Callable[..., SessionRecord]

ANSI = re.compile(r"\x1b\[")
OLDER_ID = "abcd1111-0000-4000-8000-000000000001"
OTHER_ID = "abcd2222-0000-4000-8000-000000000002"
NEWER_ID = "eeee3333-0000-4000-8000-000000000003"
SEED_ID = "3c6ddcd3-85b6-48f1-88e1-f428ca458337"

UX1 = """\
Interaction Summary
Session ID:                 3c6ddcd3-85b6-48f1-88e1-f428ca458337
Tool Calls:                 231 ( ✓ 214 x 17 )
Success Rate:               92.6%
Code Changes:               +505 -208

Performance
Wall Time:                  4h 9m 54s
Agent Active:               2h 53m 17s
  » API Time:               1h 9m 42s (40.2%)
  » Tool Time:              1h 43m 35s (59.8%)
"""


@pytest.fixture
def filled(workspace: Path, seed_record: SessionRecord, make_record: RecordFactory) -> Path:
    """A workspace with two older sessions (sharing the prefix ``abcd``) and the seed's."""
    store = SessionStore(sessions_dir(workspace))
    store.write(make_record(id=OLDER_ID, start_time=seed_record.start_time - timedelta(days=2)))
    store.write(make_record(id=OTHER_ID, start_time=seed_record.start_time - timedelta(days=1)))
    store.write(seed_record)
    return workspace


def invoke(args: list[str], env: Mapping[str, str | None] | None = None) -> Result:
    """Run the typer app in-process at a pinned width, without colour variables."""
    pinned: dict[str, str | None] = {"COLUMNS": "80", "NO_COLOR": None, "FORCE_COLOR": None}
    return CliRunner().invoke(app, args, env={**pinned, **(env or {})})


def assert_one_error_line(stderr: str, expected: str) -> None:
    assert stderr == expected + "\n"
    assert expected.startswith("rad: error: ")
    assert "Traceback" not in stderr


# --- in-process (CliRunner) ----------------------------------------------------------------
def test_stats_session_shows_the_latest_session(filled: Path, no_ambient_config: None) -> None:
    result = invoke(["--workspace", str(filled), "stats", "session"])

    assert result.exit_code == 0, result.output
    assert result.stdout == UX1
    assert result.stderr == ""


def test_stats_session_by_prefix_and_full_id(filled: Path, no_ambient_config: None) -> None:
    by_prefix = invoke(["--workspace", str(filled), "stats", "session", "abcd2"])
    by_id = invoke(["-w", str(filled), "stats", "session", OTHER_ID])

    assert by_prefix.exit_code == by_id.exit_code == 0
    assert by_prefix.stdout == by_id.stdout
    assert by_prefix.stdout.splitlines()[:3] == [
        "Interaction Summary",
        f"Session ID:                 {OTHER_ID}",
        "Agent:                      coder",
    ]


def test_stats_session_json_prints_the_stored_record(
    filled: Path, seed_record: SessionRecord, no_ambient_config: None
) -> None:
    latest = invoke(["--workspace", str(filled), "stats", "session", "--json"])
    older = invoke(["--workspace", str(filled), "stats", "session", "abcd1", "--json"])

    assert latest.exit_code == 0
    assert json.loads(latest.stdout) == seed_record.to_json()
    stored = json.loads((sessions_dir(filled) / f"{OLDER_ID}.json").read_text())
    assert json.loads(older.stdout) == stored
    assert stored["id"] == OLDER_ID
    assert ANSI.search(latest.stdout) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ffff"], "rad: error: no session matches 'ffff'"),
        (["abcd"], "rad: error: session prefix 'abcd' is ambiguous (2 sessions match)"),
        (["abc"], "rad: error: no session 'abc' (a prefix needs at least 4 characters)"),
        (["../x"], "rad: error: invalid session id '../x'"),
        (["/etc/passwd"], "rad: error: invalid session id '/etc/passwd'"),
        (["abcd1111.json"], "rad: error: invalid session id 'abcd1111.json'"),
        (["ffff", "--json"], "rad: error: no session matches 'ffff'"),
    ],
)
def test_lookup_errors_are_one_line_on_stderr(
    filled: Path, no_ambient_config: None, args: list[str], message: str
) -> None:
    result = invoke(["--workspace", str(filled), "stats", "session", *args])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert_one_error_line(result.stderr, message)


def test_an_empty_store_is_an_error(workspace: Path, no_ambient_config: None) -> None:
    for args in (["stats", "session"], ["stats", "session", "--json"]):
        result = invoke(["--workspace", str(workspace), *args])

        assert result.exit_code == 1
        assert result.stdout == ""
        folder = workspace / ".radium" / "_internals" / "sessions"
        assert_one_error_line(result.stderr, f"rad: error: no sessions stored in {folder}")


def test_a_newer_record_is_an_error_naming_the_file(filled: Path, no_ambient_config: None) -> None:
    path = sessions_dir(filled) / f"{OTHER_ID}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 7}))

    result = invoke(["--workspace", str(filled), "stats", "session", "abcd2"])

    assert result.exit_code == 1
    assert_one_error_line(
        result.stderr,
        f"rad: error: cannot read {OTHER_ID}.json: schema_version 7 is newer than this "
        "radium-otel understands (1); upgrade radium-otel",
    )


def test_unreadable_files_are_warned_about_and_skipped(
    filled: Path, no_ambient_config: None
) -> None:
    (sessions_dir(filled) / "ffff0000.json").write_text('{"schema_version": 1, "id"')

    result = invoke(["--workspace", str(filled), "stats", "session"])

    assert result.exit_code == 0
    assert result.stdout == UX1
    assert result.stderr.startswith("rad: warning: skipped ffff0000.json: not valid JSON (")
    assert result.stderr.count("\n") == 1


def test_radium_workspace_variable_is_honoured(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ambient_config: None
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    from_env = invoke(["stats", "session"], env={"RADIUM_WORKSPACE": str(filled)})
    overridden = invoke(
        ["--workspace", str(elsewhere), "stats", "session"],
        env={"RADIUM_WORKSPACE": str(filled)},
    )

    assert from_env.exit_code == 0
    assert from_env.stdout == UX1
    assert overridden.exit_code == 1  # --workspace wins over the variable
    assert overridden.stderr.startswith(f"rad: error: no sessions stored in {elsewhere}/")


def test_workspace_found_from_a_subfolder(
    filled: Path, monkeypatch: pytest.MonkeyPatch, no_ambient_config: None
) -> None:
    sub = filled / "src" / "pkg"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)

    result = invoke(["stats", "session"])

    assert result.exit_code == 0
    assert result.stdout == UX1


def test_long_values_are_not_wrapped_at_the_terminal_width(
    workspace: Path, seed_record: SessionRecord, no_ambient_config: None
) -> None:
    agent = "a-very-long-agent-name-" * 4
    SessionStore(sessions_dir(workspace)).write(replace(seed_record, metadata={"agent": agent}))

    result = invoke(["--workspace", str(workspace), "stats", "session"], env={"COLUMNS": "40"})

    assert result.exit_code == 0
    assert f"Agent:                      {agent}" in result.stdout.splitlines()


def test_help_lists_the_stats_session_command(no_ambient_config: None) -> None:
    result = invoke(["stats", "--help"])
    assert result.exit_code == 0
    assert "session" in result.stdout


# --- the installed `rad` -------------------------------------------------------------------
def run_rad(
    rad_exe: str, args: list[str], env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [rad_exe, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=dict(env),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_installed_rad_shows_the_session(
    rad_exe: str, filled: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    proc = run_rad(rad_exe, ["--workspace", str(filled), "stats", "session"], clean_env, tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == UX1
    assert proc.stderr == ""


def test_installed_rad_json_and_environment_workspace(
    rad_exe: str,
    filled: Path,
    seed_record: SessionRecord,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {**clean_env, "RADIUM_WORKSPACE": str(filled)}
    proc = run_rad(rad_exe, ["stats", "session", "3c6d", "--json"], env, tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == seed_record.to_json()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stats", "session", "ffff"], "rad: error: no session matches 'ffff'"),
        (
            ["stats", "session", "abcd"],
            "rad: error: session prefix 'abcd' is ambiguous (2 sessions match)",
        ),
        (["stats", "session", "../x"], "rad: error: invalid session id '../x'"),
    ],
)
def test_installed_rad_errors_are_one_line_without_traceback(
    rad_exe: str,
    filled: Path,
    clean_env: dict[str, str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    proc = run_rad(rad_exe, ["--workspace", str(filled), *args], clean_env, tmp_path)

    assert proc.returncode == 1
    assert proc.stdout == ""
    assert_one_error_line(proc.stderr, message)


def test_installed_rad_empty_store(
    rad_exe: str, workspace: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    proc = run_rad(
        rad_exe, ["--workspace", str(workspace), "stats", "session"], clean_env, tmp_path
    )

    assert proc.returncode == 1
    assert proc.stdout == ""
    folder = workspace / ".radium" / "_internals" / "sessions"
    assert_one_error_line(proc.stderr, f"rad: error: no sessions stored in {folder}")


def test_python_dash_m_radium_otel(filled: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    help_proc = subprocess.run(
        [sys.executable, "-m", "radium_otel", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    session_proc = subprocess.run(
        [sys.executable, "-m", "radium_otel", "-w", str(filled), "stats", "session"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert help_proc.returncode == 0, help_proc.stderr
    assert "Usage: python -m radium_otel" in help_proc.stdout
    assert "stats" in help_proc.stdout
    assert session_proc.returncode == 0, session_proc.stderr
    assert session_proc.stdout == UX1


def test_piped_output_has_no_ansi_escapes(
    rad_exe: str, filled: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    proc = run_rad(
        rad_exe, ["--workspace", str(filled), "stats", "session"], {**clean_env}, tmp_path
    )
    assert proc.returncode == 0
    assert ANSI.search(proc.stdout) is None


def _run_in_terminal(argv: list[str], env: Mapping[str, str], cwd: Path) -> bytes:
    """Output of ``argv`` run with a pseudo-terminal as stdout and stderr."""
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=dict(env), cwd=cwd
        )
    finally:
        os.close(follower)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
        proc.wait(timeout=60)
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_no_color_turns_colour_off_on_a_terminal(
    rad_exe: str, filled: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    argv = [rad_exe, "--workspace", str(filled), "stats", "session"]
    env = {**clean_env, "TERM": "xterm-256color", "COLUMNS": "100"}

    styled = _run_in_terminal(argv, env, tmp_path)
    plain = _run_in_terminal(argv, {**env, "NO_COLOR": "1"}, tmp_path)

    assert b"\x1b[" in styled  # on a terminal the section titles are bold ...
    assert b"\x1b[" not in plain  # ... and with NO_COLOR there is no escape at all
    assert plain.decode().replace("\r\n", "\n") == UX1


# --- beside the session index --------------------------------------------------------------
def test_stats_session_reads_the_file_whatever_the_index(
    filled: Path, no_ambient_config: None
) -> None:
    index = filled / ".radium" / "_internals" / "index.sqlite3"
    assert index.is_file()  # every write keeps it
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(b"not a database")

    result = invoke(["--workspace", str(filled), "stats", "session"])

    assert result.exit_code == 0
    assert result.stdout == UX1
    assert result.stderr == ""


def test_help_lists_the_stats_commands(no_ambient_config: None) -> None:
    result = invoke(["stats", "--help"])
    assert result.exit_code == 0
    for command in ("session", "model", "tools", "history", "export", "reindex"):
        assert command in result.stdout


def test_the_latest_session_is_found_in_the_index_and_only_its_file_read(
    filled: Path, no_ambient_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    parsed: list[str] = []
    store_read = SessionStore.read
    index_read = index_module.read_facts

    def counting_read(self: SessionStore, path: Path, now: float | None = None) -> SessionRecord:
        read.append(path.name)
        return store_read(self, path, now)

    def counting_parse(path: Path) -> tuple[index_module.FileStat, index_module.SessionFacts]:
        parsed.append(path.name)
        return index_read(path)

    monkeypatch.setattr(SessionStore, "read", counting_read)
    monkeypatch.setattr(index_module, "read_facts", counting_parse)

    result = invoke(["--workspace", str(filled), "stats", "session"])

    assert (result.exit_code, result.stdout, result.stderr) == (0, UX1, "")
    assert read == [f"{SEED_ID}.json"]
    assert parsed == []  # every file was indexed when the store wrote it


def test_a_session_file_copied_in_is_the_latest_once_indexed(
    filled: Path, seed_record: SessionRecord, no_ambient_config: None
) -> None:
    newer = replace(seed_record, id=NEWER_ID, start_time=seed_record.start_time + timedelta(1))
    (sessions_dir(filled) / f"{NEWER_ID}.json").write_text(json.dumps(newer.to_json()))

    result = invoke(["--workspace", str(filled), "stats", "session", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == newer.to_json()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["stats", "history", "--since", "garbage"],
            "rad: error: invalid date 'garbage' (use YYYY-MM-DD, YYYYMMDD or a relative 7d, "
            "12h, 2w)",
        ),
        (
            ["stats", "history", "--limit", "x"],
            "rad: error: invalid value for '--limit' / '-n': Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            ["stats", "session", "--jsn"],
            "rad: error: no such option: --jsn (Possible options: --json)",
        ),
        (["--workspace"], "rad: error: option '--workspace' requires an argument"),
    ],
)
def test_installed_rad_usage_errors_are_one_line_with_exit_code_2(
    rad_exe: str,
    filled: Path,
    clean_env: dict[str, str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    proc = run_rad(rad_exe, ["--workspace", str(filled), *args], clean_env, tmp_path)

    assert (proc.returncode, proc.stdout) == (2, "")
    assert_one_error_line(proc.stderr, message)


@pytest.mark.parametrize("args", [[], ["stats"]])
def test_a_command_group_alone_prints_its_help(
    rad_exe: str, clean_env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    proc = run_rad(rad_exe, args, {**clean_env, "COLUMNS": "100"}, tmp_path)

    assert proc.returncode == 2
    assert f"Usage: rad {' '.join(args)}".replace("  ", " ").strip() in proc.stdout
    assert "Commands" in proc.stdout
    assert proc.stderr == ""


def test_without_a_usable_index_the_latest_session_is_found_by_reading_the_files(
    filled: Path, no_ambient_config: None
) -> None:
    index = filled / ".radium" / "_internals" / "index.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.mkdir()  # not a file SQLite can open, nor one the index may delete

    result = invoke(["--workspace", str(filled), "stats", "session"])

    assert (result.exit_code, result.stdout) == (0, UX1)
    assert result.stderr.startswith("rad: warning: session index unavailable (")
    assert result.stderr.endswith("); reading every session file\n")
    assert result.stderr.count("\n") == 1
