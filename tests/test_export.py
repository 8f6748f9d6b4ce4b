"""OTLP export, proven on the wire: receivers that these tests run on 127.0.0.1 decode what the
official exporters send (OTLP/HTTP and gRPC), and collectors that are down, hang or fail never
hold the agent up or cost it a session record."""

from __future__ import annotations

import gzip
import json
import math
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
import pytest
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanPb
from opentelemetry.proto.trace.v1.trace_pb2 import Status as StatusPb
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from radium_otel import Radium
from radium_otel._internal.metrics import DURATION_BUCKETS_S, TOKEN_BUCKETS
from radium_otel._internal.record import SessionRecord
from radium_otel.exporters import BoundedBatchSpanProcessor, ExportSettings, install
from radium_otel.exporters import batch as batch_module

MODEL = "claude-sonnet-4-5"
SERVICE = "wire-test"
SERVER_WAIT_S = 20.0  # the longest any test server holds a request


# --- OTLP receivers ---------------------------------------------------------------------------
class Received:
    """What a receiver decoded: export requests and the headers they came with."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.traces: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []

    def spans(self) -> list[tuple[dict[str, Any], str, SpanPb]]:
        """Every span received: (resource attributes, scope name, span)."""
        with self.lock:
            requests = list(self.traces)
        return [
            (attributes(rs.resource.attributes), ss.scope.name, span)
            for request in requests
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def metric_list(self) -> list[tuple[dict[str, Any], Metric]]:
        """Every metric received: (resource attributes, metric), later exports last."""
        with self.lock:
            requests = list(self.metrics)
        return [
            (attributes(rm.resource.attributes), metric)
            for request in requests
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        ]

    def latest_metrics(self) -> dict[str, Metric]:
        """Each metric's latest export, by name (cumulative: the latest holds the totals)."""
        return {metric.name: metric for _, metric in self.metric_list()}


def attributes(kvs: Sequence[KeyValue]) -> dict[str, Any]:
    return {kv.key: value(kv.value) for kv in kvs}


def value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value(item) for item in v.array_value.values]
    if kind == "kvlist_value":
        return attributes(v.kvlist_value.values)
    return getattr(v, kind) if kind else None


class HttpReceiver(Received):
    """An OTLP/HTTP (protobuf) receiver; ``mode`` ``ok``, ``error`` (HTTP 500) or ``hang``."""

    def __init__(self, mode: str = "ok") -> None:
        super().__init__()
        self.mode = mode
        self.release = threading.Event()  # ends every hanging request
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = SERVER_WAIT_S  # a client that stalls cannot hold a server thread

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.mode == "hang":
                    receiver.release.wait(SERVER_WAIT_S)
                    return
                if receiver.mode == "error":
                    self.send_error(500, "collector failure (test)")
                    return
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                response: Any
                if self.path.endswith("/traces"):
                    request: Any = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    response = trace_service_pb2.ExportTraceServiceResponse()
                    target: list[Any] = receiver.traces
                elif self.path.endswith("/metrics"):
                    request = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                    response = metrics_service_pb2.ExportMetricsServiceResponse()
                    target = receiver.metrics
                else:
                    self.send_error(404)
                    return
                with receiver.lock:
                    target.append(request)
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                    receiver.paths.append(self.path)
                payload = response.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class GrpcReceiver(Received):
    """An OTLP/gRPC receiver: TraceService and MetricsService."""

    def __init__(self) -> None:
        super().__init__()
        receiver = self

        def keep(target: list[Any], request: Any, context: Any) -> None:
            with receiver.lock:
                target.append(request)
                receiver.headers.append(dict(context.invocation_metadata()))

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                keep(receiver.traces, request, context)
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                keep(receiver.metrics, request, context)
                return metrics_service_pb2.ExportMetricsServiceResponse()

        self._pool = futures.ThreadPoolExecutor(max_workers=4)
        self.server = grpc.server(self._pool)
        add_traces = trace_service_pb2_grpc.add_TraceServiceServicer_to_server
        add_metrics = metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server
        add_traces(Traces(), self.server)  # type: ignore[no-untyped-call]
        add_metrics(Metrics(), self.server)  # type: ignore[no-untyped-call]
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> GrpcReceiver:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(grace=None).wait(5)
        self._pool.shutdown(wait=False)


