"""Every figure of the CSV export and the user agreement, over a session that exercises every
branch (issue 20: five mutants survived where the fixtures had one decision kind, one model
and no reasoning): accept, auto_accept, modify and reject decisions, two models with
reasoning, cache reads and writes, errors on both.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from conftest import full_record

from radium_otel._internal.record import CacheStats, ModelUsage, SessionRecord
from radium_otel._internal.reports import CSV_COLUMNS, csv_row, write_csv
from radium_otel._internal.service import SessionReport


def every_branch() -> SessionRecord:
    return replace(
        full_record(),
        decisions={"accept": 3, "auto_accept": 4, "modify": 2, "reject": 1},
        model_usage=[
            ModelUsage(
                model="claude-sonnet-4-5",
                provider="anthropic",
                requests=7,
                errors=1,
                input_tokens=21_000,
                output_tokens=1_200,
                cache_read_tokens=14_000,
                cache_creation_tokens=2_000,
                reasoning_tokens=300,
                latency_s=30.0,
                cost_usd=0.05,
            ),
            ModelUsage(
                model="o4-mini-2025-04-16",
                provider="openai",
                requests=5,
                errors=2,
                input_tokens=9_000,
                output_tokens=4_000,
                cache_read_tokens=6_000,
                cache_creation_tokens=500,
                reasoning_tokens=2_500,
                latency_s=10.3,
                cost_usd=0.02,
            ),
        ],
        cache_stats=CacheStats(
            cache_read_tokens=20_000,
            cache_creation_tokens=2_500,
            hit_rate=20_000 / 30_000,
            savings_usd=0.04,
        ),
        cost_usd=0.07,
    )


def test_every_csv_cell_of_a_session_with_every_branch() -> None:
    record = every_branch()
    row = dict(zip(CSV_COLUMNS, csv_row(record), strict=True))

    assert row == {
        "id": record.id,
        "status": "completed",
        "start_time": "2025-03-01T09:00:00.000000Z",
        "end_time": "2025-03-01T09:01:30.250000Z",
        "agent": "coder",
        "wall_time_s": "90.25",
        "agent_active_time_s": "60.3",
        "api_time_s": "40.3",
        "tool_time_s": "20.0",
        "tool_calls": "5",
        "tool_successes": "4",
        "tool_failures": "1",
        "success_rate": "0.8",
        "decisions_reviewed": "10",
        "decisions_accept": "3",
        "decisions_reject": "1",
        "decisions_modify": "2",
        "decisions_auto_accept": "4",
        "agreement_rate": "0.7",  # (accept 3 + auto_accept 4) / 10: modify is no agreement
        "models": "claude-sonnet-4-5;o4-mini-2025-04-16",
        "requests": "12",
        "model_errors": "3",  # 1 + 2: the sum, not the largest
        "input_tokens": "30000",
        "output_tokens": "5200",
        "cache_read_tokens": "20000",
        "cache_creation_tokens": "2500",
        "reasoning_tokens": "2800",
        "cache_hit_rate": repr(20_000 / 30_000),
        "cache_savings_usd": "0.04",
        "cost_usd": "0.07",
        "cost_partial": "false",
        "lines_added": "12",
        "lines_removed": "3",
        "files_changed": "2",
        "service_name": "tests",
        "git_branch": "main",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "host": "example-host",
    }


def test_every_row_of_the_csv_is_written_in_full() -> None:
    first, second = full_record(), every_branch()
    second = replace(second, id="second-session")
    out = io.StringIO()

    assert write_csv([first, second], out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [list(CSV_COLUMNS), csv_row(first), csv_row(second)]


def test_user_agreement_counts_accept_and_auto_accept_only() -> None:
    report = SessionReport(every_branch())
    assert report.user_agreement == 0.7
    only_auto = SessionReport(replace(full_record(), decisions={"auto_accept": 1, "modify": 3}))
    assert only_auto.user_agreement == 0.25
    assert SessionReport(replace(full_record(), decisions={})).user_agreement is None
