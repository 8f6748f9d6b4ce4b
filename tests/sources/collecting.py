"""A collector and its receiver on loopback for tests, and OTLP bodies built the way clients
build them (the SDK's own encoders; OTLP/JSON from them with hex ids).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel.sources.collector import Collector
from radium_otel.sources.receiver import Receiver


class Clock:
    """A collector's monotonic clock that the test moves (``clock.now += seconds``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Running:
    """A collector and its receiver, with the store they write to."""

    collector: Collector
    receiver: Receiver
    store: SessionStore

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.receiver.http_port}"

    def records(self) -> dict[str, SessionRecord]:
        """Every stored record, by id."""
        out = {}
        for path in self.store.paths():
            record = self.store.read(path)
            out[record.id] = record
        return out


@contextmanager
def running(tmp_path: Path, **options: Any) -> Iterator[Running]:
    """A collector writing to ``tmp_path/sessions``, journaling in ``tmp_path/journal``,
    served on free loopback ports.
    """
    store = SessionStore(tmp_path / "sessions")
    collector_options = {
        k: options.pop(k) for k in ("idle_timeout_s", "clock", "finish") if k in options
    }
    collector = Collector(store, tmp_path / "journal", **collector_options)
    receiver = Receiver(collector, http_port=0, grpc_port=0, **options)
    receiver.start()
    try:
        yield Running(collector, receiver, store)
    finally:
        receiver.stop()


def post(
    url: str,
    body: bytes,
    content_type: str = "application/x-protobuf",
    *,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, str]:
    """POST ``body``; (status, body, content type) whatever the status."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def spans_body(spans: Sequence[ReadableSpan]) -> bytes:
    """The OTLP/HTTP protobuf body the SDK's exporter sends for ``spans``."""
    return bytes(encode_spans(spans).SerializeToString())


def logs_body(logs: Sequence[Any]) -> bytes:
    return bytes(encode_logs(logs).SerializeToString())


def as_otlp_json(message: Message) -> bytes:
    """``message`` as OTLP/JSON: protobuf's JSON mapping with hex trace and span ids."""
    data = json_format.MessageToDict(message)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    import base64

                    node[key] = base64.b64decode(value).hex()
                else:
                    fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)

    fix(data)
    return json.dumps(data).encode()
