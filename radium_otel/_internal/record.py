"""The session record: what one session measured, as stored in ``<id>.json``.

Records are plain frozen dataclasses; ``to_json``/``from_json`` are the only place that knows
the JSON layout (SPEC "Session record"), so the store, the CLI and ``--json`` share one shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

__all__ = [
    "INPUT_BAND_EDGES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "CacheStats",
    "ModelName",
    "ModelUsage",
    "PricingInfo",
    "RecordError",
    "SessionRecord",
    "TokenBand",
    "ToolStats",
    "format_time",
    "migrate",
    "parse_time",
]

SCHEMA_VERSION = 1
STATUSES = ("active", "completed", "failed", "interrupted")

#: Input sizes (tokens) at which a price tier starts, for any model genai-prices knows
#: (a tier applies to requests whose input *exceeds* its start; a test checks the list
#: against the installed genai-prices data). Each request's counts are added up in the
#: band of input sizes between two of these, so that every request can be priced at its own
#: tier from the sums (`TokenBand`).
INPUT_BAND_EDGES: tuple[int, ...] = (
    32_000, 100_000, 128_000, 199_999, 200_000, 256_000, 272_000, 512_000, 524_288
)  # fmt: skip


class RecordError(ValueError):
    """A session file that cannot be read as a session record."""


@dataclass(frozen=True, slots=True)
class ToolStats:
    """Executed calls of one tool."""

    calls: int = 0
    successes: int = 0
    failures: int = 0
    duration_s: float = 0.0
    error_types: dict[str, int] = field(default_factory=dict)


class TokenBand(NamedTuple):
    """The summed counts of the requests of one `ModelName` whose input size lies in one band.

    The band holds requests with ``input_at_least <= input_tokens <= input_at_most`` (no
    upper bound when None). No price tier starts inside a band, so the sums price every
    request at its own tier, whatever the prices used (`INPUT_BAND_EDGES`). (Immutable
    named tuples rather than frozen dataclasses: a checkpoint builds them for every model
    name, and a frozen dataclass costs ~1.5k instructions a field to build.)
    """

    input_at_least: int
    input_at_most: int | None
    requests: int
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    reasoning_tokens: int = 0


class ModelName(NamedTuple):
    """One (model, provider) spelling the requests of a `ModelUsage` row reported."""

    model: str
    provider: str | None
    requests: int
    errors: int = 0
    bands: tuple[TokenBand, ...] = ()  # by input size; only bands with requests


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """Requests made to one model of one provider.

    ``model`` and ``provider`` are the row's canonical names (`radium_otel._internal.names`);
    ``names`` are the spellings its requests reported, each with its own counts by input size
    (empty in records written before radium-otel kept them).
    """

    model: str
    provider: str | None = None
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0  # includes cache reads and cache writes
    output_tokens: int = 0  # includes reasoning
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0  # cache writes of every lifetime (5-minute and 1-hour)
    cache_creation_1h_tokens: int = 0  # the part written with a 1-hour lifetime, when reported
    reasoning_tokens: int = 0
    latency_s: float = 0.0  # sum of request durations
    cost_usd: float | None = None  # None: not priced (unknown model) or not computed
    cache_savings_usd: float | None = None  # cache reads at the input price − at their own price
    names: tuple[ModelName, ...] = ()


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Prompt-cache effectiveness over the whole session."""

    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    hit_rate: float = 0.0  # cache_read / input tokens
    savings_usd: float | None = None


