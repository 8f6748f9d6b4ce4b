"""Instructions the `SessionSpanProcessor` costs per span, for versions side by side.

A provider carries the session processor alone (no exporter), and a tracer of a third-party
scope emits agent turns the way instrumentations do, with explicit timestamps; callgrind
counts instructions for two run lengths, so start-up cancels out, and the difference is
divided by the extra spans (with the cyclic garbage collector off: see `main`). Workloads:

- ``session``: inside one user session (``rad.session``'s context), per turn a chat span
  with usage and a tool span: what decorators and client instrumentations emit.
- ``framework``: per run a top-level OpenInference AGENT span without a user session, two
  LLM spans of the framework each with a sibling client span recording the same request
  (cache detail on the client's), and a tool span: what a framework plus ``rad.instrument``
  emits; counts the rules for agent roots and one request counted once.

``TREE`` arguments are copies of the repository, each a version of radium_otel with this
bench/ beside it (default: this checkout alone). Give them paths of equal length: the
length of the path shifts the count by up to ~1k instructions a span (measured), e.g.::

    git worktree add /tmp/rad-a <old commit> && cp -r bench /tmp/rad-a/
    mkdir /tmp/rad-b && cp -r radium_otel bench /tmp/rad-b/
    python -m bench.processor_cost --compare /tmp/rad-a /tmp/rad-b
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from opentelemetry.util.types import AttributeValue

from radium_otel._internal.record import SessionRecord

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("session", "framework")
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")
_S = 1_000_000_000
_T0 = 1_700_000_000 * _S


def run(workload: str, spans: int, processor_on: bool = True) -> list[SessionRecord]:
    """Emit about ``spans`` spans of ``workload`` into a provider with the processor (or,
    to measure what the SDK alone costs, without it).
    """
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import set_span_in_context

    from radium_otel._internal.processor import SessionSpanProcessor, session_context

    records: list[SessionRecord] = []
    processor = SessionSpanProcessor(records.append)
    provider = TracerProvider()
    if processor_on:
        provider.add_span_processor(processor)
    fw = provider.get_tracer("openinference.instrumentation.framework")
    client = provider.get_tracer("opentelemetry.instrumentation.openai")
    chat: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 80,
        "gen_ai.usage.cache_read.input_tokens": 1000,
    }
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"}
    llm: dict[str, AttributeValue] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.token_count.prompt": 1200,
        "llm.token_count.completion": 80,
    }
    t = _T0
    if workload == "session":
        sid = processor.open_session("bench", start_ns=t)
        token = session_context.set(sid)
        for _ in range(spans // 2):
            span = client.start_span("chat", attributes=chat, start_time=t)
            span.end(end_time=t + 900)
            span = fw.start_span("execute_tool", attributes=tool, start_time=t + 1000)
            span.end(end_time=t + 1500)
            t += 2000
        session_context.reset(token)
        processor.end_session(sid, end_ns=t)
    else:
        for _ in range(spans // 6):
            root = fw.start_span("weather", attributes={"openinference.span.kind": "AGENT"},
                                 start_time=t)  # fmt: skip
            ctx = set_span_in_context(root)
            for _ in range(2):
                outer = fw.start_span("ChatOpenAI", context=ctx, attributes=llm, start_time=t + 1)
                inner = client.start_span("chat", context=ctx, attributes=chat, start_time=t + 2)
                inner.end(end_time=t + 900)
                outer.end(end_time=t + 950)
                t += 1000
            span = fw.start_span("get_weather", context=ctx, attributes=tool, start_time=t)
            span.end(end_time=t + 500)
            root.end(end_time=t + 600)
            t += 1000
    provider.shutdown()
    return records


def instructions(tree: Path, workload: str, spans: int, processor_on: bool = True) -> int:
    """Instructions of one run of ``workload`` with the radium_otel of ``tree``."""
    bare = [] if processor_on else ["--no-processor"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADIUM_", "OTEL_"))}
    env |= {"PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="radium-bench-cg-") as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable,
             "-m", "bench.processor_cost", "--worker", workload, "--spans", str(spans), *bare],
            capture_output=True, text=True, cwd=tree, env=env, timeout=1800, check=False,
        )  # fmt: skip
    found = _IREFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind {tree} {workload}: {done.stderr[-400:]}")
    return int(found.group(1).replace(",", ""))


def per_span(tree: Path, workload: str, spans: int, processor_on: bool = True) -> float:
    """Instructions per span: two run lengths, start-up cancels out."""
    short = instructions(tree, workload, spans // 5, processor_on)
    long = instructions(tree, workload, spans, processor_on)
    return (long - short) / (spans - spans // 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--compare", nargs="*", type=Path, default=[], metavar="TREE")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--worker", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--no-processor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        # No cyclic collection while measuring: when a collection falls depends on every
        # allocation of the process (one more or less moves a full collection in or out
        # of the measured stretch, thousands of instructions per span); code paths are
        # compared without it.
        gc.disable()
        run(args.worker, args.spans, not args.no_processor)
        return
    trees = args.compare or [ROOT]
    print(f"instructions per span, {args.spans:,} spans a run (two lengths); processor: what")
    print("the span costs with the processor minus what it costs the SDK alone")
    print("| workload | SDK alone | " + " | ".join(f"{t}: span, processor" for t in trees)
          + " | processor ratio last/first | span ratio last/first |")  # fmt: skip
    print("| --- | ---: |" + " ---: |" * (len(trees) + 2))
    for workload in args.workloads:
        sdk = per_span(trees[0], workload, args.spans, processor_on=False)
        spans = [per_span(tree, workload, args.spans) for tree in trees]
        own = [s - sdk for s in spans]
        cells = " | ".join(f"{s:,.0f}, {o:,.0f}" for s, o in zip(spans, own, strict=True))
        print(f"| {workload} | {sdk:,.0f} | {cells} | {own[-1] / own[0]:.3f} "
              f"| {spans[-1] / spans[0]:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
