"""What model requests cost, priced with genai-prices (SPEC "Cost", "Rates").

Prices come from `genai-prices`_ — the data bundled in its wheel (never fetched, never
auto-updated by radium; a snapshot the application itself loaded with
``genai_prices.UpdatePrices`` is used and named in the version) — plus the workspace's
``.radium/pricing.toml``, which adds or replaces prices per model::

    # USD per million tokens
    [models."acme-coder-1"]
    input = 1.10
    output = 4.40
    cache_read = 0.275      # optional: without it cache reads are billed as input
    cache_write = 1.375     # optional: without it cache writes are billed as input
    cache_write_1h = 2.20   # optional, needs cache_write: 1-hour cache writes
    provider = "openai"     # optional: only for requests to this provider

An override matches the model name exactly (case-insensitively); genai-prices' own models
are matched the way genai-prices matches them (prefixes, dated versions, aliases).

**Per request.** Some prices have tiers by request size (Gemini 2.5 Pro above 200k input
tokens, Claude Sonnet 4.5 above 200k, GPT-5.4 above 272k): the tier is chosen by the input
tokens *of each request* and applies to all of that request's tokens. `Prices.price_request`
prices one request exactly. It is cheap (a few µs): for each price table, genai-prices is
asked once for the cost of a handful of probe requests per size band, which gives the cost
of any request as a linear function of its token counts inside that band; the function is
checked against genai-prices on a sample request and, should pricing ever stop being linear,
each request is priced by genai-prices itself.

**From sums, exactly.** A stored record holds per-model *sums* over requests, kept apart
for each name the requests reported (`ModelName`) and each band of input sizes between two
of the sizes at which any genai-prices tier starts (`TokenBand`, `INPUT_BAND_EDGES`). No
tier starts inside a band, so all requests of a band are in one tier and, cost being linear
in the counts within a tier, their summed counts price each at its own tier: exact at
session end and again at `reprice`, with other prices, and without pricing on the agent's
path. Rows without bands (records written before them) and bands a tier starts inside (price
data newer than the record's bands) are exact when they hold one request, or no more input
in all than the first tier inside starts at; otherwise the tier is chosen by the average
request and the model is listed in ``pricing.estimated_models``.

genai-prices is imported lazily, inside functions, so that neither ``import radium_otel``
nor ``rad --help`` pays for it; `CostHook` warms it up in a background thread when a session
opens.

.. _genai-prices: https://github.com/pydantic/genai-prices
"""

from __future__ import annotations

import itertools
import math
import re
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from radium_otel._internal.errors import log_internal_error, logger, warn_once
from radium_otel._internal.record import ModelUsage, PricingInfo, SessionRecord

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice

__all__ = [
    "PRICING_FILE",
    "CostHook",
    "PriceOverride",
    "Prices",
    "PricingError",
    "RequestCost",
    "TokenCounts",
    "load_overrides",
    "load_prices",
    "price_record",
    "reprice",
]

#: Where a workspace's price overrides live, relative to the workspace.
PRICING_FILE = Path(".radium") / "pricing.toml"

# OpenTelemetry ``gen_ai.provider.name`` / legacy ``gen_ai.system`` / OpenInference
# ``llm.provider`` values whose genai-prices provider id genai-prices cannot tell by itself.
# Any other value is handed to genai-prices, which knows its ids and a few spellings.
_PROVIDER_IDS: Mapping[str, str] = {
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "azure.ai.openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "aws.bedrock": "aws",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
}

# Token counts of a request, in the order of genai-prices' usage keys below. Input includes
# cache reads and writes, cache writes include 1-hour writes, output includes reasoning.
_Counts = tuple[int, int, int, int, int, int]
_USAGE_KEYS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "output_reasoning_tokens",
)
_IN, _READ, _WRITE, _WRITE_1H, _OUT, _REASONING = range(6)
_MILLION = Decimal(1_000_000)
_RATE_KEYS = {  # pricing.toml key -> genai-prices price key
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "cache_write_1h": "cache_write_1h_mtok",
}
_CACHE_LIMIT = 1024  # look-ups and price tables remembered


