"""What the benchmarks share: a null exporter, statistics and a description of the machine."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from importlib import metadata

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

PEERS = ("traceloop-sdk", "langfuse", "logfire", "openlit")


class NullExporter(SpanExporter):
    """Accepts every batch and sends it nowhere."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def batch_provider() -> TracerProvider:
    """An SDK provider exporting through a `BatchSpanProcessor` to a `NullExporter`."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NullExporter(), max_queue_size=1 << 16))
    return provider


def version(dist: str) -> str | None:
    """The installed version of ``dist``, None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def spread(values: Sequence[float]) -> str:
    """``min–max`` (and the interquartile range with 4 samples or more), for a table cell."""
    if len(values) >= 4:
        q = statistics.quantiles(values, n=4)
        return f"IQR {q[0]:.3g}–{q[2]:.3g}, min–max {min(values):.3g}–{max(values):.3g}"
    return f"min–max {min(values):.3g}–{max(values):.3g}"


def machine() -> str:
    """One line about the machine and the interpreter."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs ({model or platform.machine()}), "
        f"load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def versions() -> str:
    """Versions of radium-otel, the OpenTelemetry SDK and the peers (absent: not installed)."""
    names = ("radium-otel", "opentelemetry-sdk", *PEERS, "pyinstrument")
    return ", ".join(f"{n} {version(n) or 'not installed'}" for n in names)
