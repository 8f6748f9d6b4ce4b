"""`BoundedBatchSpanProcessor`: the SDK's batch processor with a bound on every wait.

Spans are queued by the SDK's `BatchSpanProcessor` (a bounded queue: ``OTEL_BSP_MAX_QUEUE_SIZE``,
2048 by default; when it is full the oldest spans are dropped, never the agent slowed) and sent
from its worker thread. What it does not bound is the caller's wait at the end: its
``shutdown`` waits up to 30 s whoever calls it (its provider's ``atexit`` hook included), and its
``force_flush`` exports every queued batch, each up to the exporter's timeout. Here a flush gives
up after ``timeout_s`` (the export timeout) and shutdown after ``shutdown_timeout_s`` (how long
the exit may wait): shutdown then stops the worker and the exporter (which ends its retries);
a flush goes on in a daemon thread, which cannot hold the process's exit.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from radium_otel._internal.errors import logger

__all__ = ["BoundedBatchSpanProcessor", "Task", "run_bounded"]


#: A named piece of work that is given the seconds left of the budget it runs in.
Task = tuple[str, Callable[[float], Any]]


def run_bounded(tasks: list[Task], timeout_s: float) -> dict[str, Any]:
    """Run ``tasks`` side by side in daemon threads; wait at most ``timeout_s`` for them all.

    Each task gets the seconds left of the budget. Returns the results of the tasks that
    finished in time, by name (a task that raised is logged and has no result). Where no
    thread can be started (Python 3.12+ while the interpreter exits: ``atexit`` hooks), the
    tasks run one after the other here, each with what is left.
    """
    deadline = time.monotonic() + timeout_s
    results: dict[str, Any] = {}
    lock = threading.Lock()

    def run(name: str, fn: Callable[[float], Any]) -> None:
        try:
            value = fn(max(0.0, deadline - time.monotonic()))
        except Exception as exc:
            logger.warning("radium-otel: %s failed: %s", name, exc)
            return
        with lock:
            results[name] = value

    threads: list[threading.Thread] = []
    for name, fn in tasks:
        thread = threading.Thread(target=run, args=(name, fn), name=f"radium-{name}", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            run(name, fn)
            continue
        threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    late = [thread.name for thread in threads if thread.is_alive()]
    if late:
        logger.warning(
            "radium-otel: %s did not finish within %.3g s; going on without waiting",
            ", ".join(late),
            timeout_s,
        )
    with lock:
        return dict(results)


class BoundedBatchSpanProcessor(BatchSpanProcessor):
    """A `BatchSpanProcessor` whose ``force_flush`` waits at most ``timeout_s`` and whose
    ``shutdown`` waits at most ``shutdown_timeout_s``.

    Other arguments (queue size, batch size, schedule delay) go to `BatchSpanProcessor`, which
    reads the ``OTEL_BSP_*`` variables for those not given.
    """

    def __init__(
        self,
        span_exporter: SpanExporter,
        *,
        timeout_s: float,
        shutdown_timeout_s: float,
        **options: Any,
    ) -> None:
        super().__init__(span_exporter, **options)
        self.timeout_s = timeout_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self._stopped = False

    def shutdown(self) -> None:
        """Export what is queued and stop, waiting at most ``shutdown_timeout_s``."""
        self.shutdown_within(self.shutdown_timeout_s)

    def shutdown_within(self, timeout_s: float) -> None:
        """Export what is queued and stop, waiting at most ``timeout_s``. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        inner = getattr(self, "_batch_processor", None)
        bounded = getattr(inner, "shutdown", None)
        if bounded is not None and "timeout_millis" in inspect.signature(bounded).parameters:
            # The SDK's own bounded shutdown (1.33+): it waits for the worker at most this
            # long, then stops it exporting and shuts the exporter down, ending its retries.
            bounded(timeout_millis=timeout_s * 1000)
        else:
            stop: Callable[[], None] = super().shutdown
            run_bounded([("span-export-shutdown", lambda _left: stop())], timeout_s)

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        """Export what is queued now, waiting at most ``timeout_s`` (or ``timeout_millis``)."""
        if self._stopped:
            return False
        timeout_s = self.timeout_s
        if timeout_millis is not None:
            timeout_s = min(timeout_s, timeout_millis / 1000)
        flush = super().force_flush
        done = run_bounded([("span-export-flush", lambda left: flush(int(left * 1000)))], timeout_s)
        return bool(done.get("span-export-flush", False))
