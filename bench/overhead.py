"""Per-call overhead of a decorated tool call and model call, against the bare SDK and peers.

Every setup runs in a worker process of its own (the peers install global providers and
instrumentation that must not meet): ``plain`` (the undecorated function), ``bare`` (the
call inside a bare OpenTelemetry SDK span, `BatchSpanProcessor` to a null exporter),
``radium`` (``@tool`` / ``@model_call`` with the `SessionSpanProcessor` and the same
`BatchSpanProcessor`, inside a session) and the peers' decorators, configured to send
nothing over the network. The parent sends each worker "run <kind> <calls>" in turn,
rotating the order every round, so that the machine's noise hits every setup alike; a ratio
is taken per round against the bare span measured in the same round.

Also counts instructions per call under ``valgrind --tool=callgrind`` (two runs of
different lengths, the difference divided by the extra calls): a ratio free of noise.

    .venv/bench/bin/python -m bench.overhead [--calls 10000] [--rounds 15] [--setups ...]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import NullExporter, batch_provider, spread

ROOT = Path(__file__).resolve().parent.parent
SETUPS = ("plain", "bare", "radium", "traceloop", "langfuse", "logfire", "openlit")
KINDS = ("tool", "model")
PREFIX = "@@ "  # worker replies start with this; peers may print banners on stdout

Fns = dict[str, Callable[[], object]]


def work() -> int:
    """The tool's body: as little as possible, so the figure is the instrumentation's."""
    return 42


def response() -> dict[str, Any]:
    """A model call's return value: an OpenAI Chat Completions-shaped dict with usage."""
    return {"model": "gpt-4o", "usage": {"prompt_tokens": 120, "completion_tokens": 30}}


# --- setups (each runs in its own worker process) ---------------------------------------------
def in_agent_run(tracer: Any) -> None:
    """Open an ``invoke_agent`` span for the rest of the run: calls happen inside an agent run
    (radium's inside its session), as in an agent, for every setup alike.
    """
    from opentelemetry import context, trace

    span = tracer.start_span(
        "invoke_agent bench", attributes={"gen_ai.operation.name": "invoke_agent"}
    )
    context.attach(trace.set_span_in_context(span))


def global_tracer() -> Any:
    from opentelemetry import trace

    return trace.get_tracer("bench")


def setup_plain() -> Fns:
    return {"tool": work, "model": response}


def setup_bare() -> Fns:
    provider = batch_provider()
    tracer = provider.get_tracer("bench")

    def tool() -> int:
        with tracer.start_as_current_span(
            "execute_tool work",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "work"},
        ):
            return work()

    def model() -> dict[str, Any]:
        # What radium's decorator does, by hand: the usage read and put on the span.
        with tracer.start_as_current_span(
            "chat gpt-4o",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
            },
        ) as span:
            result = response()
            usage = result["usage"]
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": usage["prompt_tokens"],
                    "gen_ai.usage.output_tokens": usage["completion_tokens"],
                    "gen_ai.response.model": result["model"],
                }
            )
            return result

    in_agent_run(tracer)
    return {"tool": tool, "model": model}


def setup_radium() -> Fns:
    from radium_otel import Radium

    provider = batch_provider()
    inst = Radium(
        workspace=tempfile.mkdtemp(prefix="radium-bench-"),
        tracer_provider=provider,
        set_global=False,
        print_summary=False,
        checkpoint_interval_s=3600,
        hooks=[],
    )
    tool = inst.tool(name="work")(work)
    model = inst.model_call(provider="openai", model="gpt-4o")(response)
    inst.session(agent="bench").__enter__()  # open for the whole run
    return {"tool": tool, "model": model}


def setup_traceloop() -> Fns:
    os.environ.update(
        TRACELOOP_TELEMETRY="false",
        TRACELOOP_METRICS_ENABLED="false",
        TRACELOOP_LOGGING_ENABLED="false",
        TRACELOOP_TRACE_CONTENT="true",
    )
    sdk: Any = importlib.import_module("traceloop.sdk")
    decorators: Any = importlib.import_module("traceloop.sdk.decorators")
    instruments: Any = importlib.import_module("traceloop.sdk.instruments")
    sdk.Traceloop.init(
        app_name="bench",
        api_endpoint="http://127.0.0.1:9",
        exporter=NullExporter(),
        telemetry_enabled=False,
        block_instruments=set(instruments.Instruments),
    )
    tool = decorators.tool(name="work")(work)
    in_agent_run(global_tracer())
    return {"tool": tool}


def setup_langfuse() -> Fns:
    lf: Any = importlib.import_module("langfuse")
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    client = lf.Langfuse(
        public_key="pk-lf-bench",
        secret_key="sk-lf-bench",
        base_url="http://127.0.0.1:9",
        tracer_provider=provider,
        span_exporter=NullExporter(),
    )
    in_agent_run(provider.get_tracer("bench"))
    tool = lf.observe(name="work", as_type="tool")(work)

    def generation() -> dict[str, Any]:
        result = response()
        usage = result["usage"]
        client.update_current_generation(
            model=result["model"],
            usage_details={"input": usage["prompt_tokens"], "output": usage["completion_tokens"]},
        )
        return result

    model = lf.observe(name="chat gpt-4o", as_type="generation")(generation)
    return {"tool": tool, "model": model}