def dead_endpoint() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def exporters_stop_with_their_test() -> Iterator[None]:
    """Threads a test started (an exporter retrying a collector that went away, say) end with
    it: in another test they would be noise, and Hypothesis sees their use of `random`."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 15
    for thread in set(threading.enumerate()) - before:
        thread.join(max(0.0, deadline - time.monotonic()))
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not left, f"threads still running after the test: {left}"


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


# --- an example session -----------------------------------------------------------------------
class ChecksFailed(RuntimeError):
    pass


class FixedCost:
    """A session hook that prices every session at ``cost_usd``."""

    def __init__(self, cost_usd: float) -> None:
        self.cost_usd = cost_usd

    def session_started(self, session_id: str, *, user_opened: bool = True) -> None:
        pass

    def session_ended(self, record: SessionRecord) -> SessionRecord:
        return replace(record, cost_usd=self.cost_usd)


def example_session(inst: Radium) -> str:
    """Two model calls (Anthropic usage, with a cache write then a cache read), a tool that
    succeeds and one that fails."""

    @inst.model_call(provider="anthropic", model=MODEL)
    def ask(turn: int) -> dict[str, Any]:
        return {
            "model": MODEL,
            "usage": {
                "input_tokens": 300,
                "cache_creation_input_tokens": 0 if turn else 2048,
                "cache_read_input_tokens": 2048 if turn else 0,
                "output_tokens": 90,
            },
        }

    @inst.tool
    def read_file(path: str) -> str:
        return "def mean(values): ..."

    @inst.tool
    def run_tests() -> None:
        raise ChecksFailed("1 failed")

    with inst.session(agent="coder", tags={"ticket": "X-1"}) as session:
        ask(0)
        read_file("stats.py")
        with pytest.raises(ChecksFailed):
            run_tests()
        ask(1)
    return session.id


def exporting_instance(workspace: Path, **options: Any) -> Radium:
    """An instance on a private tracer provider, exporting as ``options`` say."""
    kwargs: dict[str, Any] = {
        "tracer_provider": TracerProvider(resource=Resource.create({"service.name": SERVICE})),
        "print_summary": False,
        "checkpoint_interval_s": 3600.0,
        "hooks": [FixedCost(0.0123)],
        "otlp_timeout_s": 5.0,
    }
    kwargs.update(options)
    return Radium(workspace=workspace, set_global=False, **kwargs)


# --- what arrives -----------------------------------------------------------------------------
def check_spans(received: Received, session_id: str) -> None:
    """The example session's spans: GenAI attributes, and the session id on every span."""
    spans = received.spans()
    assert sorted(span.name for _, _, span in spans) == [
        f"chat {MODEL}",
        f"chat {MODEL}",
        "execute_tool read_file",
        "execute_tool run_tests",
        "invoke_agent coder",
    ]
    for resource, scope, span in spans:
        assert resource["service.name"] == SERVICE
        assert scope == "radium_otel"
        assert attributes(span.attributes)["gen_ai.conversation.id"] == session_id
    chats = [attributes(s.attributes) for _, _, s in spans if s.name.startswith("chat")]
    assert [
        (
            a["gen_ai.operation.name"],
            a["gen_ai.provider.name"],
            a["gen_ai.request.model"],
            a["gen_ai.usage.input_tokens"],
            a["gen_ai.usage.output_tokens"],
            a.get("gen_ai.usage.cache_read.input_tokens", 0),
            a.get("gen_ai.usage.cache_creation.input_tokens", 0),
        )
        for a in chats
    ] == [
        ("chat", "anthropic", MODEL, 2348, 90, 0, 2048),
        ("chat", "anthropic", MODEL, 2348, 90, 2048, 0),
    ]
    [failed] = [s for _, _, s in spans if s.name == "execute_tool run_tests"]
    assert failed.status.code == StatusPb.STATUS_CODE_ERROR
    assert attributes(failed.attributes)["error.type"] == "ChecksFailed"
    [root] = [s for _, _, s in spans if s.name == "invoke_agent coder"]
    assert attributes(root.attributes)["radium.session.tag.ticket"] == "X-1"


