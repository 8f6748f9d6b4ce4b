"""The session record's JSON shape (SPEC "Session record")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from radium_otel._internal.record import (
    SCHEMA_VERSION,
    CacheStats,
    ModelUsage,
    PricingInfo,
    RecordError,
    SessionRecord,
    format_time,
    parse_time,
)

RecordFactory = Callable[..., SessionRecord]

MINIMAL_ID = "0b9f6f0e-2c1e-4c55-9d0e-6a1f3f1f2a10"
MINIMAL: dict[str, object] = {
    "schema_version": 1,
    "id": MINIMAL_ID,
    "status": "completed",
    "start_time": "2025-03-01T09:00:00.000000Z",
}


def test_to_json_has_the_spec_fields_in_order(make_record: RecordFactory) -> None:
    data = make_record().to_json()

    assert list(data) == [
        "schema_version",
        "id",
        "status",
        "start_time",
        "end_time",
        "updated_time",
        "metadata",
        "wall_time_s",
        "agent_active_time_s",
        "api_time_s",
        "tool_time_s",
        "tool_calls",
        "tool_successes",
        "tool_failures",
        "tools",
        "decisions",
        "decision_sources",
        "code_changes",
        "model_usage",
        "cache_stats",
        "cost_usd",
        "reported_cost_usd",
        "pricing",
        "diagnostics",
    ]
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["start_time"] == "2025-03-01T09:00:00.000000Z"
    assert data["end_time"] == "2025-03-01T09:01:30.250000Z"
    assert data["tools"]["run_tests"] == {
        "calls": 2,
        "successes": 1,
        "failures": 1,
        "duration_s": 18.75,
        "error_types": {"TestsFailed": 1},
    }
    assert data["model_usage"] == [
        {
            "model": "claude-sonnet-4-5",
            "provider": "anthropic",
            "requests": 7,
            "errors": 1,
            "input_tokens": 21000,
            "output_tokens": 1200,
            "cache_read_tokens": 14000,
            "cache_creation_tokens": 2000,
            "cache_creation_1h_tokens": 0,
            "reasoning_tokens": 0,
            "latency_s": 40.3,
            "cost_usd": 0.0651,
            "cache_savings_usd": None,
            "names": [],
        }
    ]
    assert data["cache_stats"] == {
        "cache_read_tokens": 14000,
        "cache_creation_tokens": 2000,
        "hit_rate": 14000 / 21000,
        "savings_usd": 0.0378,
    }


def test_json_round_trip_is_exact(make_record: RecordFactory) -> None:
    record = make_record()
    text = json.dumps(record.to_json())

    again = SessionRecord.from_json(json.loads(text))

    assert again == record
    assert again.to_json() == record.to_json()


def test_missing_optional_fields_take_their_defaults() -> None:
    record = SessionRecord.from_json(dict(MINIMAL))

    assert record == SessionRecord(
        id=MINIMAL_ID,
        status="completed",
        start_time=datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc),
    )
    assert record.end_time is None
    assert record.code_changes is None
    assert record.cost_usd is None
    assert record.pricing is None
    assert record.cache_stats == CacheStats()


def test_pricing_and_partial_costs_round_trip_with_null_not_zero(
    make_record: RecordFactory,
) -> None:
    unpriced = ModelUsage(model="acme-1", provider="acme", requests=2, input_tokens=500)
    priced = make_record().model_usage[0]
    record = make_record(
        model_usage=[
            replace(priced, cache_creation_1h_tokens=500, cache_savings_usd=0.0378),
            unpriced,
        ],
        pricing=PricingInfo(
            version="0.2.3",
            overrides=".radium/pricing.toml",
            unpriced_models=("acme-1",),
            partial=True,
        ),
    )

    data = json.loads(json.dumps(record.to_json()))

    assert data["pricing"] == {
        "source": "genai-prices",
        "version": "0.2.3",
        "overrides": ".radium/pricing.toml",
        "unpriced_models": ["acme-1"],
        "estimated_models": [],
        "partial": True,
        "error": None,
    }
    assert data["model_usage"][0]["cache_creation_1h_tokens"] == 500
    assert data["model_usage"][0]["cache_savings_usd"] == 0.0378
    assert data["model_usage"][1]["cost_usd"] is None
    assert data["model_usage"][1]["cache_savings_usd"] is None
    assert SessionRecord.from_json(data) == record


def test_records_without_pricing_read_as_not_priced() -> None:
    record = SessionRecord.from_json({**MINIMAL, "cost_usd": 0.5, "pricing": None})
    assert (record.cost_usd, record.pricing) == (0.5, None)


def test_unknown_fields_are_ignored() -> None:
    record = SessionRecord.from_json({**MINIMAL, "future_field": [1, 2, 3]})
    assert "future_field" not in record.to_json()


def test_newer_schema_version_is_refused_with_a_clear_message() -> None:
    with pytest.raises(RecordError) as info:
        SessionRecord.from_json({**MINIMAL, "schema_version": 2})
    assert str(info.value) == (
        "schema_version 2 is newer than this radium-otel understands (1); upgrade radium-otel"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "not a JSON object"),
        ("session", "not a JSON object"),
        ({"id": "x"}, "missing schema_version"),
        ({**MINIMAL, "schema_version": "1"}, "missing schema_version"),
        ({**MINIMAL, "schema_version": True}, "missing schema_version"),
        ({**MINIMAL, "status": "running"}, "unknown status 'running'"),
        ({**MINIMAL, "id": ""}, "field 'id' must be a non-empty string"),
        ({**MINIMAL, "id": 7}, "field 'id' must be a non-empty string"),
        ({**MINIMAL, "start_time": "yesterday"}, "bad timestamp 'yesterday'"),
        ({**MINIMAL, "start_time": "9999-12-31T23:59:59-05:00"}, "bad timestamp"),
        ({**MINIMAL, "tool_calls": -1}, "field 'tool_calls': expected a non-negative integer"),
        ({**MINIMAL, "tool_calls": 1.5}, "field 'tool_calls': expected a non-negative integer"),
        ({**MINIMAL, "tool_calls": True}, "field 'tool_calls': expected a non-negative integer"),
        ({**MINIMAL, "wall_time_s": "1"}, "field 'wall_time_s' must be a number"),
        ({**MINIMAL, "wall_time_s": -0.5}, "field 'wall_time_s' must be finite and non-negative"),
        (
            {**MINIMAL, "wall_time_s": float("nan")},
            "field 'wall_time_s' must be finite and non-negative",
        ),
        (
            {**MINIMAL, "wall_time_s": float("inf")},
            "field 'wall_time_s' must be finite and non-negative",
        ),
        (
            {**MINIMAL, "wall_time_s": 10**400},
            "field 'wall_time_s' must be finite and non-negative",
        ),
        ({**MINIMAL, "metadata": []}, "field 'metadata' must be an object"),
        ({**MINIMAL, "tools": {"read": 3}}, "field 'tools' entry 'read' must be an object"),
        ({**MINIMAL, "model_usage": {}}, "field 'model_usage' must be a list of objects"),
        ({**MINIMAL, "model_usage": [{"requests": 1}]}, "field 'model' must be a non-empty"),
        ({**MINIMAL, "decisions": {"accept": -2}}, "expected a non-negative integer"),
        ({**MINIMAL, "pricing": []}, "field 'pricing' must be an object"),
        (
            {**MINIMAL, "pricing": {"unpriced_models": "acme-1"}},
            "field 'unpriced_models' must be a list of strings",
        ),
    ],
)
def test_unusable_records_are_refused(data: Any, message: str) -> None:
    with pytest.raises(RecordError, match="^" + re.escape(message)):
        SessionRecord.from_json(data)


def test_times_are_utc_with_microseconds_and_z() -> None:
    t = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    assert format_time(t) == "2025-01-02T03:04:05.000006Z"
    assert parse_time("2025-01-02T03:04:05.000006Z") == t
    plus_two = datetime(2025, 1, 2, 5, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(plus_two) == "2025-01-02T03:04:05.000006Z"


def test_parse_time_reads_offsets_and_naive_times_as_utc() -> None:
    with_offset = parse_time("2025-01-02T05:04:05+02:00")
    assert with_offset == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert with_offset.utcoffset() == timedelta(0)
    assert parse_time("2025-01-02T03:04:05") == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_totals_over_models(make_record: RecordFactory) -> None:
    record = make_record()
    assert (record.requests, record.input_tokens, record.output_tokens) == (7, 21_000, 1_200)


def test_decision_sources_and_reported_cost_round_trip(make_record: RecordFactory) -> None:
    record = replace(
        make_record(),
        decisions={"reject": 2, "auto_accept": 1},
        decision_sources={"reject": {"config": 1, "user": 1}, "auto_accept": {"config": 1}},
        reported_cost_usd=0.125,
    )

    back = SessionRecord.from_json(json.loads(json.dumps(record.to_json())))

    assert back.decision_sources == {
        "reject": {"config": 1, "user": 1},
        "auto_accept": {"config": 1},
    }
    assert back.reported_cost_usd == 0.125
    assert SessionRecord.from_json(make_record().to_json()).reported_cost_usd is None


def test_malformed_decision_sources_are_refused(make_record: RecordFactory) -> None:
    data = make_record().to_json()
    data["decision_sources"] = {"reject": ["config"]}

    with pytest.raises(RecordError, match="decision_sources"):
        SessionRecord.from_json(data)
