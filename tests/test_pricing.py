"""Costs and cache savings (SPEC "Cost", "Rates"; issue 4).

Expected costs are computed here by hand from the providers' published prices per million
tokens (the same figures as in genai-prices' bundled data, cited beside each), never by
asking genai-prices; only the equivalence checks at the end compare with genai-prices.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radium_otel import Usage
from radium_otel._internal import pricing
from radium_otel._internal.pricing import (
    PRICING_FILE,
    CostHook,
    Prices,
    PricingError,
    RequestCost,
    load_overrides,
    load_prices,
    price_record,
    reprice,
)
from radium_otel._internal.record import CacheStats, ModelUsage, SessionRecord
from radium_otel._internal.render import render_summary
from radium_otel.testing import isolated

AT = datetime(2025, 11, 1, tzinfo=timezone.utc)
M = Decimal(1_000_000)


@dataclass(frozen=True)
class Tokens:
    """One request's usage, with the 1-hour part of its cache writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    reasoning_tokens: int = 0


@pytest.fixture(scope="module")
def prices() -> Prices:
    return Prices()


def write_pricing(workspace: Path, text: str) -> Path:
    path = workspace / PRICING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- one request, hand-computed ---------------------------------------------------------------
def test_anthropic_request_with_cache_reads_and_5m_and_1h_cache_writes(prices: Prices) -> None:
    # Claude Sonnet 4.5, published per million tokens (prompts up to 200k): input $3,
    # output $15, 5-minute cache write $3.75, 1-hour cache write $6, cache read $0.30.
    # Anthropic reports input 2,000 (uncached), cache_read 50,000, cache_creation
    # {5m: 10,000, 1h: 4,000}, output 1,500; SPEC input = 2,000 + 50,000 + 14,000.
    usage = Tokens(
        input_tokens=66_000,
        output_tokens=1_500,
        cache_read_tokens=50_000,
        cache_creation_tokens=14_000,
        cache_creation_1h_tokens=4_000,
    )
    expected = (
        2_000 * Decimal("3")
        + 50_000 * Decimal("0.30")
        + 10_000 * Decimal("3.75")
        + 4_000 * Decimal("6")
        + 1_500 * Decimal("15")
    ) / M
    assert expected == Decimal("0.105")
    savings = 50_000 * (Decimal("3") - Decimal("0.30")) / M  # $0.135

    cost = prices.price_request("anthropic", "claude-sonnet-4-5-20250929", usage, at=AT)

    assert cost == RequestCost(expected, savings)
    # Without the split every write is billed at the 5-minute price: 14,000 x $3.75.
    unsplit = prices.price_request(
        "anthropic", "claude-sonnet-4-5", replace(usage, cache_creation_1h_tokens=0), at=AT
    )
    unsplit_expected = (
        2_000 * Decimal("3")
        + 50_000 * Decimal("0.30")
        + 14_000 * Decimal("3.75")
        + 1_500 * Decimal("15")
    ) / M
    assert unsplit_expected == Decimal("0.096")
    assert unsplit is not None
    assert unsplit.cost_usd == unsplit_expected


def test_openai_request_with_cached_input_and_reasoning(prices: Prices) -> None:
    # GPT-5, published per million tokens: input $1.25, cached input $0.125, output $10
    # (reasoning tokens are output tokens). Chat Completions usage: prompt_tokens 10,000
    # with cached_tokens 6,000; completion_tokens 3,000 with reasoning_tokens 2,000.
    usage = Usage(
        input_tokens=10_000, output_tokens=3_000, cache_read_tokens=6_000, reasoning_tokens=2_000
    )
    expected = (4_000 * Decimal("1.25") + 6_000 * Decimal("0.125") + 3_000 * 10) / M
    assert expected == Decimal("0.03575")
    savings = 6_000 * (Decimal("1.25") - Decimal("0.125")) / M  # $0.00675

    assert prices.price_request("openai", "gpt-5", usage, at=AT) == RequestCost(expected, savings)