class PricingError(ValueError):
    """A ``pricing.toml`` that cannot be used; the message names the file and the line."""


class TokenCounts(Protocol):
    """The token counts of one request (or of several, summed), in SPEC "Tokens" semantics.

    `ModelUsage`, ``radium_otel.Usage`` and the processor's ``ModelCall`` all fit. A
    ``cache_creation_1h_tokens`` attribute, when present, is the 1-hour part of the cache
    writes; without it every cache write is billed at the default (5-minute) write price.
    """

    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def cache_read_tokens(self) -> int | None: ...
    @property
    def cache_creation_tokens(self) -> int | None: ...
    @property
    def reasoning_tokens(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class RequestCost:
    """What requests cost, and what their cache reads saved, in USD."""

    cost_usd: Decimal
    cache_savings_usd: Decimal  # cache reads at the full input price − at the cache-read price


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """Prices of one model from ``pricing.toml``, in USD per million tokens."""

    model: str
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    provider: str | None = None  # only for requests to this provider


# --- pricing one price table ----------------------------------------------------------------
class _Linear:
    """Cost of a request as a linear function of its token counts, per input-size band.

    Band ``i`` holds requests whose input exceeds ``starts[i - 1]`` (band 0: the rest), as
    genai-prices chooses tiers. ``coefs[i]`` is (per request, then per token of each count).
    """

    __slots__ = ("coefs", "starts")

    def __init__(self, starts: tuple[int, ...], coefs: tuple[tuple[Decimal, ...], ...]) -> None:
        self.starts = starts
        self.coefs = coefs

    def cost(
        self, counts: _Counts, requests: int = 1, sizes: _Sizes = (0, None)
    ) -> tuple[RequestCost, bool]:
        """Cost of ``requests`` requests whose counts add up to ``counts`` and whose input
        sizes are each within ``sizes``; and if exact.
        """
        input_tokens = counts[_IN]
        exact = requests <= 1 or _one_tier(self.starts, sizes, input_tokens)
        # The band of the average request: thresholds its input exceeds.
        c = self.coefs[sum(1 for s in self.starts if input_tokens > s * requests)]
        total = c[0] * requests + sum(
            (k * n for k, n in zip(c[1:], counts, strict=True) if n), Decimal(0)
        )
        return RequestCost(total, -c[1 + _READ] * counts[_READ]), exact


class _Direct:
    """Asks genai-prices for every request: the fallback when pricing is not linear."""

    __slots__ = ("price",)

    def __init__(self, price: ModelPrice) -> None:
        self.price = price

    def cost(
        self, counts: _Counts, requests: int = 1, sizes: _Sizes = (0, None)
    ) -> tuple[RequestCost, bool]:
        """As `_Linear.cost`; several requests are priced as that many average requests."""
        if requests <= 1:
            total = _calc(self.price, counts)
            no_reads = _calc(self.price, _with(counts, _READ, 0))
            return RequestCost(total, no_reads - total), True
        average = tuple(Decimal(n) / requests for n in counts)
        total = _calc(self.price, average) * requests
        no_reads = _calc(self.price, _with(average, _READ, Decimal(0))) * requests
        return RequestCost(total, no_reads - total), False


_Pricer = _Linear | _Direct
# Input sizes every request of a sum lies within: (at least, at most; None: no bound).
_Sizes = tuple[int, int | None]


def _one_tier(starts: Sequence[int], sizes: _Sizes, input_tokens: int) -> bool:
    """Whether every request with input within ``sizes`` and at most ``input_tokens`` is in
    one tier of tiers starting at ``starts`` (a tier holds the inputs exceeding its start).
    """
    low, high = sizes
    top = input_tokens if high is None else min(high, input_tokens)
    return not any(low <= s < top for s in starts)


def _calc(price: ModelPrice, counts: Sequence[int | Decimal]) -> Decimal:
    """genai-prices' total for one request with these counts."""
    from genai_prices import Usage

    usage = Usage(**{key: n for key, n in zip(_USAGE_KEYS, counts, strict=True) if n})
    total: Decimal = price.calc_price(usage)["total_price"]
    return total


def _with(counts: Sequence[Any], index: int, value: Any) -> Any:
    return (*counts[:index], value, *counts[index + 1 :])


def _pricer(price: ModelPrice) -> _Pricer:
    """The cheapest exact way to price requests with ``price`` (see the module docstring)."""
    from genai_prices.types import TieredPrices

    starts = sorted(
        {
            tier.start
            for value in vars(price).values()
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )
    if any(b - a < 2 for a, b in itertools.pairwise([0, *starts])):
        return _Direct(price)  # a band too narrow to probe with two requests
    coefs = []
    for low, high in zip([0, *starts], [*starts, None], strict=True):
        n = low + 1  # a request of this band; n + 1 is one too
        base = _calc(price, (n, 0, 0, 0, 0, 0))
        write = _calc(price, (n, 0, 1, 0, 0, 0))
        out = _calc(price, (n, 0, 0, 0, 1, 0))
        per_input = _calc(price, (n + 1, 0, 0, 0, 0, 0)) - base
        band = (
            base - per_input * n,
            per_input,
            _calc(price, (n, 1, 0, 0, 0, 0)) - base,
            write - base,
            _calc(price, (n, 0, 1, 1, 0, 0)) - write,
            out - base,
            _calc(price, (n, 0, 0, 0, 1, 1)) - out,
        )
        coefs.append(band)
        # Check the linear form against genai-prices on a request with every count set.
        d = 997 if high is None else min(997, high - n)
        sample: _Counts = (n + d, d // 3, d // 4, d // 8, 501, 123)
        linear = band[0] + sum((k * c for k, c in zip(band[1:], sample, strict=True)), Decimal(0))
        if linear != _calc(price, sample):
            return _Direct(price)
    return _Linear(tuple(starts), tuple(coefs))


def _override_price(o: PriceOverride) -> ModelPrice:
    from genai_prices.types import ModelPrice

    rates = {_RATE_KEYS[key]: getattr(o, key) for key in _RATE_KEYS}
    return ModelPrice(**{key: rate for key, rate in rates.items() if rate is not None})


# --- finding prices -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Found:
    """A model's prices: a genai-prices model (prices may change by date) or an override."""

    model: ModelInfo | None = None
    override: _Pricer | None = None


class Prices:
    """genai-prices' data plus a workspace's overrides, with cheap repeated look-ups.

    Thread-safe: caches are only ever filled (racing threads compute the same value).
    """

    def __init__(
        self, overrides: Iterable[PriceOverride] = (), *, overrides_file: str | None = None
    ) -> None:
        self._overrides: dict[str, list[PriceOverride]] = {}
        for o in overrides:
            self._overrides.setdefault(o.model.lower(), []).append(o)
        self.overrides_file = overrides_file if self._overrides else None
        self._snapshot: DataSnapshot | None = None
        self._found: dict[tuple[str | None, str], _Found | str] = {}
        self._pricers: dict[int, tuple[ModelPrice, _Pricer | str]] = {}

    @property
    def version(self) -> str:
        """The price data: the genai-prices release whose data is used."""
        import genai_prices

        snapshot = self._data()
        if snapshot.from_auto_update:
            return f"{genai_prices.__version__} (updated {snapshot.timestamp:%Y-%m-%dT%H:%M:%S})"
        return genai_prices.__version__

    def price_request(
        self, provider: str | None, model: str, usage: TokenCounts, *, at: datetime | None = None
    ) -> RequestCost | None:
        """What one request cost (tiers by its own size), None when the model has no price.

        ``at`` is when the request was made (prices change by date); default now.
        """
        found = self.price(provider, model, _counts(usage), at=at)
        return None if found is None else found[0]

    def price(
        self,
        provider: str | None,
        model: str,
        counts: _Counts,
        *,
        requests: int = 1,
        sizes: _Sizes = (0, None),
        at: datetime | None = None,
    ) -> tuple[RequestCost, bool] | None:
        """Cost of ``requests`` requests adding up to ``counts``, each with an input size
        within ``sizes`` (at least, at most), and whether it is exact.
        """
        pricer = self._pricer_for(provider, model, at or datetime.now(timezone.utc))
        return None if isinstance(pricer, str) else pricer.cost(counts, max(requests, 1), sizes)

    def why_unpriced(
        self, provider: str | None, model: str, *, at: datetime | None = None
    ) -> str | None:
        """Why a model has no price (None when it has one)."""
        pricer = self._pricer_for(provider, model, at or datetime.now(timezone.utc))
        return pricer if isinstance(pricer, str) else None

    def _pricer_for(self, provider: str | None, model: str, at: datetime) -> _Pricer | str:
        found = self._find(provider, model)
        if isinstance(found, str):
            return found
        if found.override is not None:
            return found.override
        assert found.model is not None
        price = found.model.get_prices(at)  # the same object while the date's prices hold
        cached = self._pricers.get(id(price))
        if cached is None or cached[0] is not price:
            try:
                pricer: _Pricer | str = _pricer(price)
            except ValueError as exc:  # genai-prices refuses its own data for this model
                pricer = f"genai-prices cannot price it: {exc}"
            if len(self._pricers) > _CACHE_LIMIT:
                self._pricers.clear()
            cached = self._pricers[id(price)] = (price, pricer)
        return cached[1]

    def _find(self, provider: str | None, model: str) -> _Found | str:
        key = (provider, model)
        found = self._found.get(key)
        if found is None:
            found = self._look_up(provider, model)
            if len(self._found) > _CACHE_LIMIT:
                self._found.clear()
            self._found[key] = found
        return found

    def _look_up(self, provider: str | None, model: str) -> _Found | str:
        pid = _provider_id(provider)
        candidates = self._overrides.get(model.lower(), ())
        for o in sorted(candidates, key=lambda o: o.provider is None):
            if o.provider is None or _provider_id(o.provider) == pid:
                try:
                    return _Found(override=_pricer(_override_price(o)))
                except ValueError as exc:  # genai-prices refused the rates
                    return f"bad override: {exc}"
        snapshot = self._data()
        reason = ""
        # "models/gemini-2.5-pro", "publishers/google/models/...": try the last segment too.
        for ref in dict.fromkeys((model, model.rsplit("/", 1)[-1])):
            try:
                return _Found(model=snapshot.find_provider_model(ref, None, pid, None)[1])
            except LookupError as exc:
                reason = reason or str(exc)
        return reason or "no price"

    def _data(self) -> DataSnapshot:
        if self._snapshot is None:
            from genai_prices.data_snapshot import get_snapshot

            self._snapshot = get_snapshot()
        return self._snapshot


def _provider_id(provider: str | None) -> str | None:
    if provider is None:
        return None
    key = provider.strip().lower()
    return _PROVIDER_IDS.get(key, key) or None


def _counts(usage: TokenCounts) -> _Counts:
    """Counts of a usage, made consistent (input ⊇ cache, writes ⊇ 1-hour, output ⊇ reasoning)."""
    read = usage.cache_read_tokens or 0
    write = usage.cache_creation_tokens or 0
    write_1h = min(int(getattr(usage, "cache_creation_1h_tokens", 0) or 0), write)
    reasoning = usage.reasoning_tokens or 0
    return (
        max(usage.input_tokens or 0, read + write),
        read,
        write,
        write_1h,
        max(usage.output_tokens or 0, reasoning),
        reasoning,
    )


# --- pricing.toml ---------------------------------------------------------------------------
def load_overrides(path: Path) -> tuple[PriceOverride, ...]:
    """The overrides in ``path`` (none when it does not exist).

    Raises `PricingError` naming the file and line for anything malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingError(f"{path}: cannot read: {exc}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PricingError(f"{path}: {exc}") from None
    lines = text.splitlines()

    def fail(message: str, name: str | None = None, key: str | None = None) -> PricingError:
        line = _line_of(lines, name, key)
        return PricingError(f"{path}{f', line {line}' if line else ''}: {message}")

    for key in data:
        if key != "models":
            raise fail(f'unknown key {key!r}: prices go in [models."<model>"] tables', key=key)
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise fail('"models" must be a table of [models."<model>"] tables', key="models")
    overrides = []
    for name, entry in models.items():
        label = f'models."{name}"'
        if not isinstance(entry, dict):
            raise fail(f"{label} must be a table of prices", name)
        rates: dict[str, Decimal] = {}
        provider = None
        for key, value in entry.items():
            if key == "provider":
                if not isinstance(value, str) or not value.strip():
                    raise fail(f"{label}.provider must be a provider name", name, key)
                provider = value.strip()
            elif key in _RATE_KEYS:
                rate = _rate(value)
                if rate is None:
                    raise fail(
                        f"{label}.{key} must be a non-negative number (USD per million "
                        f"tokens), not {value!r}",
                        name,
                        key,
                    )
                rates[key] = rate
            else:
                known = ", ".join([*_RATE_KEYS, "provider"])
                raise fail(f"unknown key {label}.{key} (known: {known})", name, key)
        for required in ("input", "output"):
            if required not in rates:
                raise fail(f"{label} needs {required!r} (USD per million tokens)", name)
        if "cache_write_1h" in rates and "cache_write" not in rates:
            raise fail(f"{label}.cache_write_1h needs cache_write too", name, "cache_write_1h")
        overrides.append(PriceOverride(model=name, provider=provider, **rates))
    return tuple(overrides)


def _rate(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    rate = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return rate if rate >= 0 else None


def _line_of(lines: Sequence[str], name: str | None, key: str | None) -> int | None:
    """1-based line where model ``name``'s ``key`` (or its table, or a top-level ``key``) is set.

    Comment lines never count; a key may be spelt bare, "double" or 'single' quoted, set in its
    table, as a dotted key, in an inline table or as a sub-table of its own.
    """

    def token(word: str) -> str:
        w = re.escape(word)
        return rf"""(?:"{w}"|'{w}'|(?<![\w-]){w}(?![\w-]))"""

    def first(pattern: str, start: int = 0, stop: int | None = None) -> int | None:
        found = re.compile(pattern)
        for i, line in enumerate(lines[start:stop], start + 1):
            if not line.lstrip().startswith("#") and found.search(line):
                return i
        return None

    if name is None:  # a top-level key: `key = ...`, `key.sub = ...`, `[key]`, `[[key]]`
        return first(rf"^\s*(?:\[+\s*)?{token(key or '')}\s*[=.\]]")
    header = rf"^\s*\[\s*models\s*\.\s*{token(name)}\s*"
    table = first(header + r"\]")
    if key is None:
        return table or first(rf"{token(name)}\s*[=.]")
    if table is not None:
        end = next((j for j in range(table, len(lines)) if lines[j].lstrip().startswith("[")), None)
        in_table = first(rf"^\s*{token(key)}\s*[=.]", table, end)
        if in_table is not None:
            return in_table
    return (
        first(header + rf"\.\s*{token(key)}\s*\]")  # [models."x".key]
        or first(rf"{token(name)}\s*\.\s*{token(key)}\s*[=.]")  # x.key = ...
        or first(rf"{token(name)}\s*=\s*\{{.*{token(key)}\s*=")  # x = { key = ... }
        or table
    )


def load_prices(workspace: Path) -> Prices:
    """The prices for ``workspace``: genai-prices plus its ``.radium/pricing.toml``.

    Raises `PricingError` when the file is malformed.
    """
    return Prices(load_overrides(workspace / PRICING_FILE), overrides_file=str(PRICING_FILE))


# --- records --------------------------------------------------------------------------------
def price_record(
    record: SessionRecord,
    prices: Prices,
    *,
    keep_request_costs: bool = True,
    warn: bool = True,
) -> SessionRecord:
    """``record`` with per-model and session costs, cache savings and ``pricing`` filled in.

    A row that already has a ``cost_usd`` was priced request by request (exact) and is kept
    when ``keep_request_costs``; the others are priced from their sums, each name of the row
    under its own name and each band of input sizes at its tier (module docstring). Prices
    are those in force when the session started.
    """
    at = record.start_time
    rows: list[ModelUsage] = []
    total = savings = Decimal(0)
    unpriced: list[ModelUsage] = []
    estimated: list[str] = []
    reads_saved = reads_unknown = False  # cache reads whose savings are known / unknown
    for row in record.model_usage:
        cost = _stored(row.cost_usd) if keep_request_costs else None
        saved = _stored(row.cache_savings_usd) if cost is not None else None
        if cost is None or saved is None:
            found = _price_row(row, prices, at)
            if found is not None:
                priced, exact = found
                if cost is None:
                    cost = priced.cost_usd
                    if not exact:
                        estimated.append(row.model)
                saved = priced.cache_savings_usd
        if row.cache_read_tokens:
            reads_saved = reads_saved or saved is not None
            reads_unknown = reads_unknown or saved is None
        if cost is None:
            unpriced.append(row)
            rows.append(replace(row, cost_usd=None, cache_savings_usd=None))
            continue
        total += cost
        savings += saved or 0
        rows.append(
            replace(
                row, cost_usd=float(cost), cache_savings_usd=None if saved is None else float(saved)
            )
        )
    if warn and unpriced:
        _warn_unpriced(unpriced, prices, at)
    return replace(
        record,
        model_usage=rows,
        cost_usd=float(total) if len(unpriced) < len(rows) or not rows else None,
        cache_stats=replace(
            record.cache_stats,
            savings_usd=float(savings) if reads_saved or not reads_unknown else None,
        ),
        pricing=PricingInfo(
            version=prices.version,
            overrides=prices.overrides_file,
            unpriced_models=_names(unpriced),
            estimated_models=tuple(dict.fromkeys(estimated)),
            partial=bool(unpriced),
        ),
    )


def _price_row(row: ModelUsage, prices: Prices, at: datetime) -> tuple[RequestCost, bool] | None:
    """What the requests of ``row`` cost, and whether exactly; None when a name has no price."""
    total = savings = Decimal(0)
    exact = True
    for provider, model, counts, requests, sizes in _sums(row):
        found = prices.price(provider, model, counts, requests=requests, sizes=sizes, at=at)
        if found is None:
            return None
        total += found[0].cost_usd
        savings += found[0].cache_savings_usd
        exact = exact and found[1]
    return RequestCost(total, savings), exact


def _sums(row: ModelUsage) -> list[tuple[str | None, str, _Counts, int, _Sizes]]:
    """The sums ``row`` is priced from: per name and band of input sizes; the row's totals
    when it has none (an older record) or they do not add up to its totals (edited by hand).
    """
    sums = [
        (n.provider, n.model, _counts(b), b.requests, (b.input_at_least, b.input_at_most))
        for n in row.names
        for b in n.bands
    ]
    whole = _counts(row)
    if (
        sums
        and all(n.requests == sum(b.requests for b in n.bands) for n in row.names)
        and sum(n.requests for n in row.names) == row.requests
        and tuple(map(sum, zip(*(c for _, _, c, _, _ in sums), strict=True))) == whole
    ):
        return sums
    return [(row.provider, row.model, whole, row.requests, (0, None))]


def reprice(record: SessionRecord, prices: Prices) -> SessionRecord:
    """``record`` priced again from its stored sums with ``prices`` (``--reprice``).

    Exact for records with bands of input sizes; rows of older records with several
    requests to a tiered model are estimated and listed in ``pricing.estimated_models``.
    """
    return price_record(record, prices, keep_request_costs=False, warn=False)


def _stored(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def _names(rows: Iterable[ModelUsage]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(row.model for row in rows))


_warned_lock = threading.Lock()
_warned: set[tuple[str | None, str]] = set()


def _warn_unpriced(rows: Sequence[ModelUsage], prices: Prices, at: datetime) -> None:
    """One line naming the models without a price not named before in this process."""
    with _warned_lock:
        new = [r for r in rows if (r.provider, r.model) not in _warned]
        _warned.update((r.provider, r.model) for r in new)
    if not new:
        return
    named = ", ".join(
        f"{r.model!r}"
        + (f" ({r.provider})" if r.provider else "")
        + (f" [{why}]" if (why := prices.why_unpriced(r.provider, r.model, at=at)) else "")
        for r in new
    )
    logger.warning(
        "radium-otel: no price for %s: cost shown as n/a, session totals as partial (≥); "
        "add prices to %s",
        named,
        PRICING_FILE,
    )


# --- the session hook -----------------------------------------------------------------------
class CostHook:
    """Prices each session's model usage when it ends (a `SessionHook`).

    Reads ``<workspace>/.radium/pricing.toml`` again at each session end when it changed. A
    malformed file is logged once with its line; the session's costs are then left unset
    (``pricing.error``) rather than priced without the user's overrides — ``--reprice`` once
    it is fixed. ``price_request`` is the per-request pricing the span processor can call.
    """

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace)
        self._lock = threading.Lock()  # guards _stamp, _loaded and _warming
        self._stamp: object = _NEVER  # (mtime, size) of the file loaded; None: no file
        self._loaded: Prices | PricingError = Prices()
        self._warming = False

    def session_started(self, session_id: str, *, user_opened: bool = True) -> None:
        """The first time: load the prices in a background thread, off the agent's path."""
        with self._lock:
            if self._warming:
                return
            self._warming = True
        if "openai" in sys.modules and "httpx2" not in sys.modules:
            # genai-prices imports httpx2. openai < 3 looks httpx2 up in sys.modules on each
            # request and fails on a module another thread is still importing, so import it
            # here, in the agent's thread (about 20 ms, once), not in the warm-up thread.
            try:
                import httpx2  # noqa: F401
            except ImportError:
                pass
        threading.Thread(target=self._warm_up, name="radium-prices", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            prices = self.prices()
            if isinstance(prices, Prices):  # import genai-prices and load its data
                prices.price(None, "gpt-4o", (1, 0, 0, 0, 1, 0), at=datetime.now(timezone.utc))
        except Exception as exc:
            log_internal_error("loading prices", exc)

    def session_ended(self, record: SessionRecord) -> SessionRecord:
        """``record`` with its costs (see `price_record`)."""
        prices = self.prices()
        if isinstance(prices, PricingError):
            warn_once(f"pricing:{prices}", "radium-otel: costs not computed: %s", prices)
            return replace(
                record,
                pricing=PricingInfo(
                    overrides=str(PRICING_FILE),
                    unpriced_models=_names(record.model_usage),
                    partial=bool(record.model_usage),
                    error=str(prices),
                ),
            )
        return price_record(record, prices)

    def price_request(
        self, provider: str | None, model: str, usage: TokenCounts, *, at: datetime | None = None
    ) -> RequestCost | None:
        """`Prices.price_request` with this workspace's prices; None also when they are broken.

        Loads the prices on first use if no session start did (file I/O and importing
        genai-prices: call it outside any lock).
        """
        prices = self._loaded if self._stamp is not _NEVER else self.prices()
        if isinstance(prices, PricingError):
            return None
        return prices.price_request(provider, model, usage, at=at)

    def prices(self) -> Prices | PricingError:
        """The current prices, reloaded if ``pricing.toml`` changed; the error if malformed."""
        path = self.workspace / PRICING_FILE
        try:
            st = path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._loaded = load_prices(self.workspace)
                except PricingError as exc:
                    self._loaded = exc
                self._stamp = stamp
            return self._loaded


_NEVER = object()
