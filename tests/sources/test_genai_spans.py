"""GenAI spans from another process reach `rad collect` and make the record an in-process run
of the same spans makes: the same processor, replayed (radium_otel/sources/genai.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context

from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import SessionRecord
from sources.collecting import Clock, Running, as_otlp_json, post, running

MS = 1_000_000  # ns


def _chat(start_ms: int, end_ms: int, tokens: tuple[int, int, int]) -> dict[str, Any]:
    return {
        "name": "chat gpt-4o", "start_ms": start_ms, "end_ms": end_ms,
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": tokens[0],
            "gen_ai.usage.output_tokens": tokens[1],
            "gen_ai.usage.cache_read.input_tokens": tokens[2],
            "gen_ai.input.messages": '[{"role": "user", "content": "a secret prompt"}]',
        },
    }  # fmt: skip


def _tool(name: str, start_ms: int, end_ms: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"execute_tool {name}", "start_ms": start_ms, "end_ms": end_ms,
        "attributes": {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.arguments": '{"cmd": "rm -rf secret"}',
            **extra,
        },
    }  # fmt: skip


#: What another process (without radium) emits: an agent run, a lone request and a web
#: request that made one. JSON, played by `_emit` here and by genai_agent.mjs in Node.js:
#: times in ms after ``t0_s`` (epoch seconds); each span starts, starts its ``children``,
#: sets its ``error`` (status ERROR with the message, ``error.type``), then ends.
PLAN: dict[str, Any] = {
    "service": "ts-agent",
    "scope": ["genai-js", "1.0"],
    "t0_s": 1_764_000_000,
    "spans": [
        {
            "name": "invoke_agent coder", "start_ms": 0, "end_ms": 2000,
            "attributes": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "coder"},
            "children": [
                _chat(10, 400, (1000, 200, 300)),
                _tool("bash", 400, 900),
                _tool("edit", 850, 1000)
                | {"error": {"type": "FileNotFoundError", "message": "boom"}},
                _tool("rm", 1000, 1001, **{"radium.tool.decision": "reject"}),
                _chat(1000, 1600, (500, 100, 0)),
            ],
        },
        _chat(3000, 3100, (10, 5, 0)),  # a lone request: the default session
        {
            "name": "POST /ask", "start_ms": 4000, "end_ms": 4300,
            "attributes": {"http.request.method": "POST"},
            "children": [_chat(4010, 4200, (20, 7, 0))],
        },
    ],
}  # fmt: skip
T0 = PLAN["t0_s"] * 1_000_000_000  # ns

# Fields that differ by nature between the two runs (ids, who wrote it, when it was written).
_LOCAL = ("id", "metadata", "updated_time")


def _resource() -> Resource:
    return Resource.create({"service.name": PLAN["service"]})


def _in_process_records() -> list[SessionRecord]:
    """The records radium's processor makes of `PLAN` in-process."""
    records: list[SessionRecord] = []
    in_process = TracerProvider(resource=_resource())
    in_process.add_span_processor(SessionSpanProcessor(records.append))
    _emit(in_process)
    return records


def _agent_spans() -> tuple[list[ReadableSpan], list[SessionRecord]]:
    """`PLAN`'s spans as another process (without radium) exports them, and the records
    radium's processor makes of the same spans in-process.
    """
    exported = InMemorySpanExporter()
    remote = TracerProvider(resource=_resource())
    remote.add_span_processor(SimpleSpanProcessor(exported))
    _emit(remote)
    return list(exported.get_finished_spans()), _in_process_records()


def _emit(provider: TracerProvider) -> None:
    """Plays `PLAN`; shuts ``provider`` down (the process's exit)."""
    tracer = provider.get_tracer(*PLAN["scope"])

    def play(spec: dict[str, Any], parent: Span | None) -> None:
        span = tracer.start_span(
            spec["name"],
            context=set_span_in_context(parent) if parent is not None else None,
            attributes=spec["attributes"],
            start_time=T0 + spec["start_ms"] * MS,
        )
        for child in spec.get("children", ()):
            play(child, span)
        if error := spec.get("error"):
            span.set_status(Status(StatusCode.ERROR, error["message"]))
            span.set_attribute("error.type", error["type"])
        span.end(end_time=T0 + spec["end_ms"] * MS)

    for spec in PLAN["spans"]:
        play(spec, None)
    provider.shutdown()  # (closes the default session, as the process's exit does)


def _comparable(record: SessionRecord) -> dict[str, Any]:
    data = record.to_json()
    for key in _LOCAL:
        data.pop(key)
    return data


def _collected(run: Running, clock: Clock) -> list[dict[str, Any]]:
    """The stored records once the remote process has been quiet for the idle timeout (it
    ended: its default session is closed, as the process's exit closes it in-process).
    """
    clock.now += run.collector.idle_timeout_s
    run.collector.tick()
    return sorted((_comparable(r) for r in run.records().values()), key=lambda d: d["start_time"])


def _expected(records: Sequence[SessionRecord]) -> list[dict[str, Any]]:
    return sorted((_comparable(r) for r in records), key=lambda d: d["start_time"])


