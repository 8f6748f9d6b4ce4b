"""Code changes from git snapshot trees, on real repositories in temporary folders."""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radium_otel._internal.codechanges import (
    ERROR_KEY,
    CodeChangeTracker,
    SnapshotError,
    parse_numstat,
    render_files,
)
from radium_otel._internal.record import SessionRecord
from radium_otel.testing import isolated

Edit = Callable[[Path], None]

_LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
)


@pytest.fixture(autouse=True)
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git sees no system or user configuration, and commits are reproducible."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
        monkeypatch.setenv(f"GIT_{role}_DATE", "2025-03-01T09:00:00Z")
    for name in _LOCATION_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def git(repo: Path, *args: str) -> bytes:
    done = subprocess.run(
        ["git", "-c", "protocol.file.allow=always", *args],
        cwd=repo,
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def init_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    if files is not None:
        write(path, files)
        commit(path, "base")
    return path


def write(repo: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").decode().strip()


def lines(n: int, tag: str = "line") -> str:
    return "".join(f"{tag} {i}\n" for i in range(n))


def new_record(session_id: str = "session-1") -> SessionRecord:
    start = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
    return SessionRecord(id=session_id, status="completed", start_time=start)


def run_session(
    workspace: Path,
    during: Edit,
    *,
    tracker: CodeChangeTracker | None = None,
) -> SessionRecord:
    tracker = tracker or CodeChangeTracker(workspace)
    tracker.session_started("session-1")
    assert tracker.wait_for_start("session-1")
    during(workspace)
    return tracker.session_ended(new_record())


def changes(record: SessionRecord) -> dict[str, Any]:
    assert record.code_changes is not None, record.metadata.get(ERROR_KEY)
    assert ERROR_KEY not in record.metadata
    return record.code_changes


def row(
    path: str,
    added: int,
    removed: int,
    *,
    binary: bool = False,
    renamed_from: str | None = None,
) -> dict[str, Any]:
    return {
        "path": path,
        "added": added,
        "removed": removed,
        "binary": binary,
        "renamed_from": renamed_from,
    }


def rows(record: SessionRecord) -> list[dict[str, Any]]:
    return list(changes(record)["files"])


# --- what counts ------------------------------------------------------------------------------
def test_only_changes_made_during_the_session_count(tmp_path: Path) -> None:
    repo = init_repo(
        tmp_path / "repo",
        {"a.txt": lines(5), "b.txt": lines(5), "d.txt": lines(4), "keep.txt": lines(3)},
    )
    # Before the session: an uncommitted edit and an untracked file.
    write(repo, {"a.txt": lines(5) + "before\n", "untracked.txt": lines(7)})

    def during(ws: Path) -> None:
        write(ws, {"a.txt": lines(5) + "before\nduring\n"})  # +1 on top of the earlier edit
        write(ws, {"b.txt": lines(4) + "changed\nadded\n"})  # +2 -1
        write(ws, {"c.txt": lines(3, "new")})  # new file: +3
        (ws / "d.txt").unlink()  # deletion: -4

    record = run_session(repo, during)
    assert changes(record) | {"start_tree": "", "end_tree": ""} == {
        "lines_added": 6,
        "lines_removed": 5,
        "files_changed": 4,
        "files": [
            row("a.txt", 1, 0),
            row("b.txt", 2, 1),
            row("c.txt", 3, 0),
            row("d.txt", 0, 4),
        ],
        "files_truncated": False,
        "start_tree": "",
        "end_tree": "",
    }


def test_a_session_without_changes_has_zero_changes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(3)})
    write(repo, {"a.txt": "dirty before the session\n"})
    record = run_session(repo, lambda ws: None)
    got = changes(record)
    assert got["start_tree"] == got["end_tree"]
    assert (got["lines_added"], got["lines_removed"], got["files_changed"]) == (0, 0, 0)
    assert got["files"] == []


