"""The OTLP receiver of `rad collect`: OTLP/HTTP (protobuf and JSON, gzip) and OTLP/gRPC.

OTLP semantics (https://opentelemetry.io/docs/specs/otlp/): 200 with the export response
(partial-success counts when records were rejected), 400 with a one-line reason for a body
that is not an export request, 413 over the size limit, 415 for another content type or
encoding, 503 (retryable) when the journal cannot be written or too many requests are in
flight; error bodies are ``google.rpc.Status`` in the request's encoding. gRPC answers the
same with its status codes.

Nothing a client sends can exhaust the receiver: bodies are capped before they are read
(and after gzip), a connection that sends too slowly is dropped (`READ_TIMEOUT_S`),
requests in flight are capped (`MAX_IN_FLIGHT`; more wait briefly, then get 503), and an
exception in handling one request is answered 500 and logged, never fatal. Binding to anything but
loopback requires a bearer token, checked on every request.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from radium_otel._internal.errors import log_internal_error
from radium_otel.sources import otlp
from radium_otel.sources.collector import Collector, Outcome
from radium_otel.sources.forward import Forwarder

__all__ = ["LOOPBACK", "Receiver", "ReceiverError"]

logger = logging.getLogger("radium_otel")

LOOPBACK: Final = ("127.0.0.1", "::1", "localhost")
READ_TIMEOUT_S: Final = 10.0
MAX_IN_FLIGHT: Final = 64
BUSY_WAIT_S: Final = 2.0
_REJECTED_FIELD: Final = {
    "traces": "rejected_spans",
    "logs": "rejected_log_records",
    "metrics": "rejected_data_points",
}


class ReceiverError(Exception):
    """The receiver cannot start (a port in use, a non-loopback address without a token)."""


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes
    content_type: str


class Receiver:
    """OTLP/HTTP and OTLP/gRPC servers feeding one `Collector`; ports 0 pick free ones."""

    def __init__(
        self,
        collector: Collector,
        *,
        host: str = "127.0.0.1",
        http_port: int | None = 4318,
        grpc_port: int | None = 4317,
        token: str | None = None,
        max_body: int = otlp.MAX_BODY_BYTES,
        forwarder: Forwarder | None = None,
    ) -> None:
        if host not in LOOPBACK and not token:
            raise ReceiverError(
                f"listening on {host} needs a bearer token (--token or RADIUM_COLLECT_TOKEN): "
                "anyone who can reach it could write sessions"
            )
        self.collector = collector
        self.host = host
        self.token = token
        self.max_body = max_body
        self.forwarder = forwarder
        self._want_http = http_port
        self._want_grpc = grpc_port
        self.http_port: int | None = None
        self.grpc_port: int | None = None
        self._http: ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self.requests = 0
        self.refused = 0

    # --- life ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Bind and serve (in background threads); `ReceiverError` when a port is taken."""
        if self._want_http is not None:
            try:
                server = _HTTPServer((self.host, self._want_http), _Handler, self)
            except OSError as exc:
                raise ReceiverError(
                    f"cannot listen on {self.host}:{self._want_http} (OTLP/HTTP): "
                    f"{exc.strerror or exc}"
                ) from None
            self._http = server
            self.http_port = server.server_address[1]
            threading.Thread(
                target=server.serve_forever, name="radium-otlp-http", daemon=True
            ).start()
        if self._want_grpc is not None:
            rpc = grpc.server(
                ThreadPoolExecutor(max_workers=8, thread_name_prefix="radium-otlp-grpc"),
                maximum_concurrent_rpcs=MAX_IN_FLIGHT,
                options=[
                    ("grpc.max_receive_message_length", self.max_body),
                    ("grpc.so_reuseport", 0),
                ],
            )
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(self), rpc)
            logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(self), rpc)
            metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(self), rpc)
            address = f"[{self.host}]" if ":" in self.host else self.host
            try:
                port = rpc.add_insecure_port(f"{address}:{self._want_grpc}")
            except RuntimeError:
                port = 0
            if not port and self._want_grpc != 0:
                self.stop()
                raise ReceiverError(
                    f"cannot listen on {self.host}:{self._want_grpc} (OTLP/gRPC): port in use"
                )
            rpc.start()
            self._grpc = rpc
            self.grpc_port = port

    def stop(self) -> None:
        """Stop serving (requests in progress finish first)."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace=2).wait()
            self._grpc = None

    # --- one export request -------------------------------------------------------------------
    def authorised(self, header: str | None) -> bool:
        """Whether an ``Authorization`` value carries the token (always, without one)."""
        if not self.token:
            return True
        expected = f"Bearer {self.token}".encode()
        return header is not None and hmac.compare_digest(header.strip().encode(), expected)

    def export(self, signal: otlp.Signal, request: Message) -> Outcome:
        """Ingest a decoded request (`OSError` when it could not be made durable)."""
        self.requests += 1
        return self.collector.ingest(signal.name, request)

    def handle_http(
        self, path: str, body: bytes, content_type: str | None, encoding: str | None
    ) -> _Reply:
        """The reply to one OTLP/HTTP POST whose body was read."""
        media = (content_type or "").split(";", 1)[0].strip().lower()
        as_json = media == otlp.JSON
        signal = otlp.SIGNALS.get(path.split("?", 1)[0])
        if signal is None:
            return _error(404, f"no OTLP signal at {path}; use /v1/traces, /v1/logs or /v1/metrics",
                          as_json)  # fmt: skip
        try:
            request = otlp.decode(signal, body, content_type, encoding, limit=self.max_body)
        except otlp.BadRequest as exc:
            return _error(exc.status, str(exc), as_json)
        try:
            outcome = self.export(signal, request)
        except OSError as exc:
            logger.warning("radium-otel: cannot journal a batch: %s", exc)
            return _error(503, f"cannot store the batch: {exc.strerror or exc}", as_json)
        if self.forwarder is not None:  # what arrived, unchanged
            self.forwarder.put(signal.path, body, media, encoding)
        response = signal.response()
        if outcome.rejected:
            partial = response.partial_success
            setattr(partial, _REJECTED_FIELD[signal.name], outcome.rejected)
            partial.error_message = outcome.message
        if as_json:
            return _Reply(200, json_format.MessageToJson(response).encode(), otlp.JSON)
        return _Reply(200, response.SerializeToString(), otlp.PROTOBUF)


def _error(status: int, message: str, as_json: bool) -> _Reply:
    grpc_codes = {400: 3, 404: 5, 413: 8, 415: 3, 503: 14, 401: 16, 500: 13}
    rpc = RpcStatus(code=grpc_codes.get(status, 2), message=message)
    if as_json:
        return _Reply(status, json_format.MessageToJson(rpc).encode(), otlp.JSON)
    return _Reply(status, rpc.SerializeToString(), otlp.PROTOBUF)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: Any, receiver: Receiver) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.receiver = receiver
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Requests in flight are capped: past the cap a connection waits its turn a little
        # (`BUSY_WAIT_S`, in the listen backlog), then is answered 503 (retry later).
        if not self.receiver._slots.acquire(timeout=BUSY_WAIT_S):
            self.receiver.refused += 1
            threading.Thread(target=_refuse, args=(request,), daemon=True).start()
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.receiver._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-request: nothing to report


def _refuse(sock: socket.socket) -> None:
    """Answer 503 and close, reading what the client still sends for a moment (closing a
    socket with unread data resets it, and the client would see an error, not the 503).
    """
    try:
        sock.settimeout(1.0)
        sock.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and sock.recv(65536):
            pass
    except OSError:
        pass
    finally:
        sock.close()


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT_S
    server_version = "rad-collect"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log on the terminal

    def do_GET(self) -> None:
        if self.path in ("/", "/health"):
            self._send(_Reply(200, b"rad collect: OTLP receiver\n", "text/plain"))
        else:
            self._send(_Reply(404, b"not found\n", "text/plain"))

    def do_POST(self) -> None:
        receiver = self.server.receiver
        as_json = (self.headers.get("Content-Type") or "").lower().startswith(otlp.JSON)
        if not receiver.authorised(self.headers.get("Authorization")):
            self._send(_error(401, "missing or wrong bearer token", as_json), close=True)
            return
        body = self._body(receiver.max_body, as_json)
        if body is None:
            return
        try:
            reply = receiver.handle_http(
                self.path,
                body,
                self.headers.get("Content-Type"),
                self.headers.get("Content-Encoding"),
            )
        except Exception as exc:  # never fatal: one request fails, the receiver stays up
            log_internal_error("handling an OTLP request", exc)
            reply = _error(500, "internal error; see the collector's log", as_json)
        self._send(reply)

    def _body(self, limit: int, as_json: bool) -> bytes | None:
        """The request body, or None once an error was answered."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked(limit, as_json)
        raw = self.headers.get("Content-Length")
        try:
            length = int(raw) if raw is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            self._send(_error(411, "Content-Length required", as_json), close=True)
            return None
        if length > limit:
            self._send(_error(413, f"request body larger than {limit} bytes", as_json), close=True)
            return None
        try:
            body = self.rfile.read(length)
        except (OSError, TimeoutError):
            self.close_connection = True
            return None
        if len(body) < length:
            self.close_connection = True  # the client went away
            return None
        return body

    def _chunked(self, limit: int, as_json: bool) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        try:
            while True:
                line = self.rfile.readline(64)
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > limit:
                    self._send(_error(413, f"request body larger than {limit} bytes", as_json),
                               close=True)  # fmt: skip
                    return None
                parts.append(self.rfile.read(size))
                self.rfile.readline(8)
        except (OSError, TimeoutError, ValueError):
            self.close_connection = True
            return None

    def _send(self, reply: _Reply, *, close: bool = False) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.status == 503:
                self.send_header("Retry-After", "1")
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True


