"""`AnalyticsService`, the seed's TR-2 API, on an isolated instance with a step clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import Status, StatusCode

from radium_otel import (
    AnalyticsService,
    ModelStats,
    ModelUsage,
    Radium,
    SessionRecord,
    SessionReport,
)
from radium_otel._internal.processor import session_context
from radium_otel._internal.reports import ScannedSessions, Window
from radium_otel._internal.store import LookupFailed, SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.testing import StepClock, isolated

NS = 1_000_000_000
MODEL = "test-model-1"
OTHER_MODEL = "test-model-2"


@dataclass
class Bench:
    """An isolated instance, its service, and the clock both run on."""

    rad: Radium
    service: AnalyticsService
    clock: StepClock

    def span(
        self,
        name: str,
        attributes: dict[str, Any],
        start_s: float,
        end_s: float,
        *,
        error: bool = False,
    ) -> None:
        """A finished span from ``start_s`` to ``end_s`` seconds after the current clock."""
        now = self.clock.now_ns
        span = self.rad.tracer.start_span(
            name, attributes=attributes, start_time=now + round(start_s * NS)
        )
        if error:
            span.set_status(Status(StatusCode.ERROR, "boom"))
        span.end(end_time=now + round(end_s * NS))

    def model(self, start_s: float, end_s: float, model: str = MODEL, **usage: int) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "test-provider",
            "gen_ai.request.model": model,
        }
        attributes.update({f"gen_ai.usage.{key}": value for key, value in usage.items()})
        self.span(f"chat {model}", attributes, start_s, end_s)

    def tool(
        self,
        name: str,
        start_s: float,
        end_s: float,
        *,
        error_type: str | None = None,
        **extra: Any,
    ) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
        }
        if error_type:
            attributes["error.type"] = error_type
        attributes.update(extra)
        self.span(f"execute_tool {name}", attributes, start_s, end_s, error=error_type is not None)

    def run_session(
        self, agent: str, model: str = MODEL, input_tokens: int = 1000
    ) -> SessionReport:
        """A 10 s session: a 2 s model call, then three tools (one fails) for 4 s."""
        sid = self.service.start_session(agent=agent)
        self.model(1, 3, model=model, input_tokens=input_tokens, output_tokens=50)
        self.tool("read_file", 3, 4)
        self.tool("run_tests", 4, 6, error_type="TimeoutError")
        self.tool("write_file", 6, 7, **{"radium.tool.decision": "accept"})
        self.clock.advance(10)
        report = self.service.end_session(sid)
        self.clock.advance(50)
        return report


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    clock = StepClock()
    with isolated(tmp_path, time_ns=clock) as (rad, _spans):
        yield Bench(rad, AnalyticsService(instance=rad), clock)


def test_start_and_end_session_give_a_report_with_rates(bench: Bench, tmp_path: Path) -> None:
    start = datetime.fromtimestamp(bench.clock.now_ns / NS, timezone.utc)

    report = bench.run_session(agent="coder")

    r = report.record
    assert (r.status, r.start_time, r.metadata["agent"]) == ("completed", start, "coder")
    assert r.end_time == start + timedelta(seconds=10)
    assert (r.wall_time_s, r.agent_active_time_s, r.api_time_s, r.tool_time_s) == (
        10.0,
        6.0,
        2.0,
        4.0,
    )
    assert (r.tool_calls, r.tool_successes, r.tool_failures) == (3, 2, 1)
    assert r.tools["run_tests"].error_types == {"TimeoutError": 1}
    assert r.decisions == {"accept": 1}
    assert [(m.model, m.requests, m.input_tokens, m.output_tokens) for m in r.model_usage] == [
        (MODEL, 1, 1000, 50)
    ]
    assert report.success_rate == pytest.approx(2 / 3)
    assert report.user_agreement == 1.0
    assert report.time_split_percent == (33.3, 66.7)
    lines = report.summary().splitlines()
    assert lines[1] == f"Session ID:                 {r.id}"
    assert lines[3:6] == [
        "Tool Calls:                 3 ( ✓ 2 x 1 )",
        "Success Rate:               66.7%",
        "User Agreement:             100.0% (1 reviewed)",
    ]
    assert lines[-4:] == [
        "Wall Time:                  10.0s",
        "Agent Active:               6.0s",
        "  » API Time:               2.0s (33.3%)",
        "  » Tool Time:              4.0s (66.7%)",
    ]
    stored = json.loads((sessions_dir(tmp_path) / f"{r.id}.json").read_text())
    assert stored == r.to_json()


def test_a_report_without_tool_calls_or_decisions_has_no_rates(bench: Bench) -> None:
    sid = bench.service.start_session()
    bench.clock.advance(2)
    report = bench.service.end_session(sid)

    assert report.success_rate is None
    assert report.user_agreement is None
    assert report.time_split_percent == (0.0, 0.0)
    assert report.record.wall_time_s == 2.0


def test_get_session_report_by_full_id_and_prefix(bench: Bench) -> None:
    ended = bench.run_session(agent="coder").record

    by_id = bench.service.get_session_report(ended.id)
    by_prefix = bench.service.get_session_report(ended.id[:4])

    assert by_id.record == ended
    assert by_prefix.record == ended
    with pytest.raises(LookupFailed):
        bench.service.get_session_report("../x")
    with pytest.raises(LookupFailed):
        bench.service.get_session_report("ffffffff-no-such-session")


def test_ending_a_session_twice_returns_the_stored_report(bench: Bench) -> None:
    first = bench.run_session(agent="coder")
    again = bench.service.end_session(first.record.id)
    assert again.record == first.record


def test_ending_an_unknown_session_fails(bench: Bench) -> None:
    with pytest.raises(LookupFailed):
        bench.service.end_session("0b9f6f0e-2c1e-4c55-9d0e-6a1f3f1f2a10")


def test_get_model_stats_sums_over_sessions(bench: Bench) -> None:
    bench.run_session(agent="a", input_tokens=1000)
    bench.run_session(agent="b", input_tokens=2500)
    bench.run_session(agent="c", model=OTHER_MODEL, input_tokens=7)

    stats = bench.service.get_model_stats(MODEL)

    assert (stats.model, stats.sessions, stats.requests, stats.errors) == (MODEL, 2, 2, 0)
    assert (stats.input_tokens, stats.output_tokens) == (3500, 100)
    assert stats.latency_s == 4.0
    assert bench.service.get_model_stats(OTHER_MODEL).input_tokens == 7
    with pytest.raises(LookupFailed, match="no session used model 'gpt-none'"):
        bench.service.get_model_stats("gpt-none")


def test_get_history_is_newest_first(bench: Bench) -> None:
    ids = [bench.run_session(agent=name).record.id for name in ("first", "second", "third")]

    history = bench.service.get_history()

    assert [h.id for h in history] == ids[::-1]
    assert [h.agent for h in history] == ["third", "second", "first"]
    newest = history[0]
    assert (newest.status, newest.wall_time_s, newest.tool_calls) == ("completed", 10.0, 3)
    assert newest.success_rate == pytest.approx(2 / 3)
    assert (newest.input_tokens, newest.output_tokens, newest.cost_usd) == (1000, 50, None)
    assert history[0].start_time > history[1].start_time > history[2].start_time


def test_a_reading_service_on_a_workspace_path(bench: Bench, tmp_path: Path) -> None:
    ended = bench.run_session(agent="coder").record

    reader = AnalyticsService(tmp_path)

    assert reader.workspace == tmp_path
    assert reader.get_session_report(ended.id[:8]).record == ended
    assert [h.id for h in reader.get_history()] == [ended.id]


def test_decorated_tools_inside_a_service_session(bench: Bench) -> None:
    rad = bench.rad

    @rad.tool()
    def read_file(path: str) -> str:
        return f"contents of {path}"

    @rad.tool()
    def run_tests() -> None:
        raise RuntimeError("2 failed")

    sid = bench.service.start_session(agent="coder")
    assert read_file("a.py") == "contents of a.py"
    with pytest.raises(RuntimeError, match="2 failed"):
        run_tests()
    report = bench.service.end_session(sid)

    assert (report.record.tool_calls, report.record.tool_failures) == (2, 1)
    assert report.record.tools["run_tests"].error_types == {"RuntimeError": 1}


# --- nested sessions -------------------------------------------------------------------------
def test_ending_a_nested_session_makes_the_outer_one_current_again(bench: Bench) -> None:
    outer = bench.service.start_session(agent="planner")
    inner = bench.service.start_session(agent="coder")
    assert session_context.get() == inner

    bench.service.end_session(inner)
    assert session_context.get() == outer
    bench.tool("read_file", 0, 1)  # counts for the outer session again
    bench.clock.advance(2)
    report = bench.service.end_session(outer)

    assert session_context.get() is None
    assert report.record.tool_calls == 1


def test_a_session_ended_out_of_order_never_becomes_current_again(bench: Bench) -> None:
    first = bench.service.start_session()
    second = bench.service.start_session()
    third = bench.service.start_session()

    bench.service.end_session(second)  # not the current one: "current" stays
    assert session_context.get() == third
    bench.service.end_session(third)  # back to the one before `second`
    assert session_context.get() == first
    bench.service.end_session(first)
    assert session_context.get() is None


def test_a_session_started_in_a_scope_ends_back_to_the_scope(bench: Bench) -> None:
    with bench.rad.session(agent="outer") as scope:
        sid = bench.service.start_session()
        bench.service.end_session(sid)
        assert session_context.get() == scope.id
    assert session_context.get() is None


# --- reading through the session index -------------------------------------------------------
def scanned(folder: Path) -> ScannedSessions:
    """The reference: every session file of ``folder`` read directly."""
    source, skipped = ScannedSessions.read(folder)
    assert skipped == []
    return source


def many_records(n: int) -> list[SessionRecord]:
    """``n`` sessions, some using a model with two providers, with inexact float fields."""
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    records = []
    for i in range(n):
        models = [
            ModelUsage(
                model=MODEL,
                provider="test-provider",
                requests=i + 1,
                errors=i % 2,
                input_tokens=1000 * i + 7,
                output_tokens=30 * i,
                cache_read_tokens=11 * i,
                cache_creation_tokens=i,
                reasoning_tokens=3 * i,
                latency_s=0.1 * i + 0.333333,
                cost_usd=None if i % 3 == 0 else 0.000123 * i,
            )
        ]
        if i % 4 == 0:
            models.append(replace(models[0], provider="other-provider", requests=1))
        if i % 5 == 0:
            models.append(replace(models[0], model=OTHER_MODEL, requests=2))
        records.append(
            SessionRecord(
                id=f"{i:04d}0000-0000-4000-8000-000000000000",
                status="completed",
                start_time=start + timedelta(hours=7 * i, microseconds=i),
                end_time=start + timedelta(hours=7 * i, seconds=30),
                updated_time=start + timedelta(hours=7 * i, seconds=30),
                metadata={"agent": f"agent-{i % 3}"},
                wall_time_s=30.0 + 0.1 * i,
                tool_calls=i % 4,
                tool_successes=i % 4 - (i % 2 if i % 4 else 0),
                tool_failures=i % 2 if i % 4 else 0,
                model_usage=models,
                cost_usd=sum(m.cost_usd for m in models if m.cost_usd is not None) or None,
            )
        )
    return records


@pytest.fixture
def stored(tmp_path: Path) -> AnalyticsService:
    store = SessionStore(sessions_dir(tmp_path))
    for record in many_records(23):
        store.write(record)
    return AnalyticsService(tmp_path)


def test_model_stats_from_the_index_equal_a_scan_of_every_file(stored: AnalyticsService) -> None:
    records = many_records(23)
    for model in (MODEL, OTHER_MODEL):
        stats = stored.get_model_stats(model)
        rows = [m for r in records for m in r.model_usage if m.model == model]

        assert stats == ModelStats(
            model=model,
            sessions=sum(any(m.model == model for m in r.model_usage) for r in records),
            latency_s=sum(m.latency_us for m in scanned(stored.store.folder).models(Window())
                          if m.model == model) / 1_000_000,
            **{key: sum(getattr(m, key) for m in rows) for key in (
                "requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens",
                "cache_creation_tokens", "reasoning_tokens",
            )},
        )  # fmt: skip
        assert stats.latency_s == pytest.approx(sum(m.latency_s for m in rows), abs=1e-6)
    assert stored.get_model_stats(MODEL).sessions == 23  # not 29: two providers count once
    assert scanned(stored.store.folder).sessions_with_model(MODEL) == 23


def test_without_a_usable_index_the_files_give_the_same_answers(
    stored: AnalyticsService,
) -> None:
    history, stats = stored.get_history(), stored.get_model_stats(OTHER_MODEL)
    index = stored.store.folder.parent / "index.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.mkdir()  # not a file SQLite can open, nor one the index may delete

    assert stored.get_history() == history
    assert stored.get_model_stats(OTHER_MODEL) == stats


def test_history_from_the_index_equals_a_scan_of_every_file(stored: AnalyticsService) -> None:
    records = sorted(many_records(23), key=lambda r: r.start_time, reverse=True)

    history = stored.get_history()

    assert [
        (h.id, h.start_time, h.status, h.agent, h.wall_time_s, h.tool_calls, h.success_rate,
         h.input_tokens, h.output_tokens, h.cost_usd)
        for h in history
    ] == [
        (r.id, r.start_time, r.status, r.metadata["agent"], r.wall_time_s, r.tool_calls,
         SessionReport(r).success_rate, r.input_tokens, r.output_tokens,
         None if r.cost_usd is None else round(r.cost_usd, 9))  # to the nano-dollar
        for r in records
    ]  # fmt: skip
    index = stored.store.folder.parent / "index.sqlite3"
    index.unlink()  # rebuilt from the files on the next read: the same answer
    assert stored.get_history() == history


def test_reading_skips_unreadable_files_as_rad_stats_does(stored: AnalyticsService) -> None:
    (stored.store.folder / "broken.json").write_text("{")

    assert len(stored.get_history()) == 23
    assert stored.get_model_stats(OTHER_MODEL).sessions == 5
