"""Agent frameworks, real and pinned, against the stub model: exact sessions, no decorator.

Each framework runs in its venv (``.venv/fw-<name>``, made by ``scripts/bootstrap.sh`` from
``requirements/<name>.txt``) as a subprocess (`frameworks.runner`), once per variant:
``plain``, ``failing_tool``, ``streaming`` and ``with_client`` inside ``rad.session``,
``no_session`` (one run) and ``two_runs`` without one. Every run is the same agent turn
(`agent_server`: 2 model requests, 1 ``get_weather`` call), so the exact figures of every
session are known: requests, tokens with cache and reasoning detail, tool calls, failures
and their types, one session per run, the user's session holding the whole run, no empty
session, every model priced, api + tool = active ≤ wall.

The runs of a framework start together on first use (two at a time) and are read once;
each test then asserts on the stored records.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from byo.llm_server import LLMServer
from byo.runner import outcome, read_spans
from byo.venvs import ROOT, TESTS, TIMEOUT_S, venv_python

from radium_otel._internal.record import SessionRecord

from . import FRAMEWORK_PATH
from .agent_server import ANSWER, GEMINI_MODEL, RESPONSE_MODEL, USAGE, serve_agent_turns
from .agents import PROMPT, SUNNY
from .runner import SESSION_AGENT, TEXTS_FILE, VARIANTS

FRAMEWORKS = sorted(p.stem for p in (TESTS / "frameworks" / "requirements").glob("*.txt"))
IN_SESSION = ("plain", "failing_tool", "streaming", "with_client")

#: The agent name each framework's spans report (without rad.session), and the error type
#: its spans give a tool that raised `WeatherError`.
AGENT_NAME: dict[str, str | None] = {
    "crewai": "weather",  # its role, as the AGENT span's graph node
    "google-adk": "weather",
    "langchain": "weather",
    "llama-index": None,  # a workflow agent's run is a CHAIN named FunctionAgent.run
    "openai-agents": "weather",
    "pydantic-ai": "weather",
    "smolagents": "weather",
    "strands": "weather",
}
TOOL_ERROR = dict.fromkeys(AGENT_NAME, "WeatherError") | {
    "openai-agents": "_OTHER",  # the SDK records no exception, only a redacted status
}
#: Frameworks whose run ends when a tool raises (pydantic-ai reports only `ModelRetry` to the
#: model and re-raises anything else): one request, then the failed tool call.
TOOL_ERROR_ENDS_RUN = frozenset({"google-adk", "pydantic-ai"})
#: (model, provider) of the stub's answers as each framework's spans report them, when not
#: the OpenAI stub's; per variant where instrumenting the client changes them.
MODEL = {"google-adk": (GEMINI_MODEL, "gcp.gemini")}
CLIENT_MODEL = {"google-adk": (GEMINI_MODEL, "gemini")}  # google-genai's instrumentation

DEFAULT_MODEL = (RESPONSE_MODEL, "openai")


@dataclass(frozen=True)
class Run:
    """What a run left: its session records, and every attribute value on its spans."""

    records: list[SessionRecord]
    texts: list[str]


Runs = Callable[[str, str], Run]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """``runs(framework, variant)``: the outcome of that run (all variants of a framework
    run together, two at a time, when the first is asked for).
    """
    root = tmp_path_factory.mktemp("frameworks")
    with LLMServer() as server, ThreadPoolExecutor(max_workers=2) as pool:
        serve_agent_turns(server)
        base_url = server.url("/v1")

        @cache
        def framework(name: str) -> dict[str, Run]:
            python = venv_python(f"fw-{name}")
            futures = {
                variant: pool.submit(_run, python, name, variant, base_url, root / name / variant)
                for variant in VARIANTS
            }
            return {variant: future.result() for variant, future in futures.items()}

        yield lambda name, variant: framework(name)[variant]


def _run(python: Path, name: str, variant: str, base_url: str, workspace: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RADIUM_", "PYTHON"))}
    env |= {"RADIUM_SUMMARY": "0", "PYTHONPATH": FRAMEWORK_PATH}
    workspace.mkdir(parents=True)
    proc = subprocess.run(
        [python, "-m", "frameworks.runner", name, variant, base_url, str(workspace)],
        cwd=TESTS, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{name} {variant} failed:\n{proc.stderr[-4000:]}"
    texts = json.loads((workspace / TEXTS_FILE).read_text())
    return Run(outcome(workspace, read_spans(workspace), proc.stderr).records, texts)


def assert_one_agent_turn(
    record: SessionRecord,
    *,
    model: tuple[str, str] = DEFAULT_MODEL,
    failed_tool: str | None = None,
    requests: int = len(USAGE),
) -> None:
    """The figures of one run of the stub's agent turn (its first ``requests``), exactly."""
    served = USAGE[:requests]
    assert record.status == "completed"
    (row,) = record.model_usage  # one model, one row
    assert (row.model, row.provider) == model
    assert (row.requests, row.errors) == (requests, 0)
    assert row.input_tokens == sum(u.input_tokens for u in served)
    assert row.output_tokens == sum(u.output_tokens for u in served)
    assert row.cache_read_tokens == sum(u.cached_tokens for u in served)
    assert row.reasoning_tokens == sum(u.reasoning_tokens for u in served)
    assert row.cache_creation_tokens == 0
    assert list(record.tools) == ["get_weather"]
    stats = record.tools["get_weather"]
    if failed_tool is None:
        assert (stats.calls, stats.successes, stats.failures) == (1, 1, 0)
    else:
        assert (stats.calls, stats.failures, stats.error_types) == (1, 1, {failed_tool: 1})
    assert record.cost_usd is not None and record.cost_usd > 0
    assert record.pricing is not None and not record.pricing.unpriced_models
    assert record.api_time_s > 0 and record.tool_time_s > 0
    assert record.api_time_s + record.tool_time_s == pytest.approx(record.agent_active_time_s)
    assert record.agent_active_time_s <= record.wall_time_s + 1e-6


