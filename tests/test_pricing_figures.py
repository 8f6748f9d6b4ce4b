"""Prices that are not linear in the counts (genai-prices asked each time), for sums of
several requests: priced as that many average requests, their cache savings too, and marked
as estimates; a row priced request by request keeps its cost and gets its cache savings
(issue 20: mutants that survived in ``pricing.py``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices.types import ModelPrice, Tier, TieredPrices
from test_pricing import AT, SONNET_ROW, session, write_pricing

from radium_otel import Usage
from radium_otel._internal import pricing
from radium_otel._internal.pricing import (
    PRICING_FILE,
    CostHook,
    Prices,
    RequestCost,
    load_prices,
    price_record,
    reprice,
)
from radium_otel._internal.record import ModelName, ModelUsage, PricingInfo, TokenBand

M = Decimal(1_000_000)

# The input price rises past 10 and again past 11 tokens: bands too narrow to probe, so
# every request is priced by genai-prices itself. Cache reads cost 0.5, output 4 per Mtok.
PRICE = ModelPrice(
    input_mtok=TieredPrices(base=Decimal(1), tiers=[Tier(10, Decimal(2)), Tier(11, Decimal(3))]),
    cache_read_mtok=Decimal("0.5"),
    output_mtok=Decimal(4),
)


@pytest.fixture
def direct() -> pricing._Direct:
    pricer = pricing._pricer(PRICE)
    assert isinstance(pricer, pricing._Direct)
    return pricer


def test_one_request_is_priced_exactly(direct: pricing._Direct) -> None:
    # (input, cache read, cache write, 1-hour write, output, reasoning)
    cost = direct.cost((12, 2, 0, 0, 5, 0))
    # 10 uncached at the top tier (3), 2 read at 0.5, 5 out at 4; without the read: 12 at 3.
    assert cost == (RequestCost(Decimal(51) / M, Decimal(5) / M), True)


def test_two_requests_are_two_average_requests_in_their_own_tier(
    direct: pricing._Direct,
) -> None:
    # Two requests of 6 input tokens (1 read) and 5 output each: the base tier, not the tier
    # of their summed 12 tokens.
    cost = direct.cost((12, 2, 0, 0, 10, 0), requests=2)
    assert cost == (RequestCost(2 * Decimal("25.5") / M, 2 * Decimal("0.5") / M), False)


def test_three_requests_at_the_top_tier(direct: pricing._Direct) -> None:
    cost = direct.cost((36, 6, 0, 0, 15, 0), requests=3)
    assert cost == (RequestCost(3 * Decimal(51) / M, 3 * Decimal(5) / M), False)


def test_a_row_priced_request_by_request_keeps_its_cost_and_gets_its_savings() -> None:
    """A row whose cost was summed request by request but whose cache savings were not
    recorded: its cost stays, its savings are worked out from its sums (50,000 reads of
    Claude Sonnet 4.5 at $0.30 instead of $3 per Mtok: $0.135)."""
    row = replace(SONNET_ROW, cost_usd=0.5, cache_savings_usd=None)
    priced = price_record(session(row), Prices())
    assert [(r.cost_usd, r.cache_savings_usd) for r in priced.model_usage] == [(0.5, 0.135)]
    assert (priced.cost_usd, priced.cache_stats.savings_usd) == (0.5, 0.135)

    kept = replace(SONNET_ROW, cost_usd=0.5, cache_savings_usd=0.01)
    again = price_record(session(kept), Prices())
    assert [(r.cost_usd, r.cache_savings_usd) for r in again.model_usage] == [(0.5, 0.01)]
    assert (again.cost_usd, again.cache_stats.savings_usd) == (0.5, 0.01)


GPT_ROW = ModelUsage(
    model="gpt-4o-2024-08-06",
    provider="openai",
    requests=2,
    input_tokens=30_000,
    output_tokens=1_000,
    cache_read_tokens=10_000,
)
UNKNOWN_ROW = ModelUsage(
    model="acme-7", provider="acme", requests=1, input_tokens=500, cache_read_tokens=100
)


def test_the_cache_savings_of_a_session_add_up_over_its_models() -> None:
    """Sonnet 4.5 saves $0.135 on 50,000 reads; gpt-4o ($2.50 input, $1.25 cached per Mtok)
    $0.0125 on 10,000; a model without a price adds nothing known."""
    both = price_record(session(SONNET_ROW, GPT_ROW, UNKNOWN_ROW), Prices(), warn=False)
    assert [r.cache_savings_usd for r in both.model_usage] == [0.135, 0.0125, None]
    assert both.cache_stats.savings_usd == 0.1475  # summed as decimals

    only_unknown = price_record(session(UNKNOWN_ROW), Prices(), warn=False)
    assert (only_unknown.cost_usd, only_unknown.cache_stats.savings_usd) == (None, None)
    no_reads = price_record(session(replace(GPT_ROW, cache_read_tokens=0)), Prices(), warn=False)
    assert no_reads.cache_stats.savings_usd == 0.0


# --- a price per request --------------------------------------------------------------------
PER_REQUEST = ModelPrice(
    input_mtok=Decimal(1), output_mtok=Decimal(4), requests_kcount=Decimal(5)
)  # and $5 per thousand requests


@pytest.mark.parametrize(
    ("counts", "requests", "cost"),
    [
        ((1_000, 0, 0, 0, 100, 0), None, Decimal(5) / 1_000 + Decimal(1_400) / M),
        ((3_000, 0, 0, 0, 300, 0), 3, 3 * Decimal(5) / 1_000 + Decimal(4_200) / M),
    ],
)
def test_a_price_per_request_is_paid_once_a_request(
    counts: pricing._Counts, requests: int | None, cost: Decimal
) -> None:
    linear = pricing._pricer(PER_REQUEST)
    assert isinstance(linear, pricing._Linear)
    found = linear.cost(counts) if requests is None else linear.cost(counts, requests)
    assert found == (RequestCost(cost, Decimal(0)), True)


# --- the workspace's prices, request by request -------------------------------------------
NEGOTIATED = '[models."claude-sonnet-4-5"]\nprovider = "anthropic"\ninput = 1.5\noutput = 7.5\n'


def test_the_hook_prices_a_request_with_the_files_prices_from_the_first_call(
    tmp_path: Path,
) -> None:
    """Before any session started: the workspace's pricing.toml counts already; its override
    holds for its provider only; genai-prices' prices are those of the request's date."""
    write_pricing(tmp_path, NEGOTIATED)
    hook = CostHook(tmp_path)
    usage = Usage(input_tokens=100_000, output_tokens=100_000)
    assert hook.price_request("anthropic", "claude-sonnet-4-5", usage, at=AT) == RequestCost(
        (100_000 * Decimal("1.5") + 100_000 * Decimal("7.5")) / M, Decimal(0)
    )
    listed = hook.price_request("gcp.vertex_ai", "claude-sonnet-4-5", usage, at=AT)
    assert listed == RequestCost((100_000 * Decimal(3) + 100_000 * Decimal(15)) / M, Decimal(0))
    # OpenAI cut o3 from $10 / $40 to $2 / $8 per million input / output on 2025-06-10.
    million = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    before = hook.price_request(
        "openai", "o3", million, at=datetime(2025, 6, 9, tzinfo=timezone.utc)
    )
    assert before == RequestCost(Decimal(50), Decimal(0))


def test_a_session_ending_while_the_file_is_malformed_says_why_and_prices_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_pricing(tmp_path, '[models."acme-coder-3"]\ninput = "two"\noutput = 8\n')
    row = ModelUsage(model="acme-coder-3", provider="acme", requests=1, input_tokens=1_000)
    hook = CostHook(tmp_path)
    error = f"{tmp_path / PRICING_FILE}, line 2: " + (
        'models."acme-coder-3".input must be a non-negative number (USD per million tokens), '
        "not 'two'"
    )
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        broken = hook.session_ended(session(row, GPT_ROW))
    assert [r.getMessage() for r in caplog.records] == [f"radium-otel: costs not computed: {error}"]
    assert broken.pricing == PricingInfo(
        overrides=str(PRICING_FILE),
        unpriced_models=("acme-coder-3", "gpt-4o-2024-08-06"),
        partial=True,
        error=error,
    )
    assert hook.session_ended(session()).pricing == PricingInfo(
        overrides=str(PRICING_FILE), error=error
    )


# --- rows that have no price (any more) ----------------------------------------------------
def test_repricing_a_row_whose_model_lost_its_price_drops_its_stored_figures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A row priced by an override that is gone: ``--reprice`` leaves it unpriced (cost and
    savings n/a, none kept from before), the session's savings unknown, and logs nothing."""
    row = replace(UNKNOWN_ROW, model="acme-8", cost_usd=1.0, cache_savings_usd=0.5)
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        again = reprice(session(row), Prices())
    assert [(r.cost_usd, r.cache_savings_usd) for r in again.model_usage] == [(None, None)]
    assert (again.cost_usd, again.cache_stats.savings_usd) == (None, None)
    assert caplog.records == []