@dataclass(frozen=True, slots=True)
class PricingInfo:
    """How a record's costs were computed (SPEC "Cost"), stored as ``pricing``.

    ``version`` identifies the price data (the genai-prices release whose bundled data was
    used); ``overrides`` names the ``.radium/pricing.toml`` that added or replaced prices.
    ``unpriced_models`` have ``cost_usd: null``, and then ``partial`` is true: the session's
    ``cost_usd`` holds only the priced part. ``estimated_models`` were priced from their
    per-session token totals although their price has tiers by request size, so their cost
    is an estimate (see `radium_otel._internal.pricing`). ``error`` says why nothing could be
    priced (a malformed pricing file).
    """

    source: str = "genai-prices"
    version: str | None = None
    overrides: str | None = None
    unpriced_models: tuple[str, ...] = ()
    estimated_models: tuple[str, ...] = ()
    partial: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object."""
        return {
            "source": self.source,
            "version": self.version,
            "overrides": self.overrides,
            "unpriced_models": list(self.unpriced_models),
            "estimated_models": list(self.estimated_models),
            "partial": self.partial,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session, as measured (SPEC "Session record")."""

    id: str
    status: str
    start_time: datetime
    end_time: datetime | None = None
    updated_time: datetime | None = None  # last checkpoint; tells a stale active file
    metadata: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0
    agent_active_time_s: float = 0.0
    api_time_s: float = 0.0
    tool_time_s: float = 0.0
    tool_calls: int = 0
    tool_successes: int = 0
    tool_failures: int = 0
    tools: dict[str, ToolStats] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    # Who made each decision, where a source says (SPEC "Sessions from agents we do not
    # run"): decision -> source (``config``, ``user``, ...) -> count.
    decision_sources: dict[str, dict[str, int]] = field(default_factory=dict)
    code_changes: dict[str, Any] | None = None
    model_usage: list[ModelUsage] = field(default_factory=list)
    cache_stats: CacheStats = field(default_factory=CacheStats)
    cost_usd: float | None = None  # the priced part when ``pricing.partial``
    reported_cost_usd: float | None = None  # the agent's own figure (Claude Code), beside ours
    pricing: PricingInfo | None = None  # None: costs not computed (yet)
    diagnostics: dict[str, int] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def input_tokens(self) -> int:
        """Input tokens over all models."""
        return sum(m.input_tokens for m in self.model_usage)

    @property
    def output_tokens(self) -> int:
        """Output tokens over all models."""
        return sum(m.output_tokens for m in self.model_usage)

    @property
    def requests(self) -> int:
        """Model requests over all models."""
        return sum(m.requests for m in self.model_usage)

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object."""
        return {
            "schema_version": self.schema_version,
            "id": self.id,
            "status": self.status,
            "start_time": format_time(self.start_time),
            "end_time": format_time(self.end_time) if self.end_time else None,
            "updated_time": format_time(self.updated_time) if self.updated_time else None,
            "metadata": self.metadata,
            "wall_time_s": self.wall_time_s,
            "agent_active_time_s": self.agent_active_time_s,
            "api_time_s": self.api_time_s,
            "tool_time_s": self.tool_time_s,
            "tool_calls": self.tool_calls,
            "tool_successes": self.tool_successes,
            "tool_failures": self.tool_failures,
            "tools": {
                name: {
                    "calls": t.calls,
                    "successes": t.successes,
                    "failures": t.failures,
                    "duration_s": t.duration_s,
                    "error_types": dict(t.error_types),
                }
                for name, t in self.tools.items()
            },
            "decisions": dict(self.decisions),
            "decision_sources": {d: dict(s) for d, s in self.decision_sources.items()},
            "code_changes": self.code_changes,
            "model_usage": [
                {
                    "model": m.model,
                    "provider": m.provider,
                    "requests": m.requests,
                    "errors": m.errors,
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "cache_read_tokens": m.cache_read_tokens,
                    "cache_creation_tokens": m.cache_creation_tokens,
                    "cache_creation_1h_tokens": m.cache_creation_1h_tokens,
                    "reasoning_tokens": m.reasoning_tokens,
                    "latency_s": m.latency_s,
                    "cost_usd": m.cost_usd,
                    "cache_savings_usd": m.cache_savings_usd,
                    "names": [_name_json(n) for n in m.names],
                }
                for m in self.model_usage
            ],
            "cache_stats": {
                "cache_read_tokens": self.cache_stats.cache_read_tokens,
                "cache_creation_tokens": self.cache_stats.cache_creation_tokens,
                "hit_rate": self.cache_stats.hit_rate,
                "savings_usd": self.cache_stats.savings_usd,
            },
            "cost_usd": self.cost_usd,
            "reported_cost_usd": self.reported_cost_usd,
            "pricing": None if self.pricing is None else self.pricing.to_json(),
            "diagnostics": dict(self.diagnostics),
        }

    @classmethod
    def from_json(cls, data: object) -> SessionRecord:
        """Read a stored object; unknown fields are ignored, missing optional ones defaulted.

        Raises `RecordError` when the object is not a usable session record.
        """
        if not isinstance(data, dict):
            raise RecordError("not a JSON object")
        data = migrate(data)
        r = _Reader(data)
        status = r.text("status")
        if status not in STATUSES:
            raise RecordError(f"unknown status {status!r}")
        tools = {
            str(name): ToolStats(
                calls=t.count("calls"),
                successes=t.count("successes"),
                failures=t.count("failures"),
                duration_s=t.number("duration_s"),
                error_types={str(k): _int(v) for k, v in t.obj("error_types").items()},
            )
            for name, t in r.subs("tools").items()
        }
        models = [
            ModelUsage(
                model=m.text("model"),
                provider=m.opt_text("provider"),
                requests=m.count("requests"),
                errors=m.count("errors"),
                input_tokens=m.count("input_tokens"),
                output_tokens=m.count("output_tokens"),
                cache_read_tokens=m.count("cache_read_tokens"),
                cache_creation_tokens=m.count("cache_creation_tokens"),
                cache_creation_1h_tokens=m.count("cache_creation_1h_tokens"),
                reasoning_tokens=m.count("reasoning_tokens"),
                latency_s=m.number("latency_s"),
                cost_usd=m.opt_number("cost_usd"),
                cache_savings_usd=m.opt_number("cache_savings_usd"),
                names=tuple(_name(n) for n in m.rows("names")),
            )
            for m in r.rows("model_usage")
        ]
        cache = r.sub("cache_stats")
        code = data.get("code_changes")
        if not isinstance(code, dict):
            code = None
        metadata = r.obj("metadata")
        # Free-form objects are copied out as they are: they must be strict JSON too (a
        # hand-edited NaN or 1e999 would make `rad stats session --json` print non-JSON).
        _check_finite("metadata", metadata)
        _check_finite("code_changes", code)
        end = r.opt_text("end_time")
        updated = r.opt_text("updated_time")
        return cls(
            schema_version=SCHEMA_VERSION,
            id=r.text("id"),
            status=status,
            start_time=parse_time(r.text("start_time")),
            end_time=parse_time(end) if end else None,
            updated_time=parse_time(updated) if updated else None,
            metadata=metadata,
            wall_time_s=r.number("wall_time_s"),
            agent_active_time_s=r.number("agent_active_time_s"),
            api_time_s=r.number("api_time_s"),
            tool_time_s=r.number("tool_time_s"),
            tool_calls=r.count("tool_calls"),
            tool_successes=r.count("tool_successes"),
            tool_failures=r.count("tool_failures"),
            tools=tools,
            decisions={str(k): _int(v) for k, v in r.obj("decisions").items()},
            decision_sources={
                str(d): {str(k): _int(v) for k, v in by.obj_items()}
                for d, by in r.subs("decision_sources").items()
            },
            code_changes=code,
            model_usage=models,
            cache_stats=CacheStats(
                cache_read_tokens=cache.count("cache_read_tokens"),
                cache_creation_tokens=cache.count("cache_creation_tokens"),
                hit_rate=cache.number("hit_rate"),
                savings_usd=cache.opt_number("savings_usd"),
            ),
            cost_usd=r.opt_number("cost_usd"),
            reported_cost_usd=r.opt_number("reported_cost_usd"),
            pricing=_pricing(data.get("pricing")),
            diagnostics={str(k): _int(v) for k, v in r.obj("diagnostics").items()},
        )


#: How to read a record of an older ``schema_version``: ``MIGRATIONS[v]`` turns a stored
#: object of version ``v`` into one of version ``v + 1``. Bumping `SCHEMA_VERSION` means adding
#: the entry for the previous version here (docs/reliability.md, "Schema evolution"); fields
#: that are only added, with a default when absent, need no bump.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
FIRST_SCHEMA_VERSION = 1


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` upgraded to the current `SCHEMA_VERSION` (the object is not modified).

    Raises `RecordError` for a version that is missing, unknown, or newer than this
    radium-otel: such a record is reported, never misread.
    """
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RecordError("missing schema_version")
    if version > SCHEMA_VERSION:
        raise RecordError(
            f"schema_version {version} is newer than this radium-otel understands "
            f"({SCHEMA_VERSION}); upgrade radium-otel"
        )
    if version < FIRST_SCHEMA_VERSION:
        raise RecordError(f"schema_version {version} is not a radium-otel schema version")
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise RecordError(f"no migration from schema_version {version}")
        data = {**step(dict(data)), "schema_version": version + 1}
        version += 1
    return data


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Inverse of `format_time`; also accepts any ISO 8601 form with an offset."""
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        # Normalised to UTC here, so a time that has no UTC form (year 9999 with a negative
        # offset) is refused on reading rather than failing later in `format_time`.
        return t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise RecordError(f"bad timestamp {text!r}") from exc


def _name_json(n: ModelName) -> dict[str, Any]:
    return {
        "model": n.model,
        "provider": n.provider,
        "requests": n.requests,
        "errors": n.errors,
        "bands": [
            {
                "input_at_least": b.input_at_least,
                "input_at_most": b.input_at_most,
                "requests": b.requests,
                "input_tokens": b.input_tokens,
                "output_tokens": b.output_tokens,
                "cache_read_tokens": b.cache_read_tokens,
                "cache_creation_tokens": b.cache_creation_tokens,
                "cache_creation_1h_tokens": b.cache_creation_1h_tokens,
                "reasoning_tokens": b.reasoning_tokens,
            }
            for b in n.bands
        ],
    }


def _name(n: _Reader) -> ModelName:
    return ModelName(
        model=n.text("model"),
        provider=n.opt_text("provider"),
        requests=n.count("requests"),
        errors=n.count("errors"),
        bands=tuple(
            TokenBand(
                input_at_least=b.count("input_at_least"),
                input_at_most=b.opt_count("input_at_most"),
                requests=b.count("requests"),
                input_tokens=b.count("input_tokens"),
                output_tokens=b.count("output_tokens"),
                cache_read_tokens=b.count("cache_read_tokens"),
                cache_creation_tokens=b.count("cache_creation_tokens"),
                cache_creation_1h_tokens=b.count("cache_creation_1h_tokens"),
                reasoning_tokens=b.count("reasoning_tokens"),
            )
            for b in n.rows("bands")
        ),
    )


def _pricing(value: object) -> PricingInfo | None:
    """The ``pricing`` object; absent or null in records priced before it existed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError("field 'pricing' must be an object")
    p = _Reader(value)
    return PricingInfo(
        source=p.opt_text("source") or "genai-prices",
        version=p.opt_text("version"),
        overrides=p.opt_text("overrides"),
        unpriced_models=p.texts("unpriced_models"),
        estimated_models=p.texts("estimated_models"),
        partial=value.get("partial") is True,
        error=p.opt_text("error"),
    )


