"""`rad stats …` answered without typer (`radium_otel.cli._fast`) says exactly what the typer
app says: the same standard output, standard error and exit code for every command, with a
broad set of arguments, well-formed or not (those typer answers itself)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.cli import _fast

# The typer app alone, as `rad` ran before the fast path.
TYPER = "import sys; from radium_otel.cli.app import main; sys.argv[0] = 'rad'; main()"
FAST = "import sys; from radium_otel.cli import main; sys.argv[0] = 'rad'; main()"

ARGS: list[list[str]] = [
    ["stats", "history"],
    ["stats", "history", "-n", "1"],
    ["stats", "history", "--limit", "0", "--json"],
    ["stats", "history", "--by", "day"],
    ["stats", "history", "--by", "month", "--json", "-n", "2"],
    ["stats", "history", "--by", "year"],
    ["stats", "history", "-n", "-1"],
    ["stats", "history", "-n", "x"],
    ["stats", "history", "-n", "+3"],
    ["stats", "history", "-n"],
    ["stats", "history", "--limit=3"],
    ["stats", "history", "-n3"],
    ["stats", "history", "--since", "2020-01-01", "--until", "2030-01-01"],
    ["stats", "history", "--since", "2030-01-01", "--until", "2020-01-01"],
    ["stats", "history", "--since", "garbage"],
    ["stats", "history", "--since", ""],
    ["stats", "history", "--agent", "nobody"],
    ["stats", "history", "--agent", "coder", "--agent", "planner"],
    ["stats", "history", "extra"],
    ["stats", "history", "--help"],
    ["stats", "history", "--jsn"],
    ["stats", "history", "--", "x"],
    ["stats", "model"],
    ["stats", "model", "--json"],
    ["stats", "model", "aaaa"],
    ["stats", "model", "zzzz"],
    ["stats", "model", "aaaa", "--since", "2020-01-01"],
    ["stats", "model", "aaaa", "bbbb"],
    ["stats", "tools"],
    ["stats", "tools", "--json", "--since", "20200101"],
    ["stats", "tools", "bbbb"],
    ["stats", "tools", "--reprice"],
    ["stats", "session"],
    ["stats", "session", "--json"],
    ["stats", "session", "aaaa", "--files"],
    ["stats", "session", "bbbb", "--files"],
    ["stats", "session", "nope"],
    ["stats", "session", ""],
    ["stats", "export", "--all"],
    ["stats", "export", "--all", "-f", "csv"],
    ["stats", "export", "--format", "xml", "--all"],
    ["stats", "export", "aaaa", "bbbb", "aaaa"],
    ["stats", "export", "aaaa", "--all"],
    ["stats", "export"],
    ["stats", "export", "--since", "2020-01-01", "-o", "out.csv", "-f", "csv"],
    ["stats", "export", "--all", "-o", "-"],
    ["stats", "reindex"],
    ["stats", "reindex", "now"],
    ["stats"],
    ["stats", "nothing"],
    ["--help"],
    ["-w"],
]


@pytest.fixture
def filled(workspace: Path, make_record: Callable[..., SessionRecord]) -> Path:
    store = SessionStore(sessions_dir(workspace))
    store.write(make_record(id="aaaa1111-0000-4000-8000-000000000001"))
    store.write(make_record(id="bbbb2222-0000-4000-8000-000000000002", code_changes=None))
    return workspace


def _both(code: str, args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr.replace(str(cwd), "CWD")


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
@pytest.mark.parametrize("where", ["option", "env", "empty"])
def test_the_fast_path_answers_as_typer(
    filled: Path, clean_env: dict[str, str], tmp_path: Path, args: list[str], where: str
) -> None:
    env = {**clean_env, "COLUMNS": "100"}
    workspace = tmp_path / "empty" if where == "empty" else filled
    workspace.mkdir(exist_ok=True)
    if where == "env":
        env["RADIUM_WORKSPACE"] = str(workspace)
        line = args
    else:
        line = ["-w", str(workspace), *args] if args != ["-w"] else args
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)

    typer_says = _both(TYPER, line, env, cwd)
    out_typer = (cwd / "out.csv").read_bytes() if (cwd / "out.csv").exists() else None
    (cwd / "out.csv").unlink(missing_ok=True)
    fast_says = _both(FAST, line, env, cwd)
    out_fast = (cwd / "out.csv").read_bytes() if (cwd / "out.csv").exists() else None

    assert fast_says == typer_says
    assert out_fast == out_typer


def test_what_the_fast_path_takes_and_leaves_to_typer(tmp_path: Path) -> None:
    assert _fast.parse(["stats", "history", "-n", "5", "--by", "week"]) == (
        None, "history", [], {"limit": 5, "since": None, "until": None, "agent": None,
                              "by": "week", "as_json": False, "reprice": False},
    )  # fmt: skip
    assert _fast.parse(["-w", str(tmp_path), "stats", "export", "a", "b"]) == (
        tmp_path, "export", ["a", "b"], {"export_all": False, "since": None, "until": None,
                                         "fmt": "json", "output": None},
    )  # fmt: skip
    for typer_reads in (
        ["--help"], ["stats"], ["stats", "--help"], ["stats", "history", "--help"],
        ["stats", "history", "-n", "-1"], ["stats", "history", "--limit=2"],
        ["stats", "history", "--by", "Day"], ["stats", "model", "a", "b"],
        ["stats", "export", "-o", "-"], ["stats", "reindex", "x"], ["import", "codex"],
        ["-w", "", "stats", "history"], ["stats", "session", "--", "x"],
    ):  # fmt: skip
        assert _fast.parse(typer_reads) is None, typer_reads