def test_a_row_priced_request_by_request_keeps_its_cost_without_a_price_now() -> None:
    row = replace(UNKNOWN_ROW, model="acme-9", cost_usd=0.25, cache_savings_usd=None)
    priced = price_record(session(row), Prices(), warn=False)
    assert [(r.cost_usd, r.cache_savings_usd) for r in priced.model_usage] == [(0.25, None)]
    assert (priced.cost_usd, priced.cache_stats.savings_usd) == (0.25, None)


def test_the_warning_names_each_model_without_a_price_once_with_its_provider_and_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [
        replace(UNKNOWN_ROW, model="acme-10"),
        replace(UNKNOWN_ROW, model="acme-11", provider=None),
        GPT_ROW,
    ]
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        price_record(session(*rows), Prices())
        price_record(session(*rows), Prices())  # named once in a process
    assert [r.getMessage() for r in caplog.records] == [
        "radium-otel: no price for 'acme-10' (acme) [Unable to find provider provider_id='acme'],"
        " 'acme-11' [Unable to find provider with model matching 'acme-11']: cost shown as n/a,"
        " session totals as partial (≥); add prices to .radium/pricing.toml"
    ]


# --- finding a model's price ----------------------------------------------------------------
@pytest.mark.parametrize(
    "model",
    [
        "gemini-2.5-pro",
        "models/gemini-2.5-pro",
        "publishers/google/models/gemini-2.5-pro",
        "projects/p/locations/us/publishers/google/models/gemini-2.5-pro",
    ],
)
def test_a_model_named_by_its_resource_path_is_priced_by_its_last_segment(model: str) -> None:
    # $1.25 input, $10 output per million tokens (up to 200k input)
    usage = Usage(input_tokens=1_000, output_tokens=100)
    cost = Prices().price_request("google", model, usage, at=AT)
    assert cost == RequestCost(Decimal(2_250) / M, Decimal(0))
    assert Prices().why_unpriced("google", model) is None  # (today's prices too)


