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
import threading
from typing import Any, ClassVar

from radium_otel._internal.errors import logger

__all__ = ["StrandsInstrumentor"]

_SEMCONV_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
_UNREDACTED_TOKEN = "gen_ai_unredacted_attributes="
_MISSING = object()


class StrandsInstrumentor:
    """Points Strands' process-wide tracer (and metrics) at radium's providers.

    The interface of OpenTelemetry's ``BaseInstrumentor`` (``instrument``, ``uninstrument``,
    ``is_instrumented_by_opentelemetry``); as there, the state is shared by all instances,
    since what it changes is process-wide. No exception leaves these methods.
    """

    _lock = threading.Lock()
    # (object changed, its attributes before: name → value or _MISSING) while instrumented
    _saved: ClassVar[list[tuple[Any, dict[str, Any]]]] = []

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        """True while this instrumentor has pointed Strands' tracer at a provider."""
        return bool(self._saved)

    def instrumentation_dependencies(self) -> tuple[str, ...]:
        """The library this instruments (as ``BaseInstrumentor`` reports it)."""
        return ("strands-agents >= 1.0",)

    def instrument(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        capture_content: bool = False,
        skip_dep_check: bool = True,
        **_: Any,
    ) -> None:
        """Trace every Strands agent into ``tracer_provider`` (metrics into ``meter_provider``).

        Without a ``tracer_provider``, the global one. ``capture_content``: record prompts,
        completions, the system prompt and tool arguments and results. Does nothing when
        already instrumented. Logs a warning, and leaves Strands as it was, when its tracer
        cannot be reached.
        """
        del skip_dep_check  # Strands' own instrumentation: nothing to check
        with self._lock:
            if self._saved:
                return
            try:
                self._instrument(tracer_provider, meter_provider, capture_content)
            except Exception as exc:
                logger.warning(
                    "radium-otel: could not turn on Strands Agents' tracing: %s: %s",
                    type(exc).__name__,
                    exc,
                )
                self._restore()

    def uninstrument(self, **_: Any) -> None:
        """Put back Strands' tracer and metrics as they were before `instrument`."""
        with self._lock:
            self._restore()

    def _instrument(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Set the tracer's provider and options, then the metrics' (lock held)."""
        tracer_module = importlib.import_module("strands.telemetry.tracer")
        strands_tracer = tracer_module.get_tracer()
        if tracer_provider is None:
            trace_api = importlib.import_module("opentelemetry.trace")
            tracer_provider = trace_api.get_tracer_provider()
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
        _set(self._saved, strands_tracer, settings)
        if meter_provider is not None:
            metrics_module = importlib.import_module("strands.telemetry.metrics")
            client = metrics_module.MetricsClient()
            before = dict(vars(client))
            client.meter = meter_provider.get_meter(metrics_module.__name__, _strands_version())
            self._saved.append((client, before))
            client.create_instruments()

    def _restore(self) -> None:
        """Undo what `instrument` set, newest first (lock held)."""
        while self._saved:
            target, before = self._saved.pop()
            for name, value in before.items():
                try:
                    if value is _MISSING:
                        if hasattr(target, name):
                            delattr(target, name)
                    else:
                        setattr(target, name, value)
                except Exception as exc:
                    logger.warning(
                        "radium-otel: could not restore Strands Agents' %s.%s: %s",
                        type(target).__name__,
                        name,
                        exc,
                    )


def _set(saved: list[tuple[Any, dict[str, Any]]], target: Any, settings: dict[str, Any]) -> None:
    """Set ``settings`` on ``target``, recording in ``saved`` what they were before."""
    before = {name: getattr(target, name, _MISSING) for name in settings}
    saved.append((target, before))
    for name, value in settings.items():
        setattr(target, name, value)


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
