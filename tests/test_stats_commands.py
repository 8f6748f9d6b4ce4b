"""``rad stats model | tools | history | export | reindex``: exact output on small fixtures.

Through typer's CliRunner (pinned width, no colour variables) and through the installed
``rad``. The three sessions below are chosen so that every rule shows: an unpriced model
(``n/a``, a partial ``≥`` total, ``null`` in JSON), a failed tool with an error type, all four
decisions, a stale ``active`` file read as ``interrupted``, a session without code changes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from radium_otel._internal.record import CacheStats, ModelUsage, SessionRecord, ToolStats
from radium_otel._internal.reports import (
    CSV_COLUMNS,
    WhenError,
    Window,
    parse_when,
)
from radium_otel._internal.store import SessionStore
from radium_otel._internal.tables import bar, format_cost
from radium_otel._internal.workspace import sessions_dir
from radium_otel.cli import app

RecordFactory = Callable[..., SessionRecord]

ID_1 = "aaaa1111-0000-4000-8000-000000000001"
ID_2 = "bbbb2222-0000-4000-8000-000000000002"
ID_3 = "cccc3333-0000-4000-8000-000000000003"
T1 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
T2 = datetime(2025, 3, 2, 14, 30, tzinfo=timezone.utc)
T3 = datetime(2025, 3, 9, 8, 0, tzinfo=timezone.utc)


def session_1(full_record: RecordFactory) -> SessionRecord:
    """The conftest's full record: claude, read_file + run_tests, accept 2 reject 1, +12 -3."""
    return full_record(ID_1, start_time=T1)


def session_2(full_record: RecordFactory) -> SessionRecord:
    """A failed session of another agent: one priced and one unpriced model, no code changes."""
    return full_record(
        ID_2,
        status="failed",
        start_time=T2,
        end_time=T2 + timedelta(minutes=12, seconds=5),
        updated_time=T2 + timedelta(minutes=12, seconds=5),
        metadata={"agent": "reviewer", "host": "example-host", "pid": 1},
        wall_time_s=725.0,
        tool_calls=3,
        tool_successes=2,
        tool_failures=1,
        tools={
            "run_tests": ToolStats(calls=1, successes=1, duration_s=2.0),
            "write_file": ToolStats(
                calls=2, successes=1, failures=1, duration_s=0.5, error_types={"PermissionError": 1}
            ),
        },
        decisions={"auto_accept": 3, "modify": 1},
        code_changes=None,
        model_usage=[
            ModelUsage(
                model="gpt-5",
                provider="openai",
                requests=4,
                input_tokens=8_000,
                output_tokens=2_000,
                reasoning_tokens=1_500,
                latency_s=12.0,
                cost_usd=0.03,
            ),
            ModelUsage(
                model="gemini-2.5-flash",
                provider="google",
                requests=10,
                input_tokens=50_000,
                output_tokens=500,
                latency_s=5.0,
                cost_usd=None,
            ),
        ],
        cache_stats=CacheStats(),
        cost_usd=0.03,
    )


def session_3(full_record: RecordFactory) -> SessionRecord:
    """An ``active`` file whose last checkpoint is long past: reads as interrupted."""
    return full_record(
        ID_3,
        status="active",
        start_time=T3,
        end_time=None,
        updated_time=T3 + timedelta(minutes=1),
        wall_time_s=60.0,
        tool_calls=1,
        tool_successes=1,
        tool_failures=0,
        tools={"read_file": ToolStats(calls=1, successes=1, duration_s=0.25)},
        decisions={},
        code_changes={"lines_added": 0, "lines_removed": 0},
        model_usage=[
            ModelUsage(
                model="claude-sonnet-4-5",
                provider="anthropic",
                requests=2,
                input_tokens=6_000,
                output_tokens=400,
                cache_read_tokens=3_000,
                latency_s=6.0,
                cost_usd=0.012,
            )
        ],
        cost_usd=0.012,
    )


@pytest.fixture
def ws(workspace: Path, make_record: RecordFactory, no_ambient_config: None) -> Path:
    """A workspace holding the three sessions."""
    store = SessionStore(sessions_dir(workspace))
    for make in (session_1, session_2, session_3):
        record = make(make_record)
        store.write(record)
    return workspace


def invoke(args: list[str], env: Mapping[str, str | None] | None = None) -> Result:
    pinned: dict[str, str | None] = {"COLUMNS": "80", "NO_COLOR": None, "FORCE_COLOR": None}
    return CliRunner().invoke(app, args, env={**pinned, **(env or {})})


def rad(ws: Path, *args: str) -> Result:
    return invoke(["--workspace", str(ws), "stats", *args])


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def error(result: Result, message: str, code: int = 1) -> None:
    """One line on stderr; exit code 1 (cannot be answered) or 2 (a wrong command line)."""
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr == f"rad: error: {message}\n"