def test_gemini_2_5_pro_above_the_200k_tier_prices_the_whole_request_higher(
    prices: Prices,
) -> None:
    # Gemini 2.5 Pro, published per million tokens: input $1.25 / $2.50, output (thinking
    # included) $10 / $15, context cache read $0.125 / $0.25 — for prompts up to / above
    # 200k tokens; the higher rates apply to every token of a larger request.
    large = Usage(
        input_tokens=250_000, output_tokens=2_000, cache_read_tokens=100_000, reasoning_tokens=1_500
    )
    expected = (150_000 * Decimal("2.50") + 100_000 * Decimal("0.25") + 2_000 * 15) / M
    assert expected == Decimal("0.43")
    savings = 100_000 * (Decimal("2.50") - Decimal("0.25")) / M  # $0.225

    for provider in ("gcp.gemini", "gemini", "google", "gcp.vertex_ai"):
        cost = prices.price_request(provider, "gemini-2.5-pro", large, at=AT)
        assert cost == RequestCost(expected, savings), provider

    at_threshold = replace(large, input_tokens=200_000)  # not above 200k: base rates
    base = (100_000 * Decimal("1.25") + 100_000 * Decimal("0.125") + 2_000 * 10) / M  # $0.1575
    cost = prices.price_request("gcp.gemini", "gemini-2.5-pro", at_threshold, at=AT)
    assert cost is not None
    assert cost.cost_usd == base


def test_prices_are_those_in_force_when_the_request_was_made(prices: Prices) -> None:
    # OpenAI cut o3 from $10 / $40 to $2 / $8 per million input / output on 2025-06-10.
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    before = prices.price_request(
        "openai", "o3", usage, at=datetime(2025, 6, 9, tzinfo=timezone.utc)
    )
    after = prices.price_request(
        "openai", "o3", usage, at=datetime(2025, 6, 10, tzinfo=timezone.utc)
    )
    assert (before and before.cost_usd, after and after.cost_usd) == (Decimal(50), Decimal(10))


def test_a_model_priced_only_by_an_override(tmp_path: Path) -> None:
    write_pricing(
        tmp_path,
        """\
        # USD per million tokens
        [models."acme-coder-1"]
        input = 2.0
        output = 8
        cache_read = 0.5
        """,
    )
    prices = load_prices(tmp_path)
    usage = Usage(input_tokens=100_000, output_tokens=10_000, cache_read_tokens=40_000)
    expected = (60_000 * Decimal(2) + 40_000 * Decimal("0.5") + 10_000 * 8) / M  # $0.22
    savings = 40_000 * (Decimal(2) - Decimal("0.5")) / M  # $0.06

    assert prices.price_request("acme", "ACME-Coder-1", usage, at=AT) == RequestCost(
        expected, savings
    )
    assert prices.price_request(None, "acme-coder-1", usage, at=AT) == RequestCost(
        expected, savings
    )
    # Cache writes without a cache_write rate are billed as input: no made-up price.
    writes = Usage(input_tokens=1_000, cache_creation_tokens=1_000)
    assert prices.price_request("acme", "acme-coder-1", writes, at=AT) == RequestCost(
        1_000 * Decimal(2) / M, Decimal(0)
    )
    assert prices.overrides_file == str(PRICING_FILE)


def test_an_override_replaces_genai_prices_for_its_provider_only(tmp_path: Path) -> None:
    write_pricing(
        tmp_path,
        """\
        [models."claude-sonnet-4-5"]
        provider = "anthropic"
        input = 1.5
        output = 7.5
        """,
    )
    prices = load_prices(tmp_path)
    usage = Usage(input_tokens=100_000, output_tokens=100_000)
    negotiated = prices.price_request("anthropic", "claude-sonnet-4-5", usage, at=AT)
    assert negotiated is not None
    assert negotiated.cost_usd == (100_000 * Decimal("1.5") + 100_000 * Decimal("7.5")) / M
    # On Vertex AI genai-prices' list price stays: $3 input, $15 output per million.
    listed = prices.price_request("gcp.vertex_ai", "claude-sonnet-4-5", usage, at=AT)
    assert listed is not None
    assert listed.cost_usd == (100_000 * Decimal(3) + 100_000 * Decimal(15)) / M


