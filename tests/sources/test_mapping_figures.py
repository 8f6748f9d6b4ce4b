"""Each coding CLI's mapping, event by event (issue 20: mutants that survived in
``sources/claude_code.py``, ``codex.py`` and ``gemini_cli.py``): real OTLP protobuf log records
(opentelemetry-proto), shaped as the CLIs send them (tests/sources/captures), through the
source's own ``logs`` / ``metrics`` / ``spans``; the items each record makes, exactly.
Each test builds its source afresh (its handlers are set when it is made).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Metric,
    NumberDataPoint,
    Sum,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from radium_otel._internal.aggregate import ModelCall
from radium_otel.sources.claude_code import ClaudeCode
from radium_otel.sources.codex import Codex
from radium_otel.sources.events import (
    Decision,
    Describe,
    End,
    Event,
    Item,
    Lines,
    Opened,
    Request,
    Seen,
    ToolRun,
)
from radium_otel.sources.gemini_cli import GeminiCli
from radium_otel.sources.mapping import EventSource

T = 1_764_700_000_000_000_000  # a record's time (ns)
MS = 1_000_000
SID = "fa8e3479-8b77-4d3a-bccb-419c430e6f7f"


def value(v: object) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(values=attributes(v)))
    return AnyValue(string_value=str(v))


def attributes(attrs: Mapping[str, object]) -> list[KeyValue]:
    return [KeyValue(key=key, value=value(v)) for key, v in attrs.items()]


def log(event: str, attrs: Mapping[str, object], time_ns: int = T) -> LogRecord:
    return LogRecord(time_unix_nano=time_ns, attributes=attributes({"event.name": event, **attrs}))


def events_of(
    source: EventSource, *records: LogRecord, resource: Mapping[str, Any] | None = None
) -> list[Event]:
    out: list[Item] = []
    assert source.logs(resource or {}, list(records), out) == 0
    return [item.event for item in out]


# --- Claude Code ------------------------------------------------------------------------------
def claude(event: str, **attrs: object) -> LogRecord:
    return log(f"claude_code.{event}", {"session.id": SID, **attrs})


def test_claude_code_requests_normalise_input_and_keep_the_reported_cost() -> None:
    request = claude(
        "api_request", model="claude-sonnet-4-5", input_tokens="1000", output_tokens="50",
        cache_read_tokens="2000", cache_creation_tokens="300", cache_creation_1h_tokens="100",
        cost_usd=0.005475, duration_ms="117", request_id="req_1",
    )  # fmt: skip
    failed = claude("api_error", model="claude-opus-4-1", duration_ms=2500.5, request_id="req_2")
    out: list[Item] = []
    assert ClaudeCode().logs({}, [request, failed], out) == 0
    assert out == [
        Item(SID, "claude-code", "request:req_1:api_request", Request(
            ModelCall("claude-sonnet-4-5", "anthropic", T - 117 * MS, T, False,
                      3300, 50, 2000, 300, 0, 100),
            "claude-code/events", 0.005475,
        )),
        Item(SID, "claude-code", "request:req_2:api_error", Request(
            ModelCall("claude-opus-4-1", "anthropic", T - 2_500_500_000, T, True),
            "claude-code/events",
        )),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("decision", "source", "verdict"),
    [
        ("accept", "user_temporary", "accept"),
        ("accept", "User_permanent", "accept"),
        ("Accept", "config", "auto_accept"),
        ("accept", None, "auto_accept"),
        ("reject", "user_reject", "reject"),
        ("denied", "config", "reject"),
        ("deny", "hook", "reject"),
        ("Maybe", "user", "maybe"),
        (None, "user", "unknown"),
    ],
)
def test_claude_code_decisions(decision: str | None, source: str | None, verdict: str) -> None:
    attrs = {"tool_use_id": "toolu_1"}
    if decision is not None:
        attrs["decision"] = decision
    if source is not None:
        attrs["source"] = source
    out: list[Item] = []
    ClaudeCode().logs({}, [claude("tool_decision", **attrs)], out)
    assert out == [Item(SID, "claude-code", "tool_decision:toolu_1", Decision(verdict, source, T))]


@pytest.mark.parametrize(
    ("attrs", "run"),
    [
        ({"tool_name": "Bash", "success": "true", "duration_ms": "47"},
         ToolRun("Bash", T - 47 * MS, T, None)),
        ({"tool_name": "Bash", "success": "false", "error_type": "ShellError"},
         ToolRun("Bash", T, T, "ShellError")),
        ({"tool_name": "Write", "success": False, "duration_ms": "-5"},
         ToolRun("Write", T, T, "error")),
        ({"duration_ms": "3"}, ToolRun("unknown", T - 3 * MS, T, None)),
    ],
)  # fmt: skip
def test_claude_code_tool_results(attrs: dict[str, object], run: ToolRun) -> None:
    out: list[Item] = []
    ClaudeCode().logs({}, [claude("tool_result", tool_use_id="toolu_2", **attrs)], out)
    assert out == [Item(SID, "claude-code", "tool_result:toolu_2", run)]


def test_claude_code_prompts_bound_the_session_and_records_without_ids_are_digests() -> None:
    prompt = claude("user_prompt", prompt_length="115")
    assert events_of(ClaudeCode(), prompt) == [Seen(T, T)]
    out: list[Item] = []
    records = [
        claude("api_request", input_tokens="1"),
        claude("api_request", input_tokens="2"),
        claude("tool_result", tool_name="Bash"),
        claude("tool_result", tool_name="Read"),
    ]
    ClaudeCode().logs({}, records, out)
    keys = [item.key or "" for item in out]
    assert [len(key) > 20 and ":" not in key for key in keys] == [True] * 4
    assert len(set(keys)) == 4
    # (no model named: "unknown")
    assert out[0].event == Request(
        ModelCall("unknown", "anthropic", T, T, False, 1), "claude-code/events"
    )


def test_claude_code_is_recognised_by_service_scope_or_event_name() -> None:
    assert ClaudeCode().recognises({"service.name": "claude-code"}, "", None)
    assert ClaudeCode().recognises({}, "com.anthropic.claude_code.events", None)
    assert ClaudeCode().recognises({}, "x", "claude_code.api_request")
    assert not ClaudeCode().recognises({"service.name": "codex"}, "x", "codex.api_request")


def lines_metric(*points: NumberDataPoint, delta: bool = True) -> Metric:
    temporality = (
        AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
        if delta
        else AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    )
    return Metric(
        name="claude_code.lines_of_code.count",
        sum=Sum(data_points=list(points), aggregation_temporality=temporality),
    )


def point(kind: object, count: int | float | None, session: str | None = SID) -> NumberDataPoint:
    attrs: dict[str, object] = {"type": kind}
    if session is not None:
        attrs["session.id"] = session
    p = NumberDataPoint(time_unix_nano=T, attributes=attributes(attrs))
    if isinstance(count, int):
        p.as_int = count
    elif isinstance(count, float):
        p.as_double = count
    return p


def test_claude_code_line_counts_come_from_its_delta_metric() -> None:
    metric = lines_metric(
        point("added", 3),
        point("removed", 2.0),
        point("added", 0),
        point("added", 5, session=None),  # the session from the resource
        point("added", -1),  # rejected: negative
        point("removed", None),  # rejected: no value
        point("moved", 1),  # rejected: no such kind
    )
    other = Metric(name="claude_code.cost.usage", sum=Sum(data_points=[point("added", 9)]))
    out: list[Item] = []
    assert ClaudeCode().metrics({"session.id": "from-resource"}, [other, metric], out) == 3
    assert [(item.session_id, item.event) for item in out] == [
        (SID, Lines(3, 0, None, T)),
        (SID, Lines(0, 2, None, T)),
        (SID, Lines(0, 0, None, T)),
        ("from-resource", Lines(5, 0, None, T)),
    ]
    assert len({item.key for item in out}) == 4  # each point its own identity
    assert all((item.key or "").startswith("m.") for item in out)
    assert {item.source for item in out} == {"claude-code"}


def test_claude_code_cumulative_line_counts_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    out: list[Item] = []
    refused = lines_metric(point("moved", 1))
    metric = lines_metric(point("added", 3), point("removed", 1), delta=False)
    after = lines_metric(point("added", 4))
    assert ClaudeCode().metrics({}, [refused, metric, metric, after], out) == 5
    assert [item.event for item in out] == [Lines(4, 0, None, T)]
    assert [r.getMessage() for r in caplog.records] == [
        "radium-otel: ignoring cumulative claude_code.lines_of_code.count (send deltas: "
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta)"
    ]


# --- Codex ------------------------------------------------------------------------------------
CID = "01a238ba-7d7a-7991-8b0a-12e594a4e3bd"


def codex(event: str, **attrs: object) -> LogRecord:
    return log(f"codex.{event}", {"conversation.id": CID, **attrs})


def test_codex_conversation_start_describes_the_session() -> None:
    start = codex(
        "conversation_starts", provider_name="openai", approval_policy="never",
        sandbox_policy="danger-full-access", model="gpt-5.5", **{"app.version": "0.171.0"},
    )  # fmt: skip
    assert events_of(Codex(), start) == [
        Seen(T, T),
        Describe((
            ("codex.provider", "openai"), ("codex.approval_policy", "never"),
            ("codex.sandbox_policy", "danger-full-access"), ("model", "gpt-5.5"),
            ("source_version", "0.171.0"),
        )),
    ]  # fmt: skip
    assert events_of(Codex(), codex("conversation_starts", model="gpt-5.5")) == [
        Seen(T, T),
        Describe((("model", "gpt-5.5"),)),
    ]
    assert events_of(Codex(), codex("user_prompt")) == [Seen(T, T)]


@pytest.mark.parametrize(
    ("attrs", "event"),
    [
        ({"http.response.status_code": "200"}, Opened(T - 27 * MS)),
        ({"http.response.status_code": "299"}, Opened(T - 27 * MS)),
        ({}, Opened(T - 27 * MS)),
        ({"http.response.status_code": "300"},
         Request(ModelCall("gpt-5.5", None, T - 27 * MS, T, True), "codex/events")),
        ({"http.response.status_code": "199"},
         Request(ModelCall("gpt-5.5", None, T - 27 * MS, T, True), "codex/events")),
        ({"http.response.status_code": "200", "error.message": "x", "provider_name": "openai"},
         Request(ModelCall("gpt-5.5", "openai", T - 27 * MS, T, True), "codex/events")),
    ],
)  # fmt: skip
def test_codex_a_sent_request_opens_or_fails(attrs: dict[str, object], event: Event) -> None:
    record = codex("api_request", model="gpt-5.5", duration_ms="27", **attrs)
    assert events_of(Codex(), record) == [event]


USAGE = {
    "input_token_count": "4000",
    "output_token_count": "60",
    "cached_token_count": "2900",
    "cache_write_token_count": "100",
    "reasoning_token_count": "7",
}


@pytest.mark.parametrize(
    ("attrs", "events"),
    [
        ({"event.kind": "response.completed", **USAGE},
         [Request(ModelCall("gpt-5.5", None, T, T, False, 4000, 60, 2900, 100, 7),
                  "codex/events", from_open=True)]),
        ({"event.kind": "response.completed"}, []),  # (the plain copy of a completion)
        ({"event.kind": "response.completed", "error.message": "x", **USAGE},
         [Request(ModelCall("gpt-5.5", None, T, T, True, 4000, 60, 2900, 100, 7),
                  "codex/events", from_open=True)]),
        ({"event.kind": "response.failed"},
         [Request(ModelCall("gpt-5.5", None, T, T, True), "codex/events", from_open=True)]),
        ({"event.kind": "response.created"}, []),
        ({"event.kind": "response.output_item.done", "error.message": "x"}, []),
    ],
)  # fmt: skip
def test_codex_a_completion_carries_the_usage(
    attrs: dict[str, object], events: list[Event]
) -> None:
    assert events_of(Codex(), codex("sse_event", model="gpt-5.5", **attrs)) == events


@pytest.mark.parametrize(
    ("decision", "source", "event"),
    [
        ("approved", "User", Decision("accept", "user", T)),
        ("approved_for_session", "user", Decision("accept", "user", T)),
        ("Approved", "Config", Decision("auto_accept", "config", T)),
        ("approved", None, Decision("auto_accept", None, T)),
        ("denied", "User", Decision("reject", "user", T)),
        ("abort", "User", Decision("reject", "user", T)),
        ("rejected", "Config", Decision("reject", "config", T)),
        ("reject", "Config", Decision("reject", "config", T)),
        ("later", "User", Decision("later", "user", T)),
        (None, None, Decision("unknown", None, T)),
    ],
)
def test_codex_decisions(decision: str | None, source: str | None, event: Decision) -> None:
    attrs = {"call_id": "call_1"}
    if decision is not None:
        attrs["decision"] = decision
    if source is not None:
        attrs["source"] = source
    out: list[Item] = []
    Codex().logs({}, [codex("tool_decision", **attrs)], out)
    assert out == [Item(CID, "codex", "tool_decision:call_1", event)]


PATCH = """*** Begin Patch
*** Update File: notes.txt
@@
-old line
+new line
+another line
*** Add File: new.txt
+hello
*** End Patch
"""


@pytest.mark.parametrize(
    ("attrs", "events"),
    [
        ({"tool_name": "exec_command", "success": "true", "duration_ms": "47"},
         [ToolRun("exec_command", T - 47 * MS, T, None)]),
        ({"tool_name": "exec_command", "success": "false"},
         [ToolRun("exec_command", T, T, "failed")]),
        ({"tool_name": "apply_patch", "success": "true", "arguments": PATCH},
         [ToolRun("apply_patch", T, T, None), Lines(2, 1, "notes.txt", T),
          Lines(1, 0, "new.txt", T)]),
        ({"tool_name": "apply_patch", "arguments": PATCH},  # success not said: it ran
         [ToolRun("apply_patch", T, T, None), Lines(2, 1, "notes.txt", T),
          Lines(1, 0, "new.txt", T)]),
        ({"tool_name": "apply_patch", "success": "false", "arguments": PATCH},
         [ToolRun("apply_patch", T, T, "failed")]),
        ({"tool_name": "apply_patch", "success": "true"}, [ToolRun("apply_patch", T, T, None)]),
        ({}, [ToolRun("unknown", T, T, None)]),
    ],
)  # fmt: skip
def test_codex_tool_results_and_the_lines_their_patches_change(
    attrs: dict[str, object], events: list[Event]
) -> None:
    out: list[Item] = []
    Codex().logs({}, [codex("tool_result", call_id="call_2", **attrs)], out)
    assert [item.event for item in out] == events
    assert [item.key for item in out] == [
        "tool_result:call_2" + (f".{i}" if i else "") for i in range(len(events))
    ]


def test_codex_a_tool_result_without_a_call_id_is_keyed_by_its_bytes() -> None:
    out: list[Item] = []
    Codex().logs(
        {}, [codex("tool_result", tool_name="a"), codex("tool_result", tool_name="b")], out
    )
    keys = [item.key or "" for item in out]
    assert [":" in key for key in keys] == [False, False]
    assert keys[0] != keys[1]


def test_codex_a_session_ends_with_its_session_loop_span() -> None:
    loop = Span(
        name="session_loop",
        span_id=bytes.fromhex("00f067aa0ba902b7"),
        end_time_unix_nano=T,
        attributes=attributes({"other": "x", "thread_id": CID}),
    )
    other = Span(name="turn", span_id=b"\x01" * 8, attributes=attributes({"thread_id": CID}))
    nameless = Span(name="session_loop", span_id=b"\x02" * 8, attributes=attributes({"x": 1}))
    out: list[Item] = []
    assert Codex().spans({}, [other, loop, nameless], out) == 0
    assert out == [Item(CID, "codex", "end.00f067aa0ba902b7", End(T))]


def test_codex_records_by_session_id_when_there_is_no_conversation_id() -> None:
    out: list[Item] = []
    Codex().logs({}, [log("codex.user_prompt", {"session.id": "s-1"})], out)
    assert [item.session_id for item in out] == ["s-1"]


# --- Gemini CLI -------------------------------------------------------------------------------
GID = "ab313117-6cb0-4577-88d5-3a10262d4c90"


def gemini(event: str, **attrs: object) -> LogRecord:
    return log(f"gemini_cli.{event}", {"session.id": GID, **attrs})


def test_gemini_cli_config_and_prompts() -> None:
    assert events_of(GeminiCli(), gemini("config", model="gemini-3.8-flash")) == [
        Seen(T, T),
        Describe((("model", "gemini-3.8-flash"),)),
    ]
    assert events_of(GeminiCli(), gemini("config")) == [Seen(T, T), Describe(())]
    assert events_of(GeminiCli(), gemini("user_prompt")) == [Seen(T, T)]


GEMINI_USAGE = {
    "input_token_count": "4000",
    "tool_token_count": "100",
    "output_token_count": "60",
    "thoughts_token_count": "7",
    "cached_content_token_count": "2900",
}


@pytest.mark.parametrize(
    ("event", "attrs", "call"),
    [
        ("api_response", {"status_code": "200", **GEMINI_USAGE},
         ModelCall("gemini-3.8-flash", "google", T - 90 * MS, T, False, 4100, 67, 2900, 0, 7)),
        ("api_response", {"status_code": "299"},
         ModelCall("gemini-3.8-flash", "google", T - 90 * MS, T, False)),
        ("api_response", {},
         ModelCall("gemini-3.8-flash", "google", T - 90 * MS, T, False)),
        ("api_response", {"status_code": "300"},
         ModelCall("gemini-3.8-flash", "google", T - 90 * MS, T, True)),
        ("api_response", {"status_code": "429"},
         ModelCall("gemini-3.8-flash", "google", T - 90 * MS, T, True)),
        ("api_response", {"status_code": "199"},
         ModelCall("gemini-3.8-flash", "google", T - 90 * MS, T, True)),
        ("api_error", {"status_code": "500"},
         ModelCall("gemini-3.8-flash", "google", T - 90 * MS, T, True)),
    ],
)  # fmt: skip
def test_gemini_cli_requests(event: str, attrs: dict[str, object], call: ModelCall) -> None:
    record = gemini(event, model="gemini-3.8-flash", duration_ms="90", **attrs)
    assert events_of(GeminiCli(), record) == [Request(call, "gemini-cli/events")]


def test_gemini_cli_an_error_names_its_model_either_way() -> None:
    record = gemini("api_error", model_name="gemini-3.5-flash-lite")
    assert events_of(GeminiCli(), record) == [
        Request(ModelCall("gemini-3.5-flash-lite", "google", T, T, True), "gemini-cli/events")
    ]
    assert events_of(GeminiCli(), gemini("api_error")) == [
        Request(ModelCall("unknown", "google", T, T, True), "gemini-cli/events")
    ]


START_MS, END_MS = 1_764_699_999_000.5, 1_764_699_999_250.0


@pytest.mark.parametrize(
    ("attrs", "events"),
    [
        ({"function_name": "write_file", "success": "true", "decision": "accept",
          "metadata": json.dumps({"model_added_lines": 2, "user_added_lines": 1,
                                  "model_removed_lines": 1, "user_removed_lines": 2})},
         [Decision("accept", None, T), ToolRun("write_file", T - 30 * MS, T, None),
          Lines(3, 3, None, T)]),
        ({"function_name": "write_file",
          "metadata": {"model_added_lines": 2, "user_added_lines": -4}},
         [ToolRun("write_file", T - 30 * MS, T, None), Lines(2, 0, None, T)]),
        ({"function_name": "run_shell_command", "start_time": 1.0, "end_time": 2.0},
         [ToolRun("run_shell_command", MS, 2 * MS, None)]),
        ({"function_name": "run_shell_command", "success": "true",
          "start_time": START_MS, "end_time": END_MS},
         [ToolRun("run_shell_command", round(START_MS * MS), round(END_MS * MS), None)]),
        ({"function_name": "run_shell_command", "start_time": END_MS, "end_time": START_MS},
         [ToolRun("run_shell_command", T - 30 * MS, T, None)]),
        ({"function_name": "run_shell_command", "start_time": 0.0, "end_time": END_MS},
         [ToolRun("run_shell_command", T - 30 * MS, T, None)]),
        ({"function_name": "run_shell_command", "start_time": END_MS, "end_time": END_MS},
         [ToolRun("run_shell_command", round(END_MS * MS), round(END_MS * MS), None)]),
        ({"function_name": "run_shell_command", "decision": "Reject"},
         [Decision("reject", None, T)]),
        ({"function_name": "run_shell_command", "success": "false",
          "error_type": "policy_violation"},
         [Decision("reject", "policy", T)]),
        ({"function_name": "run_shell_command", "success": "false", "decision": "accept",
          "error.type": "policy_violation"},
         [Decision("accept", None, T), Decision("reject", "policy", T)]),
        ({"function_name": "run_shell_command", "success": "false", "error_type": "timeout"},
         [ToolRun("run_shell_command", T - 30 * MS, T, "timeout")]),
        ({"function_name": "run_shell_command", "success": "false", "error.type": "EPERM"},
         [ToolRun("run_shell_command", T - 30 * MS, T, "EPERM")]),
        ({"success": "false"}, [ToolRun("unknown", T - 30 * MS, T, "error")]),
        ({"function_name": "edit", "metadata": '{"model_removed_lines": "3"}'},
         [ToolRun("edit", T - 30 * MS, T, None), Lines(0, 3, None, T)]),
        ({"function_name": "edit", "metadata": "not json"},
         [ToolRun("edit", T - 30 * MS, T, None)]),
        ({"function_name": "edit", "metadata": "[1]"}, [ToolRun("edit", T - 30 * MS, T, None)]),
    ],
)  # fmt: skip
def test_gemini_cli_tool_calls(attrs: dict[str, object], events: list[Event]) -> None:
    record = gemini("tool_call", duration_ms="30", **attrs)
    assert events_of(GeminiCli(), record) == events
