"""Terminal rendering of the ``rad stats`` reports: tables, bar charts, the decision summary.

Tables follow the seed's UX-2 layout — a header, a rule, right-aligned numbers, a total row
under a second rule — and are always as wide as their content: never wrapped or cut at the
terminal width, no trailing spaces. Everything is `Styled` text (a `rich.text.Text` when
printed), so the console decides on colour (off with ``NO_COLOR`` or when not a terminal) and
``.plain`` is the exact text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from radium_otel._internal.render import LABEL_WIDTH, format_count, format_duration, format_usd
from radium_otel._internal.reports import (
    HistoryReport,
    ModelReport,
    ModelRow,
    Period,
    RollupReport,
    ToolReport,
    ToolRow,
)
from radium_otel._internal.styled import Styled

__all__ = [
    "Column",
    "bar",
    "format_changes",
    "format_cost",
    "format_rate",
    "render_history",
    "render_models",
    "render_rollup",
    "render_tools",
    "table",
]

GAP = "  "
BAR_WIDTH = 30
_EIGHTHS = " ▏▎▍▌▋▊▉"
_STATUS_STYLE = {"failed": "red", "active": "yellow", "interrupted": "yellow"}

Cell = str | Styled


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its header and alignment."""

    header: str
    align: Literal["left", "right"] = "right"


def _text(cell: Cell) -> Styled:
    return cell if isinstance(cell, Styled) else Styled(cell)


def table(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], total: Sequence[Cell] | None = None
) -> Styled:
    """Header, rule, rows and (after a second rule) an optional bold total row."""
    body = [[_text(c) for c in row] for row in rows]
    foot = [_text(c) for c in total] if total is not None else None
    widths = [len(c.header) for c in columns]
    for row in [*body, *([foot] if foot else [])]:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell.cell_len)
    width = sum(widths) + len(GAP) * (len(columns) - 1)

    def line(cells: Sequence[Styled], style: str = "") -> Styled:
        out = Styled(style=style)
        for i, (column, cell) in enumerate(zip(columns, cells, strict=True)):
            pad = " " * (widths[i] - cell.cell_len)
            if i:
                out.append(GAP)
            if column.align == "right":
                out.append(pad)
                out.append_text(cell)
            else:
                out.append_text(cell)
                out.append(pad)
        out.rstrip()
        return out

    lines = [line([Styled(c.header) for c in columns], "bold"), Styled("─" * width)]
    lines += [line(row) for row in body]
    if foot is not None:
        lines += [Styled("─" * width), line(foot, "bold")]
    return Styled("\n").join(lines)


# --- cells -------------------------------------------------------------------------------------
def format_cost(usd: float | None, partial: bool = False) -> str:
    """``$1,234.56``; ``<$0.01`` for a fraction of a cent; ``n/a`` when unpriced; a total
    that leaves out unpriced parts is a lower bound: ``≥ $1.20``.
    """
    if usd is None:
        return "n/a"
    text = "<$0.01" if 0 < usd < 0.005 else format_usd(usd)
    return f"≥ {text}" if partial else text


def format_rate(rate: float | None) -> str:
    """A fraction as ``92.6%``; ``n/a`` when undefined."""
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


def format_changes(added: int | None, removed: int | None) -> str:
    """``+505 -208``; ``n/a`` when not measured."""
    if added is None or removed is None:
        return "n/a"
    return f"+{format_count(added)} -{format_count(removed)}"


