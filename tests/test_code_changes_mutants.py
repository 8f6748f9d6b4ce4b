"""Code-change figures in the cases the other tests left open, on real repositories in
temporary folders (issue 20: mutants that survived in ``codechanges.py``).

A repository whose folder name holds a newline, an index written in the same tick as a file
(coarse timestamps), git pointed elsewhere by the environment of a git hook, a record that
arrives with figures from elsewhere, ``--files`` rows of names with control characters
past Latin-1 or without a name at all, and the reason given when a snapshot goes wrong: git
gone by the end, a start snapshot still running, a git that prints no tree id.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_code_changes import (
    changes,
    commit,
    fake_git,
    git,
    git_env,  # noqa: F401  (autouse: git sees no user settings)
    init_repo,
    lines,
    new_record,
    row,
    rows,
    run_session,
    write,
)

from radium_otel._internal import errors
from radium_otel._internal.codechanges import (
    ERROR_KEY,
    CodeChangeTracker,
    SnapshotError,
    diff_trees,
    parse_numstat,
    remove_orphaned_snapshots,
    render_files,
    take_snapshot,
)
from radium_otel._internal.errors import raise_internal_errors


def test_a_repository_whose_folder_name_holds_a_newline_is_measured(tmp_path: Path) -> None:
    # git prints the top level unquoted: it is split off the index path from the right.
    repo = init_repo(tmp_path / "my\nrepo", {"a.txt": lines(3)})
    record = run_session(repo, lambda ws: write(ws, {"a.txt": lines(5), "b.txt": lines(2)}))
    assert rows(record) == [row("a.txt", 2, 0), row("b.txt", 2, 0)]
    assert (changes(record)["lines_added"], changes(record)["files_changed"]) == (4, 2)


def test_an_edit_in_the_tick_the_index_was_written_is_counted(tmp_path: Path) -> None:
    """On a file system with coarse timestamps a file can change in the same tick as the
    index was written, its size and times unchanged: git sees such a "racily clean" entry
    only by comparing the file's time with the index file's. The copy of the index must keep
    the index's own time, or the edit is trusted away as unchanged.
    """
    repo = init_repo(tmp_path / "repo")
    git(repo, "config", "core.trustctime", "false")  # ctime as coarse as the mtime
    write(repo, {"a.txt": "aaaa\n", "keep.txt": lines(2)})
    tick = 1_740_819_600_000_000_000  # 2025-03-01 09:00 UTC: long past, whatever git rounds
    os.utime(repo / "a.txt", ns=(tick, tick))
    commit(repo, "base")
    # The index written in the tick the file was last staged.
    os.utime(repo / ".git" / "index", ns=(tick, tick))

    def during(ws: Path) -> None:
        (ws / "a.txt").write_text("bbbb\n")  # same size, written in place (same inode)
        os.utime(ws / "a.txt", ns=(tick, tick))  # and in the same tick

    record = run_session(repo, during)
    assert rows(record) == [row("a.txt", 1, 1)]


@pytest.mark.parametrize(
    "variable", ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"]
)
def test_a_git_hooks_environment_pointing_elsewhere_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """An agent run from a git hook inherits variables naming the hook's repository: the
    workspace's own repository is measured all the same, by every git call."""
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(4), "b.txt": lines(6)})
    other = init_repo(tmp_path / "other", {"z.txt": lines(9)})
    elsewhere = {
        "GIT_DIR": other / ".git",
        "GIT_WORK_TREE": other,
        "GIT_INDEX_FILE": other / ".git" / "index",
        "GIT_OBJECT_DIRECTORY": other / ".git" / "objects",
    }
    monkeypatch.setenv(variable, str(elsewhere[variable]))

    def during(ws: Path) -> None:
        write(ws, {"a.txt": lines(4) + "more\n", "b.txt": lines(1)})
        (ws / "c.txt").write_text(lines(3))

    got = changes(run_session(repo, during))
    assert {k: got[k] for k in ("lines_added", "lines_removed", "files_changed", "files")} == {
        "lines_added": 4,
        "lines_removed": 5,
        "files_changed": 3,
        "files": [row("a.txt", 1, 0), row("b.txt", 0, 5), row("c.txt", 3, 0)],
    }


