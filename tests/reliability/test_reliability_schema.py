"""Guarantee 6: schema evolution. A record this version writes reads back identically (a
property over every `SessionRecord`); older schema versions are upgraded through the migration
table; a record of a newer version is reported, naming the version, never misread."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import rad, sessions_folder

from radium_otel._internal import record as record_module
from radium_otel._internal.record import (
    SCHEMA_VERSION,
    STATUSES,
    CacheStats,
    ModelUsage,
    PricingInfo,
    RecordError,
    SessionRecord,
    ToolStats,
    migrate,
)
from radium_otel._internal.store import SessionStore
from radium_otel.testing import isolated

_count = st.integers(0, 2**63)
_seconds = st.floats(min_value=0.0, max_value=1e12, allow_nan=False)
_usd = st.none() | st.floats(min_value=0.0, max_value=1e9, allow_nan=False)
_name = st.text(min_size=1, max_size=12)
_time = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(timezone.utc),
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
_tools = st.dictionaries(
    _name,
    st.builds(
        ToolStats,
        calls=_count,
        successes=_count,
        failures=_count,
        duration_s=_seconds,
        error_types=st.dictionaries(_name, _count, max_size=3),
    ),
    max_size=3,
)
_models = st.lists(
    st.builds(
        ModelUsage,
        model=_name,
        provider=st.none() | _name,
        requests=_count,
        errors=_count,
        input_tokens=_count,
        output_tokens=_count,
        cache_read_tokens=_count,
        cache_creation_tokens=_count,
        cache_creation_1h_tokens=_count,
        reasoning_tokens=_count,
        latency_s=_seconds,
        cost_usd=_usd,
        cache_savings_usd=_usd,
    ),
    max_size=3,
)
_pricing = st.none() | st.builds(
    PricingInfo,
    source=_name,
    version=st.none() | _name,
    overrides=st.none() | _name,
    unpriced_models=st.lists(st.text(max_size=8), max_size=2).map(tuple),
    estimated_models=st.lists(st.text(max_size=8), max_size=2).map(tuple),
    partial=st.booleans(),
    error=st.none() | _name,
)
records = st.builds(
    SessionRecord,
    id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}", fullmatch=True),
    status=st.sampled_from(STATUSES),
    start_time=_time,
    end_time=st.none() | _time,
    updated_time=st.none() | _time,
    metadata=st.dictionaries(st.text(max_size=10), _json, max_size=4),
    wall_time_s=_seconds,
    agent_active_time_s=_seconds,
    api_time_s=_seconds,
    tool_time_s=_seconds,
    tool_calls=_count,
    tool_successes=_count,
    tool_failures=_count,
    tools=_tools,
    decisions=st.dictionaries(_name, _count, max_size=4),
    code_changes=st.none() | st.dictionaries(st.text(max_size=8), _json, max_size=3),
    model_usage=_models,
    cache_stats=st.builds(
        CacheStats,
        cache_read_tokens=_count,
        cache_creation_tokens=_count,
        hit_rate=_seconds,
        savings_usd=_usd,
    ),
    cost_usd=_usd,
    pricing=_pricing,
    diagnostics=st.dictionaries(_name, _count, max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_every_record_reads_back_identically(record: SessionRecord) -> None:
    data = json.loads(json.dumps(record.to_json(), allow_nan=False))
    assert data["schema_version"] == SCHEMA_VERSION
    assert SessionRecord.from_json(data) == record


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records.filter(lambda r: r.status != "active"))  # an old `active` file reads stale
def test_every_record_reads_back_identically_through_the_store(record: SessionRecord) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SessionStore(Path(folder) / "sessions")
        path = store.write(record)
        assert store.read(path) == record
        sessions, warnings = store.load_all()
        assert ([s.record for s in sessions], warnings) == ([record], [])


def test_a_name_with_a_lone_surrogate_keeps_its_record(
    tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    """A tool named after a file name decoded with ``surrogateescape``: UTF-8 cannot encode
    it; the record is stored with U+FFFD in its place rather than lost."""
    with isolated(tmp_path) as (inst, _):

        @inst.tool(name="caf\udce9")
        def odd() -> int:
            return 1

        with inst.session(agent="agent-\udcff") as session:
            odd()
    [path] = sessions_folder(tmp_path).iterdir()
    stored = SessionStore(path.parent).read(path)
    assert list(stored.tools) == ["caf\ufffd"]
    assert stored.metadata["agent"] == "agent-\ufffd"
    assert session.record is not None and session.record.tool_calls == stored.tool_calls == 1
    tools = rad(rad_exe, tmp_path, "stats", "tools", "--json", env=clean_env)
    assert tools.returncode == 0, tools.stderr
    assert [row["tool"] for row in json.loads(tools.stdout)["tools"]] == ["caf\ufffd"]


# --- versions ---------------------------------------------------------------------------------
def _v1() -> dict[str, Any]:
    return SessionRecord(
        id="abcd1234",
        status="completed",
        start_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
        tool_calls=3,
        tool_successes=3,
    ).to_json()


def test_the_current_version_is_1_and_every_older_version_has_a_migration() -> None:
    assert SCHEMA_VERSION == 1
    assert set(record_module.MIGRATIONS) == set(
        range(record_module.FIRST_SCHEMA_VERSION, SCHEMA_VERSION)
    )


def test_an_older_record_is_upgraded_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """How the next version will work: version 3 renamed ``tool_calls``; a version-1 file
    goes through both steps and reads as the same session."""
    steps: list[int] = []

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        steps.append(1)
        calls = data.pop("tool_calls")
        return {**data, "calls": calls}

    def v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
        steps.append(2)
        calls = data.pop("calls")
        return {**data, "tool_calls": calls}

    monkeypatch.setattr(record_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(record_module, "MIGRATIONS", {1: v1_to_v2, 2: v2_to_v3})
    old = _v1()

    upgraded = migrate(old)

    assert steps == [1, 2]
    assert upgraded == {**old, "schema_version": 3}
    assert old == _v1()  # the stored object is left as it was
    assert SessionRecord.from_json(old).tool_calls == 3


def test_a_missing_migration_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_module, "SCHEMA_VERSION", 2)
    with pytest.raises(RecordError, match=r"^no migration from schema_version 1$"):
        SessionRecord.from_json(_v1())


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (2, "schema_version 2 is newer than this radium-otel understands (1); upgrade radium-otel"),
        (0, "schema_version 0 is not a radium-otel schema version"),
        ("2", "missing schema_version"),
    ],
)
def test_a_record_of_another_version_is_reported_not_misread(
    version: object, message: str, tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    folder = sessions_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / "abcd1234.json").write_text(json.dumps({**_v1(), "schema_version": version}))
    with pytest.raises(RecordError) as caught:
        SessionStore(folder).read(folder / "abcd1234.json")
    assert str(caught.value) == message
    shown = rad(rad_exe, tmp_path, "stats", "session", "abcd1234", env=clean_env)
    assert (shown.returncode, shown.stdout) == (1, "")
    assert shown.stderr == f"rad: error: cannot read abcd1234.json: {message}\n"