@pytest.mark.parametrize("variant", IN_SESSION)
@pytest.mark.parametrize("name", FRAMEWORKS)
def test_the_users_session_holds_the_whole_run(runs: Runs, name: str, variant: str) -> None:
    out = runs(name, variant)
    (record,) = out.records  # one session: the user's, never a second one for the run
    assert record.metadata["agent"] == SESSION_AGENT
    model = (CLIENT_MODEL if variant == "with_client" else MODEL).get(name, DEFAULT_MODEL)
    if variant != "failing_tool":
        assert_one_agent_turn(record, model=model)
    elif name in TOOL_ERROR_ENDS_RUN:
        assert_one_agent_turn(record, model=model, failed_tool=TOOL_ERROR[name], requests=1)
    else:
        assert_one_agent_turn(record, model=model, failed_tool=TOOL_ERROR[name])


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_a_run_without_a_session_is_one_session(runs: Runs, name: str) -> None:
    (record,) = runs(name, "no_session").records
    assert record.metadata.get("agent") == AGENT_NAME[name]
    assert_one_agent_turn(record, model=MODEL.get(name, DEFAULT_MODEL))


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_two_runs_without_a_session_are_two_sessions(runs: Runs, name: str) -> None:
    records = runs(name, "two_runs").records
    assert len(records) == 2 and records[0].id != records[1].id
    for record in records:
        assert record.metadata.get("agent") == AGENT_NAME[name]
        assert_one_agent_turn(record, model=MODEL.get(name, DEFAULT_MODEL))
    first, second = sorted(records, key=lambda r: r.start_time)
    assert first.end_time is not None and first.end_time <= second.start_time


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_no_prompt_answer_or_tool_result_reaches_a_span(runs: Runs, name: str) -> None:
    """``capture_content`` is False: what the user, the model and the tool said is on no
    span or span event that radium's instrumentation made (what an OTLP exporter sends)."""
    texts = runs(name, "plain").texts
    leaks = [t for t in texts if any(c in t for c in (PROMPT, ANSWER, SUNNY))]
    assert leaks == []


def test_every_framework_with_a_venv_is_tested() -> None:
    """A requirements file is a framework under test; a venv is made for each."""
    assert FRAMEWORKS == sorted(AGENT_NAME)
    script = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "tests/frameworks/requirements/*.txt" in script