def test_an_unknown_model_has_no_price(prices: Prices) -> None:
    usage = Usage(input_tokens=1_000, output_tokens=100)
    assert prices.price_request("acme", "acme-secret-7", usage, at=AT) is None
    assert prices.price_request("openai", "acme-secret-7", usage, at=AT) is None
    assert prices.price_request(None, "acme-secret-7", usage, at=AT) is None
    assert prices.why_unpriced("openai", "acme-secret-7") == (
        "Unable to find model with model_ref='acme-secret-7' in openai"
    )
    assert prices.why_unpriced("openai", "gpt-5") is None


# --- sessions -------------------------------------------------------------------------------
START = datetime(2025, 11, 1, 9, tzinfo=timezone.utc)
SONNET_ROW = ModelUsage(
    model="claude-sonnet-4-5-20250929",
    provider="anthropic",
    requests=1,
    input_tokens=66_000,
    output_tokens=1_500,
    cache_read_tokens=50_000,
    cache_creation_tokens=14_000,
    cache_creation_1h_tokens=4_000,
)


def session(*rows: ModelUsage) -> SessionRecord:
    return SessionRecord(
        id="0b9f6f0e-2c1e-4c55-9d0e-6a1f3f1f2a10",
        status="completed",
        start_time=START,
        model_usage=list(rows),
        cache_stats=CacheStats(
            cache_read_tokens=sum(r.cache_read_tokens for r in rows),
            cache_creation_tokens=sum(r.cache_creation_tokens for r in rows),
        ),
    )