def test_binary_files_count_as_changed_with_no_lines(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"keep.txt": "x\n"})
    (repo / "old.bin").write_bytes(b"\x00\x01\x02" * 100)
    commit(repo, "binary")

    def during(ws: Path) -> None:
        (ws / "old.bin").write_bytes(b"\x00\x03\x04" * 100)
        (ws / "new.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    record = run_session(repo, during)
    assert rows(record) == [row("new.png", 0, 0, binary=True), row("old.bin", 0, 0, binary=True)]
    assert changes(record)["files_changed"] == 2
    assert changes(record)["lines_added"] == changes(record)["lines_removed"] == 0


def test_renames_are_one_file_with_its_old_name(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"src/old name.py": lines(20)})

    def during(ws: Path) -> None:
        (ws / "src" / "old name.py").rename(ws / "src" / "new name.py")
        write(ws, {"src/new name.py": lines(20) + "one more\n"})

    record = run_session(repo, during)
    assert rows(record) == [row("src/new name.py", 1, 0, renamed_from="src/old name.py")]
    assert changes(record)["files_changed"] == 1


def test_ignored_files_do_not_count(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {".gitignore": "*.log\nbuild/\n", "a.txt": "a\n"})
    (repo / ".git" / "info" / "exclude").write_text("secret.txt\n")

    def during(ws: Path) -> None:
        write(ws, {"run.log": lines(50), "build/out.js": lines(50), "secret.txt": "s\n"})
        write(ws, {"a.txt": "a\nb\n"})

    record = run_session(repo, during)
    assert rows(record) == [row("a.txt", 1, 0)]


def test_commits_made_during_the_session_count(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(5), "b.txt": lines(5)})

    def during(ws: Path) -> None:
        write(ws, {"a.txt": lines(5) + "committed\n"})
        commit(ws, "work")
        write(ws, {"b.txt": lines(2)})  # -3, left uncommitted
        write(ws, {"c.txt": "staged\n"})
        git(ws, "add", "c.txt")

    record = run_session(repo, during)
    assert rows(record) == [row("a.txt", 1, 0), row("b.txt", 0, 3), row("c.txt", 1, 0)]


def test_a_session_that_resets_to_an_older_commit_counts_what_changed_on_disk(
    tmp_path: Path,
) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(5)})
    write(repo, {"a.txt": lines(8)})
    commit(repo, "three more lines")

    def during(ws: Path) -> None:
        git(ws, "reset", "-q", "--hard", "HEAD~1")

    assert rows(run_session(repo, during)) == [row("a.txt", 0, 3)]


def test_the_per_file_list_is_capped_and_the_totals_stay_exact(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"keep.txt": "k\n"})

    def during(ws: Path) -> None:
        write(ws, {f"f{i}.txt": lines(i + 1) for i in range(7)})

    tracker = CodeChangeTracker(repo, max_files=3)
    got = changes(run_session(repo, during, tracker=tracker))
    assert got["files"] == [row("f0.txt", 1, 0), row("f1.txt", 2, 0), row("f2.txt", 3, 0)]
    assert got["files_truncated"] is True
    assert got["files_changed"] == 7
    assert got["lines_added"] == sum(range(1, 8))


# --- the same numbers as git diff between commits made by hand ------------------------------
def random_scenario(seed: int) -> tuple[dict[str, str], Edit, Edit]:
    """A base tree, edits before the session and edits during it, all drawn from ``seed``."""
    rng = random.Random(seed)
    names = [f"dir{rng.randrange(3)}/file {i}.txt" for i in range(12)]
    base = {name: lines(rng.randrange(1, 40), f"{name} base") for name in names}

    def edit(ws: Path, which: list[str], tag: str) -> None:
        for name in which:
            path = ws / name
            if not path.exists():
                continue
            old = path.read_text().splitlines(keepends=True)
            kept = [ln for ln in old if rng.random() > 0.3]
            cut = rng.randrange(len(kept) + 1)
            path.write_text("".join([*kept[:cut], *(f"{tag} {j}\n" for j in range(3)), *kept]))

    def before(ws: Path) -> None:
        edit(ws, rng.sample(names, 3), "before")
        write(ws, {"untracked before.txt": lines(rng.randrange(1, 9), "untracked")})

    def during(ws: Path) -> None:
        edit(ws, rng.sample(names, 4), "during")
        (ws / names[0]).unlink(missing_ok=True)
        moved = ws / names[1]
        if moved.exists():
            (ws / "renamed").mkdir(exist_ok=True)
            moved.rename(ws / "renamed" / "moved.txt")
        write(ws, {f"new {seed}.txt": lines(rng.randrange(1, 20), "new")})
        (ws / "blob.bin").write_bytes(bytes(rng.randrange(256) for _ in range(64)) + b"\x00")
        if seed % 2:
            commit(ws, "a commit during the session")

    return base, before, during


