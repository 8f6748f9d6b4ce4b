"""Memory of one session as it grows: peak RSS and the aggregator's own size, per span count.

Each size runs in a fresh process (so that peak RSS is that size's alone): one open session
receives ``--spans`` real SDK spans (`bench.workload`: 50 tool names, 5 models), then the
process reports its peak RSS, the size of the `SessionSpanProcessor`'s state (a walk of every
object it holds), and — in a second run under ``tracemalloc`` — the memory still held that
radium_otel's own code allocated. The session's totals are checked against what was emitted.

    .venv/bench/bin/python -m bench.memory [--spans 1000 100000 1000000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.workload import Session, check

ROOT = Path(__file__).resolve().parent.parent


def deep_size(*roots: object) -> int:
    """Bytes of every object reachable from ``roots`` (modules, types, functions excluded)."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def state_size(session: Session) -> int:
    p = session.processor
    return deep_size(p._sessions, p._open, p._covered, p._closed)


def child(spans: int, traced: bool) -> dict[str, Any]:
    """Run in the measuring process: one session of ``spans`` spans."""
    if traced:
        tracemalloc.start()
    session = Session()
    started = time.perf_counter()
    emitted = session.emit(spans)
    elapsed = time.perf_counter() - started
    size = state_size(session)
    held = 0
    if traced:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, str(ROOT / "radium_otel") + "/*")]
        )
        held = sum(stat.size for stat in snapshot.statistics("filename"))
        tracemalloc.stop()
    record = session.close()
    return {
        "spans": spans,
        "seconds": elapsed,
        "state_bytes": size,
        "traced_bytes": held,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "errors": check(record, emitted),
    }


@dataclass
class MemoryRow:
    spans: int
    seconds: float
    spans_per_s: float
    peak_rss_mb: float
    state_kb: float
    traced_kb: float
    errors: list[str]


def run(spans: int) -> MemoryRow:
    """Two fresh processes for one size: plain (time, RSS, state) and under tracemalloc."""
    out = []
    for traced in (False, True):
        done = subprocess.run(
            [sys.executable, "-m", "bench.memory", "--child", str(spans)]
            + (["--traced"] if traced else []),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
        )
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    plain, traced_run = out
    return MemoryRow(
        spans=spans,
        seconds=plain["seconds"],
        spans_per_s=spans / plain["seconds"],
        peak_rss_mb=plain["peak_rss_kb"] / 1024,
        state_kb=plain["state_bytes"] / 1024,
        traced_kb=traced_run["traced_bytes"] / 1024,
        errors=plain["errors"] + traced_run["errors"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.traced)))
        return
    for n in args.spans:
        r = run(n)
        wrong = f"; WRONG: {r.errors}" if r.errors else ""
        print(
            f"{r.spans:>9,} spans: {r.seconds:6.1f} s ({r.spans_per_s:,.0f}/s), peak RSS "
            f"{r.peak_rss_mb:.1f} MB, processor state {r.state_kb:.1f} KB, held by radium "
            f"code (tracemalloc) {r.traced_kb:.1f} KB{wrong}"
        )


if __name__ == "__main__":
    main()
