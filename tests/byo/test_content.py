"""Packages that ``rad.instrument`` enables record no content unless ``capture_content=True``.

SPEC: prompts, completions, tool arguments and results are never stored or exported unless
``capture_content=True``. Traceloop's and OpenInference's packages record prompts and
completions by default; radium turns that off through each package's own switch. Each
test enables one real package through the public ``instrument`` (the preference list
narrowed to that package), sends a real client request whose system instruction, prompt and
reply carry planted secrets, and reads every exported span: names, attributes, events,
status.
"""

from __future__ import annotations

import importlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import anthropic
import openai
import pytest
from google import genai
from google.genai import types
from opentelemetry.sdk.trace import ReadableSpan

from radium_otel._internal import autoinstrument
from radium_otel._internal.autoinstrument import TRACELOOP_TRACE_CONTENT, Package
from radium_otel.testing import isolated

from . import anthropic_api, gemini_api
from . import openai_scenarios as scenarios
from .llm_server import LLMServer, json_response
from .test_openai import rows

with warnings.catch_warnings():
    # Traceloop's OpenAI package imports pydantic models with a deprecated class-based config
    # when it instruments; the suite turns warnings into errors, so import it now.
    warnings.simplefilter("ignore", DeprecationWarning)
    importlib.import_module("opentelemetry.instrumentation.openai.v1")

SYSTEM = "system-secret-41c2"
PROMPT = "prompt-secret-7d9e"
REPLY = "reply-secret-c0a5"
PREDICTION = "prediction-secret-88f1"
SECRETS = (SYSTEM, PROMPT, REPLY, PREDICTION)


def packages(client: str) -> list[Package]:
    return list(autoinstrument.SUPPORTED[client].packages)


def by_dist(client: str, dist: str) -> Package:
    return next(p for p in packages(client) if p.dist == dist)


@pytest.fixture(autouse=True)
def nothing_instrumented() -> Iterator[None]:
    yield
    autoinstrument.uninstrument()


def only(monkeypatch: pytest.MonkeyPatch, client: str, package: Package) -> None:
    """Narrow ``client``'s preference list to ``package`` (which is installed here)."""
    entry = autoinstrument.SUPPORTED[client]
    narrowed = autoinstrument._Client(entry.library, entry.dist, (package,))
    monkeypatch.setitem(autoinstrument.SUPPORTED, client, narrowed)


def leaks(spans: Sequence[ReadableSpan]) -> list[str]:
    """The planted secrets found anywhere in the spans."""
    text = repr(
        [
            (
                s.name,
                dict(s.attributes or {}),
                [(e.name, dict(e.attributes or {})) for e in s.events],
                s.status.description,
            )
            for s in spans
        ]
    )
    return [secret for secret in SECRETS if secret in text]


def ask_openai(server: LLMServer) -> None:
    body = scenarios.chat_completion("gpt-4o-2024-08-06", scenarios.chat_usage(40, 5, 0, 0))
    body["choices"][0]["message"]["content"] = REPLY
    server.add("POST", scenarios.CHAT_PATH, json_response(200, body), times=1)
    with openai.OpenAI(base_url=server.url("/v1"), api_key="test-key", max_retries=0) as client:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": PROMPT},
            ],
            prediction={"type": "content", "content": PREDICTION},
            temperature=0.2,
        )


def ask_anthropic(server: LLMServer) -> None:
    usage = anthropic_api.usage(40, 5)
    reply = anthropic_api.message("claude-sonnet-4-6", usage, text=REPLY)
    server.add("POST", anthropic_api.MESSAGES_PATH, reply, times=1)
    with anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0) as client:
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            system=SYSTEM,
            messages=[{"role": "user", "content": PROMPT}],
        )


def ask_gemini(server: LLMServer) -> None:
    reply = gemini_api.response("gemini-2.5-flash", gemini_api.usage(40, 5), text=REPLY)
    server.add("POST", gemini_api.GENERATE_PATH, reply, times=1)
    options = types.HttpOptions(base_url=server.url())
    with genai.Client(api_key="test-key", http_options=options) as client:
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents=PROMPT,
            config=types.GenerateContentConfig(system_instruction=SYSTEM),
        )