def numstat_rows(repo: Path, old: str, new: str) -> dict[str, Any]:
    """What `git diff --numstat -M` says between two commits, parsed independently."""
    out = git(repo, "diff", "--numstat", "-M", "-z", old, new)
    fields = out.split(b"\0")[:-1]
    got: list[dict[str, Any]] = []
    i = 0
    while i < len(fields):
        added, removed, path = fields[i].decode().split("\t", 2)
        i += 1
        renamed_from = None
        if not path:
            renamed_from, path = fields[i].decode(), fields[i + 1].decode()
            i += 2
        binary = added == "-"
        got.append(
            row(
                path,
                0 if binary else int(added),
                0 if binary else int(removed),
                binary=binary,
                renamed_from=renamed_from,
            )
        )
    return {
        "lines_added": sum(r["added"] for r in got),
        "lines_removed": sum(r["removed"] for r in got),
        "files_changed": len(got),
        "files": got,
    }


@pytest.mark.parametrize("seed", range(4))
def test_the_numbers_equal_git_diff_between_commits_made_by_hand(tmp_path: Path, seed: int) -> None:
    base, before, during = random_scenario(seed)
    tracked = init_repo(tmp_path / "tracked", base)
    before(tracked)
    record = run_session(tracked, during)

    base, before, during = random_scenario(seed)  # the same draws again
    by_hand = init_repo(tmp_path / "by_hand", base)
    before(by_hand)
    start = commit(by_hand, "session start")
    during(by_hand)
    end = commit(by_hand, "session end")

    got = changes(record)
    expected = numstat_rows(by_hand, start, end)
    assert {k: got[k] for k in expected} == expected
    assert got["files_changed"] >= 4
    # The snapshot trees are exactly the trees of those commits.
    assert got["start_tree"] == git(by_hand, "rev-parse", f"{start}^{{tree}}").decode().strip()
    assert got["end_tree"] == git(by_hand, "rev-parse", f"{end}^{{tree}}").decode().strip()


# --- what the user owns is never touched ----------------------------------------------------
def user_state(repo: Path) -> dict[str, Any]:
    """Everything in .git except objects, byte for byte, plus status, refs, HEAD and stash."""
    dot_git = repo / ".git"
    files = {}
    for path in sorted(dot_git.rglob("*")):
        rel = path.relative_to(dot_git)
        if rel.parts[0] == "objects" or not path.is_file():
            continue
        files[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    index = dot_git / "index"
    return {
        "files": files,
        "index": index.read_bytes(),
        "index_mtime_ns": index.stat().st_mtime_ns,
        "status": git(repo, "--no-optional-locks", "status", "--porcelain", "-z"),
        "refs": git(repo, "for-each-ref"),
        "head": git(repo, "rev-parse", "--symbolic-full-name", "HEAD", "HEAD"),
        "stash": git(repo, "stash", "list"),
        "worktree": {
            str(p.relative_to(repo)): p.read_bytes()
            for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(repo).parts
        },
    }


@pytest.mark.parametrize("index_mode", ["plain", "split index and untracked cache"])
def test_index_head_refs_stash_and_working_tree_are_untouched(
    tmp_path: Path, index_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(5), "b.txt": lines(5)})
    write(repo, {"a.txt": "stashed\n"})
    git(repo, "stash", "-q")
    git(repo, "branch", "feature")
    git(repo, "tag", "v1")
    if index_mode != "plain":
        git(repo, "config", "core.untrackedCache", "true")
        git(repo, "update-index", "--split-index", "--untracked-cache")
    write(repo, {"b.txt": "staged\n", "c.txt": "unstaged\n", "d.txt": "untracked\n"})
    git(repo, "add", "b.txt")
    write(repo, {"b.txt": "staged, then edited\n"})
    git(repo, "status")  # let git settle its own index refresh before we look

    tracker = CodeChangeTracker(repo)
    before = user_state(repo)
    tracker.session_started("session-1")
    assert tracker.wait_for_start("session-1")
    assert user_state(repo) == before
    record = tracker.session_ended(new_record())
    assert user_state(repo) == before
    assert changes(record)["files_changed"] == 0
    assert list(temp.iterdir()) == []  # temporary indexes removed


