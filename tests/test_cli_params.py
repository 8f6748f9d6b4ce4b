"""``rad``'s parameters read without pydantic (cli/_params.py) give what typer gives."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.core
from typer.testing import CliRunner

from radium_otel.cli.app import app

ARGS = [
    ["stats", "history", "--limit", "5"],
    ["stats", "history", "--limit", "-1"],
    ["stats", "history", "--limit", "x"],
    ["stats", "history", "-n", "007", "--json"],
    ["stats", "history", "--by", "week"],
    ["stats", "history", "--by", "Week"],
    ["stats", "history", "--since", "30d", "--until", "bad"],
    ["stats", "export", "abcd", "efgh", "--format", "csv"],
    ["stats", "export", "--all", "--format", "xml"],
    ["stats", "model", "--since", "2026-01-01"],
    ["stats", "tools", "zz"],
]


@pytest.fixture
def typer_own() -> Iterator[None]:
    """Typer's own coercion (pydantic adapters), as before `_params.install`."""
    base = typer.core._TyperParameter
    lean = base.get_runtime_param

    def own(self: typer.core._TyperParameter) -> object:
        from typer._coercion import build_runtime_param

        if self._runtime_param is None:
            self._runtime_param = build_runtime_param(self.type_descriptor)
        return self._runtime_param

    base.get_runtime_param = own  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        base.get_runtime_param = lean  # type: ignore[method-assign]


def _run(workspace: Path, args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--workspace", str(workspace), *args], env={"COLUMNS": "100"})
    return result.exit_code, result.stdout, result.stderr


def test_lean_coercion_answers_as_typer_does(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    lean = [_run(tmp_path, args) for args in ARGS]
    request.getfixturevalue("typer_own")
    own = [_run(tmp_path, args) for args in ARGS]
    assert lean == own
    assert {code for code, _, _ in lean} == {1, 2}  # (refused values, and nothing stored)


def test_rad_stats_imports_no_pydantic(tmp_path: Path) -> None:
    """The reports need no pydantic: typer's parameters do not import it for plain values."""
    code = (
        "import sys\n"
        f"sys.argv = ['rad', '--workspace', {str(tmp_path)!r}, 'stats', 'history', '-n', '3']\n"
        "from radium_otel.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pydantic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