# --- rad stats model -----------------------------------------------------------------------
MODEL_ALL = """\
Model Usage         Reqs  Input Tokens  Output Tokens  Cache Reads  Reasoning     Errors  Avg Latency     Cost
──────────────────────────────────────────────────────────────────────────────────────────────────────────────
claude-sonnet-4-5      9        27,000          1,600       17,000          0  1 (11.1%)         5.1s    $0.08
gpt-5                  4         8,000          2,000            0      1,500          0         3.0s    $0.03
gemini-2.5-flash      10        50,000            500            0          0          0        500ms      n/a
──────────────────────────────────────────────────────────────────────────────────────────────────────────────
Total (3 sessions)    23        85,000          4,100       17,000      1,500   1 (4.3%)         2.8s  ≥ $0.11
"""  # noqa: E501


MODEL_ONE = """\
Model Usage       Reqs  Input Tokens  Output Tokens  Cache Reads  Reasoning  Errors  Avg Latency     Cost
─────────────────────────────────────────────────────────────────────────────────────────────────────────
gpt-5                4         8,000          2,000            0      1,500       0         3.0s    $0.03
gemini-2.5-flash    10        50,000            500            0          0       0        500ms      n/a
─────────────────────────────────────────────────────────────────────────────────────────────────────────
Total               14        58,000          2,500            0      1,500       0         1.2s  ≥ $0.03
"""  # noqa: E501


def test_model_over_all_sessions_sorted_by_cost_with_a_total(ws: Path) -> None:
    assert ok(rad(ws, "model")) == MODEL_ALL


def test_model_of_one_session_by_prefix(ws: Path) -> None:
    assert ok(rad(ws, "model", "bbbb")) == MODEL_ONE


def test_model_of_a_session_with_one_model_has_no_total_row(ws: Path) -> None:
    lines = ok(rad(ws, "model", ID_3)).splitlines()
    assert len(lines) == 3
    assert lines[2].split() == "claude-sonnet-4-5 2 6,000 400 3,000 0 0 3.0s $0.01".split()


def test_model_window(ws: Path) -> None:
    out = ok(rad(ws, "model", "--since", "2025-03-02", "--until", "20250302"))
    assert out.splitlines()[-1].split() == (
        "Total (1 session) 14 58,000 2,500 0 1,500 0 1.2s ≥ $0.03".split()
    )


def test_model_json_shape(ws: Path) -> None:
    data = json.loads(ok(rad(ws, "model", "--json", "--since", "2025-03-02")))

    assert data == {
        "session_id": None,
        "since": "2025-03-02T00:00:00.000000Z",
        "until": None,
        "sessions": 2,
        "models": [
            {
                "model": "gpt-5",
                "provider": "openai",
                "sessions": 1,
                "requests": 4,
                "errors": 0,
                "error_rate": 0.0,
                "input_tokens": 8000,
                "output_tokens": 2000,
                "cache_read_tokens": 0,
                "cache_creation_tokens": 0,
                "reasoning_tokens": 1500,
                "latency_s": 12.0,
                "avg_latency_s": 3.0,
                "cost_usd": 0.03,
                "cost_partial": False,
            },
            {
                "model": "claude-sonnet-4-5",
                "provider": "anthropic",
                "sessions": 1,
                "requests": 2,
                "errors": 0,
                "error_rate": 0.0,
                "input_tokens": 6000,
                "output_tokens": 400,
                "cache_read_tokens": 3000,
                "cache_creation_tokens": 0,
                "reasoning_tokens": 0,
                "latency_s": 6.0,
                "avg_latency_s": 3.0,
                "cost_usd": 0.012,
                "cost_partial": False,
            },
            {
                "model": "gemini-2.5-flash",
                "provider": "google",
                "sessions": 1,
                "requests": 10,
                "errors": 0,
                "error_rate": 0.0,
                "input_tokens": 50000,
                "output_tokens": 500,
                "cache_read_tokens": 0,
                "cache_creation_tokens": 0,
                "reasoning_tokens": 0,
                "latency_s": 5.0,
                "avg_latency_s": 0.5,
                "cost_usd": None,
                "cost_partial": False,
            },
        ],
        "total": {
            "sessions": 2,
            "requests": 16,
            "errors": 0,
            "error_rate": 0.0,
            "input_tokens": 64000,
            "output_tokens": 2900,
            "cache_read_tokens": 3000,
            "cache_creation_tokens": 0,
            "reasoning_tokens": 1500,
            "latency_s": 23.0,
            "avg_latency_s": 23.0 / 16,
            "cost_usd": 0.042,
            "cost_partial": True,
        },
    }


def test_same_model_from_two_providers_is_told_apart(
    workspace: Path, no_ambient_config: None
) -> None:
    store = SessionStore(sessions_dir(workspace))
    store.write(
        SessionRecord(
            id=ID_1,
            status="completed",
            start_time=T1,
            model_usage=[
                ModelUsage(model="gpt-4o", provider="openai", requests=1, cost_usd=0.5),
                ModelUsage(model="gpt-4o", provider="azure", requests=2, cost_usd=0.25),
            ],
        )
    )
    names = [line.split()[:2] for line in ok(rad(workspace, "model")).splitlines()[2:4]]
    assert names == [["gpt-4o", "(openai)"], ["gpt-4o", "(azure)"]]