# --- where it works -------------------------------------------------------------------------
def test_a_workspace_in_a_subdirectory_measures_the_whole_repository(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"pkg/app/main.py": lines(3), "top.txt": "t\n"})

    def during(ws: Path) -> None:
        write(ws, {"main.py": lines(4)})
        write(repo, {"top.txt": "t\nu\n"})

    record = run_session(repo / "pkg" / "app", during)
    assert rows(record) == [row("pkg/app/main.py", 1, 0), row("top.txt", 1, 0)]


def test_a_detached_head_works_and_stays_detached(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(3)})
    git(repo, "checkout", "-q", "--detach")

    def during(ws: Path) -> None:
        write(ws, {"a.txt": lines(1)})
        commit(ws, "on a detached head")

    assert rows(run_session(repo, during)) == [row("a.txt", 0, 2)]
    # HEAD is still detached, at the commit the session made.
    head = (repo / ".git" / "HEAD").read_text().strip()
    assert head == git(repo, "rev-parse", "HEAD").decode().strip()
    assert git(repo, "log", "-1", "--format=%s").decode().strip() == "on a detached head"


def test_a_repository_without_commits_or_index(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, {"before.txt": lines(2)})
    assert not (repo / ".git" / "index").exists()

    def during(ws: Path) -> None:
        write(ws, {"before.txt": lines(3), "new.txt": "n\n"})

    record = run_session(repo, during)
    assert rows(record) == [row("before.txt", 1, 0), row("new.txt", 1, 0)]
    assert not (repo / ".git" / "index").exists()
    assert git(repo, "for-each-ref") == b""


def test_a_submodule_counts_as_its_pointer_only(tmp_path: Path) -> None:
    library = init_repo(tmp_path / "library", {"lib.py": lines(10)})
    repo = init_repo(tmp_path / "repo", {"app.py": lines(3)})
    git(repo, "submodule", "add", "-q", str(library), "vendor/lib")
    commit(repo, "add submodule")
    gitmodules = (repo / ".gitmodules").read_bytes()

    def during(ws: Path) -> None:
        sub = ws / "vendor" / "lib"
        write(sub, {"lib.py": lines(20)})
        commit(sub, "ten more lines in the submodule")  # moves the pointer
        write(sub, {"lib.py": lines(30), "scratch.py": "x\n"})  # not committed: not counted
        write(ws, {"app.py": lines(4)})

    record = run_session(repo, during)
    assert rows(record) == [row("app.py", 1, 0), row("vendor/lib", 1, 1)]
    assert (repo / ".gitmodules").read_bytes() == gitmodules


def test_a_workspace_inside_a_submodule_measures_the_submodule(tmp_path: Path) -> None:
    library = init_repo(tmp_path / "library", {"lib.py": lines(10)})
    repo = init_repo(tmp_path / "repo", {"app.py": lines(3)})
    git(repo, "submodule", "add", "-q", str(library), "vendor/lib")
    commit(repo, "add submodule")

    def during(ws: Path) -> None:
        write(ws, {"lib.py": lines(12)})
        write(repo, {"app.py": lines(1)})

    record = run_session(repo / "vendor" / "lib", during)
    assert rows(record) == [row("lib.py", 2, 0)]


