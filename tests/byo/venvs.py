"""Instrumentation packages that cannot share the dev venv run in a venv of their own.

Most GenAI instrumentations install beside radium's dev tools (the ``dev`` extra) and run in
the pytest process. A package whose pins clash with the dev venv gets an extra of its own
in pyproject.toml, ``byo-<name>``, that ``scripts/bootstrap.sh`` always installs into
``.venv/byo-<name>`` (radium-otel editable, plus that extra); its scenarios run there as a
subprocess (`byo.runner` as a script) against the fake server of the pytest process, and
the test reads the session records and spans the subprocess left in its workspace.

Today one package needs this: ``opentelemetry-instrumentation-openai-v2`` 2.4b0 imports
``httpx`` (which openai 3 no longer installs) and ``opentelemetry.util.genai.instruments``
(gone in util-genai 1.2, while ``opentelemetry-instrumentation-genai-*`` 1.3 need ≥ 1.3),
so ``.venv/byo-openai-v2`` has openai 2.x and util-genai 1.1.

To add one: an extra ``byo-<name>`` in pyproject.toml, ``<name>`` in ``BYO_VENVS`` in
scripts/bootstrap.sh, and ``Package(venv="byo-<name>", ...)`` in the test.

``run_in_venv(None, ...)`` runs a scenario in a fresh process of the dev venv instead: for
a package whose ``uninstrument()`` leaves its wrappers behind (Traceloop's 0.62 does, with
opentelemetry-instrumentation 0.66), which would leak into every later test of the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .runner import Outcome, outcome, read_spans

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
TIMEOUT_S = 120.0


def venv_python(venv: str) -> Path:
    """The Python of ``.venv/<venv>``; fails the test when bootstrap has not made it."""
    python = ROOT / ".venv" / venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: `bash scripts/bootstrap.sh` installs it")
    return python


def run_in_venv(
    venv: str | None, instrumentor: str, scenario: str, base_url: str, workspace: Path
) -> Outcome:
    """Run ``scenario`` under ``instrumentor`` with the Python of ``.venv/<venv>``.

    ``venv=None``: this interpreter, in a fresh process.
    """
    python = sys.executable if venv is None else str(venv_python(venv))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "RADIUM_", "PYTHON"))
    }
    env |= {"RADIUM_SUMMARY": "0", "PYTHONPATH": str(TESTS)}
    workspace.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [python, "-m", "byo.runner", instrumentor, scenario, base_url, str(workspace)],
        cwd=TESTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"{venv or python}: {scenario} failed:\n{proc.stderr}"
    return outcome(workspace, read_spans(workspace), proc.stderr)