def refuse_threads(self: threading.Thread) -> None:
    raise RuntimeError("can't start new thread")


@pytest.mark.parametrize("opened_by", ["user", "spans", "user, no thread to be had"])
def test_a_session_counts_the_same_however_its_start_snapshot_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened_by: str
) -> None:
    """Read in the thread opening the session (a person's), all in the background (an agent
    framework's spans), or written in place when no thread can be started."""
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(4), "b.txt": lines(2)})
    tracker = CodeChangeTracker(repo)
    with monkeypatch.context() as patch:
        if opened_by.endswith("no thread to be had"):
            patch.setattr(threading.Thread, "start", refuse_threads)
        tracker.session_started("session-1", user_opened=opened_by.startswith("user"))
    assert tracker.wait_for_start("session-1")
    write(repo, {"a.txt": lines(2), "c.txt": lines(5)})
    got = changes(tracker.session_ended(new_record()))
    assert {k: got[k] for k in ("lines_added", "lines_removed", "files_changed", "files")} == {
        "lines_added": 5,
        "lines_removed": 2,
        "files_changed": 2,
        "files": [row("a.txt", 0, 2), row("c.txt", 5, 0)],
    }


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (b"1\t2\tpath", "not NUL-terminated"),
        (b"1\t2\0", "no counts"),
        (b"1\t2\t\0old\0", "truncated rename"),
        (b"x\t2\tpath\0", "bad counts"),
        (b"-\t2\tpath\0", "bad counts"),  # binary on one side only: git never says so
        (b"1\t-\tpath\0", "bad counts"),
    ],
)
def test_numstat_output_of_another_shape_says_what_is_wrong(output: bytes, message: str) -> None:
    with pytest.raises(SnapshotError) as refused:
        parse_numstat(output)
    assert str(refused.value) == f"unexpected git diff-tree output ({message})"


STALE = {"lines_added": 7, "lines_removed": 2, "files_changed": 1, "files": []}


@pytest.mark.parametrize(
    ("opened_by", "reason"),
    [
        (None, "no snapshot was taken when the session started"),
        ("user", "workspace {gone} is not a folder"),  # failed in the thread opening it
        ("spans", "workspace {gone} is not a folder"),  # failed in the background
    ],
)
def test_a_record_arriving_with_figures_is_null_when_they_cannot_be_measured(
    tmp_path: Path, opened_by: str | None, reason: str
) -> None:
    """Figures another hook left on the record are never passed off as this measure."""
    gone = tmp_path / "gone"
    tracker = CodeChangeTracker(gone)
    if opened_by is not None:
        tracker.session_started("session-1", user_opened=opened_by == "user")
        assert tracker.wait_for_start("session-1")
    record = tracker.session_ended(dataclasses.replace(new_record(), code_changes=STALE))
    assert record.code_changes is None
    assert record.metadata == {ERROR_KEY: reason.format(gone=gone)}


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("line\u2028sep.txt", "+1 -0  line\\u2028sep.txt"),  # a line separator
        ("tag\U000e0001.txt", "+1 -0  tag\\U000e0001.txt"),  # a format character past U+FFFF
        ("nel\x85.txt", "+1 -0  nel\\x85.txt"),  # a C1 control
        ("bell\x07 \u0100.txt", "+1 -0  bell\\x07 \u0100.txt"),  # Ā is printable
    ],
)
def test_a_file_row_escapes_every_control_character_of_its_name(
    tmp_path: Path, name: str, shown: str
) -> None:
    repo = init_repo(tmp_path / "repo", {"keep.txt": "k\n"})
    record = run_session(repo, lambda ws: write(ws, {name: "x\n"}))
    assert rows(record) == [row(name, 1, 0)]
    assert render_files(record.code_changes).plain == shown