def test_an_unknown_model_is_null_and_the_session_total_partial(
    prices: Prices, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = ModelUsage(
        model="acme-secret-8", provider="acme", requests=3, input_tokens=9_000, output_tokens=300
    )
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        record = price_record(session(SONNET_ROW, unknown), prices)
        again = price_record(session(unknown), prices)

    assert [row.cost_usd for row in record.model_usage] == [0.105, None]
    assert record.cost_usd == 0.105  # the priced part
    assert record.pricing is not None
    assert record.pricing.unpriced_models == ("acme-secret-8",)
    assert record.pricing.partial is True
    assert record.cache_stats.savings_usd == 0.135
    data = json.loads(json.dumps(record.to_json()))
    assert data["model_usage"][1]["cost_usd"] is None  # null, not 0
    assert data["model_usage"][1]["cache_savings_usd"] is None
    assert data["cost_usd"] == 0.105
    assert data["pricing"]["partial"] is True
    assert data["pricing"]["source"] == "genai-prices"
    assert data["pricing"]["version"] == prices.version
    lines = render_summary(record).splitlines()
    assert "Cost:                       ≥ $0.11 (1 model unpriced)" in lines

    assert again.cost_usd is None  # nothing priced: n/a, never $0
    assert again.to_json()["cost_usd"] is None
    assert "Cost:                       n/a (1 model unpriced)" in render_summary(again)
    warnings = [r.getMessage() for r in caplog.records if "no price" in r.getMessage()]
    assert warnings == [
        "radium-otel: no price for 'acme-secret-8' (acme) [Unable to find provider "
        "provider_id='acme']: cost shown as n/a, session totals as partial (≥); add prices "
        f"to {PRICING_FILE}"
    ]


def test_a_session_without_model_calls_costs_nothing(prices: Prices) -> None:
    record = price_record(session(), prices)
    assert (record.cost_usd, record.cache_stats.savings_usd) == (0.0, 0.0)
    assert record.pricing is not None
    assert record.pricing.partial is False


def test_request_costs_from_the_processor_are_kept_and_reprice_uses_the_totals(
    prices: Prices,
) -> None:
    # Two Gemini 2.5 Pro requests: 250k input (100k cached) + 2,000 output, above the tier,
    # and 50k input + 1,000 output, below it. Priced one by one: $0.43 + $0.0725.
    small = (50_000 * Decimal("1.25") + 1_000 * 10) / M
    exact = Decimal("0.43") + small
    assert exact == Decimal("0.5025")
    row = ModelUsage(
        model="gemini-2.5-pro",
        provider="gcp.gemini",
        requests=2,
        input_tokens=300_000,
        output_tokens=3_000,
        cache_read_tokens=100_000,
        cost_usd=float(exact),
        cache_savings_usd=0.225,
    )

    kept = price_record(session(row), prices)
    assert kept.cost_usd == 0.5025
    assert kept.pricing is not None
    assert kept.pricing.estimated_models == ()

    # From the totals only the average request (150k) is known: priced at the base rates,
    # and said to be an estimate.
    estimate = (200_000 * Decimal("1.25") + 100_000 * Decimal("0.125") + 3_000 * 10) / M
    again = reprice(kept, prices)
    assert again.cost_usd == float(estimate) == 0.2925
    assert again.pricing is not None
    assert again.pricing.estimated_models == ("gemini-2.5-pro",)
    assert "Cost:                       ≈ $0.29 (1 estimated from totals)" in render_summary(again)


def test_totals_are_exact_without_tiers_or_below_the_first_tier(prices: Prices) -> None:
    # GPT-5 (no tiers): 3 requests, 30,000 input of which 18,000 cached, 9,000 output.
    gpt = ModelUsage(
        model="gpt-5",
        provider="openai",
        requests=3,
        input_tokens=30_000,
        output_tokens=9_000,
        cache_read_tokens=18_000,
    )
    # Claude Sonnet 4.5 (tier above 200k): 4 requests totalling 150k input can't cross it.
    sonnet = ModelUsage(
        model="claude-sonnet-4-5", provider="anthropic", requests=4, input_tokens=150_000
    )
    record = reprice(session(gpt, sonnet), prices)

    assert [row.cost_usd for row in record.model_usage] == [
        float((12_000 * Decimal("1.25") + 18_000 * Decimal("0.125") + 9_000 * 10) / M),
        float(150_000 * Decimal(3) / M),
    ]
    assert record.pricing is not None
    assert record.pricing.estimated_models == ()


# --- pricing.toml ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[models."x"]\ninput = 1\noutput =\n', r"pricing\.toml: Invalid value \(at line 3"),
        (
            '[models."x"]\ninput = 1\noutput = "cheap"\n',
            r'pricing\.toml, line 3: models\."x"\.output must be a non-negative number '
            r"\(USD per million tokens\), not 'cheap'",
        ),
        (
            '[models."x"]\noutput = 2\n\n  input = -1\n',
            r'pricing\.toml, line 4: models\."x"\.input must be a non-negative number',
        ),
        ('[models."x"]\ninput = true\noutput = 1\n', r"line 2: .*input must be a non-negative"),
        (
            '[models."x"]\ninput = 1\noutput = 1\ncache_reads = 0.1\n',
            r'line 4: unknown key models\."x"\.cache_reads \(known: input, output, '
            r"cache_read, cache_write, cache_write_1h, provider\)",
        ),
        ('\n[models."x"]\ninput = 1\n', r"""line 2: models\."x" needs 'output'"""),
        (
            '[models."x"]\ninput = 1\noutput = 1\ncache_write_1h = 2\n',
            r"line 4: .*cache_write_1h needs cache_write too",
        ),
        ('[models."x"]\ninput = 1\noutput = 1\nprovider = 3\n', r"line 4: .*provider must be"),
        ("currency = 'EUR'\n", r"line 1: unknown key 'currency'"),
        ("[models]\nx = 3\n", r'line 2: models\."x" must be a table of prices'),
        ("models = { y = { input = 1, outptu = 2 } }\n", r"line 1: unknown key .*outptu"),
    ],
)
def test_a_malformed_pricing_file_is_a_clear_error_naming_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write_pricing(tmp_path, text)
    with pytest.raises(PricingError, match=message) as info:
        load_overrides(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_no_pricing_file_means_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(tmp_path / PRICING_FILE) == ()
    assert load_prices(tmp_path).overrides_file is None


def test_the_hook_leaves_costs_unset_while_the_file_is_malformed_and_reloads_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    row = ModelUsage(model="acme-coder-2", provider="acme", requests=1, input_tokens=1_000_000)
    hook = CostHook(tmp_path)
    write_pricing(tmp_path, '[models."acme-coder-2"]\ninput = "two"\noutput = 8\n')
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        broken = hook.session_ended(session(row))
    assert broken.cost_usd is None
    assert broken.pricing is not None
    assert broken.pricing.error is not None
    assert "line 2" in broken.pricing.error
    assert broken.pricing.unpriced_models == ("acme-coder-2",)
    assert any("costs not computed" in r.getMessage() for r in caplog.records)
    assert hook.price_request("acme", "acme-coder-2", row) is None

    write_pricing(tmp_path, '[models."acme-coder-2"]\ninput = 2.0\noutput = 8.0\n')
    fixed = hook.session_ended(session(row))
    assert fixed.cost_usd == 2.0  # 1M input tokens at $2 per million
    assert fixed.pricing is not None
    assert (fixed.pricing.error, fixed.pricing.overrides) == (None, str(PRICING_FILE))
    cost = hook.price_request("acme", "acme-coder-2", row, at=AT)
    assert cost is not None
    assert cost.cost_usd == Decimal(2)


# --- end to end -----------------------------------------------------------------------------
def rows_1h(stored: dict[str, Any]) -> int:
    return sum(int(row["cache_creation_1h_tokens"]) for row in stored["model_usage"])


def test_a_decorated_model_call_is_priced_in_the_stored_record(tmp_path: Path) -> None:
    with isolated(tmp_path, hooks=[CostHook(tmp_path)]) as (inst, _):

        @inst.model_call(provider="anthropic", model="claude-sonnet-4-5")
        def ask() -> dict[str, Any]:
            return {
                "type": "message",
                "model": "claude-sonnet-4-5-20250929",
                "usage": {
                    "input_tokens": 2_000,
                    "cache_read_input_tokens": 50_000,
                    "cache_creation_input_tokens": 14_000,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 10_000,
                        "ephemeral_1h_input_tokens": 4_000,
                    },
                    "output_tokens": 1_500,
                },
            }

        @inst.model_call(provider="acme", model="acme-secret-9")
        def ask_unknown() -> dict[str, Any]:
            return {"usage": {"input_tokens": 700, "output_tokens": 70}}

        with inst.session(agent="priced") as s:
            ask()
            ask_unknown()

    stored = json.loads((inst.store.folder / f"{s.id}.json").read_text())
    # Sonnet 4.5: $3 input, $0.30 cache read, $3.75 5-minute and $6 1-hour cache writes,
    # $15 output per million; the 1-hour part travels from the response through the span.
    expected = (
        2_000 * Decimal(3)
        + 50_000 * Decimal("0.30")
        + 10_000 * Decimal("3.75")
        + 4_000 * Decimal(6)
        + 1_500 * 15
    ) / M
    assert expected == Decimal("0.105")
    assert rows_1h(stored) == 4_000
    rows = {row["model"]: row for row in stored["model_usage"]}
    assert rows["claude-sonnet-4-5-20250929"]["cost_usd"] == float(expected)
    assert rows["acme-secret-9"]["cost_usd"] is None
    assert stored["cost_usd"] == float(expected)
    assert stored["cache_stats"]["savings_usd"] == float(50_000 * Decimal("2.70") / M)
    assert stored["pricing"]["unpriced_models"] == ["acme-secret-9"]
    assert stored["pricing"]["partial"] is True
    assert s.record is not None
    assert SessionRecord.from_json(stored) == s.record


