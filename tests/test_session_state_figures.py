"""The figures a session state adds up (issue 20: mutants that survived in ``aggregate.py``):
what a top-level span that was no agent run hands to the default session, and the counts per
band of input sizes that each model name keeps for pricing. Real SDK spans through the real
processor; every figure exact.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from test_framework_rules import OP, Layers, ns, usage

import radium_otel
from radium_otel._internal.processor import session_context
from radium_otel._internal.record import ModelName, TokenBand, ToolStats


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(ns(seconds) / 1e9, timezone.utc)


@pytest.fixture
def lay() -> Iterator[Layers]:
    layers = Layers()
    yield layers
    layers.provider.shutdown()


def tool(name: str, *, decision: str | None = None, error: str | None = None) -> dict[str, Any]:
    attrs: dict[str, Any] = {OP: "execute_tool", "gen_ai.tool.name": name}
    if decision is not None:
        attrs["radium.tool.decision"] = decision
    if error is not None:
        attrs["error.type"] = error
        attrs["radium.tool.outcome"] = "failure"
    return attrs


def test_a_span_that_was_no_agent_run_adds_all_it_held_to_the_default_session(
    lay: Layers,
) -> None:
    """A web request span (top-level, no agent run) opens a provisional session; when it ends,
    every tool call, error type, decision and dropped attribute it held is added to the
    default session's, and the default session's bounds grow to take in its span."""
    web = lay.start("web", "GET /ask", 0)
    # The default session, opened by calls with no parent while the request runs.
    lay.span("client", "chat", 3, 4, usage("gpt-4o", 5, 1))
    lay.span("tools", "execute_tool read_file", 4, 5, tool("read_file", error="TimeoutError"))
    lay.span("tools", "execute_tool read_file", 5, 6, tool("read_file", decision="accept"))
    lay.span("tools", "execute_tool ls", 6, 6.5, tool("ls", decision="maybe"))  # dropped
    # What the request held.
    lay.span("tools", "execute_tool read_file", 1, 2, tool("read_file", error="TimeoutError"), web)
    lay.span(
        "tools", "execute_tool read_file", 2.5, 3, tool("read_file", error="TimeoutError"), web
    )
    lay.span("tools", "execute_tool read_file", 2, 2.5, tool("read_file", error="OSError"), web)
    lay.span("tools", "execute_tool read_file", 7, 7.5, tool("read_file", decision="accept"), web)
    lay.span("tools", "execute_tool grep", 8, 9, tool("grep", decision="auto_accept"), web)
    lay.span("tools", "execute_tool rm", 9, 9.5, tool("rm", decision="reject"), web)
    lay.span("tools", "execute_tool ls", 9.5, 9.75, tool("ls", decision="perhaps"), web)
    web.end(end_time=ns(10))
    lay.clock.advance(60)  # (shut down a minute later: the bounds come from the spans)
    lay.provider.shutdown()

    (record,) = lay.records
    assert record.tools == {
        "read_file": ToolStats(
            calls=6,
            successes=2,
            failures=4,
            duration_s=4.5,
            error_types={"TimeoutError": 3, "OSError": 1},
        ),
        "ls": ToolStats(calls=2, successes=2, duration_s=0.75),
        "grep": ToolStats(calls=1, successes=1, duration_s=1.0),
    }
    assert (record.tool_calls, record.tool_successes, record.tool_failures) == (9, 5, 4)
    assert record.decisions == {"accept": 2, "auto_accept": 1, "reject": 1}
    assert record.diagnostics == {"dropped_attributes": 2}
    # From the request's start to its end: 0 s to 10 s, never the default session's 3 to 6.5.
    assert (record.start_time, record.end_time) == (at(0), at(10))
    assert record.wall_time_s == 10.0
    assert (record.api_time_s, record.tool_time_s) == (1.0, 6.25)


def test_a_default_session_keeps_its_own_bounds_when_what_it_takes_in_lies_within(
    lay: Layers,
) -> None:
    chat = lay.start("client", "chat", 0, usage("gpt-4o", 5, 1))  # the default session
    web = lay.start("web", "GET /ask", 2)
    lay.span("tools", "execute_tool ls", 3, 4, tool("ls"), web)
    chat.end(end_time=ns(9))  # (it ends after the request, but is processed first)
    web.end(end_time=ns(5))
    lay.clock.advance(60)
    lay.provider.shutdown()

    (record,) = lay.records
    assert (record.start_time, record.end_time) == (at(0), at(9))
    assert (record.wall_time_s, record.api_time_s, record.tool_time_s) == (9.0, 9.0, 0.0)
    assert record.tools == {"ls": ToolStats(calls=1, successes=1, duration_s=1.0)}
    # Nothing dropped, no input tokens: no diagnostics, a hit rate of 0.
    assert (record.diagnostics, record.cache_stats.hit_rate) == ({}, 0.0)


def test_a_session_the_user_opened_runs_from_its_start_to_its_end(lay: Layers) -> None:
    """Not to its spans' ends: while it is open its wall time runs to now; once ended, a
    span that ended later by its timestamps does not stretch it."""
    sid = lay.processor.open_session("user", start_ns=ns(0))
    token = session_context.set(sid)
    try:
        lay.span("tools", "execute_tool ls", 1, 2, tool("ls"))
        lay.clock.advance(30)
        (active,) = lay.processor.snapshot_active()
        assert (active.status, active.end_time, active.wall_time_s) == ("active", None, 30.0)
        lay.span("tools", "execute_tool ls", 3, 12, tool("ls"))
    finally:
        session_context.reset(token)
    record = lay.processor.end_session(sid, end_ns=ns(10))

    assert record is not None
    assert (record.start_time, record.end_time, record.wall_time_s) == (at(0), at(10), 10.0)
    assert record.cache_stats.hit_rate == 0.0


def detailed(model: str, inp: int, **detail: int) -> dict[str, Any]:
    """A client span with every kind of token: cache reads, writes (1-hour ones), reasoning."""
    return {
        **usage(model, inp, detail["out"], cached=detail["read"], reasoning=detail["thought"]),
        "gen_ai.usage.cache_creation.input_tokens": detail["write"],
        "radium.usage.cache_creation_1h.input_tokens": detail["hour"],
    }


def test_each_name_keeps_every_count_per_band_of_input_sizes_in_order(lay: Layers) -> None:
    """The bands (input sizes between two `INPUT_BAND_EDGES`) each hold the sums of their own
    requests, every kind of token in its own field, listed from the smallest inputs up
    whatever order the requests came in; the row adds up the bands."""
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    big = {"out": 20, "read": 90_000, "write": 3_000, "hour": 1_000, "thought": 7}
    small = {"out": 10, "read": 400, "write": 300, "hour": 100, "thought": 3}
    lay.span("openai", "chat", 1, 2, detailed("gpt-4o", 150_000, **big), root)
    lay.span("openai", "chat", 2, 3, detailed("gpt-4o", 1_000, **small), root)
    lay.span("openai", "chat", 3, 4, detailed("gpt-4o", 2_000, **small), root)
    root.end(end_time=ns(5))

    (record,) = lay.records
    (row,) = record.model_usage
    assert row.names == (
        ModelName(
            "gpt-4o",
            "openai",
            3,
            0,
            (
                TokenBand(0, 32_000, 2, 3_000, 20, 800, 600, 200, 6),
                TokenBand(128_001, 199_999, 1, 150_000, 20, 90_000, 3_000, 1_000, 7),
            ),
        ),
    )
    assert (row.requests, row.input_tokens, row.output_tokens) == (3, 153_000, 40)
    assert (row.cache_read_tokens, row.cache_creation_tokens) == (90_800, 3_600)
    assert (row.cache_creation_1h_tokens, row.reasoning_tokens) == (1_200, 13)


def test_a_lone_request_has_one_band_from_zero(lay: Layers) -> None:
    lay.span("openai", "chat", 1, 2, detailed("gpt-4o", 40_000, **{
        "out": 5, "read": 100, "write": 20, "hour": 10, "thought": 2,
    }))  # fmt: skip
    lay.provider.shutdown()

    (record,) = lay.records
    (row,) = record.model_usage
    assert row.names == (
        ModelName(
            "gpt-4o", "openai", 1, 0, (TokenBand(32_001, 100_000, 1, 40_000, 5, 100, 20, 10, 2),)
        ),
    )


@pytest.mark.parametrize(
    ("inputs", "bands"),
    [
        ((600_000,), [(524_289, None)]),
        ((10,), [(0, 32_000)]),
        ((32_000, 32_001), [(0, 32_000), (32_001, 100_000)]),
    ],
)
def test_the_edges_of_the_bands(lay: Layers, inputs: tuple[int, ...], bands: list[Any]) -> None:
    for i, size in enumerate(inputs):
        lay.span("openai", "chat", i, i + 1, usage("gpt-4o", size, 1))
    lay.provider.shutdown()

    (record,) = lay.records
    ((name,),) = [row.names for row in record.model_usage]
    assert [(b.input_at_least, b.input_at_most) for b in name.bands] == bands


def test_every_record_says_which_process_made_it(lay: Layers) -> None:
    """The pid tells a stale ``active`` file of a dead process (read as ``interrupted``)."""
    lay.span("client", "chat", 0, 1, usage("gpt-4o", 5, 1))
    lay.provider.shutdown()

    (record,) = lay.records
    facts = ("host", "pid", "cwd", "radium_otel_version")
    assert {key: record.metadata.get(key) for key in facts} == {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "radium_otel_version": radium_otel.__version__,
    }


def test_a_tool_open_across_many_requests_keeps_all_its_time(lay: Layers) -> None:
    """130 requests pile up (compaction is tried every 64 intervals) while a tool call that
    started before them is still open: nothing it can still overlap is forgotten, so the
    agent was active the whole 200 s, 65 s of them in requests."""
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    long_tool = lay.start("tools", "execute_tool build", 0.5, tool("build"), root)
    for i in range(130):
        lay.span("openai", "chat", i + 1, i + 1.5, usage("gpt-4o", 10, 1), root)
    long_tool.end(end_time=ns(200.5))
    root.end(end_time=ns(201))

    (record,) = lay.records
    assert (record.requests, record.api_time_s) == (130, 65.0)
    assert (record.agent_active_time_s, record.tool_time_s) == (200.0, 135.0)
