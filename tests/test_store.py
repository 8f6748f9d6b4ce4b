"""The local session store (SPEC "Session record"): atomic, private, no path tricks."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from radium_otel._internal.record import RecordError, SessionRecord
from radium_otel._internal.store import (
    STALE_AFTER_S,
    LookupFailed,
    SessionStore,
    is_safe_id,
)
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

RecordFactory = Callable[..., SessionRecord]

ID_A = "abcd1111-0000-4000-8000-000000000001"
ID_B = "abcd2222-0000-4000-8000-000000000002"
ID_C = "f00dcafe-0000-4000-8000-000000000003"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# --- writing -------------------------------------------------------------------------------
def test_write_creates_one_file_named_by_the_id(
    store: SessionStore, make_record: RecordFactory
) -> None:
    path = store.write(make_record())

    assert path == store.folder / "3c6ddcd3-85b6-48f1-88e1-f428ca458337.json"
    assert _names(store.folder) == ["3c6ddcd3-85b6-48f1-88e1-f428ca458337.json"]
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == make_record().to_json()


def test_files_are_0600_and_folders_0700_even_with_umask_zero(
    umask_zero: None, workspace: Path, make_record: RecordFactory
) -> None:
    store = SessionStore(sessions_dir(workspace))

    path = store.write(make_record())

    assert _mode(path) == 0o600
    assert _mode(workspace / ".radium") == 0o700
    assert _mode(workspace / ".radium" / "_internals") == 0o700
    assert _mode(store.folder) == 0o700


def test_rewrite_replaces_the_file_whole(store: SessionStore, make_record: RecordFactory) -> None:
    first = make_record(status="active", end_time=None, tool_calls=1)
    path = store.write(first)
    old_inode = path.stat().st_ino
    with path.open("rb") as reader:  # a reader that opened the old version ...
        second = make_record(tool_calls=5)
        store.write(second)
        old_text = reader.read()

    assert json.loads(old_text) == first.to_json()  # ... still reads all of it
    assert json.loads(path.read_bytes()) == second.to_json()
    assert path.stat().st_ino != old_inode  # renamed over, never rewritten in place
    assert _names(store.folder) == [path.name]  # no temp file left behind


def test_a_failed_write_leaves_no_temp_file(
    store: SessionStore, make_record: RecordFactory
) -> None:
    record = make_record()
    (store.folder / f"{record.id}.json").mkdir(parents=True)  # rename over it must fail

    with pytest.raises(OSError):
        store.write(record)

    assert _names(store.folder) == [f"{record.id}.json"]


def test_round_trip_gives_an_equal_record(store: SessionStore, make_record: RecordFactory) -> None:
    record = make_record()

    again = store.read(store.write(record))

    assert again == record
    assert again.to_json() == record.to_json()


def test_write_refuses_unsafe_ids(store: SessionStore, make_record: RecordFactory) -> None:
    for bad in ("../escape", "a/b", ".hidden", "x.json", ""):
        with pytest.raises(ValueError, match="unsafe session id"):
            store.write(make_record(id=bad))
    assert not store.folder.exists()


# --- lookup --------------------------------------------------------------------------------
@pytest.fixture
def three(store: SessionStore, make_record: RecordFactory) -> SessionStore:
    for sid in (ID_A, ID_B, ID_C):
        store.write(make_record(id=sid))
    return store


def test_resolve_by_full_id_and_by_unique_prefix(three: SessionStore) -> None:
    assert three.resolve(ID_A) == three.folder / f"{ID_A}.json"
    assert three.resolve("abcd1") == three.folder / f"{ID_A}.json"
    assert three.resolve("f00d") == three.folder / f"{ID_C}.json"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("abcd", "session prefix 'abcd' is ambiguous (2 sessions match)"),
        ("abcd3", "no session matches 'abcd3'"),
        ("0b9f6f0e-2c1e-4c55-9d0e-6a1f3f1f2a10", "no session matches '0b9f6f0e-"),
        ("abc", "no session 'abc' (a prefix needs at least 4 characters)"),
        ("f", "no session 'f' (a prefix needs at least 4 characters)"),
        ("", "invalid session id ''"),
        ("../x", "invalid session id '../x'"),
        ("/etc/passwd", "invalid session id '/etc/passwd'"),
        ("abcd1111/../../x", "invalid session id 'abcd1111/../../x'"),
        ("abcd1111.json", "invalid session id 'abcd1111.json'"),
        ("..", "invalid session id '..'"),
        ("abcd*", "invalid session id 'abcd*'"),
        ("-abcd", "invalid session id '-abcd'"),
        ("abcd\n", "invalid session id 'abcd\\n'"),
    ],
)
def test_resolve_refuses_anything_but_one_session(
    three: SessionStore, given: str, message: str
) -> None:
    with pytest.raises(LookupFailed) as info:
        three.resolve(given)
    assert str(info.value).startswith(message)


def test_resolve_in_an_empty_or_missing_store(store: SessionStore) -> None:
    assert not store.folder.exists()
    with pytest.raises(LookupFailed, match=r"^no session matches 'abcd'$"):
        store.resolve("abcd")


def test_an_exact_short_id_resolves(store: SessionStore, make_record: RecordFactory) -> None:
    store.write(make_record(id="ab1"))
    assert store.resolve("ab1") == store.folder / "ab1.json"


@pytest.mark.parametrize(
    ("session_id", "safe"),
    [
        (ID_A, True),
        ("A_b-9", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("_abc", False),
        ("ab.cd", False),
        ("ab/cd", False),
        ("ab\\cd", False),
        ("ab cd", False),
        ("abçd", False),
    ],
)
def test_is_safe_id(session_id: str, safe: bool) -> None:
    assert is_safe_id(session_id) is safe


# --- symlinks ------------------------------------------------------------------------------
def test_a_symlink_in_the_sessions_folder_is_never_read(
    three: SessionStore, tmp_path: Path, make_record: RecordFactory
) -> None:
    victim = tmp_path / "elsewhere.json"
    victim.write_text(json.dumps(make_record(id="beef0000").to_json()))
    link = three.folder / "beef0000-0000-4000-8000-000000000004.json"
    link.symlink_to(victim)

    assert link not in three.paths()
    sessions, warnings = three.load_all()
    assert [s.record.id for s in sessions] == [ID_A, ID_B, ID_C]
    assert warnings == []
    with pytest.raises(LookupFailed, match="no session matches 'beef'"):
        three.resolve("beef")
    with pytest.raises(LookupFailed):
        three.resolve(link.stem)
    with pytest.raises(OSError) as info:
        three.read(link)
    assert info.value.errno == errno.ELOOP


def test_a_symlink_in_the_sessions_folder_is_never_written_through(
    store: SessionStore, tmp_path: Path, make_record: RecordFactory
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    store.folder.mkdir(parents=True)
    record = make_record()
    link = store.folder / f"{record.id}.json"
    link.symlink_to(victim)

    with pytest.raises(OSError) as info:
        store.write(record)

    assert info.value.errno == errno.ELOOP
    assert victim.read_text() == "precious"
    assert link.is_symlink()
    assert _names(store.folder) == [link.name]


def test_a_symlinked_sessions_folder_is_not_written(
    workspace: Path, tmp_path: Path, make_record: RecordFactory
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    internals = workspace / ".radium" / "_internals"
    internals.mkdir(parents=True)
    (internals / "sessions").symlink_to(elsewhere)
    store = SessionStore(sessions_dir(workspace))

    with pytest.raises(OSError) as info:
        store.write(make_record())

    assert info.value.errno == errno.ELOOP
    assert _names(elsewhere) == []


# --- reading -------------------------------------------------------------------------------
def test_load_all_is_oldest_first(store: SessionStore, make_record: RecordFactory) -> None:
    base = make_record()
    for sid, hours in ((ID_C, 2), (ID_A, 0), (ID_B, 1)):
        store.write(replace(base, id=sid, start_time=base.start_time + timedelta(hours=hours)))

    sessions, warnings = store.load_all()

    assert [s.record.id for s in sessions] == [ID_A, ID_B, ID_C]
    assert [s.path.name for s in sessions] == [f"{i}.json" for i in (ID_A, ID_B, ID_C)]
    assert warnings == []


def test_load_all_of_a_missing_store_is_empty(store: SessionStore) -> None:
    assert store.load_all() == ([], [])


def test_unreadable_files_are_skipped_with_one_warning_each(
    three: SessionStore, make_record: RecordFactory
) -> None:
    good = json.dumps(make_record().to_json(), indent=2)
    files: dict[str, str | bytes] = {
        "bad00001.json": good[: len(good) // 2],  # truncated
        "bad00002.json": "",  # empty
        "bad00003.json": '{"name": "package", "version": "1.0.0"}',  # foreign JSON
        "bad00004.json": "[1, 2, 3]",  # not an object
        "bad00005.json": b"\xff\xfe{}",  # not UTF-8
        "bad00006.json": "[" * 100_000 + "]" * 100_000,  # nested past the parser's stack
        "bad00007.json": '{"schema_version": 1, "wall_time_s": 1' + "0" * 5000 + "}",
        "bad00008.json": json.dumps({**make_record().to_json(), "schema_version": 99}),
        "bad00009.json": json.dumps({**make_record().to_json(), "wall_time_s": 10**400}),
    }
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode()
        (three.folder / name).write_bytes(data)

    sessions, warnings = three.load_all()

    assert [s.record.id for s in sessions] == [ID_A, ID_B, ID_C]
    assert len(warnings) == len(files)
    assert [w.split(":")[0] for w in warnings] == [f"skipped {name}" for name in files]
    assert warnings[0].startswith("skipped bad00001.json: not valid JSON (")
    assert warnings[1].startswith("skipped bad00002.json: not valid JSON (Expecting value")
    assert warnings[2] == "skipped bad00003.json: missing schema_version"
    assert warnings[3] == "skipped bad00004.json: not a JSON object"
    assert warnings[4].startswith("skipped bad00005.json: not valid JSON (")
    assert warnings[5].startswith("skipped bad00006.json: not valid JSON (maximum recursion")
    assert warnings[6].startswith("skipped bad00007.json: not valid JSON (Exceeds the limit")
    assert warnings[7] == (
        "skipped bad00008.json: schema_version 99 is newer than this radium-otel "
        "understands (1); upgrade radium-otel"
    )
    assert warnings[8] == (
        "skipped bad00009.json: field 'wall_time_s' must be finite and non-negative"
    )


def test_a_newer_schema_version_is_refused_on_read(
    store: SessionStore, make_record: RecordFactory
) -> None:
    store.folder.mkdir(parents=True)
    path = store.folder / f"{ID_A}.json"
    path.write_text(json.dumps({**make_record(id=ID_A).to_json(), "schema_version": 2}))

    with pytest.raises(RecordError, match=r"^schema_version 2 is newer .* upgrade radium-otel$"):
        store.read(path)
    assert store.resolve("abcd") == path  # it is still found, only not read


def test_paths_skip_temp_files_dotfiles_folders_and_other_names(
    three: SessionStore, make_record: RecordFactory
) -> None:
    (three.folder / ".tmp-abcd9999.1.2").write_text("{}")
    (three.folder / ".abcd9999.json").write_text("{}")
    (three.folder / "abcd9999.json.bak").write_text("{}")
    (three.folder / "notes.txt").write_text("hi")
    (three.folder / "abcd8888.json").mkdir()

    assert [p.name for p in three.paths()] == [f"{i}.json" for i in (ID_A, ID_B, ID_C)]


# --- stale active records ------------------------------------------------------------------
def _active(make_record: RecordFactory, pid: int, host: str, age_s: float) -> SessionRecord:
    now = make_record().start_time + timedelta(hours=1)
    return make_record(
        id=ID_A,
        status="active",
        end_time=None,
        updated_time=now - timedelta(seconds=age_s),
        metadata={"host": host, "pid": pid},
    )


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid names no process (not even a zombie)
    return child.pid


def _read_at(store: SessionStore, record: SessionRecord, seconds_after_update: float) -> str:
    path = store.write(record)
    assert record.updated_time is not None
    return store.read(path, now=record.updated_time.timestamp() + seconds_after_update).status


def test_an_active_record_whose_process_is_gone_reads_as_interrupted(
    store: SessionStore, make_record: RecordFactory
) -> None:
    record = _active(make_record, _dead_pid(), socket.gethostname(), age_s=0)

    assert _read_at(store, record, 1.0) == "interrupted"
    assert json.loads(store.folder.joinpath(f"{ID_A}.json").read_text())["status"] == "active"


def test_an_active_record_of_a_live_process_reads_as_active(
    store: SessionStore, make_record: RecordFactory
) -> None:
    record = _active(make_record, os.getpid(), socket.gethostname(), age_s=0)
    assert _read_at(store, record, 1.0) == "active"
    assert _read_at(store, record, STALE_AFTER_S - 1) == "active"


def test_an_active_record_not_updated_for_long_reads_as_interrupted(
    store: SessionStore, make_record: RecordFactory
) -> None:
    record = _active(make_record, os.getpid(), socket.gethostname(), age_s=0)
    assert _read_at(store, record, STALE_AFTER_S + 1) == "interrupted"


def test_a_record_from_another_host_goes_stale_only_by_age(
    store: SessionStore, make_record: RecordFactory
) -> None:
    record = _active(make_record, _dead_pid(), "some-other-host.invalid", age_s=0)
    assert _read_at(store, record, 1.0) == "active"
    assert _read_at(store, record, STALE_AFTER_S + 1) == "interrupted"


def test_load_all_reports_stale_records_as_interrupted(
    store: SessionStore, make_record: RecordFactory
) -> None:
    host = socket.gethostname()
    live = make_record(
        id=ID_A,
        status="active",
        end_time=None,
        updated_time=datetime.now(timezone.utc),
        metadata={"host": host, "pid": os.getpid()},
    )
    dead = replace(live, id=ID_B, metadata={"host": host, "pid": _dead_pid()})
    done = make_record(id=ID_C)
    for record in (live, dead, done):
        store.write(record)

    sessions, _ = store.load_all()

    statuses = {s.record.id: s.record.status for s in sessions}
    assert statuses == {ID_A: "active", ID_B: "interrupted", ID_C: "completed"}


def test_finished_records_never_turn_interrupted(
    store: SessionStore, make_record: RecordFactory
) -> None:
    record = make_record(metadata={"host": socket.gethostname(), "pid": _dead_pid()})
    for status in ("completed", "failed"):
        assert _read_at(store, replace(record, status=status), 10 * STALE_AFTER_S) == status


# --- temp files ----------------------------------------------------------------------------
def test_cleanup_removes_only_old_temp_files(three: SessionStore, tmp_path: Path) -> None:
    old = three.folder / ".tmp-abcd1111.999.1"
    fresh = three.folder / ".tmp-abcd1111.999.2"
    for path in (old, fresh):
        path.write_text('{"half": ')
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    target = tmp_path / "not-ours"
    target.write_text("keep")
    link = three.folder / ".tmp-link"
    link.symlink_to(target)
    os.utime(link, (an_hour_ago, an_hour_ago), follow_symlinks=False)

    assert three.cleanup_temp_files(older_than_s=60.0) == 1

    assert not old.exists()
    assert fresh.exists()
    assert link.is_symlink()
    assert target.read_text() == "keep"
    assert [p.name for p in three.paths()] == [f"{i}.json" for i in (ID_A, ID_B, ID_C)]


def test_cleanup_of_a_missing_folder(store: SessionStore) -> None:
    assert store.cleanup_temp_files() == 0


# --- workspace -----------------------------------------------------------------------------
def test_workspace_is_the_nearest_folder_with_dot_radium(
    tmp_path: Path, no_ambient_config: None
) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "pkg" / ".radium").mkdir(parents=True)
    deep = tmp_path / "repo" / "pkg" / "src" / "mod"
    deep.mkdir(parents=True)

    assert resolve_workspace(cwd=deep) == tmp_path / "repo" / "pkg"
    assert resolve_workspace(cwd=tmp_path / "repo") == tmp_path / "repo"  # git top level
    assert resolve_workspace(cwd=tmp_path) == tmp_path  # else the current directory


def test_workspace_explicit_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ambient_config: None
) -> None:
    (tmp_path / "a" / ".radium").mkdir(parents=True)
    monkeypatch.setenv("RADIUM_WORKSPACE", str(tmp_path / "env"))

    assert resolve_workspace(cwd=tmp_path / "a") == tmp_path / "env"
    assert resolve_workspace(tmp_path / "explicit", cwd=tmp_path / "a") == tmp_path / "explicit"
    assert sessions_dir(tmp_path) == tmp_path / ".radium" / "_internals" / "sessions"


def test_the_store_keeps_itself_out_of_git_status(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    store = SessionStore(sessions_dir(tmp_path))
    store.write(
        SessionRecord(
            id="abcd1234", status="completed", start_time=datetime(2026, 1, 1, tzinfo=timezone.utc)
        )
    )
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""
    assert (tmp_path / ".radium" / "_internals" / "sessions" / "abcd1234.json").is_file()


@pytest.mark.parametrize("pid", [0, -1, 2**80])
def test_an_active_record_with_an_impossible_pid_reads_as_interrupted(
    tmp_path: Path, pid: int
) -> None:
    store = SessionStore(sessions_dir(tmp_path))
    now = datetime.now(timezone.utc)
    record = SessionRecord(
        id="abcd5678",
        status="active",
        start_time=now,
        updated_time=now,
        metadata={"pid": pid, "host": socket.gethostname()},
    )
    path = store.write(record)
    assert store.read(path).status == "interrupted"


def test_a_slow_checkpointer_is_not_taken_for_dead(tmp_path: Path) -> None:
    """A live writer that checkpoints every 10 minutes: 5 minutes of silence is normal."""
    store = SessionStore(sessions_dir(tmp_path))
    then = datetime.now(timezone.utc) - timedelta(minutes=5)
    meta = {"pid": os.getpid(), "host": socket.gethostname(), "checkpoint_interval_s": 600.0}
    path = store.write(
        SessionRecord(
            id="abcd9999", status="active", start_time=then, updated_time=then, metadata=meta
        )
    )
    assert store.read(path).status == "active"
    meta["checkpoint_interval_s"] = 5.0
    path = store.write(
        SessionRecord(
            id="abcd9999", status="active", start_time=then, updated_time=then, metadata=meta
        )
    )
    assert store.read(path).status == "interrupted"
