"""Export set-up: the official OpenTelemetry exporters, driven by `configure` and ``OTEL_*``.

Installed as ``radium_otel.exporters``. `ExportSettings` holds what was asked for in code and
resolves it against the standard variables (see `radium_otel.exporters.settings`); `install`
adds the exporters to the tracer and meter providers and returns the `ExportPipeline` that
flushes and stops them in bounded time. Span and metric exporters:

- OTLP over HTTP/protobuf (default) or gRPC: the official ``opentelemetry-exporter-otlp``;
- the console (stderr);
- OTLP/JSON lines files (`radium_otel.exporters.otlp_json_file`), the format of the
  Collector's ``file`` exporter and ``otlpjsonfile`` receiver.

Importing this package loads no exporter: each is imported when it is built.
"""

from __future__ import annotations

from radium_otel.exporters.batch import BoundedBatchSpanProcessor
from radium_otel.exporters.otlp import otlp_metric_exporter, otlp_span_exporter
from radium_otel.exporters.pipeline import ExportPipeline, install
from radium_otel.exporters.settings import PROTOCOLS, ExportSettings, SignalPlan

__all__ = [
    "PROTOCOLS",
    "BoundedBatchSpanProcessor",
    "ExportPipeline",
    "ExportSettings",
    "SignalPlan",
    "install",
    "otlp_metric_exporter",
    "otlp_span_exporter",
]
