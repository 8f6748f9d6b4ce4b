"""Spans per second the `SessionSpanProcessor` sustains from many threads, totals checked.

``--threads`` threads start together (a barrier) and each emits ``--spans`` real SDK spans of
the `bench.workload` mix into one shared session, so every span goes through the processor's
one lock and the same session state. When all are done the session is closed and its record
is checked against what was emitted: every tool call, failure, model request and token must
be counted exactly once. The same spans from one thread give the reference rate.

    .venv/bench/bin/python -m bench.throughput [--threads 8] [--spans 25000] [--rounds 3]
        [--metrics]

``--metrics``: the processor also records radium's metrics (a `MeterProvider` with an
in-memory reader), as with ``configure(meter_provider=...)`` or OTLP metrics export.

``--compare TREE...`` compares copies of the repository (another version of radium_otel with
this bench/ in it, as ``radium@TREE`` in `bench.overhead`): each round runs every tree once,
in turn, each in a fresh process (one session), and prints the median per tree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import Emitted, Session, check


def once(threads: int, spans: int, metrics: bool = False) -> tuple[float, list[str]]:
    """Spans per second with ``threads`` threads of ``spans`` spans each; and what is wrong."""
    session = Session(metrics=metrics)
    barrier = threading.Barrier(threads + 1)
    results: list[Emitted] = []
    lock = threading.Lock()

    def run(offset: int) -> None:
        barrier.wait()
        emitted = session.emit(spans, offset)
        with lock:
            results.append(emitted)

    pool = [threading.Thread(target=run, args=(t * 7,)) for t in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    total = Emitted()
    for e in results:
        total.add(e)
    record = session.close()
    wrong = check(record, total)
    if session.processor.late_spans:
        wrong.append(f"{session.processor.late_spans} spans dropped as late")
    return threads * spans / elapsed, wrong


@dataclass
class Throughput:
    threads: int
    spans_per_thread: int
    metrics: bool
    rates: list[float]
    single: list[float]
    errors: list[str]


def run(threads: int, spans: int, rounds: int, metrics: bool = False) -> Throughput:
    rates, single, errors = [], [], []
    for _ in range(rounds):
        rate, wrong = once(threads, spans, metrics)
        rates.append(rate)
        errors += wrong
        rate, wrong = once(1, spans, metrics)
        single.append(rate)
        errors += wrong
    return Throughput(threads, spans, metrics, rates, single, errors)


def compare(trees: list[Path], threads: int, spans: int, rounds: int, metrics: bool) -> None:
    """Alternate fresh processes of each tree; print each tree's median spans/s."""
    call = f"throughput.once({threads}, {spans}" + (", True)" if metrics else ")")
    code = (
        f"from bench import throughput; rate, wrong = {call}; print(rate if not wrong else wrong)"
    )
    rates: dict[Path, list[float]] = {tree: [] for tree in trees}
    for _ in range(rounds):
        for tree in trees:
            env = dict(os.environ, PYTHONPATH=str(tree))
            done = subprocess.run(
                [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True
            )
            try:
                rates[tree].append(float(done.stdout))
            except ValueError:
                raise SystemExit(f"{tree}: {done.stdout}{done.stderr[-500:]}") from None
    for tree, got in rates.items():
        print(
            f"{tree}: {threads} threads x {spans:,} spans: {statistics.median(got):,.0f} "
            f"spans/s (median of {rounds}; min {min(got):,.0f}, max {max(got):,.0f}); "
            "totals exact"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--spans", type=int, default=25_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", nargs="+", type=Path, metavar="TREE")
    parser.add_argument("--metrics", action="store_true", help="record radium's metrics too")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.threads, args.spans, args.rounds, args.metrics)
        return
    r = run(args.threads, args.spans, args.rounds, args.metrics)
    print(
        f"{r.threads} threads x {r.spans_per_thread:,} spans: "
        f"{statistics.median(r.rates):,.0f} spans/s (median of {args.rounds}; "
        f"min {min(r.rates):,.0f}, max {max(r.rates):,.0f}); one thread: "
        f"{statistics.median(r.single):,.0f} spans/s; "
        + ("totals exact" if not r.errors else f"WRONG: {r.errors}")
    )


if __name__ == "__main__":
    main()
