"""`Radium`: one configured radium-otel — tracer provider, session processor, store, writer.

`configure()` builds the process-wide default instance; tests and embedders can build
isolated ones (``Radium(tracer_provider=..., workspace=...)``).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider

from radium_otel._internal.aggregate import process_metadata
from radium_otel._internal.errors import log_internal_error, logger, warn_once
from radium_otel._internal.hooks import SessionHook, default_hooks
from radium_otel._internal.instrument import (
    SessionScope,
    model_decorator,
    record_decision,
    tool_decorator,
)
from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

__all__ = ["Radium"]

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_CHECKPOINT_S = 5.0
_RECENT_RECORDS = 64


class Radium:
    """A configured radium-otel instance.

    ``tracer_provider``: an SDK provider to attach to; by default the global one when the
    application already set an SDK provider, else a new provider (set as global when
    ``set_global``). ``time_ns`` is the clock for checkpoints and span-less sessions.
    ``hooks`` add measurements at session start and end (default: `default_hooks`).
    """

    def __init__(
        self,
        *,
        workspace: str | os.PathLike[str] | None = None,
        service_name: str | None = None,
        tracer_provider: TracerProvider | None = None,
        otlp_endpoint: str | None = None,
        protocol: str | None = None,
        capture_content: bool = False,
        print_summary: bool = True,
        checkpoint_interval_s: float = DEFAULT_CHECKPOINT_S,
        set_global: bool = True,
        time_ns: Callable[[], int] = time.time_ns,
        hooks: Sequence[SessionHook] | None = None,
    ) -> None:
        self.workspace = resolve_workspace(workspace)
        self.store = SessionStore(sessions_dir(self.workspace))
        self.capture_content = capture_content
        self.print_summary = print_summary and os.environ.get("RADIUM_SUMMARY", "1") != "0"
        self.hooks = list(default_hooks(self.workspace) if hooks is None else hooks)
        git = _git_metadata(self.workspace)
        self.service_name = service_name or "unknown_service"
        self.processor = SessionSpanProcessor(
            self._session_ended,
            on_session_open=self._session_opened,
            time_ns=time_ns,
            metadata=lambda: {**process_metadata(), **git, "service.name": self.service_name},
        )
        self.tracer_provider = self._attach(tracer_provider, service_name, set_global)
        resource = self.tracer_provider.resource.attributes
        self.service_name = str(resource.get(SERVICE_NAME, service_name or "unknown_service"))
        if otlp_endpoint is not None or protocol is not None or _otlp_env_set():
            from radium_otel.exporters import add_otlp_span_exporter

            add_otlp_span_exporter(self.tracer_provider, endpoint=otlp_endpoint, protocol=protocol)
        from radium_otel import __version__

        self.tracer = self.tracer_provider.get_tracer("radium_otel", __version__)
        # Guards `_finished` and `_recent` and serialises file writes, so a checkpoint taken
        # before a session ended can never overwrite its final record.
        self._write_lock = threading.Lock()
        self._finished: set[str] = set()
        self._recent: OrderedDict[str, SessionRecord] = OrderedDict()
        self._checkpointer = _Checkpointer(self, checkpoint_interval_s)
        self._checkpointer.start()
        self._closed = False
        atexit.register(self.shutdown)

    def _attach(
        self, provider: TracerProvider | None, service_name: str | None, set_global: bool
    ) -> TracerProvider:
        if provider is None:
            current = trace.get_tracer_provider()
            if isinstance(current, TracerProvider):
                provider = current
        if provider is None:
            attrs = {SERVICE_NAME: service_name} if service_name else {}
            provider = TracerProvider(resource=Resource.create(attrs))
            if set_global:
                trace.set_tracer_provider(provider)
        provider.add_span_processor(self.processor)
        return provider

    # --- the instrumentation API, bound to this instance ----------------------------------
    def session(
        self, agent: str | None = None, *, tags: Mapping[str, str] | None = None
    ) -> SessionScope:
        """A session on this instance (see ``rad.session``)."""
        return SessionScope(lambda: self, agent, tags)

    @overload
    def tool(self, fn: F, /) -> F: ...
    @overload
    def tool(
        self, /, *, name: str | None = None, capture_content: bool | None = None
    ) -> Callable[[F], F]: ...
    def tool(
        self,
        fn: F | None = None,
        /,
        *,
        name: str | None = None,
        capture_content: bool | None = None,
    ) -> F | Callable[[F], F]:
        """A tool decorator bound to this instance (see ``rad.tool``)."""
        return tool_decorator(fn, name, capture_content, self._me)

    @overload
    def model_call(self, fn: F, /) -> F: ...
    @overload
    def model_call(
        self, /, *, provider: str | None = None, model: str | None = None, operation: str = "chat"
    ) -> Callable[[F], F]: ...
    def model_call(
        self,
        fn: F | None = None,
        /,
        *,
        provider: str | None = None,
        model: str | None = None,
        operation: str = "chat",
    ) -> F | Callable[[F], F]:
        """A model-call decorator bound to this instance (see ``rad.model_call``)."""
        return model_decorator(fn, provider, model, operation, self._me)

    def record_decision(self, decision: str, tool: str | None = None) -> None:
        """Record a decision on this instance (see ``rad.record_decision``)."""
        record_decision(decision, tool, self._me)

    def _me(self) -> Radium:
        return self

    # --- called by sessions and the processor ---------------------------------------------
    def session_started(self, session_id: str) -> None:
        """A session opened: write its first checkpoint soon, off the caller's thread."""
        self._checkpointer.wake()

    def finished_record(self, session_id: str) -> SessionRecord | None:
        """The final record of a session that ended recently in this process."""
        with self._write_lock:
            return self._recent.get(session_id)

    def _session_opened(self, session_id: str) -> None:
        for hook in self.hooks:
            try:
                hook.session_started(session_id)
            except Exception as exc:
                log_internal_error(f"{type(hook).__name__}.session_started", exc)

    def _session_ended(self, record: SessionRecord) -> None:
        for hook in self.hooks:
            try:
                record = hook.session_ended(record)
            except Exception as exc:
                log_internal_error(f"{type(hook).__name__}.session_ended", exc)
        with self._write_lock:
            self._finished.add(record.id)
            self._recent[record.id] = record
            while len(self._recent) > _RECENT_RECORDS:
                self._recent.popitem(last=False)
            self._write(record)
        if self.print_summary and (record.tool_calls or record.requests or record.decisions):
            from radium_otel._internal.render import render_summary

            print(render_summary(record), file=sys.stderr)

    def checkpoint(self) -> None:
        """Write the current state of every open session."""
        for record in self.processor.snapshot_active():
            with self._write_lock:
                if record.id not in self._finished:
                    self._write(record)

    def _write(self, record: SessionRecord) -> None:
        try:
            self.store.write(record)
        except OSError as exc:
            warn_once(
                f"write:{self.store.folder}",
                "radium-otel could not write session %s to %s: %s",
                record.id,
                self.store.folder,
                exc,
            )

    def shutdown(self) -> None:
        """Close open sessions and stop the checkpointer. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._checkpointer.stop()
        self.processor.shutdown()
        try:
            atexit.unregister(self.shutdown)
        except Exception as exc:  # pragma: no cover - atexit never raises here
            log_internal_error("shutdown", exc)


class _Checkpointer:
    """Background thread writing open sessions every ``interval`` seconds."""

    def __init__(self, owner: Radium, interval: float) -> None:
        self._owner = owner
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="radium-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        self._owner.store.cleanup_temp_files()
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._owner.checkpoint()
            except Exception as exc:
                log_internal_error("checkpoint", exc)


def _otlp_env_set() -> bool:
    return any(
        os.environ.get(name)
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _git_metadata(workspace: Path) -> dict[str, Any]:
    """Branch and commit of the workspace's repository, if it is one (best effort, bounded)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(workspace), "rev-parse", "--abbrev-ref", "HEAD", "HEAD"],
            capture_output=True,
            text=True,
            timeout=2.0,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("no git metadata: %s", exc)
        return {}
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        return {}
    return {"git.branch": lines[0], "git.commit": lines[1]}
