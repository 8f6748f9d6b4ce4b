"""`rad import` on generated transcripts: what the journal keeps; a session always stored
whole, however its transcripts change and whatever the journal still holds; an import in
several processes storing exactly what one process stores.

Transcripts come from the benchmark's generator (`bench/importing.py`, shaped like Claude
Code 2.1.x's): several sessions, side-chain (sub-agent) work moved into a file of its own as
Claude Code writes it (``<session>/subagents/agent-*.jsonl``). The oracle is one import of
the finished transcripts into an empty workspace.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from radium_otel._internal.index import SessionIndex, read_facts
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.sources import importer as importer_module
from radium_otel.sources.collector import Collector
from radium_otel.sources.importer import Importer
from radium_otel.sources.serve import journal_dir
from radium_otel.sources.transcripts.claude_code import FORMAT

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # `bench` is not an installed package

from bench import importing  # noqa: E402

DAY = 86_400.0


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[list[bytes]]:
    """The lines of 8 generated transcripts, the first with side-chain work."""
    folder = tmp_path_factory.mktemp("generated")
    corpus = importing.generate(folder, 8, seed=7, log=lambda _: None)
    files = [(folder / "projects" / name).read_bytes().splitlines(keepends=True)
             for name in corpus.files]  # fmt: skip
    files.sort(key=lambda lines: -sum(b'"isSidechain":true' in line for line in lines))
    assert any(b'"isSidechain":true' in line for line in files[0])
    return files


def _sid(lines: list[bytes]) -> str:
    for line in lines:
        row = json.loads(line)
        if isinstance(row.get("sessionId"), str):
            return str(row["sessionId"])
    raise AssertionError("no session id")


def _write(path: Path, lines: list[bytes], age_s: float, mode: str = "wb") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as f:
        f.write(b"".join(lines))
    when = time.time() - age_s
    os.utime(path, (when, when))


def _split(lines: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """The session's own rows, and its side-chain rows (the sub-agent's file)."""
    side = [line for line in lines if b'"isSidechain":true' in line]
    return [line for line in lines if line not in side], side


def _import(workspace: Path, projects: Path, workers: int = 1) -> dict[str, SessionRecord]:
    Importer(workspace, FORMAT, workers=workers, parallel_from_bytes=0).run([projects])
    store = SessionStore(sessions_dir(workspace))
    records = (store.read(p) for p in store.paths())
    # (when the record was written is the one thing two imports may not share)
    return {r.id: replace(r, updated_time=r.end_time) for r in records}


def _journaled(workspace: Path, sid: str) -> bool:
    collector = Collector(SessionStore(sessions_dir(workspace)), journal_dir(workspace))
    return collector.journaled(sid)


def _layout(projects: Path, files: list[list[bytes]], age_s: float) -> None:
    """The first transcript split into the session's file and its sub-agent's, the others
    whole, every file last written ``age_s`` ago.
    """
    main, side = _split(files[0])
    sid = _sid(files[0])
    _write(projects / "p" / f"{sid}.jsonl", main, age_s)
    _write(projects / "p" / sid / "subagents" / "agent-a1.jsonl", side, age_s)
    for lines in files[1:]:
        _write(projects / "p" / f"{_sid(lines)}.jsonl", lines, age_s)


def test_only_transcripts_recent_enough_to_be_resumed_live_are_journaled(
    generated: list[list[bytes]], tmp_path: Path
) -> None:
    old, recent = generated[1], generated[2]
    projects = tmp_path / "projects"
    _write(projects / "p" / f"{_sid(old)}.jsonl", old, 10 * DAY)
    _write(projects / "p" / f"{_sid(recent)}.jsonl", recent, 3600)
    records = _import(tmp_path / "ws", projects)

    assert set(records) == {_sid(old), _sid(recent)}
    assert not _journaled(tmp_path / "ws", _sid(old))
    assert _journaled(tmp_path / "ws", _sid(recent))


@pytest.mark.parametrize("age_s", [10 * DAY, 3600], ids=["old", "recent"])
def test_a_transcript_that_grew_after_its_journal_was_forgotten_is_read_whole(
    generated: list[list[bytes]], tmp_path: Path, age_s: float
) -> None:
    lines = generated[1]
    half = len(lines) // 2
    path = tmp_path / "projects" / "p" / f"{_sid(lines)}.jsonl"
    _write(path, lines[:half], age_s)
    _import(tmp_path / "ws", tmp_path / "projects")
    shutil.rmtree(journal_dir(tmp_path / "ws"), ignore_errors=True)  # (forgotten)
    _write(path, lines[half:], age_s, mode="ab")
    grown = _import(tmp_path / "ws", tmp_path / "projects")
    _write(tmp_path / "whole" / "p" / path.name, lines, age_s)
    whole = _import(tmp_path / "ws-whole", tmp_path / "whole")

    (record,) = grown.values()
    (expected,) = whole.values()
    got, want = record.to_json(), expected.to_json()
    assert {k: (v, want.get(k)) for k, v in got.items() if v != want.get(k)} == {}
    assert record.requests > 0 and record.tool_calls > 0


@pytest.mark.parametrize("age_s", [10 * DAY, 3600], ids=["old", "recent"])
def test_a_session_in_two_files_is_whole_when_one_of_them_grows(
    generated: list[list[bytes]], tmp_path: Path, age_s: float
) -> None:
    _layout(tmp_path / "whole", generated, age_s)
    whole = _import(tmp_path / "ws-whole", tmp_path / "whole")
    main, side = _split(generated[0])
    sid = _sid(generated[0])
    projects = tmp_path / "projects"
    agent = projects / "p" / sid / "subagents" / "agent-a1.jsonl"
    _write(projects / "p" / f"{sid}.jsonl", main, age_s)
    _write(agent, side[: len(side) // 2], age_s)
    for lines in generated[1:]:
        _write(projects / "p" / f"{_sid(lines)}.jsonl", lines, age_s)
    _import(tmp_path / "ws", projects)
    _write(agent, side[len(side) // 2 :], age_s, mode="ab")  # only the sub-agent's file grows
    grown = _import(tmp_path / "ws", projects)

    assert grown == whole
    assert len(whole) == len(generated)


def test_a_session_read_in_two_batches_is_stored_whole(
    generated: list[list[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _layout(tmp_path / "projects", generated, 10 * DAY)
    whole = _import(tmp_path / "ws-whole", tmp_path / "projects")
    # A batch ends after every file: the session's own file and its sub-agent's are read in
    # different batches (os.walk yields the folder's files before its sub-folders).
    monkeypatch.setattr(importer_module, "BATCH_ITEMS", 1)
    batched = _import(tmp_path / "ws", tmp_path / "projects")

    assert batched == whole
    assert not any(_journaled(tmp_path / "ws", sid) for sid in batched)


def test_a_line_only_the_standard_library_reads_is_read_the_same(
    generated: list[list[bytes]], tmp_path: Path
) -> None:
    # A lone surrogate escaped in a string (JavaScript's JSON.stringify writes one for half
    # an emoji cut off), which orjson refuses: the line is read as Python's json reads it.
    lines = generated[1]
    odd = [line.replace(b'"is_error":', b'"note":"\\ud83d","is_error":', 1) for line in lines]
    assert sum(a != b for a, b in zip(lines, odd, strict=True)) > 1
    _write(tmp_path / "a" / "p" / "s.jsonl", lines, 10 * DAY)
    _write(tmp_path / "b" / "p" / "s.jsonl", odd, 10 * DAY)
    summary = Importer(tmp_path / "ws-b", FORMAT).run([tmp_path / "b"])

    assert summary.skipped == {}
    assert _import(tmp_path / "ws-b", tmp_path / "b") == _import(tmp_path / "ws-a", tmp_path / "a")


def _spread(projects: Path, files: list[list[bytes]], age_s: float) -> None:
    """The transcripts in four project folders; the first session's sub-agent file in a
    folder other than its own (a session two groups hold).
    """
    main, side = _split(files[0])
    sid = _sid(files[0])
    _write(projects / "p0" / f"{sid}.jsonl", main, age_s)
    _write(projects / "p3" / sid / "subagents" / "agent-a1.jsonl", side, age_s)
    for n, lines in enumerate(files[1:], start=1):
        _write(projects / f"p{n % 4}" / f"{_sid(lines)}.jsonl", lines, age_s)


@pytest.mark.parametrize("age_s", [10 * DAY, 3600], ids=["old", "recent"])
def test_an_import_in_two_processes_stores_what_one_process_stores(
    generated: list[list[bytes]], tmp_path: Path, age_s: float
) -> None:
    _spread(tmp_path / "projects", generated, age_s)
    one = Importer(tmp_path / "one", FORMAT, workers=1).run([tmp_path / "projects"])
    two = Importer(tmp_path / "two", FORMAT, workers=2, parallel_from_bytes=0).run(
        [tmp_path / "projects"]
    )
    store_one = SessionStore(sessions_dir(tmp_path / "one"))
    store_two = SessionStore(sessions_dir(tmp_path / "two"))

    def records(store: SessionStore) -> dict[str, dict[str, object]]:
        out = {}
        for p in store.paths():
            r = store.read(p)
            out[r.id] = replace(r, updated_time=r.end_time).to_json()
        return out

    assert records(store_two) == records(store_one)
    assert len(records(store_one)) == len(generated)
    assert (two.files, two.files_read, two.sessions_new, two.sessions_updated) == (
        one.files, one.files_read, one.sessions_new, one.sessions_updated)  # fmt: skip
    assert two.lines > one.lines  # (the session in two groups was read again, whole)
    with SessionIndex(store_two.folder) as index:  # (indexed by the processes that wrote)
        assert index.refresh().parsed == 0
        for path in store_two.paths():
            assert index.facts(path.name) == read_facts(path)[1]
    again = Importer(tmp_path / "two", FORMAT, workers=2, parallel_from_bytes=0).run(
        [tmp_path / "projects"]
    )
    assert (again.files_read, again.lines, again.sessions_new, again.sessions_updated) == (
        0, 0, 0, 0)  # fmt: skip


def test_a_transcript_grown_after_a_parallel_import_is_read_on(
    generated: list[list[bytes]], tmp_path: Path
) -> None:
    _spread(tmp_path / "whole", generated, 3600)
    whole = _import(tmp_path / "ws-whole", tmp_path / "whole")
    lines = generated[1]
    path = tmp_path / "projects" / "p1" / f"{_sid(lines)}.jsonl"
    _spread(tmp_path / "projects", generated, 3600)
    half = len(lines) // 2
    _write(path, lines[:half], 3600)
    _import(tmp_path / "ws", tmp_path / "projects", workers=2)
    _write(path, lines[half:], 3600, mode="ab")
    summary = Importer(tmp_path / "ws", FORMAT, workers=2, parallel_from_bytes=0).run(
        [tmp_path / "projects"]
    )
    store = SessionStore(sessions_dir(tmp_path / "ws"))
    grown = {r.id: replace(r, updated_time=r.end_time) for r in map(store.read, store.paths())}

    assert summary.lines == len(lines) - half  # (journaled: read on from the offset)
    assert grown == whole


def test_rad_import_jobs(generated: list[list[bytes]], tmp_path: Path, rad_exe: str) -> None:
    _spread(tmp_path / "projects", generated, 10 * DAY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADIUM_")}
    ran = {}
    for jobs in ("1", "2"):
        done = subprocess.run(
            [rad_exe, "-w", str(tmp_path / f"ws{jobs}"), "import", "claude-code",
             str(tmp_path / "projects"), "--json", "--jobs", jobs],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        ran[jobs] = json.loads(done.stdout)
        assert ran[jobs]["sessions_new"] == len(generated)
    store = {j: SessionStore(sessions_dir(tmp_path / f"ws{j}")) for j in ("1", "2")}
    assert [p.name for p in store["1"].paths()] == [p.name for p in store["2"].paths()]
    for path in store["1"].paths():
        one, two = store["1"].read(path), store["2"].read(store["2"].folder / path.name)
        assert replace(one, updated_time=None) == replace(two, updated_time=None)
    refused = subprocess.run(
        [rad_exe, "import", "claude-code", str(tmp_path / "projects"), "--jobs", "0"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.startswith("rad: error: invalid value for '--jobs' / '-j'")


def _children() -> list[int]:
    """This process's child processes (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                out.append(int(entry))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_reading_process_killed_mid_import_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = importing.generate(tmp_path / "corpus", 240, seed=11, log=lambda _: None)
    projects = tmp_path / "corpus" / "projects"
    assert corpus.bytes > 40 << 20  # (work enough for a worker to be found at it)
    Importer(tmp_path / "one", FORMAT, workers=1).run([projects])
    before = set(_children())
    done: dict[str, Any] = {}
    importer = Importer(tmp_path / "two", FORMAT, workers=2, parallel_from_bytes=0)
    run = threading.Thread(target=lambda: done.update(summary=importer.run([projects])))
    run.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and run.is_alive() and time.monotonic() < deadline:
        for pid in set(_children()) - before:
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():  # (a worker)
                    time.sleep(0.2)  # (starting or at work: either breaks the pool)
                    os.kill(pid, signal.SIGKILL)
                    killed = pid
                    break
            except (FileNotFoundError, ProcessLookupError):
                continue  # (gone meanwhile)
        time.sleep(0.01)
    run.join(120)

    assert killed is not None and not run.is_alive()
    assert "reading on in one" in caplog.text
    one = SessionStore(sessions_dir(tmp_path / "one"))
    two = SessionStore(sessions_dir(tmp_path / "two"))
    assert [p.name for p in one.paths()] == [p.name for p in two.paths()]
    for path in one.paths():
        a, b = one.read(path), two.read(two.folder / path.name)
        assert replace(a, updated_time=None) == replace(b, updated_time=None)
    assert done["summary"].sessions_new == len(corpus.files)


def test_a_folder_name_that_is_not_utf8_is_remembered_like_any_other(
    generated: list[list[bytes]], tmp_path: Path
) -> None:
    """Its path is kept in the import's state with Python's escapes; the next run finds the
    file unchanged and reads nothing.
    """
    odd = tmp_path / "projects" / os.fsdecode(b"-home-caf\xe9")  # (Latin-1, as on old disks)
    _write(odd / f"{_sid(generated[2])}.jsonl", generated[2], 10 * DAY)
    first = Importer(tmp_path / "ws", FORMAT).run([tmp_path / "projects"])
    again = Importer(tmp_path / "ws", FORMAT).run([tmp_path / "projects"])

    assert (first.files_read, first.sessions_new, first.problems) == (1, 1, [])
    assert (again.files_read, again.sessions_new, again.sessions_updated) == (0, 0, 0)
