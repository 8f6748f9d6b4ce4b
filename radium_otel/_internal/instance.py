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
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
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
from radium_otel._internal.metrics import MetricsRecorder
from radium_otel._internal.processor import SessionSpanProcessor
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

__all__ = ["Radium"]

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_CHECKPOINT_S = 5.0
_RECENT_RECORDS = 64
_MAX_RUNS = 10_000  # runs of one session id (one conversation id) kept apart


class Radium:
    """A configured radium-otel instance.

    ``tracer_provider``: an SDK provider to attach to; by default the global one when the
    application already set an SDK provider, else a new provider (set as global when
    ``set_global``). ``time_ns`` is the clock for checkpoints and span-less sessions.
    ``hooks`` add measurements at session start and end (default: `default_hooks`).

    Export (see `radium_otel.exporters`): ``otlp_endpoint`` (the collector's base URL),
    ``protocol`` (``http/protobuf`` or ``grpc``), ``otlp_headers``, ``otlp_timeout_s`` and
    ``otlp_compression`` set up the official OTLP exporters; unset, the standard
    ``OTEL_EXPORTER_OTLP_*`` variables apply (to providers radium makes: an application's own
    provider gets only what is asked for here). ``console_export`` prints spans and metrics
    to stderr; ``otlp_json_file`` appends them to a file as OTLP/JSON lines.
    ``meter_provider`` (by default the application's global SDK one) receives radium's metrics;
    without one, a provider is made only when metrics are exported. A collector that is down,
    hangs or fails never blocks the agent: ``otlp_timeout_s`` bounds each export request
    (retries included), and ``export_shutdown_timeout_s`` what the exit waits for export
    (``RADIUM_EXPORT_SHUTDOWN_TIMEOUT``, else 2 s; 0: not at all), session records being
    written before.
    ``OTEL_SDK_DISABLED=true`` turns all export and metrics off; sessions are still recorded.
    ``instrument`` names client libraries and agent frameworks to trace with their
    installed instrumentation (`instrument`), e.g. ``["openai", "langchain"]``.
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
        meter_provider: MeterProvider | None = None,
        otlp_headers: Mapping[str, str] | None = None,
        otlp_timeout_s: float | None = None,
        otlp_compression: str | None = None,
        console_export: bool = False,
        otlp_json_file: str | os.PathLike[str] | None = None,
        instrument: Sequence[str] | None = None,
        export_shutdown_timeout_s: float | None = None,
    ) -> None:
        from radium_otel.exporters import ExportSettings, install

        settings = ExportSettings(
            endpoint=otlp_endpoint,
            protocol=protocol,
            headers=otlp_headers,
            timeout_s=otlp_timeout_s,
            compression=otlp_compression,
            console=console_export,
            json_file=otlp_json_file,
            shutdown_timeout_s=export_shutdown_timeout_s,
        )
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
            on_session_drop=self._session_dropped,
            time_ns=time_ns,
            metadata=lambda: {
                **process_metadata(),
                **git,
                "service.name": self.service_name,
                "checkpoint_interval_s": checkpoint_interval_s,
            },
        )
        self.tracer_provider, own = self._attach(tracer_provider, service_name, set_global)
        resource = self.tracer_provider.resource.attributes
        self.service_name = str(resource.get(SERVICE_NAME, service_name or "unknown_service"))
        # Exporters come after the session processor: a span is counted in its session (and
        # stamped with its id) before it is queued for export, and never waits for a collector.
        self.export = install(
            settings,
            self.tracer_provider,
            own_tracer_provider=own,
            meter_provider=meter_provider,
            set_global_meter_provider=set_global,
        )
        meters = self.export.meter_provider
        self.metrics = MetricsRecorder(meters) if meters is not None else None
        self.processor.metrics = self.metrics
        from radium_otel import __version__

        self.tracer = self.tracer_provider.get_tracer("radium_otel", __version__)
        # Guards `_finished`, `_files` and `_recent` and serialises file writes, so a
        # checkpoint taken before a session ended can never overwrite its final record.
        self._write_lock = threading.Lock()
        self._finished: set[str] = set()
        self._files: dict[str, str] = {}  # open session id -> id of the file it claimed
        self._recent: OrderedDict[str, SessionRecord] = OrderedDict()
        self._checkpointer = _Checkpointer(self, checkpoint_interval_s)
        self._checkpointer.start()
        self._closed = False
        atexit.register(self.shutdown)
        if instrument:
            self.instrument(*instrument)

    def _attach(
        self, provider: TracerProvider | None, service_name: str | None, set_global: bool
    ) -> tuple[TracerProvider, bool]:
        """The provider the session processor is added to, and whether radium made it."""
        from radium_otel.exporters.pipeline import made_by_radium, mark_made
        from radium_otel.exporters.settings import sdk_disabled

        if provider is None:
            current = trace.get_tracer_provider()
            if isinstance(current, TracerProvider) and not getattr(current, "_disabled", False):
                provider = current
        own = provider is None or made_by_radium(provider)
        if provider is None:
            attrs = {SERVICE_NAME: service_name} if service_name else {}
            provider = TracerProvider(resource=Resource.create(attrs))
            mark_made(provider)
            if sdk_disabled():
                # OTEL_SDK_DISABLED turns export off, not the local session records that the
                # agent asked for: this provider exports nothing and is never made global.
                # (The SDK reads the variable only in its constructor.)
                provider._disabled = False
            elif set_global:
                trace.set_tracer_provider(provider)
        provider.add_span_processor(self.processor)
        return provider, own

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

    def instrument(self, *names: str) -> dict[str, str | None]:
        """Trace client libraries and agent frameworks with their installed instrumentation.

        ``names``: clients (``"openai"``, ...) and frameworks (``"langchain"``, ...); none:
        every one whose library is installed. Returns name → the package enabled (None:
        none is installed or works; a warning names the one to install). See
        ``rad.instrument``.
        """
        from radium_otel.integrations.core import instrument

        return instrument(self, names)

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

    def _session_opened(self, session_id: str, user_opened: bool) -> None:
        with self._write_lock:
            self._finished.discard(session_id)  # an id seen again is a new session run
        for hook in self.hooks:
            try:
                hook.session_started(session_id, user_opened=user_opened)
            except Exception as exc:
                log_internal_error(f"{type(hook).__name__}.session_started", exc)

    def _session_dropped(self, session_id: str) -> None:
        for hook in self.hooks:
            dropped = getattr(hook, "session_dropped", None)
            if dropped is None:
                continue
            try:
                dropped(session_id)
            except Exception as exc:
                log_internal_error(f"{type(hook).__name__}.session_dropped", exc)

    def _session_ended(self, record: SessionRecord) -> None:
        for hook in self.hooks:
            try:
                record = hook.session_ended(record)
            except Exception as exc:
                log_internal_error(f"{type(hook).__name__}.session_ended", exc)
        with self._write_lock:
            session_id = record.id
            self._finished.add(session_id)
            record = self._write(record)
            self._files.pop(session_id, None)  # the session run is over
            self._recent[session_id] = record
            while len(self._recent) > _RECENT_RECORDS:
                self._recent.popitem(last=False)
        if self.metrics is not None:  # after the record is safe on disk
            try:
                self.metrics.session_ended(record)
            except Exception as exc:
                log_internal_error("recording the session's metrics", exc)
        if self.print_summary and (record.tool_calls or record.requests or record.decisions):
            from radium_otel._internal.render import render_summary

            print(render_summary(record), file=sys.stderr)

    def checkpoint(self) -> None:
        """Write the current state of every open session."""
        for record in self.processor.snapshot_active():
            with self._write_lock:
                if record.id not in self._finished:
                    self._write(record)

    def _write(self, record: SessionRecord) -> SessionRecord:
        """Write ``record`` (write lock held); returns it as stored.

        The first write of a session run claims its file: a file of that id written by an
        earlier run (a conversation id used again by a later process, say) is never
        overwritten; this run is stored as ``<id>-2`` (``-3``, ...) with
        ``metadata.continues_session_id`` naming the first one.
        """
        session_id = record.id
        try:
            file_id = self._files.get(session_id)
            if file_id is None:
                record = self._claim(record)
            else:
                record = _stored_as(record, file_id)
                self.store.write(record)
        except OSError as exc:
            warn_once(
                f"write:{self.store.folder}",
                "radium-otel could not write session %s to %s: %s",
                record.id,
                self.store.folder,
                exc.strerror or exc,  # the temp file's name would only be noise
            )
        return record

    def _claim(self, record: SessionRecord) -> SessionRecord:
        """Write the first record of a session run to a file no earlier run wrote."""
        session_id = record.id
        for n in range(1, _MAX_RUNS + 1):
            candidate = record if n == 1 else _stored_as(record, _run_id(session_id, n))
            if os.path.lexists(self.store.folder / f"{candidate.id}.json"):
                continue
            try:
                self.store.write(candidate, exclusive=True)
            except FileExistsError:
                continue  # another process claimed it first
            self._files[session_id] = candidate.id
            return candidate
        raise OSError(f"{_MAX_RUNS} runs of session {session_id} are stored already")

    def shutdown(self) -> None:
        """Close open sessions, then flush and stop the exporters radium added.

        Waits at most the export shutdown timeout for a collector. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        if "radium_otel.integrations.core" in sys.modules:
            # Instrumentation it enabled stops tracing into providers about to shut down.
            from radium_otel.integrations.core import uninstrument

            uninstrument(self)
        self._checkpointer.stop()
        self.processor.shutdown()  # session records are written before anything is exported
        self.export.shutdown()
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
        try:
            self._owner.store.cleanup_temp_files()
            from radium_otel._internal.codechanges import remove_orphaned_snapshots

            remove_orphaned_snapshots()
        except Exception as exc:
            log_internal_error("removing leftover temporary files", exc)
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._owner.checkpoint()
            except Exception as exc:
                log_internal_error("checkpoint", exc)


def _run_id(session_id: str, n: int) -> str:
    """The file id of the ``n``-th run of a session id (n >= 2), a safe id too."""
    return f"{session_id[:120]}-{n}"


def _stored_as(record: SessionRecord, file_id: str) -> SessionRecord:
    """``record`` under the id of the file its run claimed."""
    if file_id == record.id:
        return record
    metadata = {**record.metadata, "continues_session_id": record.id}
    return replace(record, id=file_id, metadata=metadata)


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
