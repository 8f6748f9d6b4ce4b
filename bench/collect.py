"""`rad collect` under load: Claude Code log batches into the OTLP receiver and the collector.

Batches are built from the log records the real Claude Code CLI exported
(``tests/sources/captures/claude-logs.json``): the same resource, scope and attribute sets,
with the session id, ``event.sequence``, timestamps, ids, tool names, models and token counts
varied. Each model request of a session brings its events: ``api_request``, then the
``tool_decision`` about the tool the model asked for and (unless refused) its
``tool_result``; every turn of two requests opens with a ``user_prompt`` and ends with an
``assistant_response`` (about 4 records a request). A batch holds one session's records (a
Claude Code process exports its own session), at most ``--batch`` of them (512: the OTel JS
SDK's ``BatchLogRecordProcessor`` maximum); sessions are interleaved.

Parts, in one run:

- **day**: a heavy user's day, ``--sessions`` x ``--requests``. Sent as OTLP/HTTP protobuf
  over one keep-alive connection to `rad collect` in a child process (`serve`, the command's
  own loop: receiver, collector, a checkpoint tick a second, gRPC listening too): records/s,
  the server's CPU seconds (its `time.process_time`, every thread) and wall. Then the same
  requests, decoded beforehand, straight into `Collector.ingest` in this process (no HTTP, no
  decoding; one `tick` at the end), and decoding alone (`ParseFromString`): the HTTP and
  decoding shares. The journal fsyncs every batch before the 200 (durability first), so wall
  time includes one fsync a batch. Totals (sessions, requests, tokens, tool calls, failures,
  decisions) are checked against what was generated.
- **rss**: ``--live`` sessions of ``--live-requests`` requests each, one batch per session,
  into a fresh `rad collect` child; VmRSS before (started, idle) and after (every session
  live, checkpointed), and the peak (VmHWM).
- **latency**: a paced client, ``--rate`` requests/s for ``--seconds`` (4 connections, each
  at a quarter of the rate), every request one request's events (about 4 records, what
  Claude Code sends every 5 s while it works); latency from the moment a request was due to
  its response (a late start counts), p50/p95/p99/max; the server's CPU per request.
- **naive**: the day's bodies into a naive receiver in a child process (``http.server``:
  decode with protobuf, convert everything with ``json_format.MessageToDict``, append to a
  list; no journal, no sessions), records/s and its RSS after the day and after the
  ``--live`` sessions: what radium costs beyond decoding.
- **profile**: cProfile of the direct ingest of the day: own time per function, as shares.

    .venv/bench/bin/python -m bench.collect [--quick] [--rounds 3] [--markdown]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import http.client
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "tests" / "sources" / "captures" / "claude-logs.json"
HEADERS = {"Content-Type": "application/x-protobuf"}
TOOLS = ("Bash", "Read", "Edit", "Write", "Grep", "Glob", "TodoWrite", "WebFetch")
MODELS = ("claude-sonnet-4-5", "claude-sonnet-4-5", "claude-sonnet-4-5", "claude-haiku-4-5")
TURN = 2  # model requests per user prompt
REFUSED_1_IN = 25  # tool calls refused by the user (no tool_result)
FAILED_1_IN = 20  # tool calls that ran and failed
CLIENTS = 4  # connections of the paced client


# The OpenTelemetry Collector's own published figures (their machines, not ours; see
# bench/README.md "rad collect" for what each measures).
OTEL_COLLECTOR_FIGURES = (
    "The OpenTelemetry Collector's own published figures (their machines and workloads, not "
    "ours; not measured here): its performance document (Collector v0.1.3, traces of 20 "
    "attributes a span, an hour sustained) gives ~12,000 spans/s on 1 CPU (2+ GHz) with 2 GB "
    "and ~24,000 on 2 CPUs with 4 GB over OTLP (10,000 / 20,000 recommended), "
    "https://github.com/open-telemetry/opentelemetry-collector/blob/"
    "06e74e647696decf104d45f6b055b7c015c9a78b/docs/performance.md; its load tests run on "
    "every commit of opentelemetry-collector-contrib "
    "(https://opentelemetry.io/docs/collector/benchmarks/, charts at "
    "https://open-telemetry.github.io/opentelemetry-collector-contrib/benchmarks/loadtests/), "
    "where 10,000 log records/s over OTLP (gRPC, and HTTP) must stay under 30% of a CPU "
    "and 99 MiB (HTTP: 95 MiB) of RAM, i.e. at least ~33,000 records per CPU second "
    "(testbed/tests/log_test.go, "
    "https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/"
    "03e0aa43995f5abd2e12bffd6577f0d4714529d4/testbed/tests/log_test.go: a limit the test "
    "asserts, not a measurement; in-memory queue, no fsync)."
)


# --- Claude-Code-shaped records -----------------------------------------------------------------
class _Template:
    """One captured record and where each of its attributes sits."""

    def __init__(self, record: Any) -> None:
        self.record = record
        self.at = {kv.key: i for i, kv in enumerate(record.attributes)}


@dataclass
class Expected:
    """What the generated records say, to check the collector's totals against."""

    sessions: int = 0
    records: int = 0
    requests: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    tool_calls: int = 0
    tool_failures: int = 0
    decisions: Counter[str] = field(default_factory=Counter)

    def totals(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "requests": self.requests,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "tool_calls": self.tool_calls,
            "tool_failures": self.tool_failures,
            "decisions": dict(sorted(self.decisions.items())),
        }


