"""Run every benchmark and write ``bench/RESULTS.md``: ``python -m bench [--quick]``.

Meant to run in the benchmark venv that ``bash bench/run.sh`` makes (radium-otel editable plus
the peers' pinned releases); in another environment the peers that are not installed are
skipped and said so. Sizes: the defaults take about 20 minutes on a 2-core VM, ``--quick``
about 3.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import cli_speed, collect, hotpath, importing, memory, overhead, throughput
from bench.common import machine, spread, versions

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)
    return done.stdout.strip()


def _med(values: list[float]) -> float:
    return statistics.median(values)


def _x(ratio: float) -> str:
    return f"{ratio:.3f}x" if ratio >= 0.01 else f"{ratio:.2g}x"


def section_overhead(o: overhead.Overhead, instr: dict[tuple[str, str], float]) -> list[str]:
    out = [
        "## 1. Overhead per call",
        "",
        f"{o.rounds} alternating rounds x {o.calls:,} calls; one worker process per setup; "
        "every call runs inside an open agent span (radium's: its session). µs per call: "
        "median and spread over rounds; ratio: median of the per-round ratios to the bare "
        "SDK span of the same kind measured in the same round. Instructions: per call, "
        "under callgrind (two runs of different lengths; start-up cancels out).",
        "",
        "| setup | call | µs/call (median) | spread (µs) | ratio to bare span | ratio spread "
        "| instructions/call | instruction ratio |",
        "| --- | --- | ---: | --- | ---: | --- | ---: | ---: |",
    ]
    for (setup, kind), values in o.us.items():
        ratio = ratio_spread = "—"
        if setup != "bare" and ("bare", kind) in o.us:
            ratios = o.ratios(setup, kind)
            ratio = f"**{_x(_med(ratios))}**" if setup == "radium" else _x(_med(ratios))
            ratio_spread = spread(ratios)
        count = instr.get((setup, kind))
        bare_count = instr.get(("bare", kind))
        count_s = f"{count:,.0f}" if count is not None else "—"
        count_ratio = (
            f"{count / bare_count:.3f}x"
            if count is not None and bare_count and setup != "bare"
            else "—"
        )
        out.append(
            f"| {setup} | {kind} | {_med(values):.2f} | {spread(values)} | {ratio} | "
            f"{ratio_spread} | {count_s} | {count_ratio} |"
        )
    out.append("")
    out.append(
        "What each setup is: `plain` the undecorated function; `bare` the call inside "
        "`tracer.start_as_current_span` with the GenAI attributes (the model call also reads "
        "the usage from the response and sets it on the span, by hand), `BatchSpanProcessor` to "
        "a null exporter; `radium` `@tool` / `@model_call` with the `SessionSpanProcessor` and "
        "the same `BatchSpanProcessor`, inside `session()`; `traceloop` `@tool` "
        "(`Traceloop.init(exporter=null, telemetry off, every instrumentation blocked)`); "
        "`langfuse` `@observe(as_type='tool')` / `@observe(as_type='generation')` with "
        "`update_current_generation(usage_details=...)` (`Langfuse(tracer_provider=own, "
        "span_exporter=null)`); `logfire` `@logfire.instrument` (`send_to_logfire=False, "
        "console=False, metrics=False`, a batch processor to a null exporter); `openlit` "
        "`@openlit.trace` (on an SDK provider set first with a batch processor to a null "
        "exporter, metrics and events off, every instrumentor disabled, price list from a "
        "local empty file). Peers run with their defaults otherwise (traceloop, langfuse "
        "and openlit record the arguments and return value: their default; radium does not "
        "by default). Only langfuse has a model-call decorator taking usage; the other peers "
        "get usage from their client-library instrumentations, so they have no `model` row."
    )
    if any("@" in setup for setup, _ in o.us):
        out += [
            "",
            "`radium@TREE`: the `radium` setup run from another copy of the repository at TREE "
            "(an earlier version of radium_otel with this bench/ copied in), in the same "
            "alternating rounds: a before/after comparison (see the history below).",
        ]
    if o.errors:
        out += ["", "Could not run:"]
        out += [f"- `{setup}`: {why}" for setup, why in o.errors.items()]
    return out


def section_memory(rows: list[memory.MemoryRow]) -> list[str]:
    out = [
        "## 2. Memory of one session as it grows",
        "",
        "One open session, real SDK spans (`tracer.start_span`/`end`) on a provider whose "
        "only processor is the `SessionSpanProcessor` (no exporter: the processor alone), "
        "3 tool calls (50 names, 1 in 50 failing) per model call (5 models, usage on the "
        "span). A fresh process per size. *Processor state*: every object the processor "
        "holds (sessions, open spans, interval unions, counters); *held by radium code*: "
        "memory still allocated by `radium_otel` code at the end (tracemalloc, a second "
        "run). Totals checked against what was emitted.",
        "",
        "| spans | time | spans/s | peak RSS | processor state | held by radium code "
        "(tracemalloc) | totals |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r.spans:,} | {r.seconds:.1f} s | {r.spans_per_s:,.0f} | "
            f"{r.peak_rss_mb:.1f} MB | {r.state_kb:.1f} KB | {r.traced_kb:.1f} KB | "
            f"{'exact' if not r.errors else 'WRONG: ' + '; '.join(r.errors)} |"
        )
    return out


def section_throughput(runs: list[throughput.Throughput]) -> list[str]:
    t = runs[0]
    out = [
        "## 3. Throughput from many threads",
        "",
        f"{t.threads} threads start together and each emits {t.spans_per_thread:,} spans of "
        "the same mix into one shared session (one lock, one session state); then the "
        "session's record is checked against what was emitted. Same spans from one thread "
        "for reference. *Metrics*: the processor also records radium's metrics (a "
        "`MeterProvider` with an in-memory reader). Median of rounds (spread).",
        "",
        "| threads | metrics | spans/s (median) | spread | totals |",
        "| ---: | --- | ---: | --- | --- |",
    ]
    for r in runs:
        totals = "exact (no span dropped or miscounted)" if not r.errors else f"WRONG: {r.errors}"
        metrics = "on" if r.metrics else "off"
        out += [
            f"| {r.threads} | {metrics} | {_med(r.rates):,.0f} | {spread(r.rates)} | {totals} |",
            f"| 1 | {metrics} | {_med(r.single):,.0f} | {spread(r.single)} | |",
        ]
    return out


def section_cli(times: dict[str, list[float]], notes: list[str], n: int) -> list[str]:
    out = [
        "## 4. CLI",
        "",
        f"Whole `rad` processes (interpreter start-up included) on {n:,} generated sessions, "
        "warm index, commands interleaved; " + "; ".join(notes) + ".",
        "",
        "| command | seconds (median) | spread |",
        "| --- | ---: | --- |",
    ]
    for args, values in times.items():
        out.append(f"| `rad {args}` | {_med(values):.3f} | {spread(values)} |")
    return out


def section_hotpath(rows: dict[str, list[hotpath.HotRow]]) -> list[str]:
    out = [
        "## 5. Where a decorated call's time goes (cProfile, this run)",
        "",
        "Own time per decorated call; cProfile inflates every figure, read them as shares.",
    ]
    for kind, hot in rows.items():
        out += [
            "",
            f"`{kind}`:",
            "",
            "| own µs | calls per call | function |",
            "| ---: | ---: | --- |",
        ]
        out += [f"| {r.own_us:.2f} | {r.calls_per_call:.1f} | `{r.function}` |" for r in hot]
    return out


def section_collect(r: collect.CollectResult) -> list[str]:
    recs = r.records
    rounds = len(r.rounds)
    http_cpu, direct_cpu = r.med("server_cpu_s"), r.med("direct_cpu_s")
    naive = f"{len(r.values('naive_s'))} round"
    met = "met" if direct_cpu < 1.0 else "**not met**"
    per_export_ms = r.small.ingest_cpu_ms + r.small.checkpoint_cpu_ms
    estimate_s = r.sessions * r.requests * per_export_ms / 1e3
    out = [
        "## 6. `rad collect`: Claude Code log batches",
        "",
        f"A heavy user's day: {r.sessions} sessions x {r.requests} model requests with all "
        f"their events, {recs:,} records (~{recs / (r.sessions * r.requests):.2f} a request) "
        f"built from the real CLI's captured records, in {r.batches:,} OTLP/HTTP protobuf "
        f"batches of at most {r.batch} records (one session each, sessions interleaved), "
        "sent one after the other on one keep-alive connection. *rad collect*: the command's "
        "own loop (`serve`: receiver, collector, a checkpoint a second) in a child process; "
        "CPU is the server's (`time.process_time`, every thread). *Collector.ingest*: the "
        "same requests decoded beforehand, straight into a fresh `Collector` (no HTTP, no "
        "decoding). The journal fsyncs every batch before its 200. Totals (sessions, "
        "requests, tokens, tool calls, failures, decisions) checked exact every round. "
        f"Median of {rounds} rounds (spread); the naive receiver: {naive}.",
        "",
        "| path | records/s | wall (s) | CPU (s) | records per CPU s | RSS after (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| rad collect, OTLP/HTTP | {recs / r.med('http_s'):,.0f} | {r.med('http_s'):.2f} "
        f"({spread(r.values('http_s'))}) | {http_cpu:.2f} ({spread(r.values('server_cpu_s'))}) "
        f"| {recs / http_cpu:,.0f} | {r.med('server_rss_mb'):.1f} |",
        f"| `Collector.ingest` (decoded requests) | {recs / r.med('direct_s'):,.0f} | "
        f"{r.med('direct_s'):.2f} ({spread(r.values('direct_s'))}) | {direct_cpu:.2f} "
        f"({spread(r.values('direct_cpu_s'))}) | {recs / direct_cpu:,.0f} | — |",
        f"| decoding alone (`ParseFromString`) | — | — | {r.med('decode_s'):.3f} | "
        f"{recs / r.med('decode_s'):,.0f} | — |",
        f"| naive receiver (decode, `MessageToDict`, a list), OTLP/HTTP | "
        f"{recs / r.med('naive_s'):,.0f} | {r.med('naive_s'):.2f} | {r.med('naive_cpu_s'):.2f} "
        f"| {recs / r.med('naive_cpu_s'):,.0f} | {r.med('naive_rss_mb'):.1f} |",
        "",
        f'Target "a day in well under a second of CPU": {met} ({direct_cpu:.2f} CPU s '
        f"straight into the collector, {http_cpu:.2f} through rad collect). Receiving (HTTP, "
        f"decoding, the checkpoints of the serve loop) is {1 - direct_cpu / http_cpu:.0%} of "
        f"rad collect's CPU; decoding alone {r.med('decode_s') / http_cpu:.0%}. The checkpoint "
        f"after the direct ingest (every session written as active) took "
        f"{r.med('tick_cpu_s'):.2f} CPU s, {r.med('tick_cpu_s') / r.sessions * 1e3:.1f} ms a "
        "session.",
        "",
        f"As Claude Code sends it (`OTEL_LOGS_EXPORT_INTERVAL=5000`: about one model "
        f"request's events an export, ~{r.small.records_per_export:.1f} records), straight "
        f"into the collector, {r.small.exports} exports each followed by the checkpoint that "
        f"writes its session: ingest {r.small.ingest_cpu_ms:.2f} ms CPU "
        f"({r.small.ingest_wall_ms:.1f} ms wall, the fsync) and checkpoint "
        f"{r.small.checkpoint_cpu_ms:.2f} ms CPU ({r.small.checkpoint_wall_ms:.1f} ms wall) an "
        f"export; at that rate the day's {r.sessions * r.requests:,} requests would cost about "
        f"{estimate_s:,.0f} CPU s (an estimate from these two figures, not a measured day).",
        "",
        f"{r.live.sessions:,} live sessions ({r.live.records:,} records, "
        f"{r.live.records // r.live.sessions} a session, one batch each) into a fresh rad "
        "collect, then a checkpoint; VmRSS after `gc.collect()`:",
        "",
        "| receiver | RSS started (MB) | RSS with the sessions (MB) | peak (MB) | per session |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| rad collect | {r.live.before_mb:.1f} | {r.live.after_mb:.1f} | "
        f"{r.live.peak_mb:.1f} | {r.live.per_session_kb:.1f} KB |",
        f"| naive receiver | {r.live.naive_before_mb:.1f} | {r.live.naive_after_mb:.1f} | — | "
        f"{(r.live.naive_after_mb - r.live.naive_before_mb) * 1024 / r.live.sessions:.1f} KB |",
        "",
    ]
    lat = r.latency
    out += [
        f"Latency at {lat.rate:g} requests/s: {lat.sent:,} requests of one model request's "
        f"events (~{lat.records_per_request:.1f} records) from {collect.CLIENTS} connections "
        f"over {lat.wall_s:.1f} s, 20 sessions; from when each request was due to its "
        "response:",
        "",
        "| p50 | p95 | p99 | max | server CPU a request |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {lat.quantile(0.5):.1f} ms | {lat.quantile(0.95):.1f} ms | "
        f"**{lat.quantile(0.99):.1f} ms** | {max(lat.latencies_ms):.1f} ms | "
        f"{lat.server_cpu_ms_per_request:.2f} ms |",
        "",
        f"Where the direct ingest's time goes (cProfile of the day and one checkpoint, "
        f"{r.profile_s:.1f} s under the profiler, wall: fsync waits show as `posix.fsync`), "
        "own time:",
        "",
        "| share | calls | function |",
        "| ---: | ---: | --- |",
    ]
    out += [f"| {h.share:.1%} | {h.calls:,} | `{h.function}` |" for h in r.hot]
    out += [
        "",
        "radium's functions, time inclusive of what they call:",
        "",
        "| share | calls | function |",
        "| ---: | ---: | --- |",
    ]
    out += [f"| {h.share:.1%} | {h.calls:,} | `{h.function}` |" for h in r.hot_inclusive]
    out += ["", collect.OTEL_COLLECTOR_FIGURES]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--setups",
        nargs="+",
        default=list(overhead.SETUPS),
        help="overhead setups; NAME@TREE runs NAME from another copy of the repository "
        "(e.g. radium@/tmp/before: an export of an earlier commit, to compare versions)",
    )
    parser.add_argument("--no-callgrind", action="store_true", help="skip instruction counts")
    parser.add_argument(
        "--callgrind-peers",
        action="store_true",
        help="count the peers' instructions too (slow: their imports run under valgrind)",
    )
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI timings")
    parser.add_argument("--no-collect", action="store_true", help="skip `rad collect`")
    parser.add_argument("--no-import", action="store_true", help="skip `rad import` vs ccusage")
    args = parser.parse_args()
    quick = args.quick
    calls, rounds = (2_000, 5) if quick else (10_000, 12)
    cg_calls = 900 if quick else 1_800  # under 2,048 spans: no peer's default queue drops any
    spans = [1_000, 10_000, 100_000] if quick else [1_000, 100_000, 1_000_000]
    tp_spans, tp_rounds = (5_000, 2) if quick else (20_000, 3)
    cli_sessions, cli_runs = (2_000, 3) if quick else (10_000, 10)
    command = os.environ.get("RADIUM_BENCH_COMMAND") or shlex.join(
        ["python", "-m", "bench", *sys.argv[1:]]
    )
    began = time.perf_counter()
    dirty = (
        " (with uncommitted changes)" if _git("status", "--porcelain", "--", "radium_otel") else ""
    )
    header = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"commit {_git('rev-parse', '--short', 'HEAD')}{dirty}",
        f"- Machine: {machine()}",
        f"- Versions: {versions()}",
        f"- Command: `{command}`",
    ]

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - began:6.0f} s] {text}", flush=True)

    log(f"overhead: {rounds} rounds x {calls} calls, setups {', '.join(args.setups)}")
    o = overhead.measure(args.setups, calls, rounds)
    instr: dict[tuple[str, str], float] = {}
    if not args.no_callgrind and overhead.have_valgrind():
        runs = [(s, k) for (s, k) in o.us if s in ("bare", "radium") or s.startswith("radium@")]
        if args.callgrind_peers:
            runs += [(s, k) for (s, k) in o.us if s in overhead.PEER_DIST]
        for setup, kind in runs:
            log(f"callgrind {setup} {kind}")
            try:
                instr[(setup, kind)] = overhead.instructions_per_call(setup, kind, cg_calls)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                log(f"  failed: {exc}")
    body = section_overhead(o, instr)

    mem_rows = []
    for n in spans:
        log(f"memory: {n:,} spans")
        mem_rows.append(memory.run(n))
    body += ["", *section_memory(mem_rows)]

    log(f"throughput: 8 threads x {tp_spans:,} spans x {tp_rounds} rounds")
    throughputs = [throughput.run(8, tp_spans, tp_rounds, m) for m in (False, True)]
    body += ["", *section_throughput(throughputs)]

    if not args.no_cli:
        log(f"cli: {cli_sessions:,} sessions, {cli_runs} runs")
        with tempfile.TemporaryDirectory(prefix="rad-bench-cli-") as tmp:
            times, notes = cli_speed.suite(Path(tmp), cli_sessions, cli_runs, seed=20250301)
        body += ["", *section_cli(times, notes, cli_sessions)]

    log("hot path profile")
    hot = {kind: hotpath.profile(kind, 5_000 if quick else 20_000, 12) for kind in overhead.KINDS}
    body += ["", *section_hotpath(hot)]

    if not args.no_collect:
        collected = collect.run(
            sessions=20 if quick else 100,
            requests=100 if quick else 500,
            batch=512,
            rounds=1 if quick else 3,
            live=200 if quick else 1_000,
            live_requests=20,
            rate=100.0,
            seconds=3.0 if quick else 10.0,
            small=40 if quick else 150,
            log=log,
        )
        body += ["", *section_collect(collected)]

    if not args.no_import:
        imported = importing.run(400 if quick else 10_000, profile_files=1_000, log=log)
        body += ["", *importing.markdown(imported)]

    history = ROOT / "bench" / "history.md"
    if history.exists():
        body += ["", history.read_text().rstrip()]
    header.append(f"- Took {time.perf_counter() - began:.0f} s")
    args.out.write_text("\n".join([*header, "", *body]) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