def setup_logfire() -> Fns:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    logfire: Any = importlib.import_module("logfire")
    logfire.configure(
        send_to_logfire=False,
        console=False,
        metrics=False,
        service_name="bench",
        additional_span_processors=[BatchSpanProcessor(NullExporter(), max_queue_size=1 << 16)],
    )
    tool = logfire.instrument("execute_tool work")(work)
    in_agent_run(global_tracer())
    return {"tool": tool}


def setup_openlit() -> Fns:
    from opentelemetry import trace

    trace.set_tracer_provider(batch_provider())  # openlit reuses an SDK provider it finds
    pricing = Path(tempfile.mkdtemp(prefix="radium-bench-")) / "pricing.json"
    pricing.write_text("{}")  # by default openlit downloads its price list
    openlit: Any = importlib.import_module("openlit")
    modules: Any = importlib.import_module("openlit._instrumentors")
    openlit.init(
        disable_metrics=True,
        disable_events=True,
        pricing_json=str(pricing),
        disabled_instrumentors=list(getattr(modules, "MODULE_NAME_MAP", {})),
    )
    tool = openlit.trace(work)
    in_agent_run(global_tracer())
    return {"tool": tool}


SETUP_FNS: dict[str, Callable[[], Fns]] = {
    "plain": setup_plain,
    "bare": setup_bare,
    "radium": setup_radium,
    "traceloop": setup_traceloop,
    "langfuse": setup_langfuse,
    "logfire": setup_logfire,
    "openlit": setup_openlit,
}
PEER_DIST = {
    "traceloop": "traceloop-sdk",
    "langfuse": "langfuse",
    "logfire": "logfire",
    "openlit": "openlit",
}


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def _emit(text: str) -> None:
    sys.stdout.write(PREFIX + text + "\n")
    sys.stdout.flush()


def worker(setup: str, count: int | None, kind: str, warmup: int, gc_off: bool = False) -> None:
    """Serve "run <kind> <calls>" requests on stdin; or, with ``count``, run once and exit
    (with the cyclic GC off while measuring if ``gc_off``).
    """
    try:
        fns = SETUP_FNS[setup]()
    except Exception as exc:  # a peer that cannot be set up: say why
        _emit(f"error {type(exc).__name__}: {exc}".replace("\n", " ")[:300])
        os._exit(0)
    if count is not None:  # under callgrind: warm up, run ``count`` calls, leave at once
        per_call_us(fns[kind], 200)
        # Let background threads finish their start-up work (radium's checkpointer writes a
        # first checkpoint when a session opens), then no thread switch while measuring: the
        # count is the calling thread's own. Otherwise a batch processor's export or a
        # checkpoint lands in one run and not in the other, at wall-clock driven times, and
        # the count varies by several percent from run to run.
        time.sleep(3.0)
        sys.setswitchinterval(1000.0)
        if gc_off:
            gc.collect()
            gc.disable()
        per_call_us(fns[kind], count)
        os._exit(0)
    for fn in fns.values():
        per_call_us(fn, warmup)
    _emit("ready " + " ".join(fns))
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        _emit(f"{per_call_us(fns[parts[1]], int(parts[2])):.6f}")
    os._exit(0)  # peers' exit hooks may try to flush to a network: skip them, for all alike


@dataclass
class Worker:
    setup: str
    proc: subprocess.Popen[str]
    kinds: list[str] = field(default_factory=list)
    error: str | None = None

    def reply(self) -> str:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(PREFIX):
                return line[len(PREFIX) :].strip()
        return "error exited: " + (self.proc.stderr.read()[-300:] if self.proc.stderr else "")

    def run(self, kind: str, calls: int) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {kind} {calls}\n")
        self.proc.stdin.flush()
        return float(self.reply())


def worker_env(root: Path = ROOT) -> dict[str, str]:
    drop = ("RADIUM_", "OTEL_", "TRACELOOP_", "LANGFUSE_", "LOGFIRE_", "OPENLIT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONPATH"] = str(root)
    env["OTEL_SDK_DISABLED"] = "false"
    env["OTEL_METRICS_EXPORTER"] = "none"
    env["OTEL_LOGS_EXPORTER"] = "none"
    env["OTEL_TRACES_EXPORTER"] = "none"
    env["RADIUM_SUMMARY"] = "0"
    return env


def _where(setup: str) -> tuple[str, Path]:
    """``radium@/other/tree``: the setup ``radium`` run from another copy of the repository
    (another version of radium_otel, e.g. an export of an earlier commit with this bench/ in
    it), to compare versions in the same alternating rounds.
    """
    name, _, root = setup.partition("@")
    return name, Path(root) if root else ROOT


def start_worker(setup: str, warmup: int = 2_000) -> Worker:
    name, root = _where(setup)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.overhead", "--worker", name, "--warmup", str(warmup)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        env=worker_env(root),
    )
    w = Worker(setup, proc)
    first = w.reply()
    if first.startswith("ready"):
        w.kinds = first.split()[1:]
    else:
        w.error = first.removeprefix("error ").strip()
        proc.kill()
        proc.communicate()
    return w