def histogram_points(metric: Metric) -> dict[frozenset[tuple[str, Any]], tuple[int, float]]:
    return {
        frozenset(attributes(p.attributes).items()): (p.count, p.sum)
        for p in metric.histogram.data_points
    }


def check_metrics(received: Received) -> None:
    """The example session's metrics: names, units, buckets, attributes; no session ids."""
    metrics = received.latest_metrics()
    assert {name: m.unit for name, m in metrics.items()} == {
        "gen_ai.client.token.usage": "{token}",
        "gen_ai.client.operation.duration": "s",
        "radium.tool.calls": "{call}",
        "radium.tool.duration": "s",
        "radium.session.cost": "USD",
    }
    for resource, metric in received.metric_list():
        assert resource["service.name"] == SERVICE
        kind = metric.WhichOneof("data")
        assert kind is not None
        points: Any = getattr(metric, kind).data_points
        for point in points:
            assert "gen_ai.conversation.id" not in attributes(point.attributes)

    tokens = metrics["gen_ai.client.token.usage"]
    assert {tuple(p.explicit_bounds) for p in tokens.histogram.data_points} == {
        tuple(float(b) for b in TOKEN_BUCKETS)
    }
    common = {
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "anthropic"),
        ("gen_ai.request.model", MODEL),
        ("gen_ai.response.model", MODEL),
    }
    assert histogram_points(tokens) == {
        frozenset({*common, ("gen_ai.token.type", "input")}): (2, 4696.0),
        frozenset({*common, ("gen_ai.token.type", "output")}): (2, 180.0),
        frozenset({*common, ("gen_ai.token.type", "cache_read")}): (1, 2048.0),
        frozenset({*common, ("gen_ai.token.type", "cache_creation")}): (1, 2048.0),
    }
    duration = metrics["gen_ai.client.operation.duration"]
    [(key, (count, _))] = histogram_points(duration).items()
    assert (key, count) == (frozenset(common), 2)
    assert list(duration.histogram.data_points[0].explicit_bounds) == list(DURATION_BUCKETS_S)

    calls = {
        frozenset(attributes(p.attributes).items()): p.as_int
        for p in metrics["radium.tool.calls"].sum.data_points
    }
    ok = frozenset({("gen_ai.tool.name", "read_file"), ("radium.tool.outcome", "success")})
    failed = frozenset(
        {
            ("gen_ai.tool.name", "run_tests"),
            ("radium.tool.outcome", "failure"),
            ("error.type", "ChecksFailed"),
        }
    )
    assert calls == {ok: 1, failed: 1}
    assert metrics["radium.tool.calls"].sum.is_monotonic
    assert set(histogram_points(metrics["radium.tool.duration"])) == {ok, failed}
    assert histogram_points(metrics["radium.session.cost"]) == {
        frozenset({("radium.session.status", "completed"), ("gen_ai.agent.name", "coder")}): (
            1,
            0.0123,
        )
    }


# --- on the wire ------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_spans_and_metrics_reach_an_otlp_receiver(
    protocol: str, tmp_path: Path, no_ambient_config: None
) -> None:
    with HttpReceiver() if protocol == "http/protobuf" else GrpcReceiver() as receiver:
        inst = exporting_instance(
            tmp_path,
            otlp_endpoint=receiver.url,
            protocol=protocol,
            otlp_headers={"x-radium-test": "wire"},
        )
        sid = example_session(inst)
        inst.shutdown()  # flushes spans and metrics

        check_spans(receiver, sid)
        check_metrics(receiver)
        assert all(h.get("x-radium-test") == "wire" for h in receiver.headers)
    record = inst.store.read(inst.store.resolve(sid))
    assert (record.tool_calls, record.requests, record.cost_usd) == (2, 2, 0.0123)


