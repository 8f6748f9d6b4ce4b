"""Tool approvals in real agent frameworks: the user's decisions, exactly, and only the calls
that ran.

Each framework's approval agent (``frameworks.agents.approvals_<fw>``) runs in its venv as a
subprocess (`frameworks.approvals_runner`), inside ``rad.session``, once per decision: the
run stops to ask for approval of its ``get_weather`` call and is resumed with the decision.
Whatever the decision, the stub model (`agent_server`) is asked twice (the call, then the
answer: after a rejection the framework tells it the call did not run), so every figure is
known: one session; its decisions (the framework's decision as radium's: approve → accept,
edit → modify, reject → reject); tool calls (1 that ran, 0 when rejected: a rejected call
never ran and is not a tool call, nor is the span a framework leaves for a call waiting for
approval); both requests with their exact usage; user agreement.

The runs start together on first use (two at a time) and are read once.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from byo.llm_server import LLMServer
from byo.runner import Outcome, outcome, read_spans
from byo.venvs import TESTS, TIMEOUT_S, venv_python

from radium_otel._internal.service import SessionReport

from . import FRAMEWORK_PATH
from .agent_server import RESPONSE_MODEL, USAGE, serve_agent_turns
from .runner import SESSION_AGENT

#: framework → the decisions its approval API has (the SDK has no edit).
DECISIONS = {
    "openai-agents": ("approve", "reject"),
    "langchain": ("approve", "edit", "reject"),
}
RUNS = [(fw, decision) for fw, decisions in DECISIONS.items() for decision in decisions]
#: The framework's decision → radium's.
RADIUM_DECISION = {"approve": "accept", "edit": "modify", "reject": "reject"}
AGREEMENT = {"accept": 1.0, "modify": 0.0, "reject": 0.0}
#: Tool spans a framework leaves for a call that waited for approval and did not run then
#: (the SDK's; radium's companion marks it ``radium.tool.approval="pending"``).
NOT_RUN_SPANS = {"openai-agents": 1, "langchain": 0}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Any]]:
    """(framework, decision) → the future of that run's `Outcome` (all started at once, two
    at a time).
    """
    root = tmp_path_factory.mktemp("approvals")
    with LLMServer() as server, ThreadPoolExecutor(max_workers=2) as pool:
        serve_agent_turns(server)
        base_url = server.url("/v1")
        yield {
            (fw, decision): pool.submit(_run, fw, decision, base_url, root / fw / decision)
            for fw, decision in RUNS
        }


def _run(framework: str, decision: str, base_url: str, workspace: Path) -> Outcome:
    python = venv_python(f"fw-{framework}")
    workspace.mkdir(parents=True)
    proc = subprocess.run(
        [python, "-m", "frameworks.approvals_runner", framework, decision, base_url,
         str(workspace)],
        cwd=TESTS, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{framework} {decision} failed:\n{proc.stderr[-4000:]}"
    return outcome(workspace, read_spans(workspace), proc.stderr)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RADIUM_", "PYTHON"))}
    return env | {"RADIUM_SUMMARY": "0", "PYTHONPATH": FRAMEWORK_PATH}


@pytest.mark.parametrize(("name", "decision"), RUNS)
def test_a_decision_is_counted_once_and_only_calls_that_ran_are_tool_calls(
    runs: dict[tuple[str, str], Any], name: str, decision: str
) -> None:
    out: Outcome = runs[name, decision].result()
    (record,) = out.records  # the user's session holds the interrupted and the resumed run
    assert record.metadata["agent"] == SESSION_AGENT
    assert record.status == "completed"
    expected = RADIUM_DECISION[decision]
    assert record.decisions == {expected: 1}
    assert SessionReport(record).user_agreement == AGREEMENT[expected]

    ran = decision != "reject"
    assert record.tool_calls == int(ran)
    if ran:
        stats = record.tools["get_weather"]
        assert (stats.calls, stats.successes, stats.failures) == (1, 1, 0)
        assert record.tool_time_s > 0
    else:
        assert record.tools == {}
        assert record.tool_time_s == 0

    (row,) = record.model_usage  # both requests, the resumed run's too, each counted once
    assert (row.model, row.provider) == (RESPONSE_MODEL, "openai")
    assert (row.requests, row.errors) == (len(USAGE), 0)
    assert row.input_tokens == sum(u.input_tokens for u in USAGE)
    assert row.output_tokens == sum(u.output_tokens for u in USAGE)
    assert row.cache_read_tokens == sum(u.cached_tokens for u in USAGE)
    assert row.reasoning_tokens == sum(u.reasoning_tokens for u in USAGE)
    assert record.cost_usd is not None and record.cost_usd > 0
    assert record.api_time_s + record.tool_time_s == pytest.approx(record.agent_active_time_s)
    assert record.agent_active_time_s <= record.wall_time_s + 1e-6

    decision_spans = [s for s in out.spans if s.name == "tool_decision get_weather"]
    assert [s.scope for s in decision_spans] == ["radium_otel"]
    tool_spans = [s for s in out.spans if s.operation in ("TOOL", "execute_tool")]
    assert len(tool_spans) == record.tool_calls + NOT_RUN_SPANS[name]  # not counted


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_uninstrumenting_puts_back_what_the_companion_patched(name: str) -> None:
    proc = subprocess.run(
        [venv_python(f"fw-{name}"), "-m", "frameworks.approvals_runner", name, "patches"],
        cwd=TESTS, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["patched"] and all(result["patched"]), result
    assert all(result["restored"]), result


@pytest.mark.parametrize("capture", [False, True])
def test_traceloop_puts_the_system_prompt_on_spans_only_with_capture_content(
    tmp_path: Path, capture: bool
) -> None:
    """Traceloop's LangChain package records the system prompt of ``create_agent`` whatever
    its content switch says; radium's companion unwraps its agent factories unless asked
    for content (and with ``capture_content=True`` the prompt is there, as asked)."""
    from .factory_content import SYSTEM_PROMPT

    proc = subprocess.run(
        [venv_python("fw-langchain"), "-m", "frameworks.factory_content", str(tmp_path),
         "1" if capture else "0"],
        cwd=TESTS, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    texts = json.loads(proc.stdout.splitlines()[-1])
    assert any(SYSTEM_PROMPT in t for t in texts) is capture
