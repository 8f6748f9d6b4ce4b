"""Every request priced at its own tier, from the sums a record keeps (issue 17.1, SPEC "Cost").

A session's requests are added up per model name and per band of input sizes; no genai-prices
tier starts inside a band, so the sums price each request exactly at its tier, at session end
and at ``--reprice``. Checked here against genai-prices' own ``calc_price`` for each request
(the real library and data, nothing mocked), across models whose tiers start at each of the
thresholds genai-prices uses, with requests exactly at, just below and just above them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radium_otel._internal import pricing
from radium_otel._internal.aggregate import ModelCall, SessionState
from radium_otel._internal.pricing import Prices, price_record, reprice
from radium_otel._internal.record import INPUT_BAND_EDGES, SessionRecord, TokenBand

S = 10**9
T0 = 1_762_000_000 * S  # 2025-11-01: the prices in force then


# (provider as instrumentations report it, genai-prices provider id, model, tier starts)
MODELS = [
    ("gcp.gemini", "google", "gemini-2.5-pro", (200_000,)),
    ("anthropic", "anthropic", "claude-sonnet-4-5", (200_000,)),
    ("openai", "openai", "gpt-5.4", (272_000,)),
    ("gcp.gemini", "google", "gemini-1.5-flash", (128_000,)),
    ("x_ai", "x-ai", "grok-4.20", (199_999,)),
    ("openrouter", "openrouter", "qwen/qwen3-coder-flash", (32_000, 128_000)),
    ("minimax", "minimax", "minimax-m3", (512_000,)),
    ("novita", "novita", "minimax/minimax-m3", (524_288,)),
    ("cursor", "cursor", "grok-4.7", (256_000,)),
    ("anthropic", "anthropic", "claude-haiku-5-5", (100_000,)),
    ("openai", "openai", "gpt-5", ()),
]
PROVIDER_IDS = {(p, m): pid for p, pid, m, _ in MODELS}


def test_the_band_edges_are_every_tier_start_in_the_installed_genai_prices_data() -> None:
    from genai_prices.data_snapshot import get_snapshot
    from genai_prices.types import ModelPrice, TieredPrices

    starts: set[int] = set()
    for provider in get_snapshot().providers:
        for model in provider.models:
            prices = [model.prices] if isinstance(model.prices, ModelPrice) else model.prices
            variants = [v.prices for v in model.price_variants or ()]
            for price in [getattr(p, "prices", p) for p in prices] + variants:
                for value in vars(price).values():
                    if isinstance(value, TieredPrices):
                        starts.update(tier.start for tier in value.tiers)
    assert starts <= set(INPUT_BAND_EDGES)
    assert list(INPUT_BAND_EDGES) == sorted(set(INPUT_BAND_EDGES))
    for _, _, _, model_starts in MODELS:  # the models below cover these thresholds
        assert set(model_starts) <= set(INPUT_BAND_EDGES)


def call(provider: str, model: str, input_tokens: int, **counts: int) -> ModelCall:
    return ModelCall(model, provider, T0, T0 + S, False, input_tokens, **counts)


def session(calls: Sequence[ModelCall]) -> SessionRecord:
    state = SessionState("0b9f6f0e-2c1e-4c55-9d0e-6a1f3f1f2a10", start_ns=T0, explicit=True,
                         metadata={})  # fmt: skip
    for c in calls:
        state.add_request(c, scope=None)
    return state.to_record("completed", T0 + 60 * S)


def genai_prices_cost(c: ModelCall, at: datetime) -> tuple[Decimal, Decimal]:
    """genai-prices' own price of one request, and what its cache reads saved."""
    from genai_prices import Usage, calc_price

    counts = {
        "input_tokens": c.input_tokens,
        "cache_read_tokens": c.cache_read_tokens,
        "cache_write_tokens": c.cache_creation_tokens,
        "cache_write_1h_tokens": c.cache_creation_1h_tokens,
        "output_tokens": c.output_tokens,
        "output_reasoning_tokens": c.reasoning_tokens,
    }
    provider_id = PROVIDER_IDS[c.provider or "", c.model]

    def price(**usage: int) -> Decimal:
        usage = {k: v for k, v in usage.items() if v}
        found = calc_price(Usage(**usage), c.model, provider_id=provider_id,
                           genai_request_timestamp=at)  # fmt: skip
        total: Decimal = found.total_price
        return total

    total = price(**counts)
    return total, price(**{**counts, "cache_read_tokens": 0}) - total


def expected(calls: Sequence[ModelCall], at: datetime) -> dict[str, tuple[Decimal, Decimal]]:
    """Per model: the sum of its requests' costs and cache savings, each priced alone."""
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for c in calls:
        cost, saved = genai_prices_cost(c, at)
        before = out.get(c.model, (Decimal(0), Decimal(0)))
        out[c.model] = (before[0] + cost, before[1] + saved)
    return out


def assert_priced_per_request(record: SessionRecord, calls: Sequence[ModelCall]) -> None:
    want = expected(calls, record.start_time)
    assert {row.model: (row.cost_usd, row.cache_savings_usd) for row in record.model_usage} == {
        model: (float(cost), float(saved)) for model, (cost, saved) in want.items()
    }
    assert record.cost_usd == float(sum(cost for cost, _ in want.values()))
    assert record.pricing is not None
    assert record.pricing.estimated_models == ()
    assert record.pricing.unpriced_models == ()