@pytest.mark.parametrize(
    ("files", "shown"),
    [
        ([{"added": 2, "removed": 1}], "+2 -1  ?"),
        (
            [{"added": 3, "removed": 0, "path": "a.txt"}, {"binary": True}],
            " +3 -0  a.txt\nbinary  ?",
        ),
    ],
)
def test_a_hand_edited_row_without_a_path_is_a_question_mark(
    files: list[dict[str, Any]], shown: str
) -> None:
    assert render_files({"files_changed": len(files), "files": files}).plain == shown


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_edits_git_is_told_not_to_look_at_are_not_counted_as_in_git_diff(
    tmp_path: Path, flag: str
) -> None:
    """The working tree is read through a copy of the user's index: a file the user told
    git to leave alone keeps its indexed content, as ``git diff`` shows it; the others
    count."""
    repo = init_repo(tmp_path / "repo", {"local.cfg": lines(2), "a.txt": lines(1)})
    git(repo, "update-index", flag, "local.cfg")

    def during(ws: Path) -> None:
        write(ws, {"local.cfg": lines(6), "a.txt": lines(3)})
        assert git(ws, "diff", "--numstat").decode() == "2\t0\ta.txt\n"

    assert rows(run_session(repo, during)) == [row("a.txt", 2, 0)]


def test_the_colours_of_the_files_rows() -> None:
    shown = render_files(
        {
            "files_changed": 3,
            "files": [row("new.py", 6, 1, renamed_from="old.py"), row("a.png", 0, 0, binary=True)],
        }
    )
    assert [(shown.plain[s.start : s.end], s.style) for s in shown.spans] == [
        ("+6", "green"),
        ("-1", "red"),
        (" -> ", "dim"),
        ("binary", "yellow"),
        ("... 1 more file not listed (3 changed in all)", "dim"),
    ]


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder of this process (where the snapshots' temporary indexes go)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def gated_git(tmp_path: Path, gate: Path, commands: str = "*") -> str:
    """A git whose commands matching the shell pattern ``commands`` wait while ``gate``
    exists (at most 60 s, should a test stop before it removes the gate)."""
    return fake_git(
        tmp_path,
        f'case "$*" in {commands}) n=0; while [ -e "{gate}" ] && [ $n -lt 3000 ]; '
        'do sleep 0.02; n=$((n+1)); done;; esac; exec git "$@"',
    )


LONG = "x" * 300


@pytest.mark.parametrize(
    ("stderr", "status", "reason"),
    [
        (r"warning: noise\nfatal: it broke\nhint: try again", 128, "fatal: it broke"),
        (r"warning: noise\nerror: it broke\nhint: see above", 1, "error: it broke"),
        (r"one\n  two  \nthree\n\n", 2, "three"),
        ("", 3, "exit status 3"),
        (r"fatal: caf\351", 128, "fatal: caf\ufffd"),
        # A reason is one line of at most 300 characters.
        (f"fatal: {LONG[:277]}", 128, f"fatal: {LONG[:277]}"),
        (f"fatal: {LONG[:278]}", 128, f"fatal: {LONG[:274]}..."),
    ],
)
@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for git")
def test_a_git_error_is_its_fatal_or_last_line(
    tmp_path: Path, temp: Path, stderr: str, status: int, reason: str
) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    failing_add = fake_git(
        tmp_path,
        'case "$*" in *" rev-parse "*) exec git "$@";; esac; '  # only `git add` fails
        f"printf '{stderr}' >&2; exit {status}",
    )
    tracker = CodeChangeTracker(repo, git=failing_add)
    record = run_session(repo, lambda ws: None, tracker=tracker)
    assert record.code_changes is None
    assert record.metadata == {ERROR_KEY: f"git add failed: {reason}"}
    assert list(temp.iterdir()) == []  # the temporary index of the failed `git add` is gone


GONE = 2**22 + 12_345  # past the largest pid Linux hands out: never a live process


def leave(folder: Path, kind: str, name: str) -> Path:
    """An entry a snapshot of a killed process (or something else) left in ``folder``."""
    path = folder / name
    if kind == "link":
        (folder / "target").mkdir()
        path.symlink_to(folder / "target")
    elif kind == "file":
        path.write_text("x")
    else:
        (path / "sub").mkdir(parents=True)
        (path / "sub" / "index").write_bytes(b"DIRC")
        if kind == "another user's folder":
            os.chown(path, os.getuid() + 1, -1)
    return path


@pytest.mark.parametrize(
    ("kind", "name", "removed"),
    [
        ("folder", f"radium-snapshot-{GONE}-a1b2", 1),
        ("folder", f"radium-snapshot-{os.getpid()}-a1b2", 0),  # a live snapshot
        ("folder", f"radium-snapshot-x{GONE}-a1b2", 0),
        ("folder", f"other-{GONE}-a1b2", 0),
        ("file", f"radium-snapshot-{GONE}-a1b2", 0),
        ("link", f"radium-snapshot-{GONE}-a1b2", 0),
        ("another user's folder", f"radium-snapshot-{GONE}-a1b2", 0),
    ],
)
@pytest.mark.skipif(os.name != "posix" or os.getuid() != 0, reason="chown needs root")
def test_only_our_own_snapshot_folders_of_dead_processes_are_removed(
    tmp_path: Path, kind: str, name: str, removed: int
) -> None:
    path = leave(tmp_path, kind, name)
    assert remove_orphaned_snapshots(str(tmp_path)) == removed
    assert os.path.lexists(path) is (removed == 0)
    assert (tmp_path / "target").exists() is (kind == "link")  # a link's target stays


def test_orphaned_snapshots_are_looked_for_in_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    for i in range(5):
        leave(temp, "folder", f"other-{i}")
    for i in range(2):
        leave(temp, "folder", f"radium-snapshot-{GONE + i}-x")
    assert remove_orphaned_snapshots() == 2
    assert sorted(p.name for p in temp.iterdir()) == [f"other-{i}" for i in range(5)]
    assert remove_orphaned_snapshots(str(tmp_path / "missing")) == 0


def test_dropping_a_session_never_started_is_harmless(tmp_path: Path) -> None:
    tracker = CodeChangeTracker(tmp_path)
    tracker.session_dropped("never-started")
    assert tracker.wait_for_start("never-started") is False


def test_by_default_500_files_are_listed_and_all_counted(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"keep.txt": "k\n"})
    tracker = CodeChangeTracker(repo)
    tracker.session_started("session-1")
    assert tracker.wait_for_start("session-1")
    start = take_snapshot(repo)
    write(repo, {f"f{i:03}.txt": "x\n" for i in range(501)})
    end = take_snapshot(repo)
    numstat = git(repo, "diff-tree", "-r", "--numstat", "-z", "-M", start.tree, end.tree)
    for got in (
        changes(tracker.session_ended(new_record())),
        diff_trees(start, end),
        parse_numstat(numstat),
    ):
        listed = got["files"]
        assert (len(listed), listed[-1], got["files_truncated"]) == (
            500,
            row("f499.txt", 1, 0),
            True,
        )
        assert (got["files_changed"], got["lines_added"], got["lines_removed"]) == (501, 501, 0)


