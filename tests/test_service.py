"""`AnalyticsService`, the seed's TR-2 API, on an isolated instance with a step clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import Status, StatusCode

from radium_otel import AnalyticsService, Radium, SessionReport
from radium_otel._internal.store import LookupFailed
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
