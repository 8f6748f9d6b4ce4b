"""Human formatting of session records: durations, numbers, the UX-1 session summary.

Plain text with the layout of the seed's UX-1; the CLI adds colour on top. Everything shown
here is computed from the record, so ``rad stats session`` and the end-of-session summary
always agree with ``--json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from radium_otel._internal.record import SessionRecord
from radium_otel._internal.styled import Styled

__all__ = [
    "cost_text",
    "format_count",
    "format_duration",
    "format_percent",
    "format_usd",
    "render_summary",
    "savings_text",
    "split_percent",
    "summary_text",
]

LABEL_WIDTH = 28


def format_duration(seconds: float) -> str:
    """``4h 9m 54s``, ``3m 5s``, ``12.3s``, ``250ms``."""
    # Decide the unit on the rounded value, so 0.9996 s is ``1.0s``, not ``1000ms``, and
    # 59.96 s is ``1m 0s``, not ``60.0s``.
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    tenths = round(seconds * 10)
    if tenths < 600:
        return f"{tenths / 10:.1f}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s"


def format_count(n: int) -> str:
    """An integer with thousands separators."""
    return f"{n:,}"


def format_percent(part: float, whole: float) -> str:
    """``part/whole`` as ``92.6%``."""
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def format_usd(value: float | None) -> str:
    """``$1,234.50``; ``n/a`` for a cost that is not known (never shown as $0).

    Rounded half up from the decimal the float stands for, so 0.105 shows as $0.11.
    """
    if value is None:
        return "n/a"
    cents = Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"${cents:,.2f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cost_text(record: SessionRecord) -> str | None:
    """The session's cost: ``$1.23``, ``≥ $1.23 (1 model unpriced)``, ``n/a (...)``.

    ``≥`` marks a total that leaves out unpriced models, ``≈`` one estimated from token
    totals (tiered prices). None when costs were never computed.
    """
    pricing = record.pricing
    if pricing is None:
        return None if record.cost_usd is None else format_usd(record.cost_usd)
    if pricing.error is not None:
        return "n/a (prices not loaded: see the warning)"
    notes = []
    if pricing.unpriced_models:
        notes.append(_plural(len(pricing.unpriced_models), "model") + " unpriced")
    if pricing.estimated_models:
        notes.append(f"{len(pricing.estimated_models)} estimated from totals")
    shown = format_usd(record.cost_usd)
    if record.cost_usd is not None and pricing.partial:
        shown = "≥ " + shown
    elif record.cost_usd is not None and pricing.estimated_models:
        shown = "≈ " + shown
    return shown + (f" ({', '.join(notes)})" if notes else "")


def savings_text(record: SessionRecord) -> str | None:
    """The seed's Savings Highlight; None when no input came from the cache."""
    cached = record.cache_stats.cache_read_tokens
    if not cached:
        return None
    text = (
        f"{format_count(cached)} ({format_percent(cached, record.input_tokens)}) of input "
        "tokens were served from the cache"
    )
    savings = record.cache_stats.savings_usd
    if savings is None:
        return text + "."
    partial = record.pricing is not None and any(
        m.cost_usd is None and m.cache_read_tokens for m in record.model_usage
    )
    return text + f", saving {'at least ' if partial else ''}{format_usd(savings)}."


def split_percent(a: float, b: float) -> tuple[float, float]:
    """Shares of ``a`` and ``b`` in ``a + b``, rounded to 0.1 and adding up to exactly 100.0."""
    total = a + b
    if total <= 0:
        return 0.0, 0.0
    first = round(1000 * a / total)
    return first / 10, (1000 - first) / 10


def summary_text(record: SessionRecord) -> Styled:
    """The UX-1 summary as `Styled` text (section titles bold)."""
    text = Styled()

    def title(name: str) -> None:
        text.append(name + "\n", style="bold")

    def line(label: str, value: str, style: str = "") -> None:
        text.append(f"{label + ':':<{LABEL_WIDTH}}")
        text.append(value + "\n", style=style)

    title("Interaction Summary")
    line("Session ID", record.id)
    if record.status != "completed":
        line("Status", record.status, "yellow" if record.status != "failed" else "red")
    agent = record.metadata.get("agent")
    if agent:
        line("Agent", str(agent))
    line(
        "Tool Calls",
        f"{format_count(record.tool_calls)} ( ✓ {format_count(record.tool_successes)} "
        f"x {format_count(record.tool_failures)} )",
    )
    line("Success Rate", format_percent(record.tool_successes, record.tool_calls))
    reviewed = sum(record.decisions.values())
    if reviewed:
        agreed = record.decisions.get("accept", 0) + record.decisions.get("auto_accept", 0)
        line(
            "User Agreement",
            f"{format_percent(agreed, reviewed)} ({format_count(reviewed)} reviewed)",
        )
    added, removed = _line_counts(record.code_changes)
    if added is not None:
        line("Code Changes", f"+{format_count(added)} -{format_count(removed or 0)}")
    if record.model_usage:
        errors = sum(m.errors for m in record.model_usage)
        requests = format_count(record.requests)
        line("Model Requests", requests + (f" ({format_count(errors)} failed)" if errors else ""))
        cache = record.cache_stats.cache_read_tokens
        line(
            "Tokens",
            f"{format_count(record.input_tokens)} in"
            + (f" ({format_count(cache)} cached)" if cache else "")
            + f" · {format_count(record.output_tokens)} out",
        )
    cost = cost_text(record)
    if record.reported_cost_usd is not None:  # the agent's own figure, beside ours
        source = record.metadata.get("source") or "the agent"
        reported = f"{format_usd(record.reported_cost_usd)} reported by {source}"
        cost = reported if cost is None else f"{cost} ({reported})"
    if cost is not None:
        line("Cost", cost)
    savings = savings_text(record)
    if savings is not None:
        line("Savings Highlight", savings)

    text.append("\n")
    title("Performance")
    line("Wall Time", format_duration(record.wall_time_s))
    line("Agent Active", format_duration(record.agent_active_time_s))
    api_pct, tool_pct = split_percent(record.api_time_s, record.tool_time_s)
    line("  » API Time", f"{format_duration(record.api_time_s)} ({api_pct:.1f}%)")
    line("  » Tool Time", f"{format_duration(record.tool_time_s)} ({tool_pct:.1f}%)")
    text.rstrip()
    return text


def _line_counts(changes: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    """Lines added and removed, None when unknown (no git repository, or not measured)."""
    if changes is None:
        return None, None

    def count(key: str) -> int | None:
        value = changes.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return count("lines_added"), count("lines_removed")


def render_summary(record: SessionRecord) -> str:
    """The UX-1 summary as plain text."""
    return summary_text(record).plain
