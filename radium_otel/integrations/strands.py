"""`StrandsInstrumentor`: send Strands Agents' own OpenTelemetry spans to radium's provider.

Strands traces itself: an agent run is an ``invoke_agent <name>`` span, each turn of its
event loop an ``execute_event_loop_cycle`` span, each model request a ``chat`` span carrying
``gen_ai.usage.*`` (cache reads included; no reasoning tokens) and each tool call an
``execute_tool <tool>`` span. All of them come from one process-wide ``Tracer``
(``strands.telemetry.tracer.get_tracer()``), which takes its OpenTelemetry tracer from the
*global* tracer provider when it is created and reads its options from
``OTEL_SEMCONV_STABILITY_OPT_IN`` then. This instrumentor sets that object's tracer (and the
meter of Strands' ``MetricsClient``) to ones of the given providers, without touching the
global providers or the environment, and sets its options directly (Strands sets a span's
attributes just after starting it: radium reads them when the span ends):

* the latest GenAI conventions (``gen_ai_latest_experimental``: ``gen_ai.provider.name``
  rather than ``gen_ai.system``, content as ``gen_ai.*.messages`` / ``gen_ai.tool.call.*``);
* each run's own usage on its ``invoke_agent`` span (``gen_ai_use_latest_invocation_tokens``:
  an agent called twice otherwise reports the usage of both runs on the second);
* content (prompts, completions, system prompt, tool arguments and results) replaced by
  ``[REDACTED]`` unless ``capture_content``: Strands' own redaction
  (``gen_ai_unredacted_attributes=``, with nothing left unredacted). Strands has no switch
  that leaves content out altogether; its deprecated ``structured_output`` span and the
  ``exception`` event of a failed tool (message and stack trace) are not covered by it.
  A ``gen_ai_unredacted_attributes`` the user put in the environment is theirs, and kept.

`uninstrument` puts back what was there.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from radium_otel._internal.errors import logger
from radium_otel.integrations.base import NativeInstrumentor

__all__ = ["StrandsInstrumentor"]

_SEMCONV_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
_UNREDACTED_TOKEN = "gen_ai_unredacted_attributes="


class StrandsInstrumentor(NativeInstrumentor):
    """Points Strands' process-wide tracer (and metrics) at radium's providers."""

    title = "Strands Agents' tracing"
    requirement = "strands-agents >= 1.0"

    def _patch(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Set the tracer's provider and options, then the metrics' (lock held)."""
        tracer_module = importlib.import_module("strands.telemetry.tracer")
        strands_tracer = tracer_module.get_tracer()
        settings: dict[str, Any] = {
            "tracer_provider": tracer_provider,
            "tracer": tracer_provider.get_tracer(
                getattr(strands_tracer, "service_name", tracer_module.__name__),
                _strands_version(),
            ),
            "use_latest_genai_conventions": True,
            "_use_latest_invocation_tokens": True,
        }
        settings |= _redaction(capture_content)
        self._set(strands_tracer, settings)
        if meter_provider is not None:
            metrics_module = importlib.import_module("strands.telemetry.metrics")
            client = metrics_module.MetricsClient()
            self._set(client, dict(vars(client)), instance=True)  # (its instruments too)
            client.meter = meter_provider.get_meter(metrics_module.__name__, _strands_version())
            client.create_instruments()


def _redaction(capture_content: bool) -> dict[str, Any]:
    """The tracer's redaction options for ``capture_content``, unless the user set them."""
    opt_in = os.environ.get(_SEMCONV_ENV, "")
    user_token = next(
        (t.strip() for t in opt_in.split(",") if t.strip().startswith(_UNREDACTED_TOKEN)),
        None,
    )
    if user_token is not None:
        if not capture_content and user_token != _UNREDACTED_TOKEN:
            logger.warning(
                "radium-otel: Strands Agents puts the content of %s on its spans (%s is set), "
                "and it is exported; capture_content=False does not override it",
                user_token.partition("=")[2],
                _SEMCONV_ENV,
            )
        return {}
    return {
        "_redaction_enabled": not capture_content,
        "_unredacted_exact": frozenset(),
        "_unredacted_globs": (),
    }


def _strands_version() -> str | None:
    """The installed strands-agents version, if known."""
    try:
        from importlib.metadata import version

        return version("strands-agents")
    except Exception:
        return None
