"""The start snapshot is the working tree at the instant the session opens.

An agent that edits files the moment ``rad.session()`` returns must have every line counted:
the figures are compared with ``git diff --no-index --numstat`` between copies of the real
working tree taken just before the session opened and just after it ended.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from test_code_changes import git_env  # noqa: F401  (autouse: git sees no user settings)

from radium_otel._internal.codechanges import ERROR_KEY, CodeChangeTracker
from radium_otel.testing import isolated


def git(cwd: Path, *args: str, ok: tuple[int, ...] = (0,)) -> bytes:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, timeout=30)
    assert done.returncode in ok, done.stderr.decode()
    return done.stdout


def numbered(n: int, tag: str) -> str:
    return "".join(f"{tag} {i}\n" for i in range(n))


def copy_tree(repo: Path, to: Path) -> Path:
    """The working tree of ``repo`` as it is now, without ``.git``."""
    shutil.copytree(repo, to, ignore=shutil.ignore_patterns(".git"))
    return to


def git_diff(before: Path, after: Path) -> dict[str, Any]:
    """Totals and per-file counts of ``git diff --no-index --numstat before after``."""
    out = git(
        before.parent,
        "diff",
        "--no-index",
        "--no-renames",
        "--numstat",
        before.name,
        after.name,
        ok=(0, 1),  # 1: there are differences
    )
    files: dict[str, tuple[int, int]] = {}
    for line in out.decode().splitlines():
        added, removed, path = line.split("\t")
        # "{before => after}/x" for a changed file, "before/x => /dev/null" for a deleted
        # one and "/dev/null => after/x" for a new one.
        if path.startswith("{"):
            name = path.split("}/", 1)[1]
        else:
            side = next(p for p in path.split(" => ") if p != "/dev/null")
            name = side.split("/", 1)[1]
        files[name] = (int(added), int(removed))
    return {
        "lines_added": sum(a for a, _ in files.values()),
        "lines_removed": sum(r for _, r in files.values()),
        "files": files,
    }


def test_edits_made_the_moment_the_session_opens_all_count(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(40):
        (repo / f"module_{i:02d}.py").write_text(numbered(30, f"m{i}"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    # Work left from before the session: it must not count, and the file edited again
    # during the session counts only for what the session changed.
    (repo / "module_00.py").write_text(numbered(30, "m0") + "left over\n")
    (repo / "scratch.txt").write_text("not committed\n")
    before = copy_tree(repo, tmp_path / "before")

    tracker = CodeChangeTracker(repo)
    with isolated(tmp_path, hooks=[tracker]) as (inst, _):
        with inst.session(agent="coder") as s:
            # No pause: the agent writes at once.
            (repo / "module_00.py").write_text(numbered(26, "m0") + "changed\n")
            text = numbered(30, "m1").replace("m1 3\n", "m1 three\nm1 3b\n")
            (repo / "module_01.py").write_text(text)
            (repo / "module_02.py").unlink()
            (repo / "new_file.py").write_text(numbered(4, "new"))
            (repo / "scratch.txt").write_text("not committed\nand edited\n")
        stored = json.loads((inst.store.folder / f"{s.id}.json").read_text())
    after = copy_tree(repo, tmp_path / "after")

    expected = git_diff(before, after)
    assert expected["lines_added"] == 1 + 2 + 0 + 4 + 1
    assert ERROR_KEY not in stored["metadata"], stored["metadata"][ERROR_KEY]
    code = stored["code_changes"]
    got = {f["path"]: (f["added"], f["removed"]) for f in code["files"]}
    assert got == expected["files"]
    assert (code["lines_added"], code["lines_removed"], code["files_changed"]) == (
        expected["lines_added"],
        expected["lines_removed"],
        len(expected["files"]),
    )


def test_a_session_spans_opened_is_snapshotted_in_the_background_and_can_be_dropped(
    tmp_path: Path,
) -> None:
    """An agent framework's run announces its session inside a span's start: the tracker
    takes the whole start snapshot off that thread; a session dropped (it had nothing to
    write) is forgotten."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.txt").write_text(numbered(5, "a"))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    tracker = CodeChangeTracker(repo)
    tracker.session_started("framework-run", user_opened=False)
    assert tracker.wait_for_start("framework-run", timeout_s=30)
    tracker.session_started("idle-run", user_opened=False)
    tracker.session_dropped("idle-run")
    assert tracker.wait_for_start("idle-run") is False  # (forgotten: nothing to wait for)
    assert set(tracker._started) == {"framework-run"}
