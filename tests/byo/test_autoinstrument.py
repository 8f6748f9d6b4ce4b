"""``rad.instrument()``: the installed instrumentation package of each client, on radium's provider.

The dev venv has the contrib, Traceloop and OpenInference packages for OpenAI (and the
Anthropic and Google GenAI ones); ``.venv/byo-openai-v2`` has only openai-v2 and no
``anthropic`` library. Real packages, real clients, real HTTP to the fake server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import openai
import openai.resources.chat.completions as chat_completions
import pytest
import wrapt
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

import radium_otel as rad
from radium_otel.integrations import core as autoinstrument
from radium_otel.integrations.base import Package, Target
from radium_otel.testing import isolated

from . import openai_scenarios as scenarios
from .llm_server import LLMServer
from .runner import outcome, run
from .test_openai import rows
from .venvs import run_in_venv

CONTRIB_OPENAI = "opentelemetry-instrumentation-genai-openai"
CONTRIB_ANTHROPIC = "opentelemetry-instrumentation-genai-anthropic"
CONTRIB_GOOGLE = "opentelemetry-instrumentation-google-genai"
ANSWERED = ("gpt-4o-2024-08-06", "openai", 1, 0, 1200, 300, 1000, 0, 200)


def is_wrapped() -> bool:
    """Whether an instrumentation's (wrapt) wrapper is on ``Completions.create``."""
    return isinstance(vars(chat_completions.Completions)["create"], wrapt.BaseObjectProxy)


@pytest.fixture(autouse=True)
def nothing_instrumented() -> Iterator[None]:
    assert not autoinstrument._enabled and not is_wrapped()
    yield
    autoinstrument.uninstrument()
    assert not is_wrapped(), "a test left the openai client instrumented"


def ask(base_url: str) -> None:
    with openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o", messages=scenarios.MESSAGES)


