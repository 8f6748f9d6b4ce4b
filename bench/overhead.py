"""Per-call overhead of a decorated tool call versus a bare OpenTelemetry span.

Both sides export through a BatchSpanProcessor to a null exporter; the radium side adds the
SessionSpanProcessor (inside one session). Rounds alternate so that machine noise hits both
alike; the figure is the median over rounds.

    .venv/bin/python bench/overhead.py [--calls 20000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import radium_otel
from radium_otel import Radium


class NullExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def provider() -> TracerProvider:
    p = TracerProvider()
    p.add_span_processor(BatchSpanProcessor(NullExporter(), max_queue_size=1 << 16))
    return p


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    def work() -> int:
        return 42

    bare_tracer = provider().get_tracer("bench")

    def bare() -> int:
        with bare_tracer.start_as_current_span(
            "execute_tool work",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "work"},
        ):
            return work()

    workspace = tempfile.mkdtemp(prefix="radium-bench-")
    inst = Radium(
        workspace=workspace,
        tracer_provider=provider(),
        set_global=False,
        print_summary=False,
        checkpoint_interval_s=3600,
    )
    tool = inst.tool(name="work")(work)
    model = inst.model_call(provider="openai", model="gpt-4o")(
        lambda: {"usage": {"prompt_tokens": 120, "completion_tokens": 30}}
    )

    results: dict[str, list[float]] = {"plain": [], "bare_span": [], "tool": [], "model": []}
    with inst.session(agent="bench"):
        for fn in (work, bare, tool, model):  # warm-up
            per_call_us(fn, 2_000)
        for _ in range(args.rounds):
            results["plain"].append(per_call_us(work, args.calls))
            results["bare_span"].append(per_call_us(bare, args.calls))
            results["tool"].append(per_call_us(tool, args.calls))
            results["model"].append(per_call_us(model, args.calls))
    inst.shutdown()

    med = {name: statistics.median(v) for name, v in results.items()}
    print(
        f"radium-otel {radium_otel.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {args.rounds} rounds x {args.calls} calls (median, µs/call)"
    )
    for name, values in results.items():
        spread = statistics.quantiles(values, n=4) if len(values) >= 4 else values
        print(f"  {name:<10} {med[name]:8.2f}   (IQR {spread[0]:.2f}–{spread[-1]:.2f})")
    # Ratios per round (both sides measured back to back), then their median: robust to the
    # machine speeding up or slowing down between rounds.
    for name in ("tool", "model"):
        ratios = [r / b for r, b in zip(results[name], results["bare_span"], strict=True)]
        print(
            f"  {name:<5} / bare span = {statistics.median(ratios):.3f}x "
            f"(per-round median; min {min(ratios):.3f}x, max {max(ratios):.3f}x)"
        )


if __name__ == "__main__":
    main()