IMPORTS = """
import runpy, sys
import radium_otel, radium_otel.cli
from radium_otel.testing import isolated
assert "genai_prices" not in sys.modules, "import radium_otel"
sys.argv = ["rad", "--help"]
try:
    runpy.run_module("radium_otel", run_name="__main__")
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("genai_prices")), file=sys.stderr)
"""


def test_the_price_library_is_not_imported_by_radium_or_rad_help(clean_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTS], capture_output=True, text=True, env=clean_env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]"


WARM_UP = """
import sys, threading, time
from pathlib import Path
from radium_otel._internal.pricing import CostHook
hook = CostHook(Path("."))
t = time.perf_counter()
hook.session_started("s")
took = time.perf_counter() - t
for thread in threading.enumerate():
    if thread.name == "radium-prices":
        thread.join()
print(took < 0.05, "genai_prices" in sys.modules)
"""


def test_a_session_start_loads_prices_in_the_background(clean_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", WARM_UP], capture_output=True, text=True, env=clean_env, check=False
    )
    assert (proc.returncode, proc.stdout.split()) == (0, ["True", "True"]), proc.stderr


# --- the fast path agrees with genai-prices -------------------------------------------------
def test_pricing_a_request_after_the_first_asks_genai_prices_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prices = Prices()
    usage = Usage(input_tokens=300_000, output_tokens=10, cache_read_tokens=5)
    assert prices.price_request("anthropic", "claude-sonnet-4-5", usage, at=AT) is not None

    def fail(*args: object) -> Decimal:
        raise AssertionError("genai-prices called again")

    monkeypatch.setattr(pricing, "_calc", fail)
    for n in (1, 10_000, 200_000, 200_001, 900_000):
        assert prices.price_request(
            "anthropic", "claude-sonnet-4-5", replace(usage, input_tokens=n), at=AT
        )