class Shapes:
    """The captured Claude Code export: its resource, scope and one record per event."""

    def __init__(self, path: Path = CAPTURE) -> None:
        captured = ExportLogsServiceRequest()
        json_format.ParseDict(json.loads(path.read_text()), captured)
        first = captured.resource_logs[0]
        self.resource = first.resource
        self.scope = first.scope_logs[0].scope
        self.templates: dict[str, _Template] = {}
        for rl in captured.resource_logs:
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    t = _Template(record)
                    name = record.attributes[t.at["event.name"]].value.string_value
                    if name == "tool_result" and "error_type" in t.at:
                        name = "tool_result_failed"
                    self.templates.setdefault(name, t)
        wanted = ("user_prompt", "api_request", "tool_decision", "tool_result",
                  "tool_result_failed", "assistant_response")  # fmt: skip
        missing = [name for name in wanted if name not in self.templates]
        if missing:
            raise RuntimeError(f"{path} lacks a captured {', '.join(missing)} record")

    def record(self, out: Any, event: str, time_ns: int, values: dict[str, str | float]) -> None:
        """Fill ``out`` (a new LogRecord) with the ``event`` template and ``values``."""
        t = self.templates[event]
        out.CopyFrom(t.record)
        out.time_unix_nano = out.observed_time_unix_nano = time_ns
        attrs = out.attributes
        for key, val in values.items():
            slot = attrs[t.at[key]].value
            if isinstance(val, str):
                slot.string_value = val
            else:
                slot.double_value = val


