"""The official OTLP span and metric exporters, HTTP/protobuf or gRPC, built from a `SignalPlan`.

Each exporter module is imported only when it is built: ``requests`` and ``grpcio`` load only
for the protocol in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from radium_otel.exporters.settings import PROTOCOLS, SignalPlan

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["otlp_metric_exporter", "otlp_span_exporter"]

_HTTP_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics"}


def otlp_span_exporter(plan: SignalPlan) -> SpanExporter:
    """An OTLP span exporter as ``plan`` says (``plan.signal`` must be ``"traces"``)."""
    if plan.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        return GrpcSpanExporter(**_grpc_options(plan))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(**_http_options(plan))


def otlp_metric_exporter(plan: SignalPlan) -> MetricExporter:
    """An OTLP metric exporter as ``plan`` says (``plan.signal`` must be ``"metrics"``).

    Temporality follows ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` (cumulative by
    default, what Prometheus expects).
    """
    if plan.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        return GrpcMetricExporter(**_grpc_options(plan))
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(**_http_options(plan))


def _http_options(plan: SignalPlan) -> dict[str, Any]:
    _check(plan)
    options: dict[str, Any] = {"timeout": plan.timeout_s}
    if plan.endpoint is not None:
        # A base URL given in code; the per-signal variables are full URLs and the exporter
        # reads them itself when no endpoint is passed.
        options["endpoint"] = plan.endpoint.rstrip("/") + _HTTP_PATHS[plan.signal]
    if plan.headers is not None:
        options["headers"] = plan.headers
    if plan.compression is not None:
        from opentelemetry.exporter.otlp.proto.http import Compression

        options["compression"] = Compression(plan.compression)
    return options


def _grpc_options(plan: SignalPlan) -> dict[str, Any]:
    _check(plan)
    options: dict[str, Any] = {"timeout": plan.timeout_s}
    if plan.endpoint is not None:
        options["endpoint"] = plan.endpoint
    if plan.headers is not None:
        options["headers"] = plan.headers
    if plan.compression is not None:
        import grpc  # type: ignore[import-untyped,unused-ignore]

        options["compression"] = {
            "none": grpc.Compression.NoCompression,
            "gzip": grpc.Compression.Gzip,
            "deflate": grpc.Compression.Deflate,
        }[plan.compression]
    return options


def _check(plan: SignalPlan) -> None:
    if plan.protocol not in PROTOCOLS:
        raise ValueError(f"unsupported OTLP protocol {plan.protocol!r}")
