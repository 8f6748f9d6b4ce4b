"""`install`: add radium's span and metric exporters to the providers; `ExportPipeline` undoes it.

The providers are the application's when it made them (they are added to, never replaced), else
the ones radium made. Every exporter works off the agent's threads: spans through a
`BoundedBatchSpanProcessor`, metrics through a `PeriodicExportingMetricReader`
(``OTEL_METRIC_EXPORT_INTERVAL``, 60 s by default, plus one last export at shutdown). Nothing
here ever raises into the agent: an exporter that cannot be built is logged and left out.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from radium_otel._internal.errors import logger, warn_once
from radium_otel.exporters.batch import BoundedBatchSpanProcessor, Task, run_bounded
from radium_otel.exporters.settings import ExportSettings, SignalPlan, sdk_disabled

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["ExportPipeline", "global_sdk_meter_provider", "install", "made_by_radium", "mark_made"]

# Providers radium made (and may have made global): a later instance (configure() again)
# treats them as its own, so the OTEL_* variables still apply to them.
_made: weakref.WeakSet[object] = weakref.WeakSet()


def mark_made(provider: object) -> None:
    """Remember that radium made ``provider``."""
    _made.add(provider)


def made_by_radium(provider: object) -> bool:
    """Whether radium made ``provider``."""
    return provider in _made


class ExportPipeline:
    """The span processors and metric readers radium added, and the meter provider its metrics
    go to (``None``: no metrics are recorded at all).

    `force_flush` waits at most ``timeout_s`` (the export timeout). `shutdown` exports what is
    left and stops, waiting at most ``shutdown_timeout_s`` overall, however long the export
    timeout and its retries: span and metric exports run side by side, so a collector that is
    down or hangs costs that budget once.
    """

    def __init__(self, timeout_s: float, shutdown_timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self.span_processors: list[BoundedBatchSpanProcessor] = []
        self.metric_readers: list[MetricReader] = []
        self.meter_provider: MeterProvider | None = None
        self.owns_meter_provider = False
        self._lock = threading.Lock()
        self._closed = False

    @property
    def exports(self) -> bool:
        """Whether anything leaves the process."""
        return bool(self.span_processors or self.metric_readers)

    def force_flush(self, timeout_s: float | None = None) -> bool:
        """Export what is queued now; True when everything went out in time."""
        budget = self.timeout_s if timeout_s is None else timeout_s
        tasks: list[Task] = []
        for i, processor in enumerate(self.span_processors):
            tasks.append((f"span-flush-{i}", _in_millis(processor.force_flush)))
        for i, reader in enumerate(self.metric_readers):
            tasks.append((f"metric-flush-{i}", _in_millis(reader.force_flush)))
        done = run_bounded(tasks, budget)
        return len(done) == len(tasks) and all(bool(value) for value in done.values())

    def shutdown(self) -> None:
        """Flush and stop every exporter radium added, within ``shutdown_timeout_s``.

        Idempotent. What is not sent by then is dropped: a running export goes on in a daemon
        thread, which cannot hold the process's exit.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        tasks: list[Task] = [
            (f"span-export-{i}", processor.shutdown_within)
            for i, processor in enumerate(self.span_processors)
        ]
        for i, reader in enumerate(self.metric_readers):
            tasks.append((f"metric-export-{i}", _in_millis(reader.shutdown)))
        if tasks:
            run_bounded(tasks, self.shutdown_timeout_s)