_PRICES = Prices()  # one for all the examples below, as in a long-running agent
MODELS = [
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-1"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("openai", "gpt-5"),
    ("openai", "gpt-5.4"),
    ("deepseek", "deepseek-chat"),
]


@st.composite
def requests(draw: st.DrawFn) -> Tokens:
    input_tokens = draw(
        st.one_of(
            st.integers(0, 2_000),
            st.integers(0, 1_200_000),
            st.sampled_from([100_000, 100_001, 128_000, 200_000, 200_001, 272_000, 272_001]),
        )
    )
    read = draw(st.integers(0, input_tokens))
    write = draw(st.integers(0, input_tokens - read))
    output = draw(st.integers(0, 100_000))
    return Tokens(
        input_tokens=input_tokens,
        output_tokens=output,
        cache_read_tokens=read,
        cache_creation_tokens=write,
        cache_creation_1h_tokens=draw(st.integers(0, write)),
        reasoning_tokens=draw(st.integers(0, output)),
    )


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MODELS), requests())
def test_request_costs_equal_genai_prices_own(model: tuple[str, str], usage: Tokens) -> None:
    from genai_prices import Usage as GenaiUsage
    from genai_prices import calc_price

    provider, name = model
    counts = {
        "input_tokens": usage.input_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_creation_tokens,
        "cache_write_1h_tokens": usage.cache_creation_1h_tokens,
        "output_tokens": usage.output_tokens,
        "output_reasoning_tokens": usage.reasoning_tokens,
    }
    direct = calc_price(
        GenaiUsage(**{k: v for k, v in counts.items() if v}),
        name,
        provider_id=provider,
        genai_request_timestamp=AT,
    )
    no_reads = calc_price(
        GenaiUsage(**{k: v for k, v in counts.items() if v and k != "cache_read_tokens"}),
        name,
        provider_id=provider,
        genai_request_timestamp=AT,
    )

    cost = _PRICES.price_request(provider, name, usage, at=AT)

    assert cost == RequestCost(direct.total_price, no_reads.total_price - direct.total_price)


def test_prices_that_cannot_be_probed_are_priced_by_genai_prices_each_time() -> None:
    from genai_prices.types import ModelPrice, Tier, TieredPrices

    price = ModelPrice(
        input_mtok=TieredPrices(
            base=Decimal(1), tiers=[Tier(10, Decimal(2)), Tier(11, Decimal(3))]
        ),
        output_mtok=Decimal(4),
    )
    pricer = pricing._pricer(price)
    assert isinstance(pricer, pricing._Direct)
    cost, exact = pricer.cost((12, 2, 0, 0, 5, 0))
    assert exact
    assert cost.cost_usd == (12 * 3 + 5 * 4) / M
    assert cost.cache_savings_usd == 0