def _avg(seconds: float | None) -> str:
    return "n/a" if seconds is None else format_duration(seconds)


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar, ``width`` cells for ``largest``, in eighths of a cell."""
    if value <= 0 or largest <= 0:
        return ""
    eighths = max(1, round(8 * width * min(value, largest) / largest))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _minute(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


# --- reports -----------------------------------------------------------------------------------
def _model_name(row: ModelRow, ambiguous: set[str]) -> str:
    name = row.model or ""
    return f"{name} ({row.provider or 'unknown'})" if name in ambiguous else name


def _errors(errors: int, requests: int) -> str:
    if not errors:
        return "0"
    return f"{format_count(errors)} ({100 * errors / requests:.1f}%)" if requests else str(errors)


def _model_cells(row: ModelRow, name: str) -> list[Cell]:
    return [
        name,
        format_count(row.requests),
        format_count(row.input_tokens),
        format_count(row.output_tokens),
        format_count(row.cache_read_tokens),
        format_count(row.reasoning_tokens),
        _errors(row.errors, row.requests),
        _avg(row.avg_latency_s),
        format_cost(row.cost_usd, row.cost_partial),
    ]


def _sessions(n: int) -> str:
    return f"{format_count(n)} session" + ("" if n == 1 else "s")


def render_models(report: ModelReport) -> Styled:
    """The UX-2 model table (plus cache reads, reasoning, errors, latency and cost)."""
    if not report.rows:
        where = "this session" if report.session_id else _sessions(report.sessions)
        return Styled(f"No model requests in {where}.")
    seen: dict[str, int] = {}
    for row in report.rows:
        seen[row.model or ""] = seen.get(row.model or "", 0) + 1
    ambiguous = {name for name, n in seen.items() if n > 1}
    columns = [
        Column("Model Usage", "left"),
        Column("Reqs"),
        Column("Input Tokens"),
        Column("Output Tokens"),
        Column("Cache Reads"),
        Column("Reasoning"),
        Column("Errors"),
        Column("Avg Latency"),
        Column("Cost"),
    ]
    rows = [_model_cells(r, _model_name(r, ambiguous)) for r in report.rows]
    total: list[Cell] | None = None
    if report.session_id is None:
        total = _model_cells(report.total, f"Total ({_sessions(report.sessions)})")
    elif len(rows) > 1:
        total = _model_cells(report.total, "Total")
    return table(columns, rows, total)


def _failure_types(row: ToolRow) -> str:
    return ", ".join(f"{kind} {format_count(n)}" for kind, n in row.error_types)


def _tool_cells(row: ToolRow, name: str) -> list[Cell]:
    return [
        name,
        format_count(row.calls),
        format_rate(row.success_rate),
        Styled(format_count(row.failures), style="red" if row.failures else ""),
        _avg(row.avg_duration_s),
        format_duration(row.duration_us / 1_000_000),
        _failure_types(row),
    ]


def render_tools(report: ToolReport) -> Styled:
    """Per-tool table, then the User Decisions summary."""
    out = Styled()
    if report.rows:
        columns = [
            Column("Tool Usage", "left"),
            Column("Calls"),
            Column("Success"),
            Column("Failures"),
            Column("Avg Time"),
            Column("Total Time"),
            Column("Failure Types", "left"),
        ]
        label = "Total" if report.session_id else f"Total ({_sessions(report.sessions)})"
        total = None if report.session_id and len(report.rows) == 1 else report.total
        out.append_text(
            table(
                columns,
                [_tool_cells(r, r.tool or "") for r in report.rows],
                _tool_cells(total, label) if total else None,
            )
        )
    else:
        where = "this session" if report.session_id else _sessions(report.sessions)
        out.append(f"No tool calls in {where}.")
    d = report.decisions
    out.append("\n\n")
    out.append("User Decisions\n", style="bold")
    for label, value in (
        ("Reviewed", format_count(d.reviewed)),
        ("Accepted", format_count(d.accept)),
        ("Rejected", format_count(d.reject)),
        ("Modified", format_count(d.modify)),
        ("Auto-accepted", format_count(d.auto_accept)),
        ("Agreement Rate", format_rate(d.agreement_rate)),
    ):
        out.append(f"{label + ':':<{LABEL_WIDTH}}{value}\n")
    out.rstrip()
    return out


def render_history(report: HistoryReport) -> Styled:
    """One row per session, newest first, and how many were left out."""
    if not report.rows:
        return Styled("No sessions in this window." if report.sessions == 0 else "")
    columns = [
        Column("Session", "left"),
        Column("Start (UTC)", "left"),
        Column("Status", "left"),
        Column("Duration"),
        Column("Tools"),
        Column("Success"),
        Column("Tokens"),
        Column("Cost"),
        Column("Changes"),
    ]
    rows: list[list[Cell]] = [
        [
            r.short_id,
            _minute(r.start_time),
            Styled(r.status, style=_STATUS_STYLE.get(r.status, "")),
            format_duration(r.wall_time_s),
            format_count(r.tool_calls),
            format_rate(r.success_rate),
            format_count(r.tokens),
            format_cost(r.cost_usd, r.cost_partial),
            format_changes(r.lines_added, r.lines_removed),
        ]
        for r in report.rows
    ]
    out = table(columns, rows)
    if len(report.rows) < report.sessions:
        out.append(
            f"\nShowing the latest {format_count(len(report.rows))} of "
            f"{_sessions(report.sessions)} (--limit 0 shows all)."
        )
    return out


_PERIOD_HEADER = {"day": "Day (UTC)", "week": "Week", "month": "Month"}


def render_rollup(report: RollupReport) -> Styled:
    """Sessions, tool calls, tokens and cost per period, with a bar chart of cost or tokens."""
    if not report.periods:
        return Styled("No sessions in this window.")
    chart = report.chart
    values = [(p.cost_usd or 0.0) if chart == "cost" else float(p.tokens) for p in report.periods]
    largest = max(values)
    # The charted number sits right beside its bars.
    metrics: list[tuple[Column, Callable[[Period], str]]] = [
        (Column("Tokens"), lambda p: format_count(p.tokens)),
        (Column("Cost"), lambda p: format_cost(p.cost_usd, p.cost_partial)),
    ]
    if chart == "tokens":
        metrics.reverse()
    columns = [
        Column(_PERIOD_HEADER[report.by], "left"),
        Column("Sessions"),
        Column("Tools"),
        Column("Success"),
        *(column for column, _ in metrics),
        Column("", "left"),
    ]
    rows: list[list[Cell]] = [
        [
            p.label,
            format_count(p.sessions),
            format_count(p.tool_calls),
            format_rate(p.tool_successes / p.tool_calls if p.tool_calls else None),
            *(cell(p) for _, cell in metrics),
            Styled(bar(value, largest), style="cyan"),
        ]
        for p, value in zip(report.periods, values, strict=True)
    ]
    return table(columns, rows)