def test_file_names_with_spaces_newlines_tabs_and_bytes_that_are_not_utf8(
    tmp_path: Path,
) -> None:
    repo = init_repo(tmp_path / "repo", {"old name.txt": lines(10)})
    odd = os.path.join(os.fsencode(repo), b"caf\xe9 \xff.txt")
    try:
        with open(odd, "wb") as f:
            f.write(b"latin-1 name\n")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    commit(repo, "odd names")

    def during(ws: Path) -> None:
        write(ws, {"with space.txt": "a\nb\n", "new\nline.txt": "c\n", "tab\there.txt": "d\n"})
        write(ws, {"ünïcødé.txt": "e\n"})
        with open(os.path.join(os.fsencode(ws), b"caf\xe9 \xff.txt"), "ab") as f:
            f.write(b"one more\n")
        (ws / "old name.txt").rename(ws / "new name.txt")

    record = run_session(repo, during)
    assert rows(record) == [
        row("caf\\xe9 \\xff.txt", 1, 0),
        row("new\nline.txt", 1, 0),  # git's order: bytes, and "\n" sorts before " "
        row("new name.txt", 0, 0, renamed_from="old name.txt"),
        row("tab\there.txt", 1, 0),
        row("with space.txt", 2, 0),
        row("ünïcødé.txt", 1, 0),
    ]
    # The record is stored the way the store writes it: UTF-8 JSON.
    json.dumps(record.to_json(), ensure_ascii=False).encode()
    shown = render_files(record.code_changes).plain
    assert "new\\nline.txt" in shown
    assert "tab\\there.txt" in shown
    assert "old name.txt -> new name.txt" in shown
    assert len(shown.splitlines()) == 6


# --- when it cannot measure -----------------------------------------------------------------
def assert_not_measured(record: SessionRecord, *words: str) -> str:
    assert record.code_changes is None
    reason = record.metadata[ERROR_KEY]
    assert isinstance(reason, str)
    assert "\n" not in reason
    for word in words:
        assert word in reason
    return reason


def test_outside_a_repository_code_changes_are_null_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    record = run_session(folder, lambda ws: write(ws, {"a.txt": "a\n"}))
    reason = assert_not_measured(record, "not in a git work tree", str(folder))
    assert "not a git repository" in reason
    assert record.id == "session-1"