def _iso(time_ns: int) -> str:
    moment = datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_events(
    rng: random.Random, session_id: str, requests: int, start_ns: int, expected: Expected
) -> Iterator[list[tuple[str, int, dict[str, str | float]]]]:
    """Per model request, its events ``(template, time_ns, attribute values)``."""
    t = start_ns
    seq = 0
    prompt_id = ""

    def event(name: str, values: dict[str, str | float]) -> tuple[str, int, dict[str, Any]]:
        nonlocal seq
        base: dict[str, str | float] = {
            "session.id": session_id,
            "event.sequence": str(seq),
            "event.timestamp": _iso(t),
            "prompt.id": prompt_id,
        }
        seq += 1
        expected.records += 1
        return (name, t, {**base, **values})

    expected.sessions += 1
    for i in range(requests):
        out = []
        if i % TURN == 0:
            t += rng.randint(2_000, 30_000) * 1_000_000  # the user reads, then types
            prompt_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            out.append(event("user_prompt", {
                "prompt_length": str(rng.randint(20, 2_000)),
                "message.uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }))  # fmt: skip
        request_id = f"req_{rng.getrandbits(64):016x}"
        duration_ms = rng.randint(800, 20_000)
        t += duration_ms * 1_000_000
        tokens_in, tokens_out = rng.randint(1, 4_000), rng.randint(20, 3_000)
        cache_read, cache_write = rng.randint(0, 120_000), rng.randint(0, 8_000)
        cost = round((tokens_in * 3 + tokens_out * 15 + cache_read * 0.3 + cache_write * 3.75)
                     / 1e6, 6)  # fmt: skip
        out.append(event("api_request", {
            "model": MODELS[rng.randrange(len(MODELS))],
            "input_tokens": str(tokens_in),
            "output_tokens": str(tokens_out),
            "cache_read_tokens": str(cache_read),
            "cache_creation_tokens": str(cache_write),
            "cache_creation_5m_tokens": str(cache_write),
            "cost_usd": cost,
            "cost_usd_micros": str(round(cost * 1e6)),
            "duration_ms": str(duration_ms),
            "ttft_ms": str(rng.randint(200, min(duration_ms, 3_000))),
            "request_id": request_id,
        }))  # fmt: skip
        expected.requests += 1
        expected.output_tokens += tokens_out
        expected.cache_read_tokens += cache_read
        tool = TOOLS[rng.randrange(len(TOOLS))]
        tool_use_id = f"toolu_{rng.getrandbits(64):016x}"
        refused = rng.randrange(REFUSED_1_IN) == 0
        by_user = rng.randrange(3) == 0
        t += rng.randint(5, 3_000) * 1_000_000
        out.append(event("tool_decision", {
            "decision": "reject" if refused else "accept",
            "source": "user_temporary" if by_user or refused else "config",
            "tool_name": tool,
            "tool_use_id": tool_use_id,
            "request_id": request_id,
        }))  # fmt: skip
        expected.decisions["reject" if refused else "accept" if by_user else "auto_accept"] += 1
        if not refused:
            failed = rng.randrange(FAILED_1_IN) == 0
            tool_ms = rng.randint(1, 10_000)
            t += tool_ms * 1_000_000
            out.append(event("tool_result_failed" if failed else "tool_result", {
                "tool_name": tool,
                "tool_use_id": tool_use_id,
                "duration_ms": str(tool_ms),
                "tool_input_size_bytes": str(rng.randint(10, 5_000)),
                "request_id": request_id,
            }))  # fmt: skip
            expected.tool_calls += 1
            expected.tool_failures += failed
        if i % TURN == TURN - 1 or i == requests - 1:
            t += rng.randint(1, 50) * 1_000_000
            out.append(event("assistant_response", {
                "response_length": str(rng.randint(10, 4_000)),
                "request_id": request_id,
                "message.uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }))  # fmt: skip
        yield out


@dataclass
class Workload:
    """Serialised OTLP/HTTP bodies and what they hold."""

    bodies: list[bytes]
    expected: Expected
    requests_per_session: int

    @property
    def records(self) -> int:
        return self.expected.records


def workload(
    sessions: int,
    requests: int,
    batch: int | None,
    seed: int = 20251203,
    shapes: Shapes | None = None,
) -> Workload:
    """``sessions`` x ``requests``; a body per ``batch`` records of one session (None: a body
    per model request, its events), sessions interleaved round-robin.
    """
    shapes = shapes or Shapes()
    rng = random.Random(seed)
    expected = Expected()
    day_start = 1_796_248_074_624_000_000  # the capture's first record
    per_session: list[list[bytes]] = []
    for s in range(sessions):
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        start = day_start + s * 300 * 1_000_000_000
        groups = session_events(rng, sid, requests, start, expected)
        if batch is None:
            chunks: Iterator[list[tuple[str, int, dict[str, Any]]]] = groups
        else:
            chunks = _chunks((e for group in groups for e in group), batch)
        bodies = []
        for chunk in chunks:
            request = ExportLogsServiceRequest()
            rl = request.resource_logs.add()
            rl.resource.CopyFrom(shapes.resource)
            sl = rl.scope_logs.add()
            sl.scope.CopyFrom(shapes.scope)
            for name, time_ns, values in chunk:
                shapes.record(sl.log_records.add(), name, time_ns, values)
            bodies.append(request.SerializeToString())
        per_session.append(bodies)
    interleaved = [b for turn in _round_robin(per_session) for b in turn]
    return Workload(interleaved, expected, requests)


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _round_robin(lists: list[list[bytes]]) -> Iterator[list[bytes]]:
    longest = max((len(x) for x in lists), default=0)
    for i in range(longest):
        yield [x[i] for x in lists if i < len(x)]


# --- what the collector holds -------------------------------------------------------------------
def totals(records: Sequence[Any]) -> dict[str, Any]:
    """Totals over session records, in `Expected.totals`' shape."""
    decisions: Counter[str] = Counter()
    for r in records:
        decisions.update(r.decisions)
    return {
        "sessions": len(records),
        "requests": sum(m.requests for r in records for m in r.model_usage),
        "output_tokens": sum(r.output_tokens for r in records),
        "cache_read_tokens": sum(r.cache_stats.cache_read_tokens for r in records),
        "tool_calls": sum(r.tool_calls for r in records),
        "tool_failures": sum(r.tool_failures for r in records),
        "decisions": dict(sorted(decisions.items())),
    }


def check(got: dict[str, Any], expected: Expected) -> list[str]:
    """What differs between the collector's totals and the generated ones."""
    want = expected.totals()
    return [f"{k}: got {got.get(k)!r}, sent {v!r}" for k, v in want.items() if got.get(k) != v]


def _vm(field_name: str) -> int:
    """A ``/proc/self/status`` figure in KB (VmRSS, VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


# --- the servers, each in a child process -------------------------------------------------------
def _stats() -> dict[str, Any]:
    return {"cpu_s": time.process_time(), "rss_kb": _vm("VmRSS"), "hwm_kb": _vm("VmHWM")}


def _commands(stop: threading.Event, held: Any) -> None:
    """Answer the parent on stdout, a JSON line per command read from stdin; EOF stops."""
    for line in sys.stdin:
        command = line.strip()
        if command == "memory":
            gc.collect()
        out = _stats()
        if command == "totals":
            out["totals"] = held()
        print(json.dumps(out), flush=True)
    stop.set()


def serve_radium(workspace: Path) -> None:
    """`rad collect`'s own loop (`serve`) on free ports, answering the parent's commands."""
    from radium_otel.sources.collector import DEFAULT_IDLE_TIMEOUT_S
    from radium_otel.sources.receiver import Receiver
    from radium_otel.sources.serve import serve

    stop = threading.Event()

    def ready(receiver: Receiver, recovered: int) -> None:
        collector = receiver.collector
        print(f"PORT {receiver.http_port}", flush=True)
        held = lambda: totals(collector.snapshot())  # noqa: E731
        threading.Thread(target=_commands, args=(stop, held), daemon=True).start()

    serve(workspace, http_port=0, grpc_port=0, idle_timeout_s=DEFAULT_IDLE_TIMEOUT_S,
          ready=ready, stop=stop)  # fmt: skip


class _NaiveHandler(BaseHTTPRequestHandler):
    """Decode the body, convert all of it to dicts, keep them: nothing else."""

    protocol_version = "HTTP/1.1"
    kept: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportLogsServiceRequest()
        request.ParseFromString(body)
        self.kept.append(json_format.MessageToDict(request))
        reply = ExportLogsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def serve_naive() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NaiveHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    stop = threading.Event()

    def held() -> dict[str, Any]:
        kept = list(_NaiveHandler.kept)
        return {
            "records": sum(
                len(sl.get("logRecords", ()))
                for request in kept
                for rl in request.get("resourceLogs", ())
                for sl in rl.get("scopeLogs", ())
            )
        }

    _commands(stop, held)
    server.shutdown()


class Server:
    """A server child process (``radium`` or ``naive``) and its commands."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.collect", "--serve", kind, "--folder", str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"{kind} server did not start: {line!r}")
        self.port = int(line.split()[1])

    def ask(self, command: str = "stats") -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()  # EOF: the server stops
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def post_all(port: int, bodies: Sequence[bytes]) -> float:
    """Send ``bodies`` one after the other on one keep-alive connection; wall seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/v1/logs", body, HEADERS)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from the receiver")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def paced(port: int, bodies: Sequence[bytes], rate: float) -> tuple[list[float], float]:
    """Send ``bodies`` at ``rate`` a second from `CLIENTS` connections (each at an equal
    share, phases spread); per request the seconds from when it was due to its response
    (a request that starts late because the one before was slow counts its wait), and the
    wall seconds of the whole run.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    errors: list[str] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        for i in range(k, len(bodies), CLIENTS):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            conn.request("POST", "/v1/logs", bodies[i], HEADERS)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"HTTP {response.status}")
            mine.append(time.perf_counter() - due)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed: {errors[0]}")
    return latencies, time.perf_counter() - start


# --- the parts ---------------------------------------------------------------------------------
@dataclass
class DayRound:
    http_s: float  # wall, client side: first request sent to last response
    server_cpu_s: float
    server_rss_mb: float
    direct_cpu_s: float
    direct_s: float
    tick_cpu_s: float  # the checkpoint after the direct ingest (100 records written)
    decode_s: float
    naive_s: float | None = None
    naive_cpu_s: float | None = None
    naive_rss_mb: float | None = None


@dataclass
class Latency:
    rate: float
    sent: int
    records_per_request: float
    wall_s: float
    latencies_ms: list[float]
    server_cpu_ms_per_request: float

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Live:
    sessions: int
    records: int
    before_mb: float
    after_mb: float
    peak_mb: float
    naive_before_mb: float
    naive_after_mb: float

    @property
    def per_session_kb(self) -> float:
        return (self.after_mb - self.before_mb) * 1024 / self.sessions


@dataclass
class Small:
    """Exports as Claude Code sends them (every 5 s: about one model request's events),
    straight into the collector, each followed by the checkpoint that writes its session.
    """

    exports: int
    records_per_export: float
    ingest_cpu_ms: float  # per export
    ingest_wall_ms: float
    checkpoint_cpu_ms: float  # per session written by `tick`
    checkpoint_wall_ms: float


@dataclass
class HotRow:
    function: str
    calls: int
    seconds: float  # own, or inclusive of the functions called
    share: float


@dataclass
class CollectResult:
    sessions: int
    requests: int
    batch: int
    records: int
    batches: int
    rounds: list[DayRound]
    live: Live
    latency: Latency
    small: Small
    hot: list[HotRow]  # own time
    hot_inclusive: list[HotRow]  # radium's functions, with what they call
    profile_s: float

    def values(self, name: str) -> list[float]:
        """The rounds' figures of ``name`` (the naive receiver's: its one round)."""
        return [float(getattr(r, name)) for r in self.rounds if getattr(r, name) is not None]

    def med(self, name: str) -> float:
        return statistics.median(self.values(name))


def decode_all(bodies: Sequence[bytes]) -> tuple[list[Any], float]:
    """The bodies parsed, and the CPU seconds parsing took."""
    started = time.process_time()
    out = []
    for body in bodies:
        request = ExportLogsServiceRequest()
        request.ParseFromString(body)
        out.append(request)
    return out, time.process_time() - started


def ingest_direct(
    requests: Sequence[Any], folder: Path, profiler: cProfile.Profile | None = None
) -> tuple[float, float, float, dict[str, Any]]:
    """Decoded requests straight into a fresh `Collector`, then one checkpoint `tick`: CPU
    seconds and wall seconds of the ingest, CPU seconds of the tick, and the totals held.
    """
    from radium_otel._internal.store import SessionStore
    from radium_otel.sources.collector import Collector

    collector = Collector(SessionStore(folder / "sessions"), folder / "journal")
    gc.collect()
    if profiler is not None:
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    for request in requests:
        collector.ingest("logs", request)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tick = time.process_time()
    collector.tick()
    tick = time.process_time() - tick
    if profiler is not None:
        profiler.disable()
    return cpu, wall, tick, totals(collector.snapshot())


def profile_direct(
    requests: Sequence[Any], folder: Path, top: int
) -> tuple[list[HotRow], list[HotRow], float]:
    """cProfile of `ingest_direct`: the functions with the most own time, and radium's
    functions with the most time inclusive of what they call, as shares of the whole (wall
    time: waiting for the disk shows as ``posix.fsync``; a CPU-time profile is 10x slower).
    """
    prof = cProfile.Profile()
    ingest_direct(requests, folder, prof)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(own for (_cc, _n, own, _cum, _callers) in raw.values())
    own_rows, cum_rows = [], []
    for (filename, line, name), (_cc, ncalls, own, cum, _callers) in raw.items():
        short = filename.rsplit("site-packages/", 1)[-1].rsplit(str(ROOT) + "/", 1)[-1]
        label = f"{short}:{line}({name})" if line else name
        own_rows.append(HotRow(label, ncalls, own, own / total if total else 0.0))
        if short.startswith("radium_otel/"):
            cum_rows.append(HotRow(label, ncalls, cum, cum / total if total else 0.0))
    own_rows.sort(key=lambda r: r.seconds, reverse=True)
    cum_rows.sort(key=lambda r: r.seconds, reverse=True)
    return own_rows[:top], cum_rows[:top], total


def small_exports(count: int, folder: Path) -> Small:
    """``count`` exports of one model request's events (20 sessions, in turn), each into the
    collector and then a `tick` (which writes that session's record as active).
    """
    from radium_otel._internal.store import SessionStore
    from radium_otel.sources.collector import Collector

    sessions = max(1, min(20, count // 4))
    load = workload(sessions, -(-count // sessions), batch=None, seed=13)
    decoded, _ = decode_all(load.bodies[:count])
    collector = Collector(SessionStore(folder / "sessions"), folder / "journal")
    for request in decoded[:sessions]:  # warm: every session live and stored once
        collector.ingest("logs", request)
    collector.tick()
    ingest_cpu = ingest_wall = tick_cpu = tick_wall = 0.0
    for request in decoded[sessions:]:
        cpu, wall = time.process_time(), time.perf_counter()
        collector.ingest("logs", request)
        ingest_cpu += time.process_time() - cpu
        ingest_wall += time.perf_counter() - wall
        cpu, wall = time.process_time(), time.perf_counter()
        collector.tick()
        tick_cpu += time.process_time() - cpu
        tick_wall += time.perf_counter() - wall
    n = max(1, len(decoded) - sessions)
    return Small(n, load.records / len(load.bodies), ingest_cpu / n * 1e3,
                 ingest_wall / n * 1e3, tick_cpu / n * 1e3, tick_wall / n * 1e3)  # fmt: skip


def day_round(day: Workload, decoded: list[Any], tmp: Path, n: int, naive: bool) -> DayRound:
    errors: list[str] = []
    with Server("radium", tmp / f"ws-{n}") as server:
        before = server.ask()
        http_s = post_all(server.port, day.bodies)
        after = server.ask()
        errors += check(server.ask("totals")["totals"], day.expected)
    _, decode_s = decode_all(day.bodies)
    direct_cpu, direct_s, tick_cpu, held = ingest_direct(decoded, tmp / f"direct-{n}")
    errors += check(held, day.expected)
    if errors:
        raise RuntimeError("collector totals wrong: " + "; ".join(errors))
    r = DayRound(
        http_s=http_s,
        server_cpu_s=after["cpu_s"] - before["cpu_s"],
        server_rss_mb=after["rss_kb"] / 1024,
        direct_cpu_s=direct_cpu,
        direct_s=direct_s,
        tick_cpu_s=tick_cpu,
        decode_s=decode_s,
    )
    if naive:
        with Server("naive", tmp / f"naive-{n}") as server:
            before = server.ask()
            r.naive_s = post_all(server.port, day.bodies)
            after = server.ask()
            kept = server.ask("totals")["totals"]["records"]
        if kept != day.records:
            raise RuntimeError(f"naive receiver kept {kept} records of {day.records}")
        r.naive_cpu_s = after["cpu_s"] - before["cpu_s"]
        r.naive_rss_mb = after["rss_kb"] / 1024
    return r


def live_sessions(sessions: int, requests: int, tmp: Path) -> Live:
    """RSS of `rad collect` (and of the naive receiver) before and after ``sessions`` live."""
    load = workload(sessions, requests, batch=1 << 20, seed=7)
    mb: dict[str, tuple[float, float, float]] = {}
    for kind in ("radium", "naive"):
        with Server(kind, tmp / f"live-{kind}") as server:
            before = server.ask("memory")
            post_all(server.port, load.bodies)
            time.sleep(1.5)  # a checkpoint tick writes every session as active
            after = server.ask("memory")
            held = server.ask("totals")["totals"]
        if kind == "radium":
            wrong = check(held, load.expected)
            if wrong:
                raise RuntimeError("collector totals wrong: " + "; ".join(wrong))
        mb[kind] = (before["rss_kb"] / 1024, after["rss_kb"] / 1024, after["hwm_kb"] / 1024)
    return Live(sessions, load.records, *mb["radium"], mb["naive"][0], mb["naive"][1])


def latency(rate: float, seconds: float, tmp: Path) -> Latency:
    """The paced client against a fresh `rad collect`: a body per model request."""
    count = max(CLIENTS, round(rate * seconds))
    sessions = 20
    load = workload(sessions, -(-count // sessions), batch=None, seed=11)
    bodies = load.bodies[:count]
    with Server("radium", tmp / "latency") as server:
        post_all(server.port, load.bodies[-sessions:])  # warm: every session opened once
        before = server.ask()
        latencies, wall = paced(server.port, bodies, rate)
        after = server.ask()
    return Latency(
        rate=rate,
        sent=len(bodies),
        records_per_request=load.records / len(load.bodies),
        wall_s=wall,
        latencies_ms=[x * 1e3 for x in latencies],
        server_cpu_ms_per_request=(after["cpu_s"] - before["cpu_s"]) / len(bodies) * 1e3,
    )


def run(
    sessions: int,
    requests: int,
    batch: int,
    rounds: int,
    live: int,
    live_requests: int,
    rate: float,
    seconds: float,
    small: int,
    top: int = 12,
    log: Any = None,
) -> CollectResult:
    say = log or (lambda text: None)
    say(f"collect: generating {sessions} sessions x {requests} requests")
    day = workload(sessions, requests, batch)
    decoded, _ = decode_all(day.bodies)
    out: list[DayRound] = []
    with tempfile.TemporaryDirectory(prefix="rad-bench-collect-") as name:
        tmp = Path(name)
        for n in range(rounds):
            say(f"collect: day, round {n + 1} of {rounds} ({day.records:,} records)")
            out.append(day_round(day, decoded, tmp, n, naive=n == 0))
        say(f"collect: {live:,} live sessions")
        held = live_sessions(live, live_requests, tmp)
        say(f"collect: {rate:g} requests/s for {seconds:g} s")
        lat = latency(rate, seconds, tmp)
        say(f"collect: {small} small exports, each checkpointed")
        exports = small_exports(small, tmp / "small")
        say("collect: profile of the direct ingest")
        hot, inclusive, profile_s = profile_direct(decoded, tmp / "profile", top)
    return CollectResult(
        sessions=sessions,
        requests=requests,
        batch=batch,
        records=day.records,
        batches=len(day.bodies),
        rounds=out,
        live=held,
        latency=lat,
        small=exports,
        hot=hot,
        hot_inclusive=inclusive,
        profile_s=profile_s,
    )


def summary(r: CollectResult) -> str:
    """Plain-text figures (what ``main`` prints)."""
    recs = r.records
    lat = r.latency
    lines = [
        f"day: {r.sessions} sessions x {r.requests} requests = {recs:,} records in "
        f"{r.batches:,} batches (median of {len(r.rounds)} rounds)",
        f"  rad collect over HTTP: {recs / r.med('http_s'):,.0f} records/s, wall "
        f"{r.med('http_s'):.2f} s, server CPU {r.med('server_cpu_s'):.2f} s, RSS after "
        f"{r.med('server_rss_mb'):.1f} MB",
        f"  Collector.ingest direct: {recs / r.med('direct_s'):,.0f} records/s, wall "
        f"{r.med('direct_s'):.2f} s, CPU {r.med('direct_cpu_s'):.2f} s; then a checkpoint "
        f"tick {r.med('tick_cpu_s'):.2f} CPU s",
        f"  decoding alone: {recs / r.med('decode_s'):,.0f} records/s, CPU "
        f"{r.med('decode_s'):.3f} s",
        f"  naive receiver over HTTP: {recs / r.med('naive_s'):,.0f} records/s, CPU "
        f"{r.med('naive_cpu_s'):.2f} s, RSS after {r.med('naive_rss_mb'):.1f} MB",
        f"live: {r.live.sessions:,} sessions ({r.live.records:,} records): RSS "
        f"{r.live.before_mb:.1f} -> {r.live.after_mb:.1f} MB (peak {r.live.peak_mb:.1f}), "
        f"{r.live.per_session_kb:.1f} KB a session; naive {r.live.naive_before_mb:.1f} -> "
        f"{r.live.naive_after_mb:.1f} MB",
        f"latency at {lat.rate:g} requests/s ({lat.sent} requests of ~"
        f"{lat.records_per_request:.1f} records, {lat.wall_s:.1f} s): p50 "
        f"{lat.quantile(0.5):.1f} ms, p95 {lat.quantile(0.95):.1f} ms, p99 "
        f"{lat.quantile(0.99):.1f} ms, max {max(lat.latencies_ms):.1f} ms; server CPU "
        f"{lat.server_cpu_ms_per_request:.2f} ms a request",
        f"small exports ({r.small.exports}, ~{r.small.records_per_export:.1f} records each), "
        f"straight into the collector: ingest {r.small.ingest_cpu_ms:.2f} ms CPU "
        f"({r.small.ingest_wall_ms:.1f} ms wall), then its checkpoint "
        f"{r.small.checkpoint_cpu_ms:.2f} ms CPU ({r.small.checkpoint_wall_ms:.1f} ms wall) "
        "an export",
        f"profile of the direct ingest and tick ({r.profile_s:.2f} s under cProfile), own time:",
    ]
    lines += [f"  {h.share:6.1%}  {h.calls:8,}  {h.function}" for h in r.hot]
    lines.append("  radium's functions, time inclusive of what they call:")
    lines += [f"  {h.share:6.1%}  {h.calls:8,}  {h.function}" for h in r.hot_inclusive]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--sessions", type=int)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--live", type=int)
    parser.add_argument("--live-requests", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--small", type=int, help="small exports, each checkpointed")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--markdown", action="store_true", help="print the RESULTS.md section")
    parser.add_argument("--serve", choices=("radium", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "radium":
        serve_radium(args.folder)
        return
    if args.serve == "naive":
        serve_naive()
        return
    quick = args.quick
    result = run(
        sessions=args.sessions or (20 if quick else 100),
        requests=args.requests or (100 if quick else 500),
        batch=args.batch,
        rounds=args.rounds or (1 if quick else 3),
        live=args.live or (200 if quick else 1_000),
        live_requests=args.live_requests,
        rate=args.rate,
        seconds=args.seconds or (3.0 if quick else 10.0),
        small=args.small or (40 if quick else 150),
        top=args.top,
        log=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print(summary(result))
    if args.markdown:
        from bench.__main__ import section_collect

        print("\n".join(["", *section_collect(result)]))


if __name__ == "__main__":
    main()
