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
from collections.abc import Callable
from typing import Any

from radium_otel._internal.errors import logger
from radium_otel.integrations.base import NativeInstrumentor

__all__ = ["GoogleADKInstrumentor"]

_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_LEGACY_CONTENT_ENV = "ADK_CAPTURE_MESSAGE_CONTENT_IN_SPANS"
_TRACER_METHODS = ("start_span", "start_as_current_span")


class GoogleADKInstrumentor(NativeInstrumentor):
    """Points Google ADK's process-wide tracer at radium's provider (its metrics stay on the
    global meter provider: ADK creates its instruments when it is imported).
    """

    title = "Google ADK's tracing"
    requirement = "google-adk >= 2.0"

    def _patch(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Point the tracer's methods at the provider's, then set content (lock held)."""
        tracing = importlib.import_module("google.adk.telemetry.tracing")
        context = importlib.import_module("google.adk.telemetry.context")
        schemas = importlib.import_module("opentelemetry.semconv.schemas")
        tracer = tracer_provider.get_tracer(
            "gcp.vertex.agent", _adk_version(), schemas.Schemas.V1_36_0.value
        )
        methods = {name: getattr(tracer, name) for name in _TRACER_METHODS}
        self._set(tracing.tracer, methods, instance=True)
        self._set(context, _content_readers(context, capture_content))


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