# --- rad stats tools -----------------------------------------------------------------------
TOOLS_ALL = """\
Tool Usage          Calls  Success  Failures  Avg Time  Total Time  Failure Types
────────────────────────────────────────────────────────────────────────────────────────────────────
read_file               4   100.0%         0     438ms        1.8s
run_tests               3    66.7%         1      6.9s       20.8s  TestsFailed 1
write_file              2    50.0%         1     250ms       500ms  PermissionError 1
────────────────────────────────────────────────────────────────────────────────────────────────────
Total (3 sessions)      9    77.8%         2      2.6s       23.0s  PermissionError 1, TestsFailed 1

User Decisions
Reviewed:                   7
Accepted:                   2
Rejected:                   1
Modified:                   1
Auto-accepted:              3
Agreement Rate:             71.4%
"""


def test_tools_over_all_sessions_with_decisions(ws: Path) -> None:
    assert ok(rad(ws, "tools")) == TOOLS_ALL


def test_tools_of_one_session(ws: Path) -> None:
    out = ok(rad(ws, "tools", "aaaa"))
    assert out.splitlines()[:6] == [
        "Tool Usage  Calls  Success  Failures  Avg Time  Total Time  Failure Types",
        "─" * 73,
        "read_file       3   100.0%         0     500ms        1.5s",
        "run_tests       2    50.0%         1      9.4s       18.8s  TestsFailed 1",
        "─" * 73,
        # 20.25 s and 4.05 s round half to even, as everywhere in rad's durations
        "Total           5    80.0%         1      4.0s       20.2s  TestsFailed 1",
    ]
    assert "Agreement Rate:             66.7%" in out


def test_tools_without_calls_or_decisions(ws: Path) -> None:
    out = ok(rad(ws, "tools", "--since", "2030-01-01"))
    assert out == (
        "No tool calls in 0 sessions.\n\nUser Decisions\n"
        "Reviewed:                   0\nAccepted:                   0\n"
        "Rejected:                   0\nModified:                   0\n"
        "Auto-accepted:              0\nAgreement Rate:             n/a\n"
    )


def test_tools_json_shape(ws: Path) -> None:
    data = json.loads(ok(rad(ws, "tools", "--json")))

    assert data["session_id"] is None
    assert data["sessions"] == 3
    assert data["tools"][2] == {
        "tool": "write_file",
        "sessions": 1,
        "calls": 2,
        "successes": 1,
        "failures": 1,
        "success_rate": 0.5,
        "error_types": {"PermissionError": 1},
        "duration_s": 0.5,
        "avg_duration_s": 0.25,
    }
    assert [t["tool"] for t in data["tools"]] == ["read_file", "run_tests", "write_file"]
    assert data["total"] == {
        "sessions": 3,
        "calls": 9,
        "successes": 7,
        "failures": 2,
        "success_rate": 7 / 9,
        "error_types": {"PermissionError": 1, "TestsFailed": 1},
        "duration_s": 23.0,
        "avg_duration_s": 23.0 / 9,
    }
    assert data["decisions"] == {
        "reviewed": 7,
        "accept": 2,
        "reject": 1,
        "modify": 1,
        "auto_accept": 3,
        "agreement_rate": 5 / 7,
    }


# --- rad stats history ---------------------------------------------------------------------
HISTORY = """\
Session   Start (UTC)       Status       Duration  Tools  Success  Tokens     Cost  Changes
───────────────────────────────────────────────────────────────────────────────────────────
cccc3333  2025-03-09 08:00  interrupted     1m 0s      1   100.0%   6,400    $0.01    +0 -0
bbbb2222  2025-03-02 14:30  failed         12m 5s      3    66.7%  60,500  ≥ $0.03      n/a
aaaa1111  2025-03-01 09:00  completed      1m 30s      5    80.0%  22,200    $0.07   +12 -3
"""


def test_history_newest_first(ws: Path) -> None:
    assert ok(rad(ws, "history")) == HISTORY


def test_history_limit_says_what_was_left_out(ws: Path) -> None:
    lines = ok(rad(ws, "history", "--limit", "1")).splitlines()
    assert lines[2].startswith("cccc3333")
    assert lines[3:] == ["Showing the latest 1 of 3 sessions (--limit 0 shows all)."]


def test_history_filters_by_agent_and_window(ws: Path) -> None:
    by_agent = ok(rad(ws, "history", "--agent", "coder")).splitlines()
    windowed = ok(rad(ws, "history", "--since", "20250302", "--until", "2025-03-08"))

    assert [line[:8] for line in by_agent[2:]] == ["cccc3333", "aaaa1111"]
    assert [line[:8] for line in windowed.splitlines()[2:]] == ["bbbb2222"]
    assert ok(rad(ws, "history", "--agent", "nobody")) == "No sessions in this window.\n"


