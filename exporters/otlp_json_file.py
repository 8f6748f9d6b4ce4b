"""OTLP/JSON lines files: each export appends one ``ExportTraceServiceRequest`` (or
``ExportMetricsServiceRequest``) as a line of OTLP/JSON.

The format is the one the OpenTelemetry Collector's ``file`` exporter writes and its
``otlpjsonfile`` receiver reads (camelCase keys, enums as numbers, trace and span ids in hex),
so a file written offline can be replayed into any collector later. Files are created 0600:
spans may hold content when ``capture_content=True``.

Imported only when a file export is set up (it loads the metrics SDK).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from radium_otel._internal.errors import warn_once

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = ["OTLPJsonFileMetricExporter", "OTLPJsonFileSpanExporter", "otlp_json"]

_HEX_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def otlp_json(message: Message) -> str:
    """One OTLP request message as a line of OTLP/JSON (without the newline)."""
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(message, use_integers_for_enums=True)
    return json.dumps(_hex_ids(data), separators=(",", ":"), ensure_ascii=False)


def _hex_ids(value: Any) -> Any:
    """OTLP/JSON spells trace and span ids in hex where protobuf JSON uses base64."""
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex()
            if key in _HEX_ID_KEYS and isinstance(item, str)
            else _hex_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(item) for item in value]
    return value


class _LineFile:
    """An append-only file written one whole line at a time (thread-safe)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None

    def append(self, line: str) -> bool:
        data = (line + "\n").encode("utf-8")
        try:
            with self._lock:
                if self._fd is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
        except OSError as exc:
            warn_once(
                f"otlp-json-file:{self.path}",
                "radium-otel could not write telemetry to %s: %s",
                self.path,
                exc,
            )
            return False
        return True

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class OTLPJsonFileSpanExporter(SpanExporter):
    """Appends each batch of spans to ``path`` as one line of OTLP/JSON."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = _LineFile(path)

    @property
    def path(self) -> Path:
        """The file written to."""
        return self._file.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write ``spans`` as one line."""
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        if not spans:
            return SpanExportResult.SUCCESS
        ok = self._file.append(otlp_json(encode_spans(spans)))
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Close the file."""
        self._file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Lines are written whole as they come: nothing is buffered."""
        return True


class OTLPJsonFileMetricExporter(MetricExporter):
    """Appends each collection of metrics to ``path`` as one line of OTLP/JSON."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self._file = _LineFile(path)

    @property
    def path(self) -> Path:
        """The file written to."""
        return self._file.path

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Write ``metrics_data`` as one line."""
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        ok = self._file.append(otlp_json(encode_metrics(metrics_data)))
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Lines are written whole as they come: nothing is buffered."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Close the file."""
        self._file.close()
