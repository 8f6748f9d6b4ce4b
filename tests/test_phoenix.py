"""A real OpenTelemetry backend: Arize Phoenix, started here on 127.0.0.1, receives the example
agent's session over OTLP/HTTP, and its REST API returns the session's model and tool spans
with the token counts and session id that radium recorded locally.

Phoenix is large and pins client libraries of its own, so it lives in ``.venv/backends``
(``scripts/bootstrap.sh`` installs the ``backends`` extra there when ``CI=true`` or
``RADIUM_BACKENDS=1``); ``RADIUM_PHOENIX`` may name another ``phoenix`` executable. Without
one the test is skipped, except in CI, where it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "radium-example"
START_TIMEOUT_S = 60.0  # Phoenix migrates a fresh database at start: ~15 s on a small machine
INGEST_TIMEOUT_S = 60.0  # generous: CI runs this beside the rest of the suite on 2 cores


def phoenix_executable() -> str | None:
    configured = os.environ.get("RADIUM_PHOENIX")
    if configured:
        return configured
    for candidate in (
        ROOT / ".venv" / "backends" / "bin" / "phoenix",
        Path(sys.executable).with_name("phoenix"),
    ):
        if candidate.exists():
            return str(candidate)
    return shutil.which("phoenix")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=15) as response:
        return json.load(response)


class Phoenix:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def spans(self, project: str) -> list[dict[str, Any]]:
        spans: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = get_json(f"{self.url}/v1/projects/{project}/spans?limit=1000{cursor}")
            spans += page["data"]
            if not page.get("next_cursor"):
                return spans
            cursor = f"&cursor={page['next_cursor']}"

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    executable = phoenix_executable()
    if executable is None:
        reason = (
            "Arize Phoenix is not installed: RADIUM_BACKENDS=1 bash scripts/bootstrap.sh "
            "installs the `backends` extra into .venv/backends"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("phoenix")
    port, grpc_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PHOENIX_"))},
        "PHOENIX_WORKING_DIR": str(base),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    log = base / "phoenix.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [executable, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=base
        )
    server = Phoenix(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"phoenix serve exited ({process.returncode}):\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"phoenix serve not ready in {START_TIMEOUT_S}s:\n{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_phoenix_receives_the_example_session(
    phoenix: Phoenix, tmp_path: Path, clean_env: dict[str, str], rad_exe: str
) -> None:
    env = {
        **clean_env,
        "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.url,
        "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
        "OTEL_METRICS_EXPORTER": "none",  # Phoenix stores traces only
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={PROJECT}",
    }
    agent = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "coding_agent.py"), "--workspace", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert agent.returncode == 0, agent.stderr
    session_id = agent.stdout.split()[1]  # "session <id> recorded in ..."
    local = json.loads(
        subprocess.run(
            [rad_exe, "--workspace", str(tmp_path), "stats", "session", session_id, "--json"],
            env=clean_env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    )
    [usage] = local["model_usage"]

    # Phoenix ingests in the background: wait until the whole session is there.
    deadline = time.monotonic() + INGEST_TIMEOUT_S
    while True:
        try:
            spans = phoenix.spans(PROJECT)
        except (urllib.error.URLError, TimeoutError) as exc:  # 404 until the project exists
            assert time.monotonic() < deadline, f"{exc}\n{phoenix.log_tail()}"
            time.sleep(0.5)
            continue
        models = [s for s in spans if s["span_kind"] == "LLM"]
        # Executed calls: the span of the rejected call's decision is a TOOL span to Phoenix.
        tools = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "execute_tool"]
        roots = [s for s in spans if s["name"] == "invoke_agent coder"]
        if (len(models), len(tools), len(roots)) == (usage["requests"], local["tool_calls"], 1):
            break
        assert time.monotonic() < deadline, sorted((s["name"], s["span_kind"]) for s in spans)
        time.sleep(0.25)

    for span in spans:
        attrs = span["attributes"]
        assert attrs["gen_ai.conversation.id"] == session_id
        assert attrs["session.id"] == session_id  # Phoenix's own session key
    model_attrs = [s["attributes"] for s in models]
    assert {a["gen_ai.request.model"] for a in model_attrs} == {usage["model"]}
    assert sum(a["gen_ai.usage.input_tokens"] for a in model_attrs) == usage["input_tokens"]
    assert sum(a["gen_ai.usage.output_tokens"] for a in model_attrs) == usage["output_tokens"]
    assert sum(a["llm.token_count.prompt"] for a in model_attrs) == usage["input_tokens"]
    assert (
        sum(a.get("gen_ai.usage.cache_read.input_tokens", 0) for a in model_attrs)
        == usage["cache_read_tokens"]
    )
    assert (
        sum(a.get("gen_ai.usage.cache_creation.input_tokens", 0) for a in model_attrs)
        == usage["cache_creation_tokens"]
    )
    assert Counter(s["attributes"]["gen_ai.tool.name"] for s in tools) == {
        name: stats["calls"] for name, stats in local["tools"].items()
    }
    assert sum(s["status_code"] == "ERROR" for s in tools) == local["tool_failures"]

    [session] = get_json(f"{phoenix.url}/v1/projects/{PROJECT}/sessions")["data"]
    assert session["session_id"] == session_id
    assert (session["token_count_prompt"], session["token_count_completion"]) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