def test_history_json_shape(ws: Path) -> None:
    data = json.loads(ok(rad(ws, "history", "--json", "-n", "2")))

    assert {k: v for k, v in data.items() if k != "sessions"} == {
        "since": None,
        "until": None,
        "agent": None,
        "limit": 2,
        "total_sessions": 3,
    }
    assert data["sessions"][1] == {
        "id": ID_2,
        "start_time": "2025-03-02T14:30:00.000000Z",
        "end_time": "2025-03-02T14:42:05.000000Z",
        "status": "failed",
        "agent": "reviewer",
        "wall_time_s": 725.0,
        "tool_calls": 3,
        "tool_successes": 2,
        "tool_failures": 1,
        "success_rate": 2 / 3,
        "input_tokens": 58000,
        "output_tokens": 2500,
        "tokens": 60500,
        "cost_usd": 0.03,
        "cost_partial": True,
        "lines_added": None,
        "lines_removed": None,
    }
    assert data["sessions"][0]["status"] == "interrupted"


@pytest.mark.parametrize(("interval_s", "status"), [(600.0, "active"), (5.0, "interrupted")])
def test_a_slow_checkpointer_reads_alike_in_session_and_history(
    workspace: Path, no_ambient_config: None, interval_s: float, status: str
) -> None:
    """A live writer checkpointing every 10 minutes, silent for 5: still active everywhere."""
    then = datetime.now(timezone.utc) - timedelta(minutes=5)
    meta = {"pid": os.getpid(), "host": socket.gethostname(), "checkpoint_interval_s": interval_s}
    SessionStore(sessions_dir(workspace)).write(
        SessionRecord(id=ID_1, status="active", start_time=then, updated_time=then, metadata=meta)
    )
    session = json.loads(ok(rad(workspace, "session", "--json")))
    history = json.loads(ok(rad(workspace, "history", "--json")))
    assert (session["status"], history["sessions"][0]["status"]) == (status, status)


def test_history_short_ids_grow_until_unambiguous(
    workspace: Path, make_record: RecordFactory, no_ambient_config: None
) -> None:
    store = SessionStore(sessions_dir(workspace))
    for n, sid in enumerate(
        (
            "abcdef01-1111-4000-8000-000000000001",
            "abcdef01-2222-4000-8000-000000000002",
            "abcdef02-3333-4000-8000-000000000003",
        )
    ):
        store.write(make_record(sid, start_time=T1 + timedelta(hours=n)))

    ids = [line.split()[0] for line in ok(rad(workspace, "history")).splitlines()[2:]]

    assert ids == ["abcdef02", "abcdef01-2", "abcdef01-1"]
    # ... and each one works as a prefix
    for short in ids:
        assert ok(rad(workspace, "session", short, "--json"))


ROLLUP_DAY = """\
Day (UTC)   Sessions  Tools  Success  Tokens     Cost
─────────────────────────────────────────────────────────────────────────────────────
2025-03-01         1      5    80.0%  22,200    $0.07  ██████████████████████████████
2025-03-02         1      3    66.7%  60,500  ≥ $0.03  █████████████▉
2025-03-09         1      1   100.0%   6,400    $0.01  █████▌
"""


def test_history_by_day_lists_the_days_with_sessions_and_charts_cost(ws: Path) -> None:
    assert ok(rad(ws, "history", "--by", "day")) == ROLLUP_DAY


def test_history_by_week_and_month(ws: Path) -> None:
    weeks = ok(rad(ws, "history", "--by", "week"))
    months = ok(rad(ws, "history", "--by", "month", "--agent", "coder"))

    assert weeks == (
        "Week      Sessions  Tools  Success  Tokens     Cost\n" + "─" * 83 + "\n"
        "2025-W09         2      8    75.0%  82,700  ≥ $0.10  ██████████████████████████████\n"
        "2025-W10         1      1   100.0%   6,400    $0.01  ███▊\n"
    )
    assert months.splitlines()[2] == (
        "2025-03         2      6    83.3%  28,600  $0.08  ██████████████████████████████"
    )


def test_history_by_day_limit_keeps_the_latest_periods_with_sessions(ws: Path) -> None:
    lines = ok(rad(ws, "history", "--by", "day", "-n", "2")).splitlines()
    assert [line[:10] for line in lines[2:]] == ["2025-03-02", "2025-03-09"]


