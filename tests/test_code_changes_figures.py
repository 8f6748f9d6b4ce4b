"""The per-file rows of ``rad stats session --files`` in the shapes the broader tests left
open, and the snapshot helpers with their defaults on a real repository (issue 20: mutants
that survived in ``codechanges.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_code_changes import (
    commit,
    git_env,  # noqa: F401  (autouse: git sees no user settings)
    init_repo,
    lines,
    numstat_rows,
    row,
    write,
)

from radium_otel._internal.codechanges import diff_trees, render_files, take_snapshot


def shown(code_changes: dict[str, Any]) -> str:
    return render_files(code_changes).plain


def test_totals_reported_without_files_say_who_reported_them() -> None:
    claude = {"lines_added": 12, "lines_removed": 0, "measured_by": "Claude Code"}
    assert shown(claude) == "Claude Code reported +12 -0 lines without naming the files."
    removed_only = {"lines_added": 0, "lines_removed": 3}
    assert shown(removed_only) == "the source reported +0 -3 lines without naming the files."
    assert shown({"lines_added": 0, "lines_removed": 0}) == "No files changed."
    # A count of files, even zero, is git's measure: no "reported" line.
    assert shown({"lines_added": 5, "files_changed": 0}) == "No files changed."


def test_files_listed_without_a_count_are_listed() -> None:
    assert shown({"files": [row("a.txt", 2, 1)]}) == "+2 -1  a.txt"


def test_a_count_of_files_without_rows_says_they_were_not_listed() -> None:
    expected = "... 3 more files not listed (3 changed in all)"
    assert shown({"files_changed": 3, "files": []}) == expected
    assert shown({"files_changed": 3, "files": None}) == expected
    assert shown({"files_changed": 1}) == "... 1 more file not listed (1 changed in all)"


def test_columns_are_right_aligned_and_as_wide_as_binary() -> None:
    rows = [
        row("a.txt", 1, 0),
        row("c.txt", 20, 10, renamed_from="old c.txt"),
        row("d.txt", 3, 7, renamed_from=7),  # type: ignore[arg-type]  # a hand-edited record
    ]
    assert shown({"files_changed": 3, "files": rows}).splitlines() == [
        " +1  -0  a.txt",
        "+20 -10  old c.txt -> c.txt",
        " +3  -7  d.txt",
    ]
    narrow = [row("a.txt", 1, 0), row("b.bin", 0, 0, binary=True)]
    assert shown({"files_changed": 2, "files": narrow}).splitlines() == [
        " +1 -0  a.txt",
        "binary  b.bin",
    ]


def test_snapshot_helpers_with_their_defaults_give_git_diff(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": lines(5), "b.txt": lines(3)})
    start = take_snapshot(repo)
    write(repo, {"a.txt": lines(2) + "new\n", "c/d.txt": lines(4, "d")})
    (repo / "b.txt").unlink()
    end = take_snapshot(repo)
    head = commit(repo, "after")

    got = diff_trees(start, end)
    expected = numstat_rows(repo, "HEAD~1", head)
    assert {k: got[k] for k in expected} == expected
    assert expected["files"] == [
        row("a.txt", 1, 3),
        row("b.txt", 0, 3),
        row("c/d.txt", 4, 0),
    ]
    assert got["files_truncated"] is False
