"""Prices that are not linear in the counts (genai-prices asked each time), for sums of
several requests: priced as that many average requests, their cache savings too, and marked
as estimates; a row priced request by request keeps its cost and gets its cache savings
(issue 20: mutants that survived in ``pricing.py``).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from genai_prices.types import ModelPrice, Tier, TieredPrices
from test_pricing import SONNET_ROW, session

from radium_otel._internal import pricing
from radium_otel._internal.pricing import Prices, RequestCost, price_record
from radium_otel._internal.record import ModelUsage

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