def test_history_by_week_empty_weeks_never_use_up_the_limit(
    workspace: Path, make_record: RecordFactory, no_ambient_config: None
) -> None:
    # Issue 18: sessions every week from January to April and one stray session in
    # December; the 19 empty weeks between them hid every older week, --since included.
    store = SessionStore(sessions_dir(workspace))
    start = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)  # Monday of 2025-W02
    weeks = [start + timedelta(weeks=n) for n in range(16)]  # W02 .. W17
    stray = datetime(2025, 11, 26, 9, 0, tzinfo=timezone.utc)  # 2025-W48
    for n, when in enumerate([*weeks, stray]):
        store.write(make_record(f"dddd{n:04d}-0000-4000-8000-000000000000", start_time=when))

    data = json.loads(ok(rad(workspace, "history", "--by", "week", "-n", "5", "--json")))
    assert [p["period"] for p in data["periods"]] == [
        "2025-W14", "2025-W15", "2025-W16", "2025-W17", "2025-W48",
    ]  # fmt: skip
    assert all(p["sessions"] == 1 for p in data["periods"])

    table = ok(rad(workspace, "history", "--by", "week")).splitlines()[2:]
    assert len(table) == 17  # the default limit of 20 shows every week with a session
    assert table[0].startswith("2025-W02") and table[-1].startswith("2025-W48")

    since = ok(rad(workspace, "history", "--by", "week", "--since", "2025-01-01", "-n", "3"))
    assert [line[:8] for line in since.splitlines()[2:]] == ["2025-W16", "2025-W17", "2025-W48"]
    until = ok(rad(workspace, "history", "--by", "week", "--until", "2025-02-01", "-n", "2"))
    assert [line[:8] for line in until.splitlines()[2:]] == ["2025-W04", "2025-W05"]


def test_history_charts_tokens_when_nothing_is_priced(
    workspace: Path, no_ambient_config: None
) -> None:
    store = SessionStore(sessions_dir(workspace))
    for sid, start, tokens in ((ID_1, T1, 1000), (ID_2, T2, 250)):
        store.write(
            SessionRecord(
                id=sid,
                status="completed",
                start_time=start,
                model_usage=[ModelUsage(model="m", requests=1, input_tokens=tokens)],
            )
        )

    assert ok(rad(workspace, "history", "--by", "day")) == (
        "Day (UTC)   Sessions  Tools  Success  Cost  Tokens\n" + "─" * 82 + "\n"
        "2025-03-01         1      0      n/a   n/a   1,000  ██████████████████████████████\n"
        "2025-03-02         1      0      n/a   n/a     250  ███████▌\n"
    )


def test_history_by_json_shape(ws: Path) -> None:
    data = json.loads(ok(rad(ws, "history", "--by", "week", "--json")))

    assert data == {
        "since": None,
        "until": None,
        "agent": None,
        "by": "week",
        "limit": 20,
        "periods": [
            {
                "period": "2025-W09",
                "start": "2025-02-24T00:00:00.000000Z",
                "sessions": 2,
                "tool_calls": 8,
                "tool_successes": 6,
                "success_rate": 0.75,
                "input_tokens": 79000,
                "output_tokens": 3700,
                "tokens": 82700,
                "cost_usd": 0.0951,
                "cost_partial": True,
            },
            {
                "period": "2025-W10",
                "start": "2025-03-03T00:00:00.000000Z",
                "sessions": 1,
                "tool_calls": 1,
                "tool_successes": 1,
                "success_rate": 1.0,
                "input_tokens": 6000,
                "output_tokens": 400,
                "tokens": 6400,
                "cost_usd": 0.012,
                "cost_partial": False,
            },
        ],
    }


# --- rad stats export ----------------------------------------------------------------------
def stored(ws: Path, sid: str) -> object:
    return json.loads((sessions_dir(ws) / f"{sid}.json").read_text())


def test_export_all_as_json_is_the_stored_records_oldest_first(ws: Path) -> None:
    out = ok(rad(ws, "export", "--all"))

    data = json.loads(out)
    assert [d["id"] for d in data] == [ID_1, ID_2, ID_3]
    assert data[:2] == [stored(ws, ID_1), stored(ws, ID_2)]
    # read as a reader sees it: the stale active file is interrupted
    assert data[2] == {**stored(ws, ID_3), "status": "interrupted"}  # type: ignore[dict-item]
    assert out.startswith('[\n  {\n    "schema_version": 1,\n    "id": "aaaa1111')


def test_export_ids_in_the_order_given_without_duplicates(ws: Path) -> None:
    data = json.loads(ok(rad(ws, "export", "cccc", ID_1, "cccc3333")))
    assert [d["id"] for d in data] == [ID_3, ID_1]


def test_export_window_and_empty_window(ws: Path) -> None:
    assert [d["id"] for d in json.loads(ok(rad(ws, "export", "--since", "2025-03-02")))] == [
        ID_2,
        ID_3,
    ]
    assert ok(rad(ws, "export", "--since", "2030-01-01")) == "[]\n"


CSV_HEADER = (
    "id,status,start_time,end_time,agent,wall_time_s,agent_active_time_s,api_time_s,"
    "tool_time_s,tool_calls,tool_successes,tool_failures,success_rate,decisions_reviewed,"
    "decisions_accept,decisions_reject,decisions_modify,decisions_auto_accept,agreement_rate,"
    "models,requests,model_errors,input_tokens,output_tokens,cache_read_tokens,"
    "cache_creation_tokens,reasoning_tokens,cache_hit_rate,cache_savings_usd,cost_usd,"
    "cost_partial,lines_added,lines_removed,files_changed,service_name,git_branch,git_commit,host"
)


