"""The wheel ships one import namespace, ``radium_otel`` (SPEC "Layout")."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Nothing the build needs from these; copying them would only be slow or racy.
_NOT_COPIED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".coverage",
    ".radium",
    ".hypothesis",
)


def _pip_wheel(source: Path, out: Path, *, isolated: bool) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    if not isolated:
        args.append("--no-build-isolation")
    # An absolute path: pip would read a bare name as a project on the package index.
    return subprocess.run(
        [*args, str(source.resolve())],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The project's wheel, built from a copy of the tree (builds write into the source)."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "radium-otel"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_NOT_COPIED)
    out = base / "dist"
    built = _pip_wheel(source, out, isolated=False)
    if built.returncode != 0:  # the venv's setuptools/wheel are too old or missing
        built = _pip_wheel(source, out, isolated=True)
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = out.glob("radium_otel-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


@pytest.mark.slow
def test_the_package_holds_cli_exporters_and_py_typed(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())

    assert {
        "radium_otel/__init__.py",
        "radium_otel/__main__.py",
        "radium_otel/py.typed",
        "radium_otel/cli/__init__.py",
        "radium_otel/cli/app.py",
        "radium_otel/exporters/__init__.py",
    } <= names


@pytest.mark.slow
def test_the_package_holds_the_ui_and_its_vendored_chart_library(
    wheel: zipfile.ZipFile,
) -> None:
    names = set(wheel.namelist())
    static = "radium_otel/ui/static/"
    assert {
        "radium_otel/ui/server.py",
        "radium_otel/ui/report.py",
        static + "index.html",
        static + "app.js",
        static + "app.css",
        static + "favicon.svg",
        static + "vendor/uplot/uPlot.iife.min.js",
        static + "vendor/uplot/uPlot.min.css",
        static + "vendor/uplot/LICENSE",
    } <= names
    assert "MIT License" in wheel.read(static + "vendor/uplot/LICENSE").decode()


def test_no_top_level_cli_or_exporters(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    [dist_info] = [top for top in tops if top.endswith(".dist-info")]

    assert tops == {"radium_otel", dist_info}
    assert not any(name.startswith(("cli/", "exporters/", "tests/")) for name in wheel.namelist())
    assert wheel.read(f"{dist_info}/top_level.txt").decode().split() == ["radium_otel"]


@pytest.mark.slow
def test_rad_entry_point(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[lines.index("[console_scripts]") + 1] == "rad = radium_otel.cli:main"