def test_without_git_code_changes_are_null_with_a_reason(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    tracker = CodeChangeTracker(repo, git="/nonexistent/git")
    record = run_session(repo, lambda ws: None, tracker=tracker)
    assert_not_measured(record, "cannot run git (/nonexistent/git)")


def test_a_missing_workspace_is_a_reason_too(tmp_path: Path) -> None:
    tracker = CodeChangeTracker(tmp_path / "gone")
    record = run_session(tmp_path / "gone", lambda ws: None, tracker=tracker)
    assert_not_measured(record, "is not a folder")


def test_a_session_the_tracker_never_saw_start(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    record = CodeChangeTracker(repo).session_ended(new_record("unknown"))
    assert_not_measured(record, "no snapshot was taken when the session started")


def test_a_tiny_time_limit_gives_a_reason_at_once(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    tracker = CodeChangeTracker(repo, timeout_s=1e-9)
    tracker.session_started("session-1")
    began = time.monotonic()
    record = tracker.session_ended(new_record())
    # Bounded, not measured: machines here are shared; a hang would be the 10 s default.
    assert time.monotonic() - began < 5.0
    assert_not_measured(record, "limit")


def fake_git(tmp_path: Path, script: str) -> str:
    path = tmp_path / "slow-git"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for git")
def test_a_git_that_hangs_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    pid_file = tmp_path / "pid"
    slow = fake_git(tmp_path, f'echo $$ > "{pid_file}"; exec sleep 30')
    tracker = CodeChangeTracker(repo, git=slow, timeout_s=0.5)

    began = time.monotonic()
    tracker.session_started("session-1")
    assert time.monotonic() - began < 2.0  # the hung git is killed at the 0.5 s limit
    record = tracker.session_ended(new_record())
    assert time.monotonic() - began < 10.0  # the fake git sleeps 30 s unless killed
    assert_not_measured(record, "0.5s limit")
    # The hung process was killed, not left behind.
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"git stand-in {pid} still running")


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for git")
def test_git_errors_are_one_line_reasons(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    broken = fake_git(tmp_path, 'echo "warning: noise" >&2; echo "fatal: it broke" >&2; exit 128')
    record = run_session(repo, lambda ws: None, tracker=CodeChangeTracker(repo, git=broken))
    assert_not_measured(record, "git rev-parse failed: fatal: it broke")


# --- end to end, through a Radium instance --------------------------------------------------
def test_a_session_records_the_files_its_tools_wrote(tmp_path: Path) -> None:
    init_repo(tmp_path, {"README.md": lines(2)})
    write(tmp_path, {"README.md": "edited before the session\n"})
    tracker = CodeChangeTracker(tmp_path)
    with isolated(tmp_path, hooks=[tracker]) as (inst, _):

        @inst.tool
        def write_file(name: str, text: str) -> int:
            return (tmp_path / name).write_text(text)

        with inst.session(agent="coder") as s:
            assert tracker.wait_for_start(s.id)
            write_file("notes.md", lines(3))

    stored = json.loads((inst.store.folder / f"{s.id}.json").read_text())
    assert stored["tool_calls"] == 1
    code = stored["code_changes"]
    assert code["files"] == [row("notes.md", 3, 0)]
    assert (code["lines_added"], code["lines_removed"], code["files_changed"]) == (3, 0, 1)
    assert ERROR_KEY not in stored["metadata"]


def test_a_session_outside_git_still_completes_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with isolated(tmp_path, hooks=[CodeChangeTracker(tmp_path)]) as (inst, _), inst.session() as s:
        pass
    stored = json.loads((inst.store.folder / f"{s.id}.json").read_text())
    assert stored["status"] == "completed"
    assert stored["code_changes"] is None
    assert "not in a git work tree" in stored["metadata"][ERROR_KEY]


# --- parsing and rendering ------------------------------------------------------------------
def test_numstat_parsing_of_every_entry_shape() -> None:
    entries = [b"3\t1\tplain.txt", b"-\t-\timage.png", b"2\t0\t", b"old\tname", b"new\tname"]
    out = b"\0".join([*entries, b"0\t0\ttab\there", b""])
    got = parse_numstat(out, max_files=10)
    assert got == {
        "lines_added": 5,
        "lines_removed": 1,
        "files_changed": 4,
        "files": [
            row("plain.txt", 3, 1),
            row("image.png", 0, 0, binary=True),
            row("new\tname", 2, 0, renamed_from="old\tname"),
            row("tab\there", 0, 0),
        ],
        "files_truncated": False,
    }
    assert parse_numstat(b"") == {
        "lines_added": 0,
        "lines_removed": 0,
        "files_changed": 0,
        "files": [],
        "files_truncated": False,
    }


@pytest.mark.parametrize(
    "out",
    [b"3\t1\tno-terminator", b"garbage\0", b"x\ty\tpath\0", b"1\t1\t\0only-old\0"],
)
def test_numstat_output_of_another_shape_is_refused(out: bytes) -> None:
    with pytest.raises(SnapshotError, match="unexpected git diff-tree output"):
        parse_numstat(out)


paths = st.binary(min_size=1, max_size=12).filter(lambda b: b"\0" not in b)
entries = st.lists(
    st.tuples(
        st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.integers(0, 10**6))),
        paths,
        st.one_of(st.none(), paths),
    ),
    max_size=20,
)


@given(entries=entries, max_files=st.integers(0, 25))
def test_numstat_parsing_round_trips(
    entries: list[tuple[tuple[int, int] | None, bytes, bytes | None]], max_files: int
) -> None:
    out = b""
    for counts, path, old in entries:
        head = b"-\t-\t" if counts is None else b"%d\t%d\t" % counts
        out += head + (path + b"\0" if old is None else b"\0" + old + b"\0" + path + b"\0")
    got = parse_numstat(out, max_files=max_files)

    def text(raw: bytes) -> str:
        return raw.decode("utf-8", "backslashreplace")

    assert got == {
        "lines_added": sum(c[0] for c, _, _ in entries if c),
        "lines_removed": sum(c[1] for c, _, _ in entries if c),
        "files_changed": len(entries),
        "files": [
            row(
                text(path),
                counts[0] if counts else 0,
                counts[1] if counts else 0,
                binary=counts is None,
                renamed_from=None if old is None else text(old),
            )
            for counts, path, old in entries[:max_files]
        ],
        "files_truncated": len(entries) > max_files,
    }


# Real edits drawn by hypothesis: each file of the base tree is kept, rewritten, deleted or
# moved; new text and binary files appear; the session may commit. The oracle is git itself:
# the same edits made in a second repository between two commits, read by `git diff --numstat
# -M` and parsed by numstat_rows (which shares no code with the tracker).
_NAMES = ("a.txt", "b.txt", "dir/c.txt", "dir/sub/d e.txt", "f\tg.txt")
_text_lines = st.lists(st.integers(0, 6), min_size=1, max_size=12)
_fates = st.one_of(
    st.just(("keep", None)),
    st.just(("delete", None)),
    st.tuples(st.just("rewrite"), _text_lines),
    st.tuples(st.just("move"), st.sampled_from(("moved.txt", "dir/moved.txt", "new dir/m.txt"))),
)


@st.composite
def sessions(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=5, unique=True))
    return {
        "base": {name: draw(_text_lines) for name in names},
        "fates": {name: draw(_fates) for name in names},
        "new": draw(st.dictionaries(st.sampled_from(("n1.txt", "dir/n2.txt")), _text_lines)),
        "binary": draw(st.one_of(st.none(), st.binary(max_size=20))),
        "commit": draw(st.booleans()),
        "max_files": draw(st.integers(0, 8)),
    }


