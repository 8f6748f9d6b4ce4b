"""Exporter set-up: the official OTLP span exporter on a batch processor.

Installed as ``radium_otel.exporters``. Endpoint, protocol, headers, timeout and compression
come from the arguments or from the standard ``OTEL_EXPORTER_OTLP_*`` variables, which the
OpenTelemetry exporters read themselves.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

__all__ = ["add_otlp_span_exporter", "otlp_span_exporter"]

PROTOCOLS = ("http/protobuf", "grpc")


def otlp_span_exporter(endpoint: str | None = None, protocol: str | None = None) -> SpanExporter:
    """An OTLP span exporter for ``protocol`` (default ``$OTEL_EXPORTER_OTLP_PROTOCOL`` or
    HTTP/protobuf). An ``endpoint`` given here is the collector's base URL."""
    protocol = (
        protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        return GrpcSpanExporter(endpoint=endpoint)
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if endpoint is not None:
            endpoint = endpoint.rstrip("/") + "/v1/traces"
        return OTLPSpanExporter(endpoint=endpoint)
    raise ValueError(f"unsupported OTLP protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")


def add_otlp_span_exporter(
    provider: TracerProvider, endpoint: str | None = None, protocol: str | None = None
) -> None:
    """Ship ``provider``'s spans over OTLP through a `BatchSpanProcessor` (never blocks the
    agent: spans are queued and exported from a background thread)."""
    provider.add_span_processor(BatchSpanProcessor(otlp_span_exporter(endpoint, protocol)))