def install(
    settings: ExportSettings,
    tracer_provider: TracerProvider,
    *,
    own_tracer_provider: bool,
    meter_provider: MeterProvider | None = None,
    set_global_meter_provider: bool = True,
) -> ExportPipeline:
    """Add the exporters ``settings`` (and the environment) ask for.

    ``own_tracer_provider``: radium made ``tracer_provider``, so the ``OTEL_*`` variables
    apply to it; an application's provider gets only what ``settings`` asks for in code.
    ``meter_provider`` (or the application's global SDK one) receives radium's metrics and,
    when asked for in code, its metric exporters; without one, radium makes a `MeterProvider`
    only when metrics are to be exported. Shutdown waits at most
    `ExportSettings.resolved_shutdown_timeout_s` for them all.
    """
    traces = settings.plan("traces", from_environment=own_tracer_provider)
    existing = meter_provider or global_sdk_meter_provider()
    metrics = settings.plan(
        "metrics", from_environment=existing is None or made_by_radium(existing)
    )
    shutdown_timeout_s = settings.resolved_shutdown_timeout_s()
    pipeline = ExportPipeline(max(traces.timeout_s, metrics.timeout_s), shutdown_timeout_s)

    for exporter in _span_exporters(traces):
        processor = BoundedBatchSpanProcessor(
            exporter, timeout_s=traces.timeout_s, shutdown_timeout_s=shutdown_timeout_s
        )
        tracer_provider.add_span_processor(processor)
        pipeline.span_processors.append(processor)

    if sdk_disabled():
        return pipeline  # no metrics recorded either: the SDK is off
    readers = _metric_readers(metrics)
    if existing is not None:
        pipeline.meter_provider = existing
        add = getattr(existing, "add_metric_reader", None)
        for reader in readers:
            if add is None:
                warn_once(
                    "meter-provider:add-reader",
                    "radium-otel cannot add its metric exporter to %s (this SDK has no "
                    "add_metric_reader); its metrics go to that provider's own readers",
                    type(existing).__name__,
                )
                reader.shutdown(timeout_millis=0)
                continue
            add(reader)
            pipeline.metric_readers.append(reader)
    elif readers:
        from opentelemetry import metrics as metrics_api
        from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider

        provider = SdkMeterProvider(
            metric_readers=readers,
            resource=_resource(tracer_provider),
            shutdown_on_exit=False,  # `ExportPipeline.shutdown` stops its readers, in bounded time
        )
        mark_made(provider)
        pipeline.meter_provider = provider
        pipeline.owns_meter_provider = True
        pipeline.metric_readers.extend(readers)
        if set_global_meter_provider:
            metrics_api.set_meter_provider(provider)
    return pipeline


def global_sdk_meter_provider() -> MeterProvider | None:
    """The application's global MeterProvider, when it set an SDK one."""
    if "opentelemetry.sdk.metrics" not in sys.modules:
        return None  # nobody made an SDK MeterProvider: do not load the metrics SDK to ask
    from opentelemetry import metrics as metrics_api
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider

    current = metrics_api.get_meter_provider()
    return current if isinstance(current, SdkMeterProvider) else None


def _in_millis(method: Callable[..., Any]) -> Callable[[float], Any]:
    """``method(timeout_millis=...)`` as a `Task` body, given the seconds left."""
    return lambda left: method(timeout_millis=int(left * 1000))


def _resource(tracer_provider: TracerProvider) -> Resource:
    resource = getattr(tracer_provider, "resource", None)
    return resource if isinstance(resource, Resource) else Resource.create()


def _span_exporters(plan: SignalPlan) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    if plan.otlp:
        _build(exporters, "OTLP span exporter", lambda: _otlp_span(plan))
    if plan.console:
        _build(exporters, "console span exporter", _console_span)
    if plan.json_file is not None:
        path = plan.json_file
        _build(exporters, "OTLP/JSON file span exporter", lambda: _json_file_span(path))
    return exporters


def _metric_readers(plan: SignalPlan) -> list[MetricReader]:
    exporters: list[MetricExporter] = []
    if plan.otlp:
        _build(exporters, "OTLP metric exporter", lambda: _otlp_metric(plan))
    if plan.console:
        _build(exporters, "console metric exporter", _console_metric)
    if plan.json_file is not None:
        path = plan.json_file
        _build(exporters, "OTLP/JSON file metric exporter", lambda: _json_file_metric(path))
    if not exporters:
        return []
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    millis = plan.timeout_s * 1000
    return [PeriodicExportingMetricReader(e, export_timeout_millis=millis) for e in exporters]


def _build(into: list[Any], what: str, make: Callable[[], Any]) -> None:
    try:
        into.append(make())
    except Exception as exc:  # e.g. a malformed OTEL_EXPORTER_OTLP_* value
        logger.warning("radium-otel could not set up the %s: %s", what, exc)


def _otlp_span(plan: SignalPlan) -> SpanExporter:
    from radium_otel.exporters.otlp import otlp_span_exporter

    return otlp_span_exporter(plan)


def _otlp_metric(plan: SignalPlan) -> MetricExporter:
    from radium_otel.exporters.otlp import otlp_metric_exporter

    return otlp_metric_exporter(plan)


def _console_span() -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter(out=sys.stderr)  # stdout may be the agent's protocol channel


def _console_metric() -> MetricExporter:
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

    return ConsoleMetricExporter(out=sys.stderr)


def _json_file_span(path: Any) -> SpanExporter:
    from radium_otel.exporters.otlp_json_file import OTLPJsonFileSpanExporter

    return OTLPJsonFileSpanExporter(path)


def _json_file_metric(path: Any) -> MetricExporter:
    from radium_otel.exporters.otlp_json_file import OTLPJsonFileMetricExporter

    return OTLPJsonFileMetricExporter(path)
