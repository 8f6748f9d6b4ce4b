"""Guarantee 4: bad input. Arbitrary span attributes (wrong types, negative, NaN, inf, huge
ints, strings for numbers, missing fields), spans ended twice or ending before they start, and
unknown operation names never raise out of the processor; totals stay finite and
non-negative, and every bad value is counted in the stored ``diagnostics.dropped_attributes``.
Corrupt and hand-edited session files are read when they can be and skipped with a clear
message when they cannot."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import Span, TracerProvider
from opentelemetry.trace import Status, StatusCode, set_span_in_context
from reliability_support import rad, sessions_folder

from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import RecordError, SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel.testing import StepClock

S = 10**9
T0 = 1_700_000_000 * S
OP = "gen_ai.operation.name"
CONV = "gen_ai.conversation.id"
MAX_TOKENS = 10**12

# --- processor --------------------------------------------------------------------------------
# Attribute values the OpenTelemetry SDK accepts (others it drops itself, before any processor).
_scalar = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["12", "1e3", "NaN", "-1", "chat", "execute_tool", "invoke_agent", "LLM"]),
)
_any_value = st.one_of(
    _scalar,
    st.lists(st.integers(-3, 3), max_size=3),
    st.lists(st.text(max_size=2), max_size=3),
    st.lists(st.floats(allow_nan=True), max_size=2),
)
_keys = st.sampled_from(
    [
        OP,
        CONV,
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.prompt",
        "openinference.span.kind",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.provider.name",
        "gen_ai.tool.name",
        "gen_ai.agent.name",
        "radium.tool.decision",
        "radium.tool.outcome",
        "radium.session.root",
        "error.type",
        "some.unknown.key",
    ]
)
_operation = st.one_of(
    st.sampled_from(["chat", "execute_tool", "invoke_agent", "embeddings", "text_completion"]),
    st.text(max_size=10),  # unknown operation names
)
# (attributes, operation or None, start s, duration s (negative: ends before it starts),
#  parent index (-1: none), error status, ended twice)
_span = st.tuples(
    st.dictionaries(_keys, _any_value, max_size=6),
    st.none() | _operation,
    st.integers(-5, 40),
    st.integers(-10, 20),
    st.integers(-1, 8),
    st.booleans(),
    st.booleans(),
)


def ns(seconds: float) -> int:
    return T0 + round(seconds * S)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_span, max_size=10), st.booleans())
def test_arbitrary_spans_never_raise_and_totals_stay_finite_and_non_negative(
    spans: list[tuple[dict[str, Any], str | None, int, int, int, bool, bool]],
    in_session: bool,
) -> None:
    # Internal errors are re-raised under pytest: any exception in the processor fails here.
    records: list[SessionRecord] = []
    provider = TracerProvider()
    processor = SessionSpanProcessor(records.append, time_ns=StepClock(ns(100)))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("fuzz")
    root = tracer.start_span("invoke_agent", attributes={OP: "invoke_agent"}, start_time=ns(-10))
    started: list[Span] = []
    for attrs, op, start, _, parent, error, _ in spans:
        if op is not None:
            attrs = {**attrs, OP: op}
        parent_span = started[parent] if 0 <= parent < len(started) else None
        if parent_span is None and in_session:
            parent_span = root  # type: ignore[assignment]
        context = set_span_in_context(parent_span) if parent_span is not None else None
        span = tracer.start_span("s", context=context, attributes=attrs, start_time=ns(start))
        assert isinstance(span, Span)
        if error:
            span.set_status(Status(StatusCode.ERROR))
        started.append(span)
    for span, (_, _, start, duration, _, _, twice) in zip(started, spans, strict=True):
        span.end(end_time=ns(start + duration))
        if twice:
            span.end(end_time=ns(start + duration + 1))
    root.end(end_time=ns(50))
    provider.shutdown()

    assert processor._open == {}
    assert processor.session_ids() == []
    for record in records:
        data = record.to_json()
        json.dumps(data, allow_nan=False)  # strict JSON: no NaN, no inf
        assert SessionRecord.from_json(json.loads(json.dumps(data))) == record
        for seconds in (
            record.wall_time_s,
            record.agent_active_time_s,
            record.api_time_s,
            record.tool_time_s,
        ):
            assert math.isfinite(seconds) and seconds >= 0
        assert record.api_time_s <= record.agent_active_time_s
        for m in record.model_usage:
            for n in (m.input_tokens, m.output_tokens, m.cache_read_tokens, m.reasoning_tokens):
                assert type(n) is int and 0 <= n
            assert math.isfinite(m.latency_s) and m.latency_s >= 0
        assert record.tool_successes + record.tool_failures == record.tool_calls
        assert all(type(n) is int and n >= 0 for n in record.diagnostics.values())


_TOKEN_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
)
_good_count = st.one_of(
    st.integers(0, MAX_TOKENS), st.integers(0, 10**6).map(float)
)  # 12.0 is a count
_bad_count = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=MAX_TOKENS + 1, max_value=2**80),
    st.sampled_from([math.nan, math.inf, -math.inf, 1.5, -0.5, 1e300]),
    st.booleans(),
    st.text(max_size=4),  # "12": a string is not a number
    st.lists(st.integers(0, 5), max_size=2),
)
_count = st.tuples(st.booleans(), _good_count, _bad_count)  # (bad?, good value, bad value)
_decision = st.one_of(
    st.none(), st.sampled_from(["accept", "reject", "modify", "auto_accept"]), st.text(max_size=5)
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.none() | _count, min_size=5, max_size=5), min_size=1, max_size=6),
    st.lists(_decision, max_size=6),
)
def test_every_bad_value_is_dropped_counted_and_stored(
    models: list[list[tuple[bool, float, object] | None]], decisions: list[str | None]
) -> None:
    records: list[SessionRecord] = []
    provider = TracerProvider()
    provider.add_span_processor(SessionSpanProcessor(records.append, time_ns=StepClock()))
    tracer = provider.get_tracer("fuzz")
    root = tracer.start_span("invoke_agent", attributes={OP: "invoke_agent"}, start_time=ns(0))
    context = set_span_in_context(root)
    bad = 0
    for i, counts in enumerate(models):
        attrs: dict[str, Any] = {OP: "chat", "gen_ai.request.model": "m"}
        for key, count in zip(_TOKEN_KEYS, counts, strict=True):
            if count is not None:
                is_bad, good, wrong = count
                attrs[key] = wrong if is_bad else good
                bad += is_bad
        tracer.start_span("chat", context, attributes=attrs, start_time=ns(i)).end(ns(i + 1))
    for i, decision in enumerate(decisions):
        attrs = {OP: "execute_tool", "gen_ai.tool.name": "t"}
        if decision is not None:
            attrs["radium.tool.decision"] = decision
            bad += decision not in ("accept", "reject", "modify", "auto_accept")
        tracer.start_span("tool", context, attributes=attrs, start_time=ns(i)).end(ns(i + 1))
    root.end(end_time=ns(20))
    provider.shutdown()

    [record] = records
    assert record.diagnostics == ({"dropped_attributes": bad} if bad else {})
    assert record.requests == len(models)
    with tempfile.TemporaryDirectory() as folder:
        store = SessionStore(Path(folder) / "sessions")
        path = store.write(record)
        stored = json.loads(path.read_bytes())
        assert stored["diagnostics"] == ({"dropped_attributes": bad} if bad else {})
        assert store.read(path) == record


# --- session files ------------------------------------------------------------------------------
def _valid() -> dict[str, Any]:
    from conftest import full_record

    return full_record("abcd0000-0000-4000-8000-000000000000").to_json()


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@st.composite
def _edited(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record edited by hand: keys deleted, values replaced, fields added, nested too."""
    data = _valid()
    for _ in range(draw(st.integers(1, 4))):
        target: dict[str, Any] = data
        for _depth in range(draw(st.integers(0, 2))):
            nested = [v for v in target.values() if isinstance(v, dict) and v]
            nested += [
                row for v in target.values() if isinstance(v, list) for row in v
                if isinstance(row, dict)
            ]  # fmt: skip
            if not nested:
                break
            target = draw(st.sampled_from(nested))
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "add" or not target:
            target[draw(st.text(min_size=1, max_size=6))] = draw(_json)
        else:
            key = draw(st.sampled_from(sorted(target)))
            if action == "delete":
                del target[key]
            else:
                target[key] = draw(_json)
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edited())
def test_a_hand_edited_file_is_read_or_refused_with_a_reason(data: dict[str, Any]) -> None:
    try:
        record = SessionRecord.from_json(data)
    except RecordError as exc:
        assert str(exc)  # a reason, one line
        assert "\n" not in str(exc)
        return
    # What was read is a sane record that writes and reads back unchanged.
    again = json.loads(json.dumps(record.to_json(), allow_nan=False))
    assert SessionRecord.from_json(again) == record
    assert record.tool_calls >= 0 and math.isfinite(record.wall_time_s)