def _send_http(run: Running, spans: Sequence[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{run.http}/v1/traces")
    assert exporter.export(spans) is SpanExportResult.SUCCESS


def _send_json(run: Running, spans: Sequence[ReadableSpan]) -> None:
    status, _, content_type = post(
        f"{run.http}/v1/traces", as_otlp_json(encode_spans(spans)), "application/json"
    )
    assert (status, content_type) == (200, "application/json")


def _send_grpc(run: Running, spans: Sequence[ReadableSpan]) -> None:
    exporter = GrpcSpanExporter(endpoint=f"127.0.0.1:{run.receiver.grpc_port}", insecure=True)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()


@pytest.mark.parametrize(
    "send", [_send_http, _send_json, _send_grpc], ids=["protobuf", "json", "grpc"]
)
def test_spans_from_another_process_make_the_in_process_records(
    tmp_path: Path, send: Callable[[Running, Sequence[ReadableSpan]], None]
) -> None:
    spans, in_process = _agent_spans()
    clock = Clock()
    assert len(in_process) == 2  # the agent run and the default session (lone + web request)

    with running(tmp_path, clock=clock) as run:
        # As a batching exporter sends them: children (ended first) before their parents.
        send(run, sorted(spans, key=lambda s: s.end_time or 0))
        run.collector.tick()
        collected = _collected(run, clock)

    assert collected == _expected(in_process)
    agent = next(r for r in collected if r["tool_calls"])
    assert agent["tools"]["edit"]["error_types"] == {"FileNotFoundError": 1}
    assert agent["decisions"] == {"reject": 1}
    assert [m["requests"] for m in agent["model_usage"]] == [2]


def test_a_trace_split_over_batches_and_sent_twice_counts_once(tmp_path: Path) -> None:
    spans, in_process = _agent_spans()
    clock = Clock()
    ordered = sorted(spans, key=lambda s: s.end_time or 0)
    with running(tmp_path, clock=clock) as run:
        for batch in (ordered[:3], ordered[:3], ordered[3:], ordered[3:]):  # a retrying exporter
            _send_http(run, batch)
        run.collector.tick()
        collected = _collected(run, clock)

    assert collected == _expected(in_process)


def test_no_content_attribute_reaches_the_journal_or_the_store(tmp_path: Path) -> None:
    spans, _ = _agent_spans()
    clock = Clock()
    with running(tmp_path, clock=clock) as run:
        _send_http(run, spans)
        journaled = b"".join(p.read_bytes() for p in (tmp_path / "journal").glob("*.jsonl"))
        run.collector.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "sessions").glob("*.json"))

    assert b"gen_ai.usage.input_tokens" in journaled  # (the journal holds the spans)
    for secret in (b"secret", b"gen_ai.input.messages", b"gen_ai.tool.call.arguments"):
        assert secret not in journaled
        assert secret not in stored


def test_a_restarted_collector_replays_only_what_is_still_open(tmp_path: Path) -> None:
    spans, in_process = _agent_spans()
    clock = Clock()
    ordered = sorted(spans, key=lambda s: s.end_time or 0)
    agent_end = max(s.end_time or 0 for s in spans if s.name.startswith("invoke_agent"))
    first = [s for s in ordered if (s.end_time or 0) <= agent_end]
    with running(tmp_path, clock=clock) as run:
        _send_http(run, first)  # the agent run: replayed, its session stored
        run.collector.tick()
        stored_first = set(run.records())
    # (killed here: no close; the journal holds the spans, the agent's trace marked done)
    with running(tmp_path, clock=clock) as run:
        assert run.collector.recover() == 1  # the remote process, its trace done
        _send_http(run, [s for s in ordered if s not in first])
        run.collector.tick()
        collected = _collected(run, clock)
        assert stored_first <= set(run.records())

    assert collected == _expected(in_process)
    assert len(collected) == 2  # the agent run was not written a second time


def test_spans_in_the_journal_are_json(tmp_path: Path) -> None:
    spans, _ = _agent_spans()
    clock = Clock()
    with running(tmp_path, clock=clock) as run:
        _send_http(run, spans[:2])
    rows = [
        json.loads(line)
        for path in (tmp_path / "journal").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert rows[0][0] == "#" and rows[1][0] == "res"
    assert {row[0] for row in rows[2:]} == {"span"}


def test_a_long_lived_process_journal_drops_its_finished_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from radium_otel.sources import genai

    monkeypatch.setattr(genai, "COMPACT_ROWS", 3)
    spans, in_process = _agent_spans()
    clock = Clock()
    with running(tmp_path, clock=clock) as run:
        _send_http(run, sorted(spans, key=lambda s: s.end_time or 0))
        run.collector.tick()  # the agent run's trace is done: compacted away
        rows = [
            json.loads(line)
            for path in (tmp_path / "journal").glob("*.jsonl")
            for line in path.read_text().splitlines()
        ]
        agent_trace = {r[2]["t"] for r in rows if r[0] == "span" and r[2]["n"] == "chat gpt-4o"}
        assert [r[0] for r in rows].count("span") == 3  # the lone request and the web request
        assert not any(r[0] == "done" for r in rows)
        assert len(agent_trace) == 2
    with running(tmp_path, clock=clock) as run:  # restarted from the compacted journal
        run.collector.recover()
        collected = _collected(run, clock)

    assert collected == _expected(in_process)