def test_a_flush_sends_what_is_queued_without_stopping(
    http_receiver: HttpReceiver, tmp_path: Path, no_ambient_config: None
) -> None:
    inst = exporting_instance(tmp_path, otlp_endpoint=http_receiver.url)
    sid = example_session(inst)

    assert inst.export.force_flush()
    check_spans(http_receiver, sid)
    check_metrics(http_receiver)
    example_session(inst)  # still exporting
    inst.shutdown()
    assert len(http_receiver.spans()) == 10


def test_the_standard_variables_configure_a_provider_radium_makes(
    http_receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch, no_ambient_config: None
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # overridden below
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{http_receiver.url}/custom/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"{http_receiver.url}/v1/metrics")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t0ken,x-team=agents")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3")
    provider = TracerProvider()
    pipeline = install(
        ExportSettings(), provider, own_tracer_provider=True, set_global_meter_provider=False
    )
    meter = pipeline.meter_provider
    assert meter is not None and pipeline.timeout_s == 3.0
    with provider.get_tracer("t").start_as_current_span("work"):
        pass
    meter.get_meter("t").create_counter("things").add(1)
    pipeline.shutdown()

    assert sorted(http_receiver.paths) == ["/custom/traces", "/v1/metrics"]
    for headers in http_receiver.headers:
        assert headers["authorization"] == "Bearer t0ken"
        assert headers["x-team"] == "agents"
        assert headers["content-encoding"] == "gzip"
    assert [span.name for _, _, span in http_receiver.spans()] == ["work"]


def test_resource_comes_from_otel_service_name_and_resource_attributes(
    http_receiver: HttpReceiver, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import radium_otel as rad
            rad.configure(workspace=sys.argv[1], print_summary=False)
            with rad.session(agent="env"):
                rad.tool(lambda: None)()
            """
        )
    )
    env = {
        **clean_env,
        "OTEL_EXPORTER_OTLP_ENDPOINT": http_receiver.url,
        "OTEL_SERVICE_NAME": "from-env",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,team=agents",
        "OTEL_METRICS_EXPORTER": "none",
    }
    subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, check=True, timeout=30)
    resources = {json.dumps(r, sort_keys=True) for r, _, _ in http_receiver.spans()}
    [resource] = [json.loads(r) for r in resources]
    assert resource["service.name"] == "from-env"
    assert (resource["deployment.environment"], resource["team"]) == ("test", "agents")
    assert http_receiver.metrics == []  # OTEL_METRICS_EXPORTER=none


def test_configure_takes_the_export_options(
    http_receiver: HttpReceiver, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import radium_otel as rad
            options = dict(
                workspace=sys.argv[1],
                service_name="configured",
                otlp_endpoint=sys.argv[2],
                otlp_headers={"x-token": "abc"},
                otlp_timeout_s=2.5,
                otlp_compression="deflate",
                print_summary=False,
            )
            inst = rad.configure(**options)
            assert rad.configure(**options) is inst  # same options, same instance
            assert inst.export.timeout_s == 2.5
            with rad.session(agent="configured"):
                rad.tool(name="step")(lambda: None)()
            """
        )
    )
    subprocess.run(
        [sys.executable, str(script), str(tmp_path), http_receiver.url],
        env=clean_env,
        check=True,
        timeout=30,
    )
    assert sorted(http_receiver.paths) == ["/v1/metrics", "/v1/traces"]
    for headers in http_receiver.headers:
        assert (headers["x-token"], headers["content-encoding"]) == ("abc", "deflate")
    [(resource, _, _)] = [s for s in http_receiver.spans() if s[2].name == "execute_tool step"]
    assert resource["service.name"] == "configured"