def test_export_csv_has_a_stable_header_and_one_row_a_session(ws: Path) -> None:
    out = ok(rad(ws, "export", "--all", "--format", "csv"))

    lines = out.splitlines()
    assert lines[0] == CSV_HEADER == ",".join(CSV_COLUMNS)
    assert len(lines) == 4
    assert lines[1] == (
        f"{ID_1},completed,2025-03-01T09:00:00.000000Z,2025-03-01T09:01:30.250000Z,coder,"
        "90.25,60.3,40.3,20.0,5,4,1,0.8,3,2,1,0,0,0.6666666666666666,claude-sonnet-4-5,7,1,"
        "21000,1200,14000,2000,0,0.6666666666666666,0.0378,0.0651,false,12,3,2,tests,main,"
        "0123456789abcdef0123456789abcdef01234567,example-host"
    )
    row2 = dict(zip(CSV_COLUMNS, next(csv.reader(io.StringIO(lines[2]))), strict=True))
    assert row2["models"] == "gpt-5;gemini-2.5-flash"
    assert (row2["cost_usd"], row2["cost_partial"]) == ("0.03", "true")
    assert (row2["lines_added"], row2["cache_savings_usd"], row2["service_name"]) == ("", "", "")
    assert row2["status"] == "failed"


def test_export_to_a_file_is_atomic_and_private(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old content\n")

    result = rad(ws, "export", "--all", "-f", "csv", "-o", str(target))

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"rad: exported 3 sessions to {target}\n"
    assert target.read_text().splitlines()[0] == CSV_HEADER
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_errors(ws: Path, tmp_path: Path) -> None:
    error(rad(ws, "export"), "name the sessions to export: IDs, --all, or --since/--until", 2)
    error(
        rad(ws, "export", "aaaa", "--all"),
        "give session IDs, or --all / --since / --until, not both",
        2,
    )
    error(rad(ws, "export", "ffff"), "no session matches 'ffff'")
    missing = tmp_path / "no" / "such" / "dir.json"
    error(
        rad(ws, "export", "--all", "-o", str(missing)),
        f"cannot write {missing}: No such file or directory",
    )


# --- reindex, unreadable files, errors -----------------------------------------------------
def test_reindex_rebuilds_and_reports(ws: Path) -> None:
    (sessions_dir(ws) / "zzzz9999.json").write_text("{")
    result = rad(ws, "reindex")

    assert result.exit_code == 0
    index = ws / ".radium" / "_internals" / "index.sqlite3"
    assert result.stdout.startswith("Indexed 3 sessions (1 unreadable file skipped) in ")
    assert result.stdout.endswith(f"s: {index}\n")
    assert result.stderr.startswith("rad: warning: skipped zzzz9999.json: not valid JSON (")
    assert stat.S_IMODE(index.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", ["model", "tools", "history"])
def test_unreadable_files_are_named_in_one_warning(ws: Path, command: str) -> None:
    folder = sessions_dir(ws)
    (folder / "trunc.json").write_text('{"schema_version": 1, "id": "tr')
    (folder / "foreign.json").write_text('{"hello": "world"}')
    (folder / "newer.json").write_text('{"schema_version": 99}')

    result = rad(ws, command)

    assert result.exit_code == 0
    assert result.stdout == {"model": MODEL_ALL, "tools": TOOLS_ALL, "history": HISTORY}[command]
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "rad: warning: skipped 3 unreadable session files: foreign.json (missing "
        "schema_version), newer.json (schema_version 99 is newer than this radium-otel "
        "understands (1); upgrade radium-otel), trunc.json (not valid JSON ("
    )


def test_a_broken_index_falls_back_to_reading_the_files(ws: Path) -> None:
    index = ws / ".radium" / "_internals" / "index.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.mkdir()  # not a file SQLite can open, nor one the index may delete

    result = rad(ws, "model")

    assert result.exit_code == 0
    assert result.stdout == MODEL_ALL
    assert result.stderr.startswith("rad: warning: session index unavailable (")
    assert result.stderr.endswith("); reading every session file\n")


@pytest.mark.parametrize("command", ["model", "tools", "history", "reindex"])
def test_empty_store_is_an_error(workspace: Path, no_ambient_config: None, command: str) -> None:
    folder = sessions_dir(workspace)
    result = rad(workspace, command)
    if command == "reindex":
        assert result.exit_code == 0
        assert result.stdout.startswith("Indexed 0 sessions in ")
    else:
        error(result, f"no sessions stored in {folder}")
    assert not (workspace / ".radium").exists()  # reading never creates the store


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (
            ["history", "--since", "yesterday"],
            "invalid date 'yesterday' (use YYYY-MM-DD, YYYYMMDD or a relative 7d, 12h, 2w)",
            2,
        ),
        (
            ["model", "--until", "2025-02-30"],
            "invalid date '2025-02-30' (use YYYY-MM-DD, YYYYMMDD or a relative 7d, 12h, 2w)",
            2,
        ),
        (
            ["tools", "--since", "2025-03-02", "--until", "2025-03-01"],
            "--since must be before --until",
            2,
        ),
        (
            ["model", "aaaa", "--since", "7d"],
            "--since/--until select among all sessions; leave them out with a session ID",
            2,
        ),
        (
            ["history", "--limit", "many"],
            "invalid value for '--limit' / '-n': Input should be a valid integer, unable to "
            "parse string as an integer",
            2,
        ),
        (
            ["history", "--limit", "-1"],
            "invalid value for '--limit' / '-n': Input should be greater than or equal to 0",
            2,
        ),
        (
            ["history", "--by", "year"],
            "invalid value for '--by': 'year' is not one of 'day', 'week', 'month'",
            2,
        ),
        (
            ["export", "--all", "-f", "xml"],
            "invalid value for '--format' / '-f': 'xml' is not one of 'json', 'csv'",
            2,
        ),
        (["history", "--colour"], "no such option: --colour", 2),
        (["model", "a", "b"], "got unexpected extra argument(s) (b)", 2),
        (["sesion"], "no such command 'sesion'. Did you mean 'session'?", 2),
        (["model", "ffff"], "no session matches 'ffff'", 1),
        (["tools", "../etc"], "invalid session id '../etc'", 1),
    ],
)
def test_errors_are_one_line(ws: Path, args: list[str], message: str, code: int) -> None:
    error(rad(ws, *args), message, code)


