"""OTLP request bodies: decoding with the official `opentelemetry-proto` classes.

`decode` turns one OTLP/HTTP body (protobuf or JSON, optionally gzip) into its export
request message, or raises `BadRequest` with the HTTP status and a one-line reason. OTLP/JSON
differs from protobuf's canonical JSON mapping only in its ids (hex, not base64), which are
rewritten before `google.protobuf.json_format` parses the rest. Decompression is bounded: a
small gzip body cannot expand past the size limit.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterator
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = [
    "MAX_BODY_BYTES",
    "SIGNALS",
    "BadRequest",
    "Signal",
    "attributes",
    "decode",
    "value",
]

MAX_BODY_BYTES: Final = 16 * 1024 * 1024  # compressed or not; the Collector's default is 20 MiB
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"


class BadRequest(Exception):
    """A body the receiver refuses: ``status`` is the HTTP status, the message one line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Signal:
    """One OTLP signal: its HTTP path, its request and response messages."""

    __slots__ = ("name", "path", "request", "response")

    def __init__(self, name: str, request: type[Message], response: type[Message]) -> None:
        self.name = name
        self.path = f"/v1/{name}"
        self.request = request
        self.response = response


SIGNALS: Final = {
    s.path: s
    for s in (
        Signal("traces", ExportTraceServiceRequest, ExportTraceServiceResponse),
        Signal("logs", ExportLogsServiceRequest, ExportLogsServiceResponse),
        Signal("metrics", ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    )
}


def decode(
    signal: Signal,
    body: bytes,
    content_type: str | None,
    content_encoding: str | None = None,
    *,
    limit: int = MAX_BODY_BYTES,
) -> Message:
    """The export request in ``body``; `BadRequest` (400, 413 or 415) when it is not one."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in (PROTOBUF, JSON):
        raise BadRequest(415, f"unsupported content type {content_type or '(none)'!r}; "
                         f"send {PROTOBUF} or {JSON}")  # fmt: skip
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body, limit)
    elif encoding not in ("identity", ""):
        raise BadRequest(415, f"unsupported content encoding {content_encoding!r}; send gzip")
    message = signal.request()
    if media == PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise BadRequest(
                400, f"malformed protobuf {signal.name} request: {_line(exc)}"
            ) from None
        return message
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(400, f"malformed JSON {signal.name} request: {_line(exc)}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, f"malformed JSON {signal.name} request: not an object")
    try:
        json_format.ParseDict(_ids_to_base64(data), message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        raise BadRequest(400, f"malformed JSON {signal.name} request: {_line(exc)}") from None
    return message


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadRequest(400, f"malformed gzip body: {_line(exc)}") from None
    if len(out) > limit:
        raise BadRequest(413, f"request body larger than {limit} bytes once decompressed")
    if not inflater.eof:
        raise BadRequest(400, "malformed gzip body: truncated")
    return out


_ID_KEYS: Final = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id",
                             "parent_span_id"})  # fmt: skip


def _ids_to_base64(node: Any) -> Any:
    """``node`` with OTLP/JSON's hex ids rewritten as protobuf JSON's base64 (in place)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, val in item.items():
                if key in _ID_KEYS and isinstance(val, str):
                    item[key] = _hex_id(val)
                elif isinstance(val, (dict, list)):
                    stack.append(val)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return node


def _hex_id(text: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(text)).decode()
    except ValueError:
        raise BadRequest(400, f"malformed id {text[:40]!r}: OTLP/JSON ids are hex") from None


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


# --- attribute values -------------------------------------------------------------------------
def value(v: AnyValue) -> Any:
    """The Python value of an OTLP ``AnyValue`` (None when unset)."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attributes(v.kvlist_value.values)
    if kind == "bytes_value":
        return binascii.hexlify(v.bytes_value).decode()
    return getattr(v, kind)


def attributes(pairs: Iterator[KeyValue] | Any) -> dict[str, Any]:
    """OTLP key/value pairs as a dict (the last of repeated keys wins)."""
    return {kv.key: value(kv.value) for kv in pairs}