def test_configuring_again_keeps_exporting_as_the_variables_say(
    http_receiver: HttpReceiver, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import radium_otel as rad
            for agent in ("first", "second"):
                rad.configure(workspace=sys.argv[1], service_name=agent, print_summary=False)
                with rad.session(agent=agent):
                    rad.tool(name=agent)(lambda: None)()
            """
        )
    )
    env = {**clean_env, "OTEL_EXPORTER_OTLP_ENDPOINT": http_receiver.url}
    subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, check=True, timeout=30)
    assert sorted(s.name for _, _, s in http_receiver.spans()) == [
        "execute_tool first",
        "execute_tool second",
        "invoke_agent first",
        "invoke_agent second",
    ]
    calls = {
        attributes(p.attributes)["gen_ai.tool.name"]
        for _, m in http_receiver.metric_list()
        if m.name == "radium.tool.calls"
        for p in m.sum.data_points
    }
    assert calls == {"first", "second"}


def test_an_application_provider_is_added_to_not_replaced(
    http_receiver: HttpReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_ambient_config: None,
) -> None:
    app_spans = InMemorySpanExporter()
    app_tracer_provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    app_tracer_provider.add_span_processor(SimpleSpanProcessor(app_spans))
    app_reader = InMemoryMetricReader()
    app_meter_provider = MeterProvider(
        metric_readers=[app_reader], resource=Resource.create({"service.name": SERVICE})
    )
    # The application's SDK set-up already read the environment: radium adds nothing for it...
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    from_env = Radium(
        workspace=tmp_path,
        tracer_provider=app_tracer_provider,
        meter_provider=app_meter_provider,
        set_global=False,
        print_summary=False,
    )
    assert not from_env.export.exports
    from_env.shutdown()
    # ... but adds what it is asked for in code, beside the application's own exporters.
    inst = exporting_instance(
        tmp_path,
        tracer_provider=app_tracer_provider,
        meter_provider=app_meter_provider,
        otlp_endpoint=http_receiver.url,
    )
    sid = example_session(inst)
    inst.shutdown()

    check_spans(http_receiver, sid)
    check_metrics(http_receiver)
    assert len(app_spans.get_finished_spans()) == 5
    data = app_reader.get_metrics_data()
    assert data is not None
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert "gen_ai.client.token.usage" in names
    app_tracer_provider.shutdown()
    app_meter_provider.shutdown()


def test_otlp_json_lines_file_replays_as_otlp(tmp_path: Path, no_ambient_config: None) -> None:
    path = tmp_path / "telemetry" / "otlp.jsonl"
    inst = exporting_instance(tmp_path, otlp_json_file=path)
    sid = example_session(inst)
    inst.shutdown()

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {next(iter(line)) for line in lines} == {"resourceSpans", "resourceMetrics"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    spans_line = next(line for line in lines if "resourceSpans" in line)
    span = spans_line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and int(span["traceId"], 16)  # hex, as OTLP/JSON says
    replayed = Received()
    for line in lines:
        for key in ("traceId", "spanId", "parentSpanId"):
            _hex_to_base64(line, key)
        if "resourceSpans" in line:
            replayed.traces.append(
                Parse(json.dumps(line), trace_service_pb2.ExportTraceServiceRequest())
            )
        else:
            replayed.metrics.append(
                Parse(json.dumps(line), metrics_service_pb2.ExportMetricsServiceRequest())
            )
    check_spans(replayed, sid)
    check_metrics(replayed)


def _hex_to_base64(value: Any, key: str) -> None:
    """OTLP/JSON ids are hex; protobuf's JSON parser wants base64."""
    import base64

    if isinstance(value, dict):
        for k, item in value.items():
            if k == key and isinstance(item, str):
                value[k] = base64.b64encode(bytes.fromhex(item)).decode()
            else:
                _hex_to_base64(item, key)
    elif isinstance(value, list):
        for item in value:
            _hex_to_base64(item, key)


def test_console_export_goes_to_stderr_never_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_ambient_config: None
) -> None:
    inst = exporting_instance(tmp_path, console_export=True)
    example_session(inst)
    inst.shutdown()

    out, err = capsys.readouterr()
    assert out == ""
    assert '"name": "execute_tool read_file"' in err
    assert "gen_ai.client.token.usage" in err