def test_the_contrib_package_is_preferred_for_each_client(
    llm_server: LLMServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scenarios.script_wrapped(llm_server)
    caplog.set_level(logging.INFO, logger="radium_otel")
    with isolated(tmp_path) as (instance, spans):
        enabled = instance.instrument("openai", "anthropic", "google-genai")
        assert enabled == {
            "openai": CONTRIB_OPENAI,
            "anthropic": CONTRIB_ANTHROPIC,
            "google-genai": CONTRIB_GOOGLE,
        }
        assert instance.instrument("openai") == {"openai": CONTRIB_OPENAI}  # idempotent
        with instance.session(agent="auto") as scope:
            ask(llm_server.url("/v1"))
    assert not is_wrapped()  # shutdown took the instrumentation off
    assert scope.record is not None
    assert rows(scope.record) == [ANSWERED]
    assert [
        s.instrumentation_scope.name for s in spans.get_finished_spans() if s.instrumentation_scope
    ] == [
        "opentelemetry.instrumentation.genai.openai",
        "radium_otel",
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert f"radium-otel: openai is traced by {CONTRIB_OPENAI}" in messages
    # Its metadata says google-genai < 3; it traces 3.x all the same (tests/byo/test_google_genai).
    assert (
        f"radium-otel: {CONTRIB_GOOGLE} supports google-genai>=1.32.0,<3, and google-genai "
        f"{version('google-genai')} is installed; enabling it anyway"
    ) in messages


def test_without_arguments_every_installed_client_is_instrumented(tmp_path: Path) -> None:
    with isolated(tmp_path) as (instance, _):
        assert instance.instrument() == {
            "openai": CONTRIB_OPENAI,
            "anthropic": CONTRIB_ANTHROPIC,
            "google-genai": CONTRIB_GOOGLE,
        }
        assert is_wrapped()


def test_configure_instrument_and_module_level_instrument(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    scenarios.script_wrapped(llm_server)
    instance = rad.configure(
        workspace=tmp_path,
        print_summary=False,
        checkpoint_interval_s=3600,
        set_global=False,
        instrument=["openai"],
    )
    try:
        assert is_wrapped()
        assert rad.instrument("openai") == {"openai": CONTRIB_OPENAI}
        with rad.session(agent="configured") as scope:
            ask(llm_server.url("/v1"))
    finally:
        rad.shutdown()
    assert not is_wrapped()
    assert scope.record is not None and rows(scope.record) == [ANSWERED]
    assert instance.tracer_provider is not None


def test_a_later_instance_takes_the_instrumentation_over(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    scenarios.script_wrapped(llm_server)
    with isolated(tmp_path / "a") as (first, _):
        first.instrument("openai")
        with isolated(tmp_path / "b") as (second, _):
            second.instrument("openai")
            first.shutdown()  # must not take the second instance's instrumentation off
            assert is_wrapped()
            with second.session(agent="second") as scope:
                ask(llm_server.url("/v1"))
        assert scope.record is not None and rows(scope.record) == [ANSWERED]


def test_instrumentation_the_application_enabled_is_left_to_it(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    scenarios.script_wrapped(llm_server)
    with isolated(tmp_path) as (instance, spans):
        OpenAIInstrumentor().instrument(tracer_provider=instance.tracer_provider)
        try:
            assert instance.instrument("openai") == {"openai": CONTRIB_OPENAI}
            with instance.session(agent="app") as scope:
                ask(llm_server.url("/v1"))
            instance.shutdown()
            assert is_wrapped()  # not radium's to turn off
        finally:
            OpenAIInstrumentor().uninstrument()
    assert scope.record is not None and rows(scope.record) == [ANSWERED]
    assert len(spans.get_finished_spans()) == 2  # instrumented once, not twice


def test_a_missing_package_is_one_warning_naming_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="radium_otel")
    # No OpenAI instrumentation package is missing from the dev venv: list one that is.
    missing = Package("radium-test-missing-instrumentation", "radium_missing", "X")
    client = autoinstrument.SUPPORTED["openai"]
    monkeypatch.setitem(
        autoinstrument.SUPPORTED,
        "openai",
        Target(client.library, client.dist, (missing,)),
    )
    with isolated(tmp_path) as (instance, _):
        assert instance.instrument("openai") == {"openai": None}
        assert instance.instrument() == {
            "openai": None,
            "anthropic": CONTRIB_ANTHROPIC,
            "google-genai": CONTRIB_GOOGLE,
        }
    line = "radium-otel: openai is not instrumented: pip install " + missing.dist
    logged = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [entry for entry in logged if entry[1] == line] == [
        ("WARNING", line),  # asked for
        ("INFO", line),  # looked for
    ]


def test_an_unknown_client_is_refused(tmp_path: Path) -> None:
    with isolated(tmp_path) as (instance, _):
        with pytest.raises(
            ValueError,
            match=r"^cannot instrument 'opneai': supported are openai, anthropic, google-genai, ",
        ):
            instance.instrument("openai", "opneai")
    assert not is_wrapped()


def test_in_the_dev_venv_scenario(llm_server: LLMServer, tmp_path: Path) -> None:
    scenarios.script_wrapped(llm_server)
    spans = run("-", "byo.openai_scenarios:instrumented_by_radium", llm_server.url("/v1"), tmp_path)
    (record,) = outcome(tmp_path, spans).records
    assert record.metadata["tags"] == {"openai": CONTRIB_OPENAI, "anthropic": CONTRIB_ANTHROPIC}
    assert rows(record) == [ANSWERED]


def test_openai_v2_is_the_choice_where_it_is_the_one_installed(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    scenarios.script_wrapped(llm_server)
    result = run_in_venv(
        "byo-openai-v2",
        "-",
        "byo.openai_scenarios:instrumented_by_radium",
        llm_server.url("/v1"),
        tmp_path,
    )
    (record,) = result.records
    assert record.metadata["tags"] == {
        "openai": "opentelemetry-instrumentation-openai-v2",
        "anthropic": "-",
    }
    assert rows(record) == [("gpt-4o-2024-08-06", "openai", 1, 0, 1200, 300, 0, 0, 0)]
    assert (
        "radium-otel: not instrumenting anthropic: the anthropic package is not installed"
        in result.stderr.splitlines()
    )