# --- the end of a session whose snapshots went wrong ----------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="a link stands in for git")
def test_a_git_gone_by_the_end_of_the_session_is_the_reason(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    link = tmp_path / "bin" / "git"
    link.parent.mkdir()
    link.symlink_to(shutil.which("git") or "git")
    tracker = CodeChangeTracker(repo, git=str(link))
    tracker.session_started("session-1")
    assert tracker.wait_for_start("session-1")
    link.unlink()

    record = tracker.session_ended(new_record())

    assert record.code_changes is None
    assert record.metadata == {ERROR_KEY: f"cannot run git ({link}): No such file or directory"}


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for git")
def test_a_start_snapshot_still_running_at_the_end_is_the_reason(tmp_path: Path) -> None:
    """git blocks until the test lets it go: the start snapshot (taken by a thread, as for
    a session that spans opened) is still running when the session ends."""
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    gate = tmp_path / "gate"
    gate.touch()
    tracker = CodeChangeTracker(repo, git=gated_git(tmp_path, gate), timeout_s=60)
    tracker.session_started("0123456789ab", user_opened=False)
    try:
        (snapshotting,) = [t for t in threading.enumerate() if t.name == "radium-snapshot-01234567"]
        assert tracker.wait_for_start("0123456789ab", timeout_s=0.05) is False
        tracker.timeout_s = 0.2  # the time limit the end is given
        assert tracker.wait_for_start("0123456789ab") is False

        record = tracker.session_ended(new_record("0123456789ab"))
    finally:
        gate.unlink()
    snapshotting.join(60)

    assert record.code_changes is None
    assert record.metadata == {ERROR_KEY: "the start snapshot took longer than the 0.2s limit"}
    assert tracker.wait_for_start("0123456789ab") is False  # forgotten at the end


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for git")
@pytest.mark.parametrize("opened_by", ["user", "spans"])
def test_an_unexpected_error_in_the_start_snapshot_is_logged_and_the_reason(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    opened_by: str,
) -> None:
    # A git whose write-tree prints no tree id (bytes that are not ASCII).
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    odd = fake_git(
        tmp_path, 'case "$*" in *write-tree*) printf "\\377\\n";; *) exec git "$@";; esac'
    )
    tracker = CodeChangeTracker(repo, git=odd)
    monkeypatch.setattr(errors, "_reported", set())  # logged once per process: not yet
    raise_internal_errors(False)
    try:
        with caplog.at_level(logging.WARNING, logger="radium_otel"):
            tracker.session_started("session-1", user_opened=opened_by == "user")
            assert tracker.wait_for_start("session-1")
            record = tracker.session_ended(new_record())
    finally:
        raise_internal_errors(None)

    assert record.code_changes is None
    assert record.metadata == {ERROR_KEY: "internal error: UnicodeDecodeError"}
    (logged,) = caplog.records
    assert logged.getMessage() == (
        "radium-otel internal error in CodeChangeTracker start snapshot (reported once; "
        "the agent goes on)"
    )
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], UnicodeDecodeError)


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for git")
def test_the_working_tree_is_read_before_session_started_returns(
    tmp_path: Path, temp: Path
) -> None:
    """By default a session is one the user opened: its working tree is added to a temporary
    index (named for this process, so that a later run can remove it should this one be
    killed) before `session_started` returns; only the tree is written in the background."""
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    gate = tmp_path / "gate"
    gate.touch()
    tracker = CodeChangeTracker(repo, git=gated_git(tmp_path, gate, "*write-tree*"))
    tracker.session_started("session-1")
    try:
        (staged,) = temp.iterdir()
        assert staged.name.startswith(f"radium-snapshot-{os.getpid()}-")
        write(repo, {"a.txt": "b\n"})  # the moment it returns
    finally:
        gate.unlink()
    assert tracker.wait_for_start("session-1")

    record = tracker.session_ended(new_record())

    assert rows(record) == [row("a.txt", 1, 1)]
    assert list(temp.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for git")
def test_a_git_that_prints_no_top_level_is_no_work_tree(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    one_line = fake_git(tmp_path, 'case "$*" in *rev-parse*) echo .git/index;; esac')
    record = run_session(repo, lambda ws: None, tracker=CodeChangeTracker(repo, git=one_line))
    assert record.metadata == {ERROR_KEY: f"not in a git work tree: {repo}"}


def test_an_index_that_cannot_be_read_is_the_reason(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    index = repo / ".git" / "index"
    index.unlink()
    index.mkdir()
    record = run_session(repo, lambda ws: None)
    assert record.metadata == {
        ERROR_KEY: f"cannot read the index {index}: [Errno 21] Is a directory: '{index}'"
    }


def test_a_temporary_folder_that_cannot_be_made_is_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    missing = tmp_path / "no-such-folder"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    tracker = CodeChangeTracker(repo)
    tracker.session_started("session-1")
    record = tracker.session_ended(new_record())
    reason = record.metadata[ERROR_KEY]
    assert reason.startswith(
        "cannot create a temporary index: [Errno 2] No such file or directory: "
        f"'{missing}/radium-snapshot-{os.getpid()}-"
    )


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_hung_git_is_killed_with_its_children(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    child = tmp_path / "child"
    hung = fake_git(tmp_path, f'sleep 30 & echo $! > "{child}"; wait')
    tracker = CodeChangeTracker(repo, git=hung, timeout_s=0.5)
    tracker.session_started("session-1")
    record = tracker.session_ended(new_record())
    assert record.code_changes is None
    pid = int(child.read_text())
    for _ in range(250):  # gone at once, reaped by whoever adopted it within 5 s
        if not Path(f"/proc/{pid}").exists() or "\nState:\tZ" in _status(pid):
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"git's child {pid} still runs")


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""