# --- parsing and cells ---------------------------------------------------------------------
NOW = datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2025-03-01", False, datetime(2025, 3, 1, tzinfo=timezone.utc)),
        ("2025-03-01", True, datetime(2025, 3, 2, tzinfo=timezone.utc)),
        ("20250301", False, datetime(2025, 3, 1, tzinfo=timezone.utc)),
        ("20251231", True, datetime(2026, 1, 1, tzinfo=timezone.utc)),
        ("7d", False, NOW - timedelta(days=7)),
        ("7d", True, NOW - timedelta(days=7)),
        ("12h", False, NOW - timedelta(hours=12)),
        ("2w", False, NOW - timedelta(weeks=2)),
        ("0d", False, NOW),
        ("2025-03-01T10:15:00", False, datetime(2025, 3, 1, 10, 15, tzinfo=timezone.utc)),
        ("2025-03-01T10:15:00+01:00", True, datetime(2025, 3, 1, 9, 15, tzinfo=timezone.utc)),
        ("2025-03-01T10:15:00Z", False, datetime(2025, 3, 1, 10, 15, tzinfo=timezone.utc)),
    ],
)
def test_parse_when(text: str, end: bool, expected: datetime) -> None:
    assert parse_when(text, NOW, end=end) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7m", "2025-13-01", "2025031", "soon", "-7d"])
def test_parse_when_refuses(text: str) -> None:
    with pytest.raises(WhenError, match="invalid date"):
        parse_when(text, NOW)


def test_window_is_half_open() -> None:
    w = Window(T1, T2)
    assert w.contains(w.since_us or 0)
    assert not w.contains(w.until_us or 0)
    assert Window().contains(-(10**18))


@pytest.mark.parametrize(
    ("usd", "partial", "text"),
    [
        (None, False, "n/a"),
        (None, True, "n/a"),
        (0.0, False, "$0.00"),
        (0.004, False, "<$0.01"),
        (0.005, False, "$0.01"),
        (0.0651, False, "$0.07"),
        (1234.5, False, "$1,234.50"),
        (0.1071, True, "≥ $0.11"),
    ],
)
def test_format_cost(usd: float | None, partial: bool, text: str) -> None:
    assert format_cost(usd, partial) == text


def test_bar_uses_eighths() -> None:
    assert bar(1, 1, width=4) == "████"
    assert bar(1, 2, width=4) == "██"
    assert bar(1, 16, width=4) == "▎"
    assert bar(1, 10_000, width=4) == "▏"  # anything above zero shows
    assert bar(0, 10, width=4) == ""


