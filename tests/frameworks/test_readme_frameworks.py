"""The README's "Agent frameworks" examples run as written, and print what they say.

Each ``py`` block of that section runs in the venv of the framework it instruments
(``.venv/fw-<name>``), in a process of its own, with the OpenAI client pointed at the stub
agent model by ``OPENAI_BASE_URL`` (Gemini: ``GOOGLE_GEMINI_BASE_URL``); it must print the
numbers of its closing comment and leave exactly one session in its workspace.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from byo.llm_server import LLMServer
from byo.venvs import ROOT, TIMEOUT_S, venv_python

from .agent_server import serve_agent_turns
from .test_frameworks import FRAMEWORKS

SECTION = "## Agent frameworks"


def examples() -> dict[str, str]:
    """Framework → its README example."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```py\n(.*?)```", section, flags=re.S)
    return {re.search(r'instrument=\["([^"]+)"\]', b)[1]: b for b in blocks}  # type: ignore[index]


Ran = dict[str, tuple[subprocess.CompletedProcess[str], Path]]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    """Every example run once (two at a time) against one stub."""
    root = tmp_path_factory.mktemp("readme-frameworks")
    with LLMServer() as server, ThreadPoolExecutor(max_workers=2) as pool:
        serve_agent_turns(server)
        futures = {
            name: pool.submit(_run, name, block, server.url("/v1"), root / name)
            for name, block in examples().items()
        }
        yield {name: future.result() for name, future in futures.items()}


def _run(
    name: str, block: str, base_url: str, workspace: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    workspace.mkdir()
    (workspace / "example.py").write_text(block)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RADIUM_", "PYTHON"))}
    env |= {
        "RADIUM_SUMMARY": "0",
        "PYTHONPATH": str(ROOT),  # (radium-otel is not installed in the framework venvs)
        "RADIUM_WORKSPACE": str(workspace),
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": base_url,
        "GOOGLE_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": base_url.removesuffix("/v1"),
    }
    proc = subprocess.run(
        [venv_python(f"fw-{name}"), "example.py"],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    return proc, workspace


def test_one_example_per_framework_under_test() -> None:
    assert sorted(examples()) == FRAMEWORKS


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_example_runs_and_prints_what_it_says(ran: Ran, name: str) -> None:
    proc, workspace = ran[name]
    assert proc.returncode == 0, proc.stderr[-4000:]
    expected = examples()[name].rstrip().rsplit("# ", 1)[1]
    assert proc.stdout.splitlines() == [expected]
    sessions = workspace / ".radium" / "_internals" / "sessions"
    assert len(list(sessions.glob("*.json"))) == 1
