"""`GoogleADKInstrumentor`: send Google ADK's own OpenTelemetry spans to radium's provider.

ADK (``google-adk`` 2.x, telemetry schema 2, its default) traces itself with the GenAI
conventions: a run is an ``invoke_workflow <agent>`` span, each agent's turn an
``invoke_agent <name>`` span (``gen_ai.agent.name``, ``gen_ai.conversation.id``: ADK's
session), each model request a ``generate_content <model>`` span carrying
``gen_ai.provider.name`` (``gcp.gemini``) and the whole usage (``gen_ai.usage.input_tokens``
with cached, ``output_tokens`` with thoughts, ``cache_read.input_tokens``,
``reasoning.output_tokens``), and each tool call an ``execute_tool <tool>`` span
(``gen_ai.tool.name``, ``error.type`` and an ERROR status when the tool raised). All of them
come from one module-level tracer, ``google.adk.telemetry.tracing.tracer``, that every ADK
module imports by name, taken from the *global* tracer provider at import (a proxy until
one is set). This instrumentor points that object's ``start_span`` and
``start_as_current_span`` at a tracer of the given provider, without touching the global
provider or the environment.

Content: with schema 2, ADK records prompts, completions and tool arguments and results
only when its content mode (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``) routes
content to spans; with schema 1 (``ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN=1``) its legacy
``gcp.vertex.agent.*`` attributes carry content unless ``ADK_CAPTURE_MESSAGE_CONTENT_IN_SPANS``
is false. Unless ``capture_content``, neither records any (the mode ADK reads from the
environment is none, its legacy switch off); with it, content goes on the spans
(``SPAN_ONLY``). A setting the user made in the environment is theirs, and kept, as is a
``RunConfig.telemetry`` of theirs. Not covered: the ``exception`` event of a failed tool
(message and stack trace) and the tool definitions (``gen_ai.tool.definitions``: names and
descriptions) that ADK always records.

ADK's metrics stay on the global meter provider (its instruments are module-level objects,
made at import). `uninstrument` puts back what was there.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from radium_otel._internal.errors import logger

__all__ = ["GoogleADKInstrumentor"]

_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_LEGACY_CONTENT_ENV = "ADK_CAPTURE_MESSAGE_CONTENT_IN_SPANS"
_TRACER_METHODS = ("start_span", "start_as_current_span")
_MISSING = object()


class GoogleADKInstrumentor:
    """Points Google ADK's process-wide tracer at radium's provider.

    The interface of OpenTelemetry's ``BaseInstrumentor`` (``instrument``, ``uninstrument``,
    ``is_instrumented_by_opentelemetry``); as there, the state is shared by all instances,
    since what it changes is process-wide. No exception leaves these methods.
    """

    _lock = threading.Lock()
    # (object changed, its attributes before: name → value or _MISSING) while instrumented
    _saved: ClassVar[list[tuple[Any, dict[str, Any]]]] = []

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        """True while this instrumentor has pointed ADK's tracer at a provider."""
        return bool(self._saved)

    def instrumentation_dependencies(self) -> tuple[str, ...]:
        """The library this instruments (as ``BaseInstrumentor`` reports it)."""
        return ("google-adk >= 2.0",)

    def instrument(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        capture_content: bool = False,
        skip_dep_check: bool = True,
        **_: Any,
    ) -> None:
        """Trace every ADK agent into ``tracer_provider`` (without one, the global one).

        ``capture_content``: record prompts, completions and tool arguments and results.
        ``meter_provider`` is not used (ADK's metrics stay global). Does nothing when already
        instrumented. Logs a warning, and leaves ADK as it was, when its tracer cannot be
        reached.
        """
        del meter_provider, skip_dep_check  # ADK's own instrumentation: nothing to check
        with self._lock:
            if self._saved:
                return
            try:
                self._instrument(tracer_provider, capture_content)
            except Exception as exc:
                logger.warning(
                    "radium-otel: could not turn on Google ADK's tracing: %s: %s",
                    type(exc).__name__,
                    exc,
                )
                self._restore()

    def uninstrument(self, **_: Any) -> None:
        """Put back ADK's tracer and content settings as they were before `instrument`."""
        with self._lock:
            self._restore()

    def _instrument(self, tracer_provider: Any, capture_content: bool) -> None:
        """Point the tracer's methods at the provider's, then set content (lock held)."""
        tracing = importlib.import_module("google.adk.telemetry.tracing")
        context = importlib.import_module("google.adk.telemetry.context")
        if tracer_provider is None:
            trace_api = importlib.import_module("opentelemetry.trace")
            tracer_provider = trace_api.get_tracer_provider()
        schemas = importlib.import_module("opentelemetry.semconv.schemas")
        tracer = tracer_provider.get_tracer(
            "gcp.vertex.agent", _adk_version(), schemas.Schemas.V1_36_0.value
        )
        adk_tracer = tracing.tracer
        _set(
            self._saved,
            adk_tracer,
            {name: getattr(tracer, name) for name in _TRACER_METHODS},
            instance=True,
        )
        _set(self._saved, context, _content_readers(context, capture_content))

    def _restore(self) -> None:
        """Undo what `instrument` set, newest first (lock held)."""
        while self._saved:
            target, before = self._saved.pop()
            for name, value in before.items():
                try:
                    if value is _MISSING:
                        if name in vars(target):
                            delattr(target, name)
                    else:
                        setattr(target, name, value)
                except Exception as exc:
                    logger.warning(
                        "radium-otel: could not restore Google ADK's %s.%s: %s",
                        getattr(target, "__name__", type(target).__name__),
                        name,
                        exc,
                    )


