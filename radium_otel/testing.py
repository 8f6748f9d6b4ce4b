"""Helpers for testing code instrumented with radium-otel (and radium-otel itself).

``isolated(tmp_path)`` builds a `Radium` on its own `TracerProvider` (never the global one)
with an in-memory span exporter beside the session processor::

    with isolated(tmp_path) as (rad, spans):
        with rad.session(agent="t"):
            ...
        assert spans.get_finished_spans()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from radium_otel._internal.instance import Radium

__all__ = ["StepClock", "isolated"]


class StepClock:
    """A deterministic ``time_ns``: starts at ``start_ns`` and moves only when told."""

    def __init__(self, start_ns: int = 1_700_000_000 * 10**9) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        """The current time in nanoseconds."""
        return self.now_ns

    def advance(self, seconds: float) -> int:
        """Move forward and return the new time."""
        self.now_ns += round(seconds * 1e9)
        return self.now_ns


@contextmanager
def isolated(
    workspace: str | os.PathLike[str], **options: object
) -> Iterator[tuple[Radium, InMemorySpanExporter]]:
    """A configured instance on a private provider, shut down on exit."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    kwargs: dict[str, object] = {"print_summary": False, "checkpoint_interval_s": 3600.0}
    kwargs.update(options)
    instance = Radium(
        workspace=workspace,
        tracer_provider=provider,
        set_global=False,
        **kwargs,  # type: ignore[arg-type]
    )
    try:
        yield instance, exporter
    finally:
        instance.shutdown()
        provider.shutdown()