@dataclass(frozen=True)
class Case:
    client: str
    dist: str
    ask: Callable[[LLMServer], None]
    on_by_default: bool  # the package records content unless told not to

    def __str__(self) -> str:
        return self.dist


CASES = [
    Case("openai", "opentelemetry-instrumentation-genai-openai", ask_openai, False),
    Case("openai", "opentelemetry-instrumentation-openai", ask_openai, True),
    Case("openai", "openinference-instrumentation-openai", ask_openai, True),
    Case("anthropic", "opentelemetry-instrumentation-genai-anthropic", ask_anthropic, False),
    Case("anthropic", "opentelemetry-instrumentation-anthropic", ask_anthropic, True),
    Case("google-genai", "opentelemetry-instrumentation-google-genai", ask_gemini, False),
]


def run(
    case: Case, tmp_path: Path, server: LLMServer, monkeypatch: pytest.MonkeyPatch, capture: bool
) -> tuple[list[str], int]:
    """Secrets found in the spans, and the requests the session counted."""
    only(monkeypatch, case.client, by_dist(case.client, case.dist))
    with isolated(tmp_path, capture_content=capture) as (instance, spans):
        assert instance.instrument(case.client) == {case.client: case.dist}
        with instance.session(agent="content") as scope:
            case.ask(server)
        assert scope.record is not None
        return leaks(spans.get_finished_spans()), scope.record.requests


@pytest.mark.parametrize("case", CASES, ids=str)
def test_no_content_on_the_spans_by_default(
    case: Case, tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TRACELOOP_TRACE_CONTENT, raising=False)
    found, requests = run(case, tmp_path, llm_server, monkeypatch, capture=False)
    assert found == []
    assert requests == 1  # the request is still counted, with its usage


@pytest.mark.parametrize("case", [c for c in CASES if c.on_by_default], ids=str)
def test_capture_content_leaves_the_package_recording_content(
    case: Case, tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: with capture_content=True the secrets are on the spans."""
    monkeypatch.delenv(TRACELOOP_TRACE_CONTENT, raising=False)
    found, _ = run(case, tmp_path, llm_server, monkeypatch, capture=True)
    assert {SYSTEM, PROMPT, REPLY} <= set(found)


def test_the_traceloop_switch_is_set_while_instrumented_then_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TRACELOOP_TRACE_CONTENT, raising=False)
    only(monkeypatch, "openai", by_dist("openai", "opentelemetry-instrumentation-openai"))
    with isolated(tmp_path) as (instance, _):
        instance.instrument("openai")
        assert os.environ[TRACELOOP_TRACE_CONTENT] == "false"
    assert TRACELOOP_TRACE_CONTENT not in os.environ


def test_a_switch_the_user_set_wins_with_a_warning(
    tmp_path: Path,
    llm_server: LLMServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(TRACELOOP_TRACE_CONTENT, "true")
    case = CASES[1]
    found, _ = run(case, tmp_path, llm_server, monkeypatch, capture=False)
    assert {SYSTEM, PROMPT, REPLY} <= set(found)
    said = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name.startswith("radium_otel")
    ]
    assert said == [
        "radium-otel: opentelemetry-instrumentation-openai puts prompts and completions on its "
        "spans (TRACELOOP_TRACE_CONTENT=true is set), and they are exported; "
        "capture_content=False does not override a package's own switch"
    ]
    assert os.environ[TRACELOOP_TRACE_CONTENT] == "true"  # left as the user set it


def test_openinference_keeps_the_model_of_a_failed_request_but_no_text(
    tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without content, OpenInference's request parameters keep only scalar settings: a
    failed request is still counted against its model.
    """
    only(monkeypatch, "openai", by_dist("openai", "openinference-instrumentation-openai"))
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
    assert leaks(finished) == []
    parameters = [
        s.attributes["llm.invocation_parameters"]
        for s in finished
        if s.attributes and "llm.invocation_parameters" in s.attributes
    ]
    assert parameters == ['{"model": "gpt-4o", "temperature": 0.2}']
    assert scope.record is not None
    assert rows(scope.record) == [("gpt-4o", "openai", 1, 1, 0, 0, 0, 0, 0)]
