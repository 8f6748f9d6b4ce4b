"""Packages that ``rad.instrument`` enables record no content unless ``capture_content=True``.

SPEC: prompts, completions, tool arguments and results are never stored or exported unless
``capture_content=True``. Traceloop's and OpenInference's packages record prompts and
completions by default, the contrib packages do not; radium sets each package's own switch
to follow ``capture_content``. Each
test enables one real package through the public ``instrument`` (the preference list
narrowed to that package), sends a real client request whose system instruction, prompt and
reply carry planted secrets, and reads every exported span: names, attributes, events,
status (`content_run`). Traceloop's packages cannot take their patches off again, so they run
in a fresh process.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from radium_otel.integrations import core as autoinstrument
from radium_otel.integrations.core import GENAI_CAPTURE_CONTENT, TRACELOOP_TRACE_CONTENT
from radium_otel.testing import isolated

from . import content_run
from . import openai_scenarios as scenarios
from .content_run import PREDICTION, PROMPT, REPLY, SYSTEM, Seen, leaks
from .llm_server import LLMServer, json_response
from .test_openai import rows
from .venvs import TESTS, TIMEOUT_S


@pytest.fixture(autouse=True)
def nothing_instrumented(monkeypatch: pytest.MonkeyPatch) -> None:
    for client, entry in autoinstrument.SUPPORTED.items():  # (restored after the test)
        monkeypatch.setitem(autoinstrument.SUPPORTED, client, entry)
    monkeypatch.delenv(TRACELOOP_TRACE_CONTENT, raising=False)
    monkeypatch.delenv(GENAI_CAPTURE_CONTENT, raising=False)


@dataclass(frozen=True)
class Case:
    client: str
    dist: str

    def __str__(self) -> str:
        return self.dist


CASES = [
    Case("openai", "opentelemetry-instrumentation-genai-openai"),
    Case("openai", "opentelemetry-instrumentation-openai"),
    Case("openai", "openinference-instrumentation-openai"),
    Case("anthropic", "opentelemetry-instrumentation-genai-anthropic"),
    Case("anthropic", "opentelemetry-instrumentation-anthropic"),
    Case("google-genai", "opentelemetry-instrumentation-google-genai"),
]
CONTRIB_OPENAI, TRACELOOP_OPENAI = CASES[0], CASES[1]
UNSET = {TRACELOOP_TRACE_CONTENT: None, GENAI_CAPTURE_CONTENT: None}


def run(
    case: Case,
    server: LLMServer,
    workspace: Path,
    *,
    capture: bool,
    env: dict[str, str] | None = None,
) -> Seen:
    """`content_run.run` for ``case``: here, or in a fresh process for Traceloop's packages."""
    content_run.script(case.client, server)
    if case.dist not in content_run.TRACELOOP:
        try:
            return content_run.run(case.client, case.dist, capture, server.base_url, workspace)
        finally:
            autoinstrument.uninstrument()
    mode = "capture" if capture else "default"
    args = [case.client, case.dist, mode, server.base_url, str(workspace)]
    proc = subprocess.run(
        [sys.executable, "-m", "byo.content_run", *args],
        cwd=TESTS,
        env={**os.environ, "PYTHONPATH": str(TESTS), "RADIUM_SUMMARY": "0", **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return Seen(**json.loads(proc.stdout.splitlines()[-1]))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_no_content_on_the_spans_by_default(
    case: Case, tmp_path: Path, llm_server: LLMServer
) -> None:
    seen = run(case, llm_server, tmp_path, capture=False)
    assert seen.found == []
    assert seen.requests == 1  # the request is still counted, with its usage
    assert seen.said == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_capture_content_has_every_package_record_content(
    case: Case, tmp_path: Path, llm_server: LLMServer
) -> None:
    """The check above can fail: with capture_content=True the secrets are on the spans."""
    seen = run(case, llm_server, tmp_path, capture=True)
    assert {SYSTEM, PROMPT, REPLY} <= set(seen.found)
    assert seen.requests == 1


@pytest.mark.parametrize(
    ("case", "capture", "during"),
    [
        (TRACELOOP_OPENAI, False, {TRACELOOP_TRACE_CONTENT: "false"}),
        (TRACELOOP_OPENAI, True, {TRACELOOP_TRACE_CONTENT: "true"}),
        (CONTRIB_OPENAI, False, {}),
        (CONTRIB_OPENAI, True, {GENAI_CAPTURE_CONTENT: "SPAN_ONLY"}),
    ],
)
def test_switches_are_set_while_instrumented_then_removed(
    case: Case, capture: bool, during: dict[str, str], tmp_path: Path, llm_server: LLMServer
) -> None:
    seen = run(case, llm_server, tmp_path, capture=capture)
    assert (seen.switches, seen.switches_after) == ({**UNSET, **during}, UNSET)


def test_a_switch_the_user_set_wins_with_a_warning(tmp_path: Path, llm_server: LLMServer) -> None:
    seen = run(
        TRACELOOP_OPENAI, llm_server, tmp_path, capture=False, env={TRACELOOP_TRACE_CONTENT: "true"}
    )
    assert {SYSTEM, PROMPT, REPLY} <= set(seen.found)
    assert seen.said == [
        "radium-otel: opentelemetry-instrumentation-openai puts prompts and completions on its "
        "spans (TRACELOOP_TRACE_CONTENT=true is set), and they are exported; "
        "capture_content=False does not override a package's own switch"
    ]
    assert seen.switches_after[TRACELOOP_TRACE_CONTENT] == "true"  # left as the user set it


def test_openinference_keeps_the_model_of_a_failed_request_but_no_text(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    """Without content, OpenInference's request parameters keep only scalar settings: a
    failed request is still counted against its model.
    """
    content_run.narrow("openai", "openinference-instrumentation-openai")
    error = scenarios.error_body("Rate limit reached", "requests", "rate_limit_exceeded")
    llm_server.add("POST", scenarios.CHAT_PATH, json_response(429, error), times=1)
    with isolated(tmp_path) as (instance, spans):
        instance.instrument("openai")
        with instance.session(agent="content") as scope:
            with (
                openai.OpenAI(
                    base_url=llm_server.url("/v1"), api_key="test-key", max_retries=0
                ) as client,
                pytest.raises(openai.RateLimitError),
            ):
                client.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": PROMPT}],
                    prediction={"type": "content", "content": PREDICTION},
                    stop=[SYSTEM],
                    temperature=0.2,
                )
        finished = spans.get_finished_spans()
    autoinstrument.uninstrument()
    assert leaks(finished) == []
    parameters = [
        s.attributes["llm.invocation_parameters"]
        for s in finished
        if s.attributes and "llm.invocation_parameters" in s.attributes
    ]
    assert parameters == ['{"model": "gpt-4o", "temperature": 0.2}']
    assert scope.record is not None
    assert rows(scope.record) == [("gpt-4o", "openai", 1, 1, 0, 0, 0, 0, 0)]


@pytest.mark.parametrize(
    ("dist", "switch", "value", "named"),
    [
        (
            "openinference-instrumentation-openai",
            "OPENINFERENCE_HIDE_INPUTS",
            "false",
            "radium-otel: OpenInference puts inputs on its spans (OPENINFERENCE_HIDE_INPUTS is "
            "set), and they are exported; capture_content=False does not override it",
        ),
        (
            "opentelemetry-instrumentation-genai-openai",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "SPAN_ONLY",
            "radium-otel: opentelemetry-instrumentation-genai-openai puts prompts and completions "
            "on its spans (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY is set), "
            "and they are exported; capture_content=False does not override a package's own "
            "switch",
        ),
    ],
)
def test_other_packages_own_switches_are_warned_about(
    dist: str,
    switch: str,
    value: str,
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(switch, value)
    content_run.narrow("openai", dist)
    with isolated(tmp_path) as (instance, _):
        assert instance.instrument("openai") == {"openai": dist}
    said = [r.getMessage() for r in caplog.records if r.name.startswith("radium_otel")]
    assert named in said


def test_a_switch_set_to_no_content_says_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "NO_CONTENT")
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUTS", "true")
    original = autoinstrument.SUPPORTED["openai"]
    for dist in (
        "opentelemetry-instrumentation-genai-openai",
        "openinference-instrumentation-openai",
    ):
        monkeypatch.setitem(autoinstrument.SUPPORTED, "openai", original)
        content_run.narrow("openai", dist)
        with isolated(tmp_path) as (instance, _):
            assert instance.instrument("openai") == {"openai": dist}
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "content" in r.getMessage()
    ]
