"""The UX-1 session summary and the number formats (SPEC "CLI", seed UX-1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radium_otel._internal.record import CacheStats, ModelUsage, PricingInfo, SessionRecord
from radium_otel._internal.render import (
    format_count,
    format_duration,
    format_percent,
    format_usd,
    render_summary,
    split_percent,
    summary_text,
)

RecordFactory = Callable[..., SessionRecord]

UX1 = """\
Interaction Summary
Session ID:                 3c6ddcd3-85b6-48f1-88e1-f428ca458337
Tool Calls:                 231 ( ✓ 214 x 17 )
Success Rate:               92.6%
Code Changes:               +505 -208

Performance
Wall Time:                  4h 9m 54s
Agent Active:               2h 53m 17s
  » API Time:               1h 9m 42s (40.2%)
  » Tool Time:              1h 43m 35s (59.8%)"""


def test_seed_session_renders_exactly_as_ux1(seed_record: SessionRecord) -> None:
    out = render_summary(seed_record)

    lines = out.splitlines()
    assert "Tool Calls:                 231 ( ✓ 214 x 17 )" in lines
    assert "Success Rate:               92.6%" in lines
    assert "Agent Active:               2h 53m 17s" in lines
    assert "  » API Time:               1h 9m 42s (40.2%)" in lines
    assert "  » Tool Time:              1h 43m 35s (59.8%)" in lines
    assert "Code Changes:               +505 -208" in lines
    assert out == UX1


def test_summary_text_is_the_plain_summary_with_bold_titles(seed_record: SessionRecord) -> None:
    text = summary_text(seed_record)

    assert text.plain == UX1
    bold = [text.plain[span.start : span.end] for span in text.spans if span.style == "bold"]
    assert bold == ["Interaction Summary\n", "Performance\n"]


def test_full_record_shows_agent_agreement_models_tokens_and_cost(
    make_record: RecordFactory,
) -> None:
    assert render_summary(make_record()) == (
        "Interaction Summary\n"
        "Session ID:                 3c6ddcd3-85b6-48f1-88e1-f428ca458337\n"
        "Agent:                      coder\n"
        "Tool Calls:                 5 ( ✓ 4 x 1 )\n"
        "Success Rate:               80.0%\n"
        "User Agreement:             66.7% (3 reviewed)\n"
        "Code Changes:               +12 -3\n"
        "Model Requests:             7 (1 failed)\n"
        "Tokens:                     21,000 in (14,000 cached) · 1,200 out\n"
        "Cost:                       $0.07\n"
        "Savings Highlight:          14,000 (66.7%) of input tokens were served from the cache, "
        "saving $0.04.\n"
        "\n"
        "Performance\n"
        "Wall Time:                  1m 30s\n"
        "Agent Active:               1m 0s\n"
        "  » API Time:               40.3s (66.8%)\n"
        "  » Tool Time:              20.0s (33.2%)"
    )


def test_large_numbers_have_thousands_separators(seed_record: SessionRecord) -> None:
    record = replace(
        seed_record,
        tool_calls=12_345,
        tool_successes=12_000,
        tool_failures=345,
        decisions={"accept": 1_000, "auto_accept": 500, "reject": 500},
        code_changes={"lines_added": 1_505, "lines_removed": 20_208},
        model_usage=[
            ModelUsage(model="m", requests=1_234, input_tokens=31_056_954, output_tokens=44_268)
        ],
        cost_usd=1234.5,
    )

    lines = render_summary(record).splitlines()

    assert "Tool Calls:                 12,345 ( ✓ 12,000 x 345 )" in lines
    assert "User Agreement:             75.0% (2,000 reviewed)" in lines
    assert "Code Changes:               +1,505 -20,208" in lines
    assert "Model Requests:             1,234" in lines
    assert "Tokens:                     31,056,954 in · 44,268 out" in lines
    assert "Cost:                       $1,234.50" in lines


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        ({}, None),
        ({"accept": 0, "reject": 0}, None),
        ({"reject": 2}, "User Agreement:             0.0% (2 reviewed)"),
        (
            {"accept": 3, "auto_accept": 1, "modify": 1},
            "User Agreement:             80.0% (5 reviewed)",
        ),
    ],
)
def test_user_agreement_only_when_there_were_decisions(
    seed_record: SessionRecord, decisions: dict[str, int], expected: str | None
) -> None:
    lines = render_summary(replace(seed_record, decisions=decisions)).splitlines()
    shown = [line for line in lines if line.startswith("User Agreement:")]
    assert shown == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    ("code_changes", "expected"),
    [
        (None, None),
        ({"reason": "not a git repository"}, None),
        ({"lines_added": None, "lines_removed": None, "reason": "git failed"}, None),
        ({"lines_added": 0, "lines_removed": 0, "files_changed": 1}, "+0 -0"),
        ({"lines_added": 7}, "+7 -0"),
    ],
)
def test_code_changes_only_when_known(
    seed_record: SessionRecord, code_changes: dict[str, object] | None, expected: str | None
) -> None:
    lines = render_summary(replace(seed_record, code_changes=code_changes)).splitlines()
    shown = [line for line in lines if line.startswith("Code Changes:")]
    assert shown == ([] if expected is None else [f"Code Changes:               {expected}"])


def test_cost_line_only_when_the_cost_is_known(seed_record: SessionRecord) -> None:
    assert "Cost:" not in render_summary(replace(seed_record, cost_usd=None))
    lines = render_summary(replace(seed_record, cost_usd=0.0)).splitlines()
    assert "Cost:                       $0.00" in lines


def test_model_lines_only_with_model_usage(seed_record: SessionRecord) -> None:
    out = render_summary(seed_record)
    assert "Model Requests:" not in out
    assert "Tokens:" not in out


@pytest.mark.parametrize(
    ("status", "shown"),
    [("completed", False), ("active", True), ("interrupted", True), ("failed", True)],
)
def test_status_line_unless_completed(seed_record: SessionRecord, status: str, shown: bool) -> None:
    lines = render_summary(replace(seed_record, status=status)).splitlines()
    expected = [f"Status:                     {status}"] if shown else []
    assert [line for line in lines if line.startswith("Status:")] == expected
    if shown:
        assert lines[2] == f"Status:                     {status}"


def test_no_tool_calls_and_no_time(seed_record: SessionRecord) -> None:
    record = replace(
        seed_record,
        tool_calls=0,
        tool_successes=0,
        tool_failures=0,
        wall_time_s=0.25,
        agent_active_time_s=0.0,
        api_time_s=0.0,
        tool_time_s=0.0,
    )
    lines = render_summary(record).splitlines()
    assert lines[2:4] == [
        "Tool Calls:                 0 ( ✓ 0 x 0 )",
        "Success Rate:               n/a",
    ]
    assert lines[-4:] == [
        "Wall Time:                  250ms",
        "Agent Active:               0ms",
        "  » API Time:               0ms (0.0%)",
        "  » Tool Time:              0ms (0.0%)",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0ms"),
        (0.0004, "0ms"),
        (0.25, "250ms"),
        (0.9994, "999ms"),
        (0.9996, "1.0s"),  # rounds up to a whole second: not "1000ms"
        (1.0, "1.0s"),
        (12.3, "12.3s"),
        (12.34, "12.3s"),
        (59.94, "59.9s"),
        (59.96, "1m 0s"),  # rounds up to a minute: not "60.0s"
        (60.0, "1m 0s"),
        (185.0, "3m 5s"),
        (3599.4, "59m 59s"),
        (3599.6, "1h 0m 0s"),
        (4182.0, "1h 9m 42s"),
        (6215.0, "1h 43m 35s"),
        (10397.0, "2h 53m 17s"),
        (14994.0, "4h 9m 54s"),
        (90061.0, "25h 1m 1s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (999, "999"), (1000, "1,000"), (60389, "60,389"), (31056954, "31,056,954")],
)
def test_format_count(n: int, text: str) -> None:
    assert format_count(n) == text


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [(214, 231, "92.6%"), (0, 5, "0.0%"), (5, 5, "100.0%"), (1, 3, "33.3%"), (1, 0, "n/a")],
)
def test_format_percent(part: float, whole: float, text: str) -> None:
    assert format_percent(part, whole) == text


@pytest.mark.parametrize(
    ("a", "b", "split"),
    [
        (4182.0, 6215.0, (40.2, 59.8)),
        (1.0, 2.0, (33.3, 66.7)),
        (2.0, 1.0, (66.7, 33.3)),
        (1.0, 0.0, (100.0, 0.0)),
        (0.0, 3.0, (0.0, 100.0)),
        (0.0, 0.0, (0.0, 0.0)),
    ],
)
def test_split_percent(a: float, b: float, split: tuple[float, float]) -> None:
    assert split_percent(a, b) == split


@given(
    st.floats(min_value=0, max_value=1e7, allow_nan=False),
    st.floats(min_value=0, max_value=1e7, allow_nan=False),
)
def test_shown_percentages_add_up_to_100(a: float, b: float) -> None:
    first, second = split_percent(a, b)
    total = Decimal(f"{first:.1f}") + Decimal(f"{second:.1f}")
    assert total == (Decimal("100.0") if a + b > 0 else Decimal("0.0"))


# --- cost and cache savings (SPEC "Cost", "Rates") -------------------------------------------
PRICED = PricingInfo(version="0.2.3")
SONNET = ModelUsage(
    model="claude-sonnet-4-5",
    provider="anthropic",
    requests=1,
    input_tokens=66_000,
    output_tokens=1_500,
    cache_read_tokens=50_000,
    cache_creation_tokens=14_000,
    cost_usd=0.105,
    cache_savings_usd=0.135,
)
UNKNOWN = ModelUsage(model="acme-1", provider="acme", requests=2, input_tokens=4_000)


def summary_lines(record: SessionRecord, *labels: str) -> list[str]:
    return [line for line in render_summary(record).splitlines() if line.startswith(labels)]


def test_priced_session_shows_cost_and_savings_highlight(seed_record: SessionRecord) -> None:
    record = replace(
        seed_record,
        model_usage=[SONNET],
        cache_stats=CacheStats(cache_read_tokens=50_000, savings_usd=0.135),
        cost_usd=0.105,
        pricing=PRICED,
    )
    assert summary_lines(record, "Cost:", "Savings") == [
        "Cost:                       $0.11",
        "Savings Highlight:          50,000 (75.8%) of input tokens were served from the cache, "
        "saving $0.14.",
    ]


def test_partly_unpriced_session_shows_at_least_and_names_the_count(
    seed_record: SessionRecord,
) -> None:
    record = replace(
        seed_record,
        model_usage=[SONNET, replace(UNKNOWN, cache_read_tokens=1_000)],
        cache_stats=CacheStats(cache_read_tokens=51_000, savings_usd=0.135),
        cost_usd=0.105,
        pricing=replace(PRICED, unpriced_models=("acme-1",), partial=True),
    )
    assert summary_lines(record, "Cost:", "Savings") == [
        "Cost:                       ≥ $0.11 (1 model unpriced)",
        "Savings Highlight:          51,000 (72.9%) of input tokens were served from the cache, "
        "saving at least $0.14.",
    ]
    data = record.to_json()
    assert data["cost_usd"] == 0.105
    assert data["model_usage"][1]["cost_usd"] is None
    assert data["pricing"]["partial"] is True


def test_wholly_unpriced_session_shows_na_never_zero(seed_record: SessionRecord) -> None:
    record = replace(
        seed_record,
        model_usage=[replace(UNKNOWN, cache_read_tokens=1_000), replace(UNKNOWN, model="acme-2")],
        cache_stats=CacheStats(cache_read_tokens=1_000),
        cost_usd=None,
        pricing=replace(PRICED, unpriced_models=("acme-1", "acme-2"), partial=True),
    )
    assert summary_lines(record, "Cost:", "Savings") == [
        "Cost:                       n/a (2 models unpriced)",
        "Savings Highlight:          1,000 (12.5%) of input tokens were served from the cache.",
    ]
    assert record.to_json()["cost_usd"] is None
    assert format_usd(None) == "n/a"


def test_cost_estimated_from_totals_and_broken_prices(seed_record: SessionRecord) -> None:
    estimated = replace(
        seed_record, cost_usd=0.2925, pricing=replace(PRICED, estimated_models=("gemini",))
    )
    assert summary_lines(estimated, "Cost:") == [
        "Cost:                       ≈ $0.29 (1 estimated from totals)"
    ]
    broken = replace(seed_record, pricing=PricingInfo(error="pricing.toml, line 3: bad"))
    assert summary_lines(broken, "Cost:") == [
        "Cost:                       n/a (prices not loaded: see the warning)"
    ]


def test_the_agents_reported_cost_is_shown_beside_ours() -> None:
    from conftest import full_record

    record = full_record()
    record = replace(
        record, reported_cost_usd=0.25, metadata={**record.metadata, "source": "claude-code"}
    )
    (line,) = [x for x in render_summary(record).splitlines() if x.startswith("Cost")]
    assert line.endswith(f"({format_usd(0.25)} reported by claude-code)")
    assert format_usd(record.cost_usd) in line


def test_files_a_source_did_not_name() -> None:
    from radium_otel._internal.codechanges import render_files

    changes: dict[str, object] = {
        "lines_added": 3,
        "lines_removed": 1,
        "files_changed": None,
        "files": [],
        "files_truncated": False,
        "measured_by": "claude-code",
    }
    assert render_files(changes).plain == (
        "claude-code reported +3 -1 lines without naming the files."
    )
    assert render_files({**changes, "lines_added": 0, "lines_removed": 0}).plain == (
        "No files changed."
    )