# --- the installed `rad` -------------------------------------------------------------------
def run_rad(rad_exe: str, args: list[str], env: Mapping[str, str], cwd: Path) -> str:
    proc = subprocess.run(
        [rad_exe, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=dict(env),
        cwd=cwd,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_installed_rad_reports(
    rad_exe: str, ws: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**clean_env, "RADIUM_WORKSPACE": str(ws)}

    assert run_rad(rad_exe, ["stats", "model"], env, tmp_path) == MODEL_ALL
    assert run_rad(rad_exe, ["stats", "tools"], env, tmp_path) == TOOLS_ALL
    assert run_rad(rad_exe, ["stats", "history"], env, tmp_path) == HISTORY
    assert run_rad(rad_exe, ["stats", "history", "--by", "day"], env, tmp_path) == ROLLUP_DAY


def test_installed_rad_export_and_reindex(
    rad_exe: str, ws: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**clean_env, "RADIUM_WORKSPACE": str(ws)}
    index = ws / ".radium" / "_internals" / "index.sqlite3"
    index.write_bytes(b"this is not a database" * 100)  # corrupt: rebuilt on the way

    history = run_rad(rad_exe, ["stats", "history", "--json"], env, tmp_path)
    csv_text = run_rad(rad_exe, ["stats", "export", "--all", "--format", "csv"], env, tmp_path)
    out = tmp_path / "all.json"
    proc = subprocess.run(
        [rad_exe, "stats", "export", "--all", "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert [s["id"] for s in json.loads(history)["sessions"]] == [ID_3, ID_2, ID_1]
    assert csv_text.splitlines()[0] == CSV_HEADER
    assert len(csv_text.splitlines()) == 4
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"rad: exported 3 sessions to {out}\n"
    assert [d["id"] for d in json.loads(out.read_text())] == [ID_1, ID_2, ID_3]


def test_stats_help_lists_every_command(no_ambient_config: None) -> None:
    out = ok(invoke(["stats", "--help"]))
    for command in ("session", "model", "tools", "history", "export", "reindex"):
        assert f" {command} " in out


def _write_directly(folder: Path, records: list[SessionRecord]) -> None:
    """Session files as another program would leave them (the index does not know them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        (folder / f"{record.id}.json").write_text(json.dumps(record.to_json()))


def _output_in_terminal(argv: list[str], env: Mapping[str, str], cwd: Path) -> str:
    """Everything ``argv`` prints when stdout and stderr are a pseudo-terminal."""
    import pty
    import select

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=dict(env), cwd=cwd
        )
    finally:
        os.close(follower)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other end is closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
        proc.wait(timeout=60)
    return out.decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_reindex_and_export_draw_a_progress_bar_on_a_terminal(
    rad_exe: str, workspace: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    records = [
        SessionRecord(id=f"s{n:04d}-0000", status="completed", start_time=T1, tool_calls=n)
        for n in range(250)
    ]
    _write_directly(sessions_dir(workspace), records)
    env = {**clean_env, "TERM": "xterm-256color", "COLUMNS": "100"}
    base = [rad_exe, "--workspace", str(workspace), "stats"]

    reindex = _output_in_terminal([*base, "reindex"], env, tmp_path)
    export = _output_in_terminal([*base, "export", "--all", "-o", "out.json"], env, tmp_path)
    piped = subprocess.run(
        [*base, "export", "--all", "-o", "piped.json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert "Indexing sessions" in reindex
    assert "Indexed 250 sessions in " in reindex
    assert "Exporting sessions" in export
    assert "exported 250 sessions to out.json" in export
    assert len(json.loads((tmp_path / "out.json").read_text())) == 250
    assert piped.stderr == "rad: exported 250 sessions to piped.json\n"  # no bar in a pipe


def test_sessions_written_behind_the_index_are_found(ws: Path, make_record: RecordFactory) -> None:
    ok(rad(ws, "history"))  # builds and records the index
    _write_directly(
        sessions_dir(ws),
        [make_record("dddd4444-0000-4000-8000-000000000004", start_time=T3 + timedelta(days=1))],
    )

    lines = ok(rad(ws, "history")).splitlines()

    assert [line[:8] for line in lines[2:]] == ["dddd4444", "cccc3333", "bbbb2222", "aaaa1111"]


def test_corruption_found_by_a_query_rebuilds_the_index(
    workspace: Path, make_record: RecordFactory, no_ambient_config: None
) -> None:
    _write_directly(
        sessions_dir(workspace),
        [
            make_record(f"{n:08x}-0000-4000-8000-000000000000", start_time=T1 + timedelta(hours=n))
            for n in range(300)
        ],
    )
    expected = ok(rad(workspace, "model"))
    folder = sessions_dir(workspace)
    old = time.time_ns() - 60 * 10**9
    os.utime(folder, ns=(old, old))
    ok(rad(workspace, "model"))  # a full check records the (now trusted) folder mtime
    index = workspace / ".radium" / "_internals" / "index.sqlite3"
    data = index.read_bytes()
    index.write_bytes(data[:8192] + b"\xff" * (len(data) - 8192))  # the meta page survives

    assert ok(rad(workspace, "model")) == expected


def test_an_active_session_of_a_process_that_cannot_exist_reads_as_interrupted(
    workspace: Path, make_record: RecordFactory, no_ambient_config: None
) -> None:
    import socket

    store = SessionStore(sessions_dir(workspace))
    now = datetime.now(timezone.utc)
    for sid, pid in (("eeee0001", os.getpid()), ("eeee0002", 2**40)):
        store.write(
            make_record(
                sid,
                status="active",
                start_time=now,
                updated_time=now,
                metadata={"host": socket.gethostname(), "pid": pid},
            )
        )

    data = json.loads(ok(rad(workspace, "history", "--json")))

    assert {s["id"]: s["status"] for s in data["sessions"]} == {
        "eeee0001": "active",  # this very process: alive, and checkpointed just now
        "eeee0002": "interrupted",  # beyond any pid: no such process
    }


def test_costs_round_half_up_like_the_session_summary() -> None:
    assert format_cost(0.105) == "$0.11"
    assert format_cost(0.125, partial=True) == "≥ $0.13"