@dataclass
class Overhead:
    """Per-round µs per call for each (setup, kind), and why a setup could not run."""

    us: dict[tuple[str, str], list[float]]
    errors: dict[str, str]
    calls: int
    rounds: int

    def ratios(self, setup: str, kind: str) -> list[float]:
        bare = self.us.get(("bare", kind), [])
        return [v / b for v, b in zip(self.us[(setup, kind)], bare, strict=False)]


def available(setups: list[str]) -> tuple[list[str], dict[str, str]]:
    from bench.common import version

    keep, missing = [], {}
    for s in setups:
        dist = PEER_DIST.get(_where(s)[0])
        if dist is not None and version(dist) is None:
            missing[s] = f"{dist} is not installed in this environment"
        else:
            keep.append(s)
    return keep, missing


def measure(setups: list[str], calls: int, rounds: int, warmup: int = 2_000) -> Overhead:
    """Alternating rounds over one worker process per setup."""
    setups, errors = available(setups)
    workers = [start_worker(s, warmup) for s in setups]
    for w in workers:
        if w.error is not None:
            errors[w.setup] = w.error
    live = [w for w in workers if w.error is None]
    slots = [(w, kind) for w in live for kind in w.kinds]
    us: dict[tuple[str, str], list[float]] = {(w.setup, kind): [] for w, kind in slots}
    try:
        for r in range(rounds):
            shift = r % len(slots)
            for w, kind in slots[shift:] + slots[:shift]:
                us[(w.setup, kind)].append(w.run(kind, calls))
    finally:
        for w in live:
            if w.proc.stdin is not None:
                try:
                    w.proc.stdin.write("quit\n")
                    w.proc.stdin.flush()
                except OSError:
                    pass
            w.proc.communicate(timeout=30)  # waits, and closes the pipes
    return Overhead(us, errors, calls, rounds)


# --- instruction counts -----------------------------------------------------------------------
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _instructions(setup: str, kind: str, count: int, gc_off: bool = False) -> int:
    name, root = _where(setup)
    with tempfile.TemporaryDirectory(prefix="radium-bench-cg-") as tmp:
        env = worker_env(root)
        env["PYTHONHASHSEED"] = "0"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                "-m",
                "bench.overhead",
                "--worker",
                name,
                "--count",
                str(count),
                "--kind",
                kind,
                *(["--gc-off"] if gc_off else []),
            ],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=1800,
            check=False,
        )
    found = _IREFS.search(done.stderr)  # callgrind's summary: "==123== I   refs:  1,234,567"
    if found is None or PREFIX + "error" in done.stdout:
        raise RuntimeError(f"callgrind {setup}/{kind}: {(done.stdout + done.stderr)[-300:]}")
    return int(found.group(1).replace(",", ""))


def instructions_per_call(setup: str, kind: str, calls: int, gc_off: bool = False) -> float:
    """Instructions a call costs: two runs of different lengths, so start-up cancels out.

    With ``gc_off``, the cyclic GC is off while measuring: where its collections fall (a
    full one walks every object alive, the batch processor's queued spans too) otherwise
    moves thousands of instructions per call in or out of the measured stretch, from run to
    run and from one version to the next.
    """
    short = _instructions(setup, kind, calls // 10, gc_off)
    long = _instructions(setup, kind, calls, gc_off)
    return (long - short) / (calls - calls // 10)


def have_valgrind() -> bool:
    return shutil.which("valgrind") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--setups", nargs="+", default=list(SETUPS), help=f"of {', '.join(SETUPS)}; NAME@TREE"
    )
    parser.add_argument("--callgrind", type=int, default=0, help="calls per callgrind run")
    parser.add_argument("--worker", choices=SETUPS, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=KINDS, default="tool", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=2_000, help=argparse.SUPPRESS)
    parser.add_argument("--gc-off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.count, args.kind, args.warmup, args.gc_off)
        return
    result = measure(args.setups, args.calls, args.rounds)
    print(f"{args.rounds} rounds x {args.calls} calls; µs per call, median ({'spread'})")
    for (setup, kind), values in result.us.items():
        line = f"  {setup:<10} {kind:<6} {statistics.median(values):8.2f}  ({spread(values)})"
        if setup != "bare" and ("bare", kind) in result.us:
            ratios = result.ratios(setup, kind)
            line += f"  {statistics.median(ratios):.3f}x bare ({spread(ratios)})"
        print(line)
    for setup, why in result.errors.items():
        print(f"  {setup}: not run: {why}")
    if args.callgrind and have_valgrind():
        for setup in [s for s in args.setups if _where(s)[0] in ("bare", "radium")]:
            for kind in KINDS:
                on = instructions_per_call(setup, kind, args.callgrind)
                off = instructions_per_call(setup, kind, args.callgrind, gc_off=True)
                print(f"  {setup} {kind}: {on:,.0f} instructions/call ({off:,.0f} GC off)")


if __name__ == "__main__":
    main()
