"""Bring your own instrumentation: the OpenAI instrumentation packages make correct sessions.

Each package instruments the real ``openai`` client (sync and async), which talks HTTP to
the scripted `LLMServer` on 127.0.0.1; radium only sees the package's spans. The session
record must hold exactly the requests, errors and tokens (SPEC semantics: input includes
cache reads, output includes reasoning) that the package reports, per model.

What each package reports differs, and the expectations say so:

- ``opentelemetry-instrumentation-genai-openai`` (contrib, util-genai): everything, in the
  SPEC spellings, Chat Completions and Responses.
- ``opentelemetry-instrumentation-openai`` (Traceloop): ``gen_ai.usage.reasoning_tokens``
  (mapped), but none for streams; runs in a fresh process (its uninstrument is a no-op).
- ``openinference-instrumentation-openai``: ``llm.token_count.*``, ``llm.model_name``,
  ``llm.system``; a failed request names its model only in ``llm.invocation_parameters``.
- ``opentelemetry-instrumentation-openai-v2`` (in ``.venv/byo-openai-v2``, see `byo.venvs`):
  input and output tokens only (no cache or reasoning counts), no Responses API spans.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from radium_otel import ModelUsage, SessionRecord

from . import openai_scenarios as scenarios
from .llm_server import LLMServer
from .runner import Outcome, SpanInfo, outcome, run
from .venvs import run_in_venv, venv_python


@dataclass(frozen=True)
class Package:
    """One instrumentation package and what it reports."""

    dist: str
    instrumentor: str
    venv: str | None = None  # None: the dev venv
    fresh_process: bool = False  # run in a process of its own even in the dev venv
    cache_read: bool = True  # cached prompt tokens
    reasoning: bool = True  # reasoning tokens of a completed response
    stream_reasoning: bool = True  # reasoning tokens of a stream
    responses_api: bool = True  # traces client.responses.create

    def run(self, scenario: str, server: LLMServer, workspace: Path) -> Outcome:
        name = f"byo.openai_scenarios:{scenario}"
        if self.venv is not None or self.fresh_process:
            return run_in_venv(self.venv, self.instrumentor, name, server.url("/v1"), workspace)
        return outcome(workspace, run(self.instrumentor, name, server.url("/v1"), workspace))


CONTRIB = Package(
    "opentelemetry-instrumentation-genai-openai",
    "opentelemetry.instrumentation.genai.openai:OpenAIInstrumentor",
)
OPENAI_V2 = Package(
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry.instrumentation.openai_v2:OpenAIInstrumentor",
    venv="byo-openai-v2",
    cache_read=False,
    reasoning=False,
    stream_reasoning=False,
    responses_api=False,
)
TRACELOOP = Package(
    "opentelemetry-instrumentation-openai",
    "opentelemetry.instrumentation.openai:OpenAIInstrumentor",
    stream_reasoning=False,
    # Its uninstrument() unwraps nothing (it passes "module", "Class.method" to the
    # opentelemetry-instrumentation 0.66 unwrap, which wants "module.Class", "method"), so
    # its wrappers would stay for every later test of this process.
    fresh_process=True,
)
OPENINFERENCE = Package(
    "openinference-instrumentation-openai",
    "openinference.instrumentation.openai:OpenAIInstrumentor",
)
PACKAGES = [
    pytest.param(CONTRIB, id="genai-openai"),
    pytest.param(OPENAI_V2, id="openai-v2"),
    pytest.param(TRACELOOP, id="traceloop"),
    pytest.param(OPENINFERENCE, id="openinference"),
]

Row = tuple[str, str | None, int, int, int, int, int, int, int]


def rows(record: SessionRecord) -> list[Row]:
    """model, provider, requests, errors, input, output, cache read, cache write, reasoning."""
    return [_row(m) for m in record.model_usage]


def _row(m: ModelUsage) -> Row:
    return (
        m.model,
        m.provider,
        m.requests,
        m.errors,
        m.input_tokens,
        m.output_tokens,
        m.cache_read_tokens,
        m.cache_creation_tokens,
        m.reasoning_tokens,
    )


def only_session(result: Outcome, agent: str) -> SessionRecord:
    (record,) = result.records
    assert (record.status, record.metadata["agent"]) == ("completed", agent)
    return record


def union_ns(intervals: list[tuple[int, int]]) -> int:
    total, end = 0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


# --- every kind of request --------------------------------------------------------------


@pytest.mark.parametrize("package", PACKAGES)
def test_requests_errors_and_tokens_per_model(
    package: Package, llm_server: LLMServer, tmp_path: Path
) -> None:
    scenarios.script_requests(llm_server)
    record = only_session(package.run("requests", llm_server, tmp_path), "byo-openai")

    def answered(model: str, tokens: tuple[int, int, int, int], streamed: bool = False) -> Row:
        """A row of one answered request, as much of its usage as the package reports."""
        input_tokens, output_tokens, cache, reasoning = tokens
        if not package.cache_read:
            cache = 0
        if not (package.stream_reasoning if streamed else package.reasoning):
            reasoning = 0
        return (model, "openai", 1, 0, input_tokens, output_tokens, cache, 0, reasoning)

    gpt_4o = answered("gpt-4o-2024-08-06", (1200, 300, 1000, 200))
    expected = [
        answered("gpt-4.1-nano-2025-04-14", (20, 5, 0, 0)),  # AsyncOpenAI
        # The 429 and the 500 name only the model asked for (gpt-4o): they join the row of
        # the one snapshot of it that answered (issue 17.3).
        (*gpt_4o[:2], 3, 2, *gpt_4o[4:]),
        answered("gpt-4o-mini-2024-07-18", (50, 7, 10, 3), streamed=True),
    ]
    if package.responses_api:
        expected.append(answered("o4-mini-2025-04-16", (900, 400, 600, 250)))
    assert rows(record) == expected
    assert record.tool_calls == 0
    assert [r.path for r in llm_server.requests] == ["/v1/chat/completions"] * 5 + ["/v1/responses"]
    assert llm_server.requests[1].json()["stream_options"] == {"include_usage": True}
    assert llm_server.unmatched == []


def test_contrib_package_record_in_full(llm_server: LLMServer, tmp_path: Path) -> None:
    """The reference: the official package, every number written out."""
    scenarios.script_requests(llm_server)
    record = only_session(CONTRIB.run("requests", llm_server, tmp_path), "byo-openai")
    assert rows(record) == [
        ("gpt-4.1-nano-2025-04-14", "openai", 1, 0, 20, 5, 0, 0, 0),
        # The 429 and the 500 asked for gpt-4o: one row with the snapshot that answered.
        ("gpt-4o-2024-08-06", "openai", 3, 2, 1200, 300, 1000, 0, 200),
        ("gpt-4o-mini-2024-07-18", "openai", 1, 0, 50, 7, 10, 0, 3),
        ("o4-mini-2025-04-16", "openai", 1, 0, 900, 400, 600, 0, 250),
    ]
    assert (record.input_tokens, record.output_tokens, record.requests) == (2170, 712, 6)
    assert record.cache_stats.cache_read_tokens == 1610
    assert record.cache_stats.hit_rate == pytest.approx(1610 / 2170)
    # Priced with genai-prices: every model the server answered with is known to it.
    assert all(m.cost_usd is not None for m in record.model_usage if m.input_tokens)


# --- tools and model calls in one session ------------------------------------------------


@pytest.mark.parametrize("package", PACKAGES)
def test_mixed_session_splits_api_and_tool_time(
    package: Package, llm_server: LLMServer, tmp_path: Path
) -> None:
    scenarios.script_mixed(llm_server)
    result = package.run("mixed", llm_server, tmp_path)
    record = only_session(result, "byo-mixed")

    assert rows(record) == [("gpt-4o-mini-2024-07-18", "openai", 2, 0, 200, 40, 0, 0, 0)]
    assert (record.tool_calls, record.tool_successes, record.tool_failures) == (2, 2, 0)
    assert {name: stats.calls for name, stats in record.tools.items()} == {
        "read_file": 1,
        "summarize": 1,
    }
    # Measured from the spans: API = union of the package's request spans; tool time = the
    # tools' union minus the stretch summarize spent waiting for the model.
    models = _intervals(result.spans, lambda s: s.scope != "radium_otel")
    tools = _intervals(result.spans, lambda s: s.operation == "execute_tool")
    assert len(models) == 2 and len(tools) == 2
    api_ns = union_ns(models)
    active_ns = union_ns(models + tools)
    assert record.api_time_s == api_ns / 1e9
    assert record.tool_time_s == (active_ns - api_ns) / 1e9
    assert record.agent_active_time_s == active_ns / 1e9
    assert record.api_time_s >= 2 * scenarios.MODEL_S
    assert record.tool_time_s >= 2 * scenarios.TOOL_S
    assert record.agent_active_time_s <= record.wall_time_s


def _intervals(spans: list[SpanInfo], keep: Callable[[SpanInfo], bool]) -> list[tuple[int, int]]:
    return [(s.start_ns, s.end_ns) for s in spans if keep(s)]


# --- openai 2.x and radium's background price loading -----------------------------------


def test_session_start_leaves_no_half_imported_httpx2_for_openai_2(tmp_path: Path) -> None:
    """openai < 3 looks ``httpx2`` up in ``sys.modules`` on every request; radium's price
    warm-up thread imports genai-prices (and so httpx2). Were httpx2 imported in that
    thread, a request made meanwhile would fail on the half-initialised module (it did:
    ``partially initialized module 'httpx2' has no attribute 'Response'``)."""
    code = (
        "import sys, openai\n"
        "from radium_otel._internal.pricing import CostHook\n"
        f"CostHook({str(tmp_path)!r}).session_started('s')\n"
        "print(hasattr(sys.modules.get('httpx2'), 'Response'))\n"
    )
    python = venv_python(OPENAI_V2.venv or "")
    proc = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.split() == ["True"]


# --- no double counting -----------------------------------------------------------------


@pytest.mark.parametrize("package", PACKAGES)
def test_instrumented_client_inside_model_call_counts_once(
    package: Package, llm_server: LLMServer, tmp_path: Path
) -> None:
    scenarios.script_wrapped(llm_server)
    result = package.run("wrapped", llm_server, tmp_path)
    record = only_session(result, "byo-wrapped")
    # Two spans carry usage for the request (the decorator's and the package's, inside it);
    # the innermost one counts, with what the package reports.
    cache = 1000 if package.cache_read else 0
    reasoning = 200 if package.reasoning else 0
    assert rows(record) == [("gpt-4o-2024-08-06", "openai", 1, 0, 1200, 300, cache, 0, reasoning)]
    assert [s.scope == "radium_otel" for s in result.spans if s.operation != "invoke_agent"] == [
        False,
        True,
    ]