def _content(numbers: list[int]) -> str:
    return "".join(f"line {n}\n" for n in numbers)


def _apply(repo: Path, drawn: dict[str, Any]) -> None:
    moved: set[str] = set()
    for name, (fate, arg) in drawn["fates"].items():
        path = repo / name
        if fate == "delete":
            path.unlink()
        elif fate == "rewrite":
            path.write_text(_content(arg))
        elif fate == "move" and arg not in moved and not (repo / arg).exists():
            moved.add(arg)
            (repo / arg).parent.mkdir(parents=True, exist_ok=True)
            path.rename(repo / arg)
    write(repo, {name: _content(numbers) for name, numbers in drawn["new"].items()})
    if drawn["binary"] is not None:
        (repo / "blob.bin").write_bytes(b"\0" + drawn["binary"])


@settings(max_examples=25, deadline=None)
@given(drawn=sessions())
def test_per_file_rows_equal_git_diff_of_the_same_edits(drawn: dict[str, Any]) -> None:
    base = {name: _content(numbers) for name, numbers in drawn["base"].items()}
    with tempfile.TemporaryDirectory() as folder:
        tracked = init_repo(Path(folder) / "tracked", base)
        tracker = CodeChangeTracker(tracked, max_files=drawn["max_files"])

        def during(ws: Path) -> None:
            _apply(ws, drawn)
            if drawn["commit"]:
                commit(ws, "a commit during the session")

        got = changes(run_session(tracked, during, tracker=tracker))

        by_hand = init_repo(Path(folder) / "by_hand", base)
        start = commit(by_hand, "session start")
        _apply(by_hand, drawn)
        expected = numstat_rows(by_hand, start, commit(by_hand, "session end"))

    cap = drawn["max_files"]
    assert got["files"] == expected["files"][:cap]
    assert got["files_truncated"] == (expected["files_changed"] > cap)
    assert {k: got[k] for k in ("lines_added", "lines_removed", "files_changed")} == {
        k: expected[k] for k in ("lines_added", "lines_removed", "files_changed")
    }


def test_render_files_lists_counts_binaries_renames_and_what_was_left_out() -> None:
    shown = render_files(
        {
            "lines_added": 1240,
            "lines_removed": 3,
            "files_changed": 6,
            "files": [
                row("src/app.py", 1234, 3),
                row("logo.png", 0, 0, binary=True),
                row("new.py", 6, 0, renamed_from="old.py"),
                row("a\nb\x1b.txt", 0, 0),
            ],
            "files_truncated": True,
        }
    )
    assert shown.plain == (
        "+1,234 -3  src/app.py\n"
        "   binary  logo.png\n"
        "    +6 -0  old.py -> new.py\n"
        "    +0 -0  a\\nb\\x1b.txt\n"
        "... 2 more files not listed (6 changed in all)"
    )


def test_render_files_without_changes() -> None:
    assert render_files(None).plain == "No code changes recorded."
    empty = {"lines_added": 0, "lines_removed": 0, "files_changed": 0, "files": []}
    assert render_files(empty).plain == "No files changed."
    # A hand-edited or older record: rows it cannot read are skipped, counts default to 0.
    odd = {"files_changed": 2, "files": [{"path": "x", "added": "many"}, "junk"]}
    assert render_files(odd).plain == "+0 -0  x\n... 1 more file not listed (2 changed in all)"
