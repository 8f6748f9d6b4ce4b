"""The session index: kept by every write, rebuilt when missing, corrupt or stale, and always
giving the answers of a full scan of the JSON files (which stay the source of truth).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radium_otel._internal.index import (
    STALE_MARKER,
    SessionIndex,
    facts_from_record,
    index_path,
    read_facts,
    scan_folder,
)
from radium_otel._internal.record import (
    STATUSES,
    CacheStats,
    ModelUsage,
    RecordError,
    SessionRecord,
    ToolStats,
)
from radium_otel._internal.reports import (
    ScannedSessions,
    Sessions,
    Window,
    history_report,
    model_report,
    rollup_report,
    tool_report,
)
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

RecordFactory = Callable[..., SessionRecord]
BASE = datetime(2025, 1, 1, tzinfo=timezone.utc)
FUTURE = datetime(2100, 1, 1, tzinfo=timezone.utc)


def oracle(store: SessionStore) -> ScannedSessions:
    """The reference: every file read with `SessionStore.load_all`, aggregated in Python."""
    sessions, _ = store.load_all()
    return ScannedSessions(
        (facts_from_record(s.record, s.path.name) for s in sessions),
        (p.name for p in store.paths()),
    )


def reports(source: Sessions, now: float, since: datetime | None = None) -> list[Any]:
    """Every report over ``source``, as objects (dataclass equality) and JSON."""
    windows = [Window(), Window(since, None), Window(None, since), Window(BASE, since)]
    if since is not None:  # within one day, and across a few days from mid-day to mid-day
        windows += [
            Window(since - timedelta(hours=3), since + timedelta(hours=2)),
            Window(since - timedelta(hours=50), since + timedelta(hours=30)),
        ]
    out: list[Any] = []
    for w in windows:
        if w.since and w.until and w.since >= w.until:
            continue
        out += [
            model_report(source, w),
            tool_report(source, w),
            history_report(source, w, None, None, now=now),
            history_report(source, w, "coder", 3, now=now),
            *(rollup_report(source, w, None, by, None) for by in ("day", "week", "month")),
            rollup_report(source, w, "reviewer", "day", 2),
        ]
    return out + [r.to_json() for r in out]


def indexed_reports(
    store: SessionStore, now: float, since: datetime | None = None, bulk: int = 1000
) -> list[Any]:
    from radium_otel._internal.reports import IndexedSessions

    with SessionIndex(store.folder, bulk=bulk) as index:
        index.refresh()
        return reports(IndexedSessions(index), now, since)


def assert_index_matches_files(store: SessionStore) -> None:
    """Row for row: the index holds exactly the facts of the files on disk."""
    with SessionIndex(store.folder) as index:
        index.refresh()
        disk = scan_folder(store.folder)
        assert index.file_stats() == disk
        skipped = dict(index.unreadable())
        for name in disk:
            try:
                expected = read_facts(store.folder / name)[1]
            except RecordError as exc:
                assert skipped[name] == str(exc)
                assert index.facts(name) is None
            else:
                assert index.facts(name) == expected


# --- records for the property tests --------------------------------------------------------
_ids = st.from_regex(r"[ab][0-9a-c]{7}-[0-9a-f]{3}", fullmatch=True)
_counts = st.integers(0, 10**7)
_seconds = st.floats(0, 10**5, allow_nan=False, allow_infinity=False)
_costs = st.one_of(st.none(), st.floats(0, 100, allow_nan=False, allow_infinity=False))


@st.composite
def records(draw: st.DrawFn, session_id: str) -> SessionRecord:
    start = BASE + timedelta(microseconds=draw(st.integers(0, 60 * 86_400 * 10**6)))
    status = draw(st.sampled_from(STATUSES))
    models = [
        ModelUsage(
            model=draw(st.sampled_from(["m1", "m2", "m3"])),
            provider=draw(st.sampled_from([None, "p1", "p2"])),
            requests=draw(_counts),
            errors=draw(_counts),
            input_tokens=draw(_counts),
            output_tokens=draw(_counts),
            cache_read_tokens=draw(_counts),
            cache_creation_tokens=draw(_counts),
            reasoning_tokens=draw(_counts),
            latency_s=draw(_seconds),
            cost_usd=draw(_costs),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    tools = {
        name: ToolStats(
            calls=draw(_counts),
            successes=draw(_counts),
            failures=draw(_counts),
            duration_s=draw(_seconds),
            error_types=draw(st.dictionaries(st.sampled_from(["E1", "E2", "E3"]), _counts)),
        )
        for name in draw(st.sets(st.sampled_from(["read", "write", "run"])))
    }
    changes = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries({"lines_added": _counts, "lines_removed": _counts}),
            st.just({"reason": "not in a git work tree"}),
        )
    )
    here = draw(st.booleans())
    return SessionRecord(
        id=session_id,
        status=status,
        start_time=start,
        end_time=start + timedelta(seconds=draw(_seconds)) if draw(st.booleans()) else None,
        # an active record is stale (interrupted) unless checkpointed "in the future"
        updated_time=draw(st.sampled_from([None, start, FUTURE])),
        metadata={
            "agent": draw(st.sampled_from([None, "coder", "reviewer"])),
            "host": socket.gethostname() if here else "elsewhere",
            "pid": os.getpid() if here else 12345,
            # a slow checkpointer's records stay active for longer, in the index as in the files
            "checkpoint_interval_s": draw(st.sampled_from([None, 5.0, 1e9])),
        },
        wall_time_s=draw(_seconds),
        tool_calls=draw(_counts),
        tool_successes=draw(_counts),
        tool_failures=draw(_counts),
        tools=tools,
        decisions=draw(
            st.dictionaries(
                st.sampled_from(["accept", "reject", "modify", "auto_accept", "other"]), _counts
            )
        ),
        code_changes=changes,
        model_usage=models,
        cache_stats=CacheStats(savings_usd=draw(_costs)),
        cost_usd=draw(_costs),
    )


@st.composite
def session_sets(draw: st.DrawFn) -> list[SessionRecord]:
    ids = draw(st.lists(_ids, min_size=1, max_size=10, unique=True))
    return [draw(records(i)) for i in ids]


@dataclass
class Workspace:
    """A scratch workspace (hypothesis runs many examples in one test function)."""

    root: Path

    @property
    def store(self) -> SessionStore:
        return SessionStore(sessions_dir(self.root))

    @property
    def index(self) -> Path:
        return index_path(self.store.folder)

    def write_behind_its_back(self, record: SessionRecord) -> None:
        """Replace a file the way another program would: a new file renamed into place."""
        self.store.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.store.folder / f".other-{record.id}"
        tmp.write_text(json.dumps(record.to_json()))
        os.replace(tmp, self.store.folder / f"{record.id}.json")


def scratch() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="radium-index-")


def _remove_index(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _backup(path: Path, to: Path) -> None:
    src = sqlite3.connect(path)
    dst = sqlite3.connect(to)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


PERTURBATIONS = [
    "none",
    "deleted",
    "garbage",
    "truncated",
    "older",
    "schema",
    "stale-marker",
    "killed-mid-build",
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    first=session_sets(),
    later=session_sets(),
    behind=st.lists(st.integers(0, 9), max_size=4),
    delete=st.lists(st.integers(0, 9), max_size=3),
    perturbation=st.sampled_from(PERTURBATIONS),
    bulk=st.sampled_from([1, 1000]),
    since_hours=st.integers(-48, 62 * 24),
)
def test_index_answers_like_a_full_scan(
    first: list[SessionRecord],
    later: list[SessionRecord],
    behind: list[int],
    delete: list[int],
    perturbation: str,
    bulk: int,
    since_hours: int,
) -> None:
    with scratch() as tmp:
        ws = Workspace(Path(tmp))
        store = ws.store
        for record in first:
            store.write(record)
        with SessionIndex(store.folder) as index:  # a reader builds the index ...
            index.refresh()
        snapshot = Path(tmp) / "snapshot.sqlite3"
        _backup(ws.index, snapshot)

        # ... then sessions are written (by the store, and behind its back) and deleted
        for record in later:
            store.write(record)
        everything = [*first, *later]
        for i in behind:
            old = everything[i % len(everything)]
            ws.write_behind_its_back(replace(old, tool_calls=old.tool_calls + 1, cost_usd=1.5))
        for i in delete:
            (store.folder / f"{everything[i % len(everything)].id}.json").unlink(missing_ok=True)
        (store.folder / "foreign.json").write_text('{"not": "a session"}')

        if perturbation == "deleted":
            _remove_index(ws.index)
        elif perturbation == "garbage":
            _remove_index(ws.index)
            ws.index.write_bytes(os.urandom(5000))
        elif perturbation == "truncated":
            data = ws.index.read_bytes()
            _remove_index(ws.index)
            ws.index.write_bytes(data[: len(data) // 2])
        elif perturbation == "older":
            _remove_index(ws.index)
            shutil.copy(snapshot, ws.index)
        elif perturbation == "schema":
            conn = sqlite3.connect(ws.index)
            conn.execute("PRAGMA user_version=99")
            conn.close()
        elif perturbation == "stale-marker":
            (store.folder.parent / STALE_MARKER).touch()
        elif perturbation == "killed-mid-build":  # a bulk build died before its day tables
            conn = sqlite3.connect(ws.index)
            with conn:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('days_dirty', 1)")
                conn.execute("DELETE FROM tool_days")
                conn.execute("UPDATE model_days SET requests = requests + 1")
            conn.close()

        now = time.time()
        since = BASE + timedelta(hours=since_hours)
        expected = reports(oracle(store), now, since)
        assert indexed_reports(store, now, since, bulk) == expected
        assert_index_matches_files(store)
        # and a second reader, on the now fresh index, still agrees
        assert indexed_reports(store, now, since) == expected


# --- freshness -----------------------------------------------------------------------------
def _age_folder(folder: Path, seconds: float = 60) -> None:
    """Make the folder look untouched for a while (its mtime is then trusted)."""
    old = time.time_ns() - int(seconds * 1e9)
    os.utime(folder, ns=(old, old))


def test_writes_keep_the_index_current(store: SessionStore, make_record: RecordFactory) -> None:
    a = make_record("aaaa0000-0000-4000-8000-000000000001")
    store.write(a)
    store.write(replace(a, tool_calls=9))
    store.write(make_record("bbbb0000-0000-4000-8000-000000000002"))

    conn = sqlite3.connect(index_path(store.folder))
    try:
        rows = conn.execute("SELECT file, tool_calls FROM sessions ORDER BY file").fetchall()
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()
    assert rows == [(f"{a.id}.json", 9), ("bbbb0000-0000-4000-8000-000000000002.json", 5)]
    assert_index_matches_files(store)


def test_quick_check_trusts_an_unchanged_folder(
    store: SessionStore, make_record: RecordFactory
) -> None:
    record = make_record("aaaa0000-0000-4000-8000-000000000001")
    path = store.write(record)
    _age_folder(store.folder)
    with SessionIndex(store.folder) as index:
        assert index.refresh().checked  # first look: a full check, records the folder's mtime
        assert not index.refresh().checked  # then one stat says nothing changed

        # A file replaced (as every writer does) moves the folder's mtime: noticed.
        tmp = store.folder / "x.tmp"
        tmp.write_text(json.dumps(replace(record, tool_calls=7).to_json()))
        os.replace(tmp, path)
        result = index.refresh()
        assert (result.checked, result.parsed) == (True, 1)
        assert index.history(None, None, None, None)[0].tool_calls == 7

        # A file edited in place leaves the folder alone: only reindex (force) sees it.
        _age_folder(store.folder)
        index.refresh()
        mtime = store.folder.stat().st_mtime_ns
        path.write_text(json.dumps(replace(record, tool_calls=8).to_json()))
        assert store.folder.stat().st_mtime_ns == mtime
        assert not index.refresh().checked
        assert index.history(None, None, None, None)[0].tool_calls == 7
        assert index.refresh(force=True).parsed == 1
        assert index.history(None, None, None, None)[0].tool_calls == 8


def test_a_just_changed_folder_is_always_checked(
    store: SessionStore, make_record: RecordFactory
) -> None:
    store.write(make_record("aaaa0000-0000-4000-8000-000000000001"))
    with SessionIndex(store.folder) as index:
        index.refresh()
        # within the same timestamp tick a change could hide: no quick answer yet
        assert index.refresh().checked


def test_a_failed_index_update_never_fails_the_write_and_marks_the_index_stale(
    store: SessionStore, make_record: RecordFactory, caplog: pytest.LogCaptureFixture
) -> None:
    first = make_record("aaaa0000-0000-4000-8000-000000000001")
    store.write(first)
    index = index_path(store.folder)
    _remove_index(index)
    index.mkdir()  # SQLite cannot open this

    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        path = store.write(make_record("bbbb0000-0000-4000-8000-000000000002"))

    assert path.exists()
    assert (store.folder.parent / STALE_MARKER).exists()
    assert "session index not updated" in caplog.text
    index.rmdir()
    with SessionIndex(store.folder) as reader:
        result = reader.refresh()
        assert result.rebuilt
        assert reader.count(None, None) == 2
    assert not (store.folder.parent / STALE_MARKER).exists()


def test_unreadable_files_are_remembered_not_reparsed(
    store: SessionStore, make_record: RecordFactory
) -> None:
    store.write(make_record("aaaa0000-0000-4000-8000-000000000001"))
    (store.folder / "broken.json").write_text("{")
    with SessionIndex(store.folder) as index:
        index.refresh()
        assert index.unreadable() == [
            ("broken.json", "not valid JSON (Expecting property name enclosed in double "
             "quotes: line 1 column 2 (char 1))"),
        ]  # fmt: skip
        _age_folder(store.folder)
        index.refresh()
        assert not index.refresh().checked
        assert [name for name, _ in index.unreadable()] == ["broken.json"]


def test_values_beyond_exact_sums_are_skipped_like_unreadable_files(
    store: SessionStore, make_record: RecordFactory
) -> None:
    big = make_record("aaaa0000-0000-4000-8000-000000000001", tool_calls=2**60)
    store.write(big)
    with SessionIndex(store.folder) as index:
        index.refresh()
        assert index.unreadable() == [(f"{big.id}.json", "field 'tool_calls' is too large")]
        assert index.count(None, None) == 0


def test_the_index_file_is_private_and_outside_the_sessions_folder(
    store: SessionStore, make_record: RecordFactory
) -> None:
    store.write(make_record())
    path = index_path(store.folder)
    assert path == store.folder.parent / "index.sqlite3"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(store.folder)) == [f"{make_record().id}.json"]


def test_reading_a_workspace_without_sessions_creates_nothing(tmp_path: Path) -> None:
    folder = sessions_dir(tmp_path)
    with SessionIndex(folder) as index:
        assert index.refresh().parsed == 0
        assert index.count(None, None) == 0
    assert not (tmp_path / ".radium").exists()


# --- several processes at once -------------------------------------------------------------
WRITER = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from radium_otel._internal.record import ModelUsage, SessionRecord, ToolStats
    from radium_otel._internal.store import SessionStore

    folder, worker, sessions, rounds = Path(sys.argv[1]), *map(int, sys.argv[2:5])
    store = SessionStore(folder)
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    for r in range(rounds):  # every session is checkpointed `rounds` times
        for n in range(sessions):
            store.write(
                SessionRecord(
                    id=f"w{worker:02d}s{n:03d}-0000",
                    status="completed" if r == rounds - 1 else "active",
                    start_time=start + timedelta(minutes=worker * 100 + n),
                    tool_calls=r + 1,
                    tools={"run": ToolStats(calls=r + 1, successes=r + 1, duration_s=0.5)},
                    decisions={"accept": r},
                    model_usage=[
                        ModelUsage(model=f"m{n % 3}", requests=r + 1, input_tokens=100 * n,
                                   cost_usd=0.01 * r if n % 4 else None)
                    ],
                )
            )
    """
)
READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from radium_otel._internal.index import SessionIndex

    folder, seconds = Path(sys.argv[1]), float(sys.argv[2])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with SessionIndex(folder) as index:
            index.refresh()
            index.count(None, None)
    """
)


def test_concurrent_writers_and_readers_leave_a_consistent_index(tmp_path: Path) -> None:
    folder = sessions_dir(tmp_path)
    workers, sessions, rounds = 6, 12, 3
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(folder), "4"],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder), str(w), str(sessions), str(rounds)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(workers)
    ]
    for proc in [*writers, *readers]:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert err == ""  # no "index not updated" warning: nobody gave up on the lock

    store = SessionStore(folder)
    conn = sqlite3.connect(index_path(folder))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
    # Without any refresh, the index already holds every file's last version ...
    index = SessionIndex(folder)
    try:
        index._conn = sqlite3.connect(index.path, isolation_level=None)
        assert index.file_stats() == scan_folder(folder)
        for name in scan_folder(folder):
            assert index.facts(name) == read_facts(folder / name)[1]
        assert index.count(None, None) == workers * sessions
    finally:
        index.close()
    # ... so a full check finds nothing to do, and the reports are those of a full scan.
    with SessionIndex(folder) as index:
        result = index.refresh()
        assert (result.parsed, result.removed) == (0, 0)
    now = time.time()
    assert indexed_reports(store, now) == reports(oracle(store), now)


@pytest.mark.parametrize("bulk", [False, True])
@pytest.mark.parametrize(
    "bad",
    [
        {"wall_time_s": float("nan")},
        {"wall_time_s": -1.0},
        {"cost_usd": float("inf")},
        {"tool_calls": -3},
        {"tools": {"run": ToolStats(calls=1, successes=1, duration_s=float("nan"))}},
        {"model_usage": [ModelUsage(model="m", requests=-1)]},
        {"model_usage": [ModelUsage(model="m", requests=1, cost_usd=-0.5)]},
    ],
    ids=[
        "nan-wall",
        "negative-wall",
        "inf-cost",
        "negative-count",
        "nan-tool-time",
        "negative-requests",
        "negative-cost",
    ],
)
def test_a_record_a_reader_refuses_is_indexed_as_its_file_reads(
    store: SessionStore, make_record: RecordFactory, bad: dict[str, Any], bulk: bool
) -> None:
    """A value no reader accepts (a bug's NaN, a negative count) written by this process is
    skipped by the index with the reader's own reason, never summed.
    """
    record = make_record("aaaa0000-0000-4000-8000-000000000001", **bad)
    store.write(record, bulk=bulk)
    store.index_bulk()
    with SessionIndex(store.folder) as index:
        assert index.refresh().parsed == 0  # (the row made at writing stays)
        (unreadable,) = index.unreadable()
        assert index.count(None, None) == 0
    with pytest.raises(RecordError) as refused:
        read_facts(store.folder / f"{record.id}.json")
    assert unreadable == (f"{record.id}.json", str(refused.value))
    assert_index_matches_files(store)