def _check_finite(key: str, value: object) -> None:
    """Refuse NaN and infinities anywhere inside a JSON value (iteratively: any depth)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise RecordError(f"field {key!r} holds a number that is not finite")
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"expected a non-negative integer, got {value!r}")
    return value


class _Reader:
    """Typed access to one JSON object, raising `RecordError` with the field name."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def text(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value:
            raise RecordError(f"field {key!r} must be a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._data.get(key)
        return value if isinstance(value, str) and value else None

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RecordError(f"field {key!r} must be a list of strings")
        return tuple(value)

    def count(self, key: str) -> int:
        value = self._data.get(key, 0)
        try:
            return _int(value)
        except RecordError as exc:
            raise RecordError(f"field {key!r}: {exc}") from None

    def opt_count(self, key: str) -> int | None:
        return None if self._data.get(key) is None else self.count(key)

    def number(self, key: str) -> float:
        value = self.opt_number(key)
        return 0.0 if value is None else value

    def opt_number(self, key: str) -> float | None:
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(f"field {key!r} must be a number")
        try:
            number = float(value)  # an int beyond the float range overflows
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or number < 0:
            raise RecordError(f"field {key!r} must be finite and non-negative")
        return number

    def obj(self, key: str) -> dict[str, Any]:
        value = self._data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise RecordError(f"field {key!r} must be an object")
        return value

    def obj_items(self) -> list[tuple[str, Any]]:
        return list(self._data.items())

    def sub(self, key: str) -> _Reader:
        return _Reader(self.obj(key))

    def subs(self, key: str) -> dict[str, _Reader]:
        out = {}
        for name, value in self.obj(key).items():
            if not isinstance(value, dict):
                raise RecordError(f"field {key!r} entry {name!r} must be an object")
            out[name] = _Reader(value)
        return out

    def rows(self, key: str) -> list[_Reader]:
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise RecordError(f"field {key!r} must be a list of objects")
        return [_Reader(v) for v in value]