def at_the_thresholds() -> list[ModelCall]:
    """Per model: requests below, exactly at, and just above each tier start, and a small one."""
    calls = []
    for provider, _, model, starts in MODELS:
        sizes = (
            [1_000] + [n for s in starts for n in (s - 1, s, s + 1)] + [2 * max(starts, default=1)]
        )
        for i, n in enumerate(sizes):
            read = n // 3 if i % 2 else 0
            write = n // 10 if i % 3 == 1 else 0
            calls.append(
                call(provider, model, n, output_tokens=2_000 + i, cache_read_tokens=read,
                     cache_creation_tokens=write, reasoning_tokens=500 if i % 2 else 0)
            )  # fmt: skip
    return calls


def test_the_issue_example_two_gemini_requests_on_both_sides_of_200k() -> None:
    calls = [
        call("gcp.gemini", "gemini-2.5-pro", 150_000, output_tokens=10_000),
        call("gcp.gemini", "gemini-2.5-pro", 250_000, output_tokens=10_000),
    ]
    record = price_record(session(calls), Prices())
    # $1.25 in / $10 out per million up to 200k input, $2.50 / $15 above it
    assert record.cost_usd == 0.2875 + 0.775 == 1.0625
    assert record.pricing is not None
    assert record.pricing.estimated_models == ()


def test_each_request_is_priced_at_its_own_tier_at_session_end_and_at_reprice() -> None:
    calls = at_the_thresholds()
    prices = Prices()

    record = price_record(session(calls), prices)
    assert_priced_per_request(record, calls)

    # --reprice reads the stored JSON and prices its sums again, exactly.
    stored = SessionRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert stored == record
    again = reprice(stored, Prices())
    assert_priced_per_request(again, calls)


def test_the_bands_stored_for_requests_at_a_threshold() -> None:
    record = session(
        [call("anthropic", "claude-sonnet-4-5", n, output_tokens=1) for n in
         (0, 32_000, 32_001, 199_999, 200_000, 200_001, 600_000)]
    )  # fmt: skip
    (row,) = record.model_usage
    (name,) = row.names
    assert [(b.input_at_least, b.input_at_most, b.requests) for b in name.bands] == [
        (0, 32_000, 2),
        (32_001, 100_000, 1),
        (128_001, 199_999, 1),
        (200_000, 200_000, 1),
        (200_001, 256_000, 1),
        (524_289, None, 1),
    ]
    assert sum(b.input_tokens for b in name.bands) == row.input_tokens


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(MODELS),
            st.one_of(
                st.integers(0, 600_000),
                st.sampled_from(INPUT_BAND_EDGES).flatmap(lambda e: st.integers(e - 1, e + 1)),
            ),
            st.integers(0, 50_000),
            st.floats(0, 1),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_mix_of_requests_costs_the_sum_of_genai_prices_per_request(
    requests: list[tuple[tuple[str, str, str, tuple[int, ...]], int, int, float]],
) -> None:
    calls = [
        call(provider, model, n, output_tokens=out, cache_read_tokens=int(n * share),
             reasoning_tokens=out // 3)
        for (provider, _, model, _), n, out, share in requests
    ]  # fmt: skip
    record = price_record(session(calls), Prices())
    assert_priced_per_request(record, calls)
    assert_priced_per_request(reprice(record, Prices()), calls)


def test_a_record_without_bands_is_priced_from_its_totals_as_before() -> None:
    calls = [
        call("gcp.gemini", "gemini-2.5-pro", 150_000, output_tokens=10_000),
        call("gcp.gemini", "gemini-2.5-pro", 250_000, output_tokens=10_000),
    ]
    data = price_record(session(calls), Prices()).to_json()
    for row in data["model_usage"]:
        del row["names"]  # as written before radium-otel kept them
    old = reprice(SessionRecord.from_json(data), Prices())
    # Only the average request (200k: the base tier) is known: an estimate, and said so.
    assert old.cost_usd == pytest.approx(0.70)
    assert old.pricing is not None
    assert old.pricing.estimated_models == ("gemini-2.5-pro",)


def test_a_tier_starting_inside_a_band_makes_that_band_an_estimate() -> None:
    # Price data newer than a record's bands: a tier at 150k, inside the band 128,001-199,999.
    from genai_prices.types import ModelPrice, Tier, TieredPrices

    price = ModelPrice(
        input_mtok=TieredPrices(base=Decimal(1), tiers=[Tier(150_000, Decimal(2))]),
        output_mtok=Decimal(4),
    )
    pricer = pricing._pricer(price)
    band = TokenBand(128_001, 199_999, requests=2, input_tokens=300_000)
    counts = pricing._counts(band)
    assert pricer.cost(counts, 2, (128_001, 199_999))[1] is False
    assert pricer.cost(counts, 2, (200_000, 200_000))[1] is True  # above it: one tier
    assert pricer.cost(counts, 1, (128_001, 199_999))[1] is True  # one request: its own size
    # No bands (an older record), 140k input in all: every request is below the tier.
    assert pricer.cost(pricing._counts(TokenBand(0, None, 2, 140_000)), 2, (0, None))[1] is True