def test_hand_edited_files_through_the_cli(
    tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    folder = sessions_folder(workspace)
    folder.mkdir(parents=True)
    valid = _valid()
    files: dict[str, dict[str, Any] | str] = {
        # readable: extra fields anywhere, optional fields missing
        "aaaa0001": {
            **valid,
            "id": "aaaa0001",
            "added_by_hand": [1, 2],
            "cache_stats": {**valid["cache_stats"], "note": "x"},
        },
        "aaaa0002": {
            k: v
            for k, v in {**valid, "id": "aaaa0002"}.items()
            if k not in ("tools", "model_usage", "pricing", "diagnostics", "updated_time")
        },
        # unreadable, each with its reason
        "bbbb0001": {**valid, "id": "bbbb0001", "schema_version": 7},
        "bbbb0002": {**valid, "id": "bbbb0002", "schema_version": 0},
        "bbbb0003": {k: v for k, v in valid.items() if k != "id"},
        "bbbb0004": {**valid, "id": "bbbb0004", "tool_calls": -3},
        "bbbb0005": {**valid, "id": "bbbb0005", "start_time": "yesterday"},
        "bbbb0006": '{"schema_version": 1, "id": "bbbb0006", ',
    }
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / f"{name}.json").write_text(text)

    history = rad(rad_exe, workspace, "stats", "history", "--json", env=clean_env)

    assert history.returncode == 0, history.stderr
    assert sorted(row["id"] for row in json.loads(history.stdout)["sessions"]) == [
        "aaaa0001",
        "aaaa0002",
    ]
    assert history.stderr == (
        "rad: warning: skipped 6 unreadable session files: "
        "bbbb0001.json (schema_version 7 is newer than this radium-otel understands (1); "
        "upgrade radium-otel), "
        "bbbb0002.json (schema_version 0 is not a radium-otel schema version), "
        "bbbb0003.json (field 'id' must be a non-empty string), "
        "bbbb0004.json (field 'tool_calls': expected a non-negative integer, got -3), "
        "bbbb0005.json (bad timestamp 'yesterday') and 1 more\n"
    )
    one = rad(rad_exe, workspace, "stats", "session", "bbbb0001", env=clean_env)
    assert (one.returncode, one.stdout) == (1, "")
    assert one.stderr == (
        "rad: error: cannot read bbbb0001.json: schema_version 7 is newer than this "
        "radium-otel understands (1); upgrade radium-otel\n"
    )
    broken = rad(rad_exe, workspace, "stats", "session", "bbbb0006", env=clean_env)
    assert broken.returncode == 1
    assert broken.stderr.startswith("rad: error: cannot read bbbb0006.json: not valid JSON (")
    assert broken.stderr.count("\n") == 1


@pytest.mark.parametrize("version", [0, -1, "1", True, None, 1.0])
def test_a_schema_version_that_is_not_one_is_refused(version: object) -> None:
    with pytest.raises(RecordError, match=r"schema_version"):
        SessionRecord.from_json({**_valid(), "schema_version": version})
