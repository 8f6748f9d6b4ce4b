"""A capture-only OTLP endpoint on 127.0.0.1: it keeps every export's raw body and parses none.

For exploring and testing what the coding CLIs send (tests/sources/clis.py), apart from the
real receiver: each request is kept as it came (path, content type, encoding, body: gunzipped
when it came gzipped, nothing else), and answered as a collector answers a full success (an
empty ``Export*ServiceResponse``: no bytes in protobuf, ``{}`` in JSON). OTLP/HTTP on one
port, OTLP/gRPC (any ``…Service/Export`` method, bodies taken as bytes) on another::

    with Capture() as capture:
        run_claude(..., otlp_endpoint=capture.http_endpoint, protocol="http/protobuf")
        capture.wait_for("logs")
        body = capture.requests("logs")[0].body
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import grpc

__all__ = ["GRPC_PATHS", "HTTP_PATHS", "Capture", "Captured", "Signal", "decode"]

Signal = Literal["logs", "metrics", "traces"]

HTTP_PATHS: dict[Signal, str] = {
    "logs": "/v1/logs",
    "metrics": "/v1/metrics",
    "traces": "/v1/traces",
}
GRPC_PATHS: dict[Signal, str] = {
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
}
_SIGNAL_OF = {path: signal for paths in (HTTP_PATHS, GRPC_PATHS) for signal, path in paths.items()}


@dataclass(frozen=True)
class Captured:
    """One export request as received."""

    transport: Literal["http", "grpc"]
    path: str
    signal: Signal | None  # by the path; None for a path that is not OTLP's
    content_type: str  # "application/grpc" for gRPC
    content_encoding: str  # as sent ("gzip", or "" for none); `body` is decoded
    body: bytes
    user_agent: str
    received: float  # time.time()


@dataclass
class Capture:
    """Both endpoints, started on enter and stopped on exit."""

    grpc: bool = True
    captured: list[Captured] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _http: ThreadingHTTPServer | None = None
    _http_thread: threading.Thread | None = None
    _grpc: Any = None  # a grpc.Server
    _grpc_port: int = 0

    # --- addresses ---------------------------------------------------------------------
    @property
    def http_endpoint(self) -> str:
        """``http://127.0.0.1:<port>``: the OTLP/HTTP base URL (signals at /v1/<signal>)."""
        if self._http is None:
            raise RuntimeError("the capture is not running")
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def grpc_endpoint(self) -> str:
        """``http://127.0.0.1:<port>``: the OTLP/gRPC endpoint (plaintext)."""
        if self._grpc is None:
            raise RuntimeError("the capture has no gRPC endpoint")
        return f"http://127.0.0.1:{self._grpc_port}"

    def endpoint(self, protocol: str) -> str:
        """The endpoint for an ``OTEL_EXPORTER_OTLP_PROTOCOL`` value."""
        return self.grpc_endpoint if protocol == "grpc" else self.http_endpoint

    # --- reading ---------------------------------------------------------------------------
    def requests(self, signal: Signal | None = None) -> list[Captured]:
        """What was captured so far (of one signal)."""
        with self._lock:
            return [c for c in self.captured if signal is None or c.signal == signal]

    def wait_for(
        self,
        signal: Signal,
        *,
        timeout_s: float = 10.0,
        until: Callable[[list[Captured]], bool] | None = None,
    ) -> list[Captured]:
        """The requests of ``signal`` once there is one (or ``until`` says enough), or
        what there is at the timeout.
        """
        done = until or bool
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                got = [c for c in self.captured if c.signal == signal]
                left = deadline - time.monotonic()
                if done(got) or left <= 0:
                    return got
                self._lock.wait(left)

    def clear(self) -> None:
        """Forget what was captured."""
        with self._lock:
            self.captured.clear()

    def _add(self, captured: Captured) -> None:
        with self._lock:
            self.captured.append(captured)
            self._lock.notify_all()

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> Capture:
        """Bind both ports (0) on 127.0.0.1 and serve in daemon threads."""
        capture = self

        class _Handler(_HTTPHandler):
            owner = capture

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self._http_thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-capture-http",
            daemon=True,
        )
        self._http_thread.start()
        if self.grpc:
            self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
            self._grpc.add_generic_rpc_handlers((_GrpcHandler(self),))
            self._grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
            self._grpc.start()
        return self

    def stop(self) -> None:
        """Stop both servers."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
        if self._grpc is not None:
            self._grpc.stop(grace=None)
        self._http = self._http_thread = self._grpc = None

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _HTTPHandler(BaseHTTPRequestHandler):
    owner: Capture
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        raw = _read_body(self)
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        body = gzip.decompress(raw) if encoding == "gzip" and raw else raw
        path = urlsplit(self.path).path
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        self.owner._add(
            Captured(
                transport="http",
                path=path,
                signal=_SIGNAL_OF.get(path),
                content_type=content_type,
                content_encoding=encoding,
                body=body,
                user_agent=self.headers.get("User-Agent") or "",
                received=time.time(),
            )
        )
        answer = b"{}" if content_type == "application/json" else b""
        self.send_response(200 if path in _SIGNAL_OF else 404)
        self.send_header("Content-Type", content_type or "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request's body, by Content-Length or chunked (Node's exporters send chunks)."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        parts: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class _GrpcHandler(grpc.GenericRpcHandler):
    """Any unary method: the request kept as bytes, an empty message answered."""

    def __init__(self, owner: Capture) -> None:
        self._owner = owner

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        path = str(handler_call_details.method)
        metadata = dict(handler_call_details.invocation_metadata or ())
        owner = self._owner

        def export(request: bytes, context: grpc.ServicerContext) -> bytes:
            owner._add(
                Captured(
                    transport="grpc",
                    path=path,
                    signal=_SIGNAL_OF.get(path),
                    content_type="application/grpc",
                    content_encoding=str(metadata.get("grpc-encoding", "")),
                    body=request,
                    user_agent=str(metadata.get("user-agent", "")),
                    received=time.time(),
                )
            )
            return b""

        return grpc.unary_unary_rpc_method_handler(export)


# --- after the fact: decoding for tests (the endpoints above never parse a body) -----------

_REQUEST_TYPES = {
    "logs": "opentelemetry.proto.collector.logs.v1.logs_service_pb2.ExportLogsServiceRequest",
    "metrics": (
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2.ExportMetricsServiceRequest"
    ),
    "traces": "opentelemetry.proto.collector.trace.v1.trace_service_pb2.ExportTraceServiceRequest",
}


def decode(captured: Captured) -> Any:
    """The ``Export*ServiceRequest`` a captured body holds (protobuf or OTLP/JSON)."""
    import importlib

    from google.protobuf import json_format

    if captured.signal is None:
        raise ValueError(f"not an OTLP export path: {captured.path}")
    module, _, name = _REQUEST_TYPES[captured.signal].rpartition(".")
    message = getattr(importlib.import_module(module), name)()
    if captured.content_type == "application/json":
        json_format.ParseDict(_ids_to_base64(json.loads(captured.body)), message)
    else:
        message.ParseFromString(captured.body)
    return message


_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


def _ids_to_base64(value: Any) -> Any:
    """OTLP/JSON spells trace and span ids in hex, protobuf's JSON mapping in base64."""
    if isinstance(value, dict):
        return {
            key: base64.b64encode(bytes.fromhex(item)).decode()
            if key in _ID_KEYS and isinstance(item, str)
            else _ids_to_base64(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_ids_to_base64(item) for item in value]
    return value