# --- what is off ------------------------------------------------------------------------------
def test_nothing_is_exported_or_loaded_unless_asked(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    code = textwrap.dedent(
        """
        import sys, json
        import radium_otel
        loaded_by_import = sorted(m for m in sys.modules if m.startswith("radium_otel.exporters"))
        inst = radium_otel.Radium(workspace=sys.argv[1], set_global=False, print_summary=False)
        heavy = sorted(
            m for m in sys.modules
            if m.startswith(("opentelemetry.exporter", "opentelemetry.sdk.metrics", "grpc",
                             "requests", "google.protobuf"))
        )
        print(json.dumps([loaded_by_import, heavy, inst.export.exports, inst.metrics is None]))
        inst.shutdown()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        env=clean_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(out.stdout) == [[], [], False, True]


def test_rad_help_loads_no_exporter(clean_env: dict[str, str]) -> None:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "radium_otel", "--help"],
        env=clean_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert not {
        m for m in loaded if m.startswith(("radium_otel.exporters", "opentelemetry.exporter"))
    }


def test_otel_sdk_disabled_turns_export_off_and_keeps_sessions(
    http_receiver: HttpReceiver, tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import radium_otel as rad
            inst = rad.configure(workspace=sys.argv[1], print_summary=False)
            with rad.session(agent="off") as s:
                rad.tool(name="step")(lambda: None)()
            print(inst.export.exports, inst.metrics)
            """
        )
    )
    env = {
        **clean_env,
        "OTEL_SDK_DISABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": http_receiver.url,
    }
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert out.stdout.split() == ["False", "None"]
    assert http_receiver.paths == []
    shown = _stats_session_json(rad_exe, tmp_path, clean_env)
    assert (shown["metadata"]["agent"], shown["tool_calls"]) == ("off", 1)


def test_bad_settings_in_code_are_refused_bad_variables_are_skipped(
    monkeypatch: pytest.MonkeyPatch, no_ambient_config: None, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ValueError, match="unsupported OTLP protocol 'http/json'"):
        ExportSettings(protocol="http/json")
    with pytest.raises(ValueError, match="timeout_s"):
        ExportSettings(timeout_s=0)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")
    plan = ExportSettings().plan("traces")
    assert (plan.otlp, plan.timeout_s) == (False, 10.0)
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/json is not supported" in caplog.text
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console,zipkin")
    plan = ExportSettings().plan("traces")
    assert (plan.otlp, plan.protocol, plan.console) == (True, "grpc", True)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not ExportSettings(endpoint="http://127.0.0.1:4318").plan("traces").active


# --- failing collectors -----------------------------------------------------------------------
AGENT = """
import json, sys, time
import radium_otel as rad

CALLS = int(sys.argv[2])
rad.configure(workspace=sys.argv[1], service_name="resilient-agent", print_summary=False)

@rad.model_call(provider="openai", model="gpt-4o")
def ask(i):
    return {"model": "gpt-4o", "usage": {"prompt_tokens": 100, "completion_tokens": 10}}

@rad.tool
def step(i):
    return i

slowest = 0.0
with rad.session(agent="resilient") as session:
    for i in range(CALLS):
        for call in (ask, step):
            start = time.perf_counter()
            call(i)
            slowest = max(slowest, time.perf_counter() - start)
print(json.dumps({"session": session.id, "slowest_call_s": slowest}), flush=True)
print(time.time(), flush=True)  # the agent is done: everything after this is exit
"""


def run_agent(
    args: list[str], env: dict[str, str], timeout_s: float
) -> tuple[int, str, str, float]:
    """Run a Python agent script to its exit: return code, stdout, stderr, and when it had
    exited (``time.time()``, to compare with what it printed before exiting).
    """
    proc = subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    finally:
        proc.kill()
    return proc.returncode, out, err, time.time()