def test_an_override_for_a_provider_comes_before_one_for_any_provider(tmp_path: Path) -> None:
    """Two tables for one model (names differ only in case): the one naming the provider
    prices its requests, the other the rest, whatever their order in the file; a rate of 0
    is a price (free cache reads), and decimals are read as written."""
    write_pricing(
        tmp_path,
        """\
        [models."ACME-X"]
        input = 5
        output = 5
        [models."acme-x"]
        provider = "acme"
        input = 1.1
        output = 2
        cache_read = 0
        """,
    )
    prices = load_prices(tmp_path)
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=500_000)
    assert prices.price_request("acme", "acme-x", usage, at=AT) == RequestCost(
        Decimal("0.55") + Decimal(2), Decimal("0.55")
    )
    assert prices.price_request("other", "acme-x", usage, at=AT) == RequestCost(
        Decimal(10), Decimal(0)
    )


def test_cache_counts_larger_than_the_input_make_the_input() -> None:
    """A usage whose input leaves out its cache (0 here): input = reads + writes, 200,000
    (not above Sonnet 4.5's long-context tier): $0.30 a million cache reads, $3.75 a million
    5-minute writes; the reads save $2.70 a million."""
    usage = Usage(input_tokens=0, cache_read_tokens=100_000, cache_creation_tokens=100_000)
    assert Prices().price_request("anthropic", "claude-sonnet-4-5", usage, at=AT) == RequestCost(
        Decimal("0.405"), Decimal("0.27")
    )


def test_requests_summed_in_a_band_starting_at_a_tier_are_an_estimate() -> None:
    """A tier starting at 200,000 input tokens holds inputs above it: two requests summed in
    a band from 200,000 may be one in each tier (an estimate); from 200,001 both are above."""
    price = ModelPrice(
        input_mtok=TieredPrices(base=Decimal(1), tiers=[Tier(200_000, Decimal(2))]),
        output_mtok=Decimal(4),
    )
    linear = pricing._pricer(price)
    assert isinstance(linear, pricing._Linear)
    at_start = linear.cost((400_000, 0, 0, 0, 0, 0), 2, (200_000, None))
    assert at_start == (RequestCost(Decimal("0.4"), Decimal(0)), False)
    above = linear.cost((400_002, 0, 0, 0, 0, 0), 2, (200_001, None))
    assert above == (RequestCost(Decimal("0.800004"), Decimal(0)), True)


def test_a_row_whose_names_do_not_add_up_to_it_is_priced_from_its_totals() -> None:
    """A record edited by hand: its per-name bands no longer give the row's totals, so the
    totals are priced (gpt-4o: $2.50 a million input tokens)."""
    band = TokenBand(0, 32_000, 1, 1_000)
    row = ModelUsage(
        model="gpt-4o",
        provider="openai",
        requests=1,
        input_tokens=1_000_000,
        names=(ModelName("gpt-4o", "openai", 1, 0, (band,)),),
    )
    priced = price_record(session(row), Prices(), warn=False)
    assert [r.cost_usd for r in priced.model_usage] == [2.5]