# --- gRPC -------------------------------------------------------------------------------------
class _Servicer:
    signal: otlp.Signal

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def Export(self, request: Message, context: grpc.ServicerContext) -> Message:
        receiver = self.receiver
        metadata = dict(context.invocation_metadata() or ())
        token = metadata.get("authorization")
        if not receiver.authorised(token if isinstance(token, str) else None):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        try:
            outcome = receiver.export(self.signal, request)
            if receiver.forwarder is not None:
                receiver.forwarder.put(
                    self.signal.path, request.SerializeToString(), otlp.PROTOBUF, None
                )
        except OSError as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"cannot store the batch: {exc}")
        except Exception as exc:
            log_internal_error("handling an OTLP request", exc)
            context.abort(grpc.StatusCode.INTERNAL, "internal error; see the collector's log")
        response = self.signal.response()
        if outcome.rejected:
            partial = response.partial_success
            setattr(partial, _REJECTED_FIELD[self.signal.name], outcome.rejected)
            partial.error_message = outcome.message
        return response


class _Traces(_Servicer, trace_service_pb2_grpc.TraceServiceServicer):
    signal = otlp.SIGNALS["/v1/traces"]


class _Logs(_Servicer, logs_service_pb2_grpc.LogsServiceServicer):
    signal = otlp.SIGNALS["/v1/logs"]


class _Metrics(_Servicer, metrics_service_pb2_grpc.MetricsServiceServicer):
    signal = otlp.SIGNALS["/v1/metrics"]