@pytest.mark.parametrize("collector", ["down", "hanging", "failing"])
def test_a_broken_collector_never_holds_the_agent_or_costs_its_session(
    collector: str, tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    timeout_s = 1.0
    calls = 300
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    mode = {"down": "ok", "hanging": "hang", "failing": "error"}[collector]
    with HttpReceiver(mode) as receiver:
        endpoint = dead_endpoint() if collector == "down" else receiver.url
        env = {
            **clean_env,
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_TIMEOUT": str(timeout_s),
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export while the agent runs, too
        }
        returncode, out, err, exited = run_agent([str(script), str(tmp_path), str(calls)], env, 25)
    assert returncode == 0, err
    summary_line, done_line = out.splitlines()
    summary = json.loads(summary_line)
    exit_s = exited - float(done_line)

    assert summary["slowest_call_s"] < timeout_s / 2  # never waits on the collector
    assert exit_s < timeout_s + 5.0  # the flush at exit gives up after the timeout (SDK: 30 s)
    shown = _stats_session_json(rad_exe, tmp_path, clean_env)
    assert shown["id"] == summary["session"]
    assert (shown["status"], shown["tool_calls"], shown["tool_successes"]) == (
        "completed",
        calls,
        calls,
    )
    [usage] = shown["model_usage"]
    assert (usage["requests"], usage["input_tokens"]) == (calls, 100 * calls)
    text = subprocess.run(
        [rad_exe, "--workspace", str(tmp_path), "stats", "session"],
        env={**clean_env, "COLUMNS": "100", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert text.returncode == 0 and f"{calls} ( ✓ {calls} x 0 )" in text.stdout


EXIT_AGENT = """
import sys, time
import radium_otel as rad

rad.configure(workspace=sys.argv[1], print_summary=False)
with rad.session(agent="exit") as session:
    rad.tool(name="step")(lambda: None)()
print(session.id, time.time(), flush=True)  # the session is over: everything after is exit
"""
SHUTDOWN_BUDGET_S = 2.0  # the default wait for export at exit


@pytest.mark.parametrize(
    ("collector", "variables"),
    [
        ("down", {}),
        ("hanging", {}),
        ("hanging", {"OTEL_EXPORTER_OTLP_TIMEOUT": "10000"}),  # meant as ms, read as seconds
    ],
    ids=["down", "hanging", "hanging-timeout-10000"],
)
def test_exit_waits_at_most_the_shutdown_timeout_by_default(
    collector: str,
    variables: dict[str, str],
    tmp_path: Path,
    rad_exe: str,
    clean_env: dict[str, str],
) -> None:
    script = tmp_path / "agent.py"
    script.write_text(EXIT_AGENT)
    with HttpReceiver("hang") as receiver:
        endpoint = dead_endpoint() if collector == "down" else receiver.url
        env = {**clean_env, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, **variables}
        returncode, out, err, exited = run_agent([str(script), str(tmp_path)], env, 60)
    assert returncode == 0, err
    session_id, ended = out.split()
    exit_s = exited - float(ended)

    # Bounded by the 2 s shutdown budget, with a margin for a loaded machine; the export
    # timeout and its retries took longer than that bound before: 5.6-8.4 s (down), 10 s
    # (hanging), 10,000 s (hanging, OTEL_EXPORTER_OTLP_TIMEOUT=10000).
    assert exit_s < SHUTDOWN_BUDGET_S + 3.0
    if variables:
        assert "OTEL_EXPORTER_OTLP_TIMEOUT=10000 is read in seconds" in err
    shown = _stats_session_json(rad_exe, tmp_path, clean_env)  # written before the wait
    assert (shown["id"], shown["status"], shown["tool_calls"]) == (session_id, "completed", 1)


def test_the_shutdown_timeout_is_set_apart_from_the_export_timeout(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_ambient_config: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert ExportSettings(timeout_s=30.0).resolved_shutdown_timeout_s() == 2.0
    monkeypatch.setenv("RADIUM_EXPORT_SHUTDOWN_TIMEOUT", "0.5")
    assert ExportSettings().resolved_shutdown_timeout_s() == 0.5
    assert ExportSettings(shutdown_timeout_s=0).resolved_shutdown_timeout_s() == 0.0
    monkeypatch.setenv("RADIUM_EXPORT_SHUTDOWN_TIMEOUT", "-1")
    assert ExportSettings().resolved_shutdown_timeout_s() == 2.0
    assert "RADIUM_EXPORT_SHUTDOWN_TIMEOUT=-1 is not a number of seconds" in caplog.text
    with pytest.raises(ValueError, match="shutdown_timeout_s"):
        ExportSettings(shutdown_timeout_s=math.inf)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "10000")
    assert ExportSettings().plan("traces").timeout_s == 10000.0  # as the Python exporters read it

    with HttpReceiver("hang") as receiver:
        inst = exporting_instance(
            tmp_path, otlp_endpoint=receiver.url, otlp_timeout_s=10.0, export_shutdown_timeout_s=0.5
        )
        [processor] = inst.export.span_processors
        assert (inst.export.timeout_s, inst.export.shutdown_timeout_s) == (10.0, 0.5)
        assert (processor.timeout_s, processor.shutdown_timeout_s) == (10.0, 0.5)
        sid = example_session(inst)
        started = time.monotonic()
        inst.shutdown()
        shutdown_s = time.monotonic() - started

    assert shutdown_s < 0.5 + 3.0  # the shutdown budget (margin), not the 10 s export timeout
    assert inst.store.read(inst.store.resolve(sid)).tool_calls == 2


def test_the_span_queue_is_bounded_while_the_collector_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ambient_config: None
) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16")
    with HttpReceiver("hang") as receiver:
        inst = exporting_instance(tmp_path, otlp_endpoint=receiver.url, otlp_timeout_s=1.0)
        [processor] = inst.export.span_processors
        step = inst.tool(name="step")(nothing)
        with inst.session(agent="flood") as session:
            for _ in range(3000):
                step()
        queued = _queued(processor)
        started = time.monotonic()
        inst.shutdown()
        shutdown_s = time.monotonic() - started

    assert queued <= 64
    assert shutdown_s < 1.0 + 5.0  # bounded by the timeout (margin for a loaded machine)
    assert inst.store.read(inst.store.resolve(session.id)).tool_calls == 3000


def test_where_no_thread_can_start_the_exit_still_keeps_to_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ambient_config: None
) -> None:
    class NoThreads(threading.Thread):  # Python 3.12+ in atexit hooks
        def start(self) -> None:
            raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(
        batch_module, "threading", SimpleNamespace(Thread=NoThreads, Lock=threading.Lock)
    )
    with HttpReceiver("hang") as receiver:
        inst = exporting_instance(tmp_path, otlp_endpoint=receiver.url, otlp_timeout_s=1.0)
        sid = example_session(inst)
        started = time.monotonic()
        inst.shutdown()  # spans, then metrics with what is left of the same second
        shutdown_s = time.monotonic() - started

    assert shutdown_s < 1.0 + 5.0  # bounded by the timeout (margin for a loaded machine)
    assert inst.store.read(inst.store.resolve(sid)).tool_calls == 2


def nothing() -> None:
    pass


def _queued(processor: BoundedBatchSpanProcessor) -> int:
    """Spans waiting in the SDK's batch queue (a private attribute, checked here)."""
    queue = getattr(getattr(processor, "_batch_processor", None), "_queue", None)
    # A renamed attribute fails loudly (pin or adapt), never skips the test silently.
    assert queue is not None, "the SDK's BatchSpanProcessor keeps its queue elsewhere now"
    return len(queue)


# --- helpers ----------------------------------------------------------------------------------
def _stats_session_json(rad_exe: str, workspace: Path, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [rad_exe, "--workspace", str(workspace), "stats", "session", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    shown: dict[str, Any] = json.loads(out.stdout)
    return shown