def _set(
    saved: list[tuple[Any, dict[str, Any]]],
    target: Any,
    settings: dict[str, Any],
    *,
    instance: bool = False,
) -> None:
    """Set ``settings`` on ``target``, recording in ``saved`` what they were before
    (``instance``: only what the object itself holds, not what its class gives).
    """
    own = vars(target)
    before = {
        name: own.get(name, _MISSING) if instance else getattr(target, name, _MISSING)
        for name in settings
    }
    saved.append((target, before))
    for name, value in settings.items():
        setattr(target, name, value)


def _content_readers(context: Any, capture_content: bool) -> dict[str, Callable[[], Any]]:
    """The readers ADK's ``TelemetryConfig`` takes its content defaults from, for
    ``capture_content``, unless the user set them in the environment.
    """
    readers: dict[str, Callable[[], Any]] = {}
    mode_type = context.ContentCapturingMode
    user_mode = os.environ.get(_CONTENT_ENV, "").strip()
    if user_mode:
        if not capture_content and context._read_content_capturing_mode() in (
            mode_type.SPAN_ONLY,
            mode_type.SPAN_AND_EVENT,
        ):
            _warn_user_content(_CONTENT_ENV, user_mode)
    elif capture_content:
        readers["_read_content_capturing_mode"] = lambda: mode_type.SPAN_ONLY
    user_legacy = os.environ.get(_LEGACY_CONTENT_ENV, "").strip()
    if user_legacy:
        if not capture_content and context._read_add_content_to_legacy_spans():
            _warn_user_content(_LEGACY_CONTENT_ENV, user_legacy)
    elif not capture_content:
        readers["_read_add_content_to_legacy_spans"] = lambda: False
    return readers


def _warn_user_content(name: str, value: str) -> None:
    logger.warning(
        "radium-otel: Google ADK puts content on its spans (%s=%s is set), and it is "
        "exported; capture_content=False does not override it",
        name,
        value,
    )


def _adk_version() -> str | None:
    """The installed google-adk version, if known."""
    try:
        from importlib.metadata import version

        return version("google-adk")
    except Exception:
        return None
