"""The README's "Bring your own instrumentation" examples run as written, and print what they say.

They are ``py`` blocks (tests/test_readme.py runs the ``python`` ones, which need no server):
each runs in a process of its own, its client pointed at the fake server by the standard
variables (``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``, ``GOOGLE_GEMINI_BASE_URL``), and must
print the numbers of its closing comment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from . import anthropic_api, gemini_api
from . import openai_scenarios as openai_api
from .llm_server import LLMServer, json_response

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Bring your own instrumentation"


def byo_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    return re.findall(r"```py\n(.*?)```", section, flags=re.S)


def script(server: LLMServer, client: str) -> None:
    if client == "openai":
        body = openai_api.chat_completion(
            "gpt-4o-mini-2024-07-18", openai_api.chat_usage(1200, 40, 1000, 0)
        )
        server.add("POST", openai_api.CHAT_PATH, json_response(200, body))
    elif client == "anthropic":
        usage = anthropic_api.usage(12, 85, cache_read=2048)
        server.add(
            "POST", anthropic_api.MESSAGES_PATH, anthropic_api.message("claude-sonnet-4-5", usage)
        )
    else:
        usage = gemini_api.usage(1200, 30, cached=1000)
        server.add("POST", gemini_api.GENERATE_PATH, gemini_api.response("gemini-2.5-flash", usage))


def test_one_example_per_client() -> None:
    assert [re.search(r'instrument=\["([^"]+)"\]', b)[1] for b in byo_blocks()] == [  # type: ignore[index]
        "openai",
        "anthropic",
        "google-genai",
    ]


@pytest.mark.parametrize("client", ["openai", "anthropic", "google-genai"])
def test_example_runs_and_prints_what_it_says(
    client: str, llm_server: LLMServer, tmp_path: Path
) -> None:
    (block,) = [b for b in byo_blocks() if f'instrument=["{client}"]' in b]
    expected = block.rstrip().rsplit("# ", 1)[1]
    script(llm_server, client)
    (tmp_path / "example.py").write_text(block)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RADIUM_"))}
    env |= {
        "RADIUM_SUMMARY": "0",
        "RADIUM_WORKSPACE": str(tmp_path),
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": llm_server.url("/v1"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": llm_server.base_url,
        "GOOGLE_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": llm_server.base_url,
    }
    proc = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [expected]
    assert len(llm_server.requests) == 1 and not llm_server.unmatched
    sessions = tmp_path / ".radium" / "_internals" / "sessions"
    assert len(list(sessions.glob("*.json"))) == 1
