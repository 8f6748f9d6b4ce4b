"""`PydanticAIInstrumentor`: turn on Pydantic AI's own OpenTelemetry spans for radium.

Pydantic AI traces itself: an agent run is an ``invoke_agent <name>`` span, each model
request a ``chat <model>`` span carrying ``gen_ai.usage.*`` (cache reads and reasoning
tokens included), each tool call an ``execute_tool <tool>`` span. It is turned on for every
agent with ``Agent.instrument_all(InstrumentationSettings(...))``, which sets a process-wide
default; embedders and image generators have the same switch. This instrumentor sets those
defaults to settings that trace into the given providers, and puts back what was there on
`uninstrument`. An agent built with its own ``instrument=...`` or ``Instrumentation``
capability keeps it.

Content (prompts, completions, instructions, tool arguments and results, exception
messages) is recorded only with ``capture_content``; without it the serialized request
parameters are left out too (tool schemas and settings, which radium does not read).
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Any

from radium_otel.integrations.base import NativeInstrumentor

__all__ = ["PydanticAIInstrumentor"]

# The classes whose process-wide ``_instrument_default`` ``instrument_all`` sets: (module,
# class). Only `Agent` is required; the others are turned on when this version has them.
_TARGETS = (
    ("pydantic_ai.agent", "Agent"),
    ("pydantic_ai.embeddings", "Embedder"),
    ("pydantic_ai.images", "ImageGenerator"),
)
# Instrumentation format versions, preferred first. 6 is 5 (the default) with tool results in
# messages of role ``tool`` as the GenAI conventions pair them; both put the same
# ``gen_ai.usage.*`` attributes on ``chat`` spans and ``gen_ai.aggregated_usage.*`` on the run
# span (so a request's tokens appear once under ``gen_ai.usage``).
_VERSIONS = (6, 5)


class PydanticAIInstrumentor(NativeInstrumentor):
    """Turns Pydantic AI's instrumentation on for all agents, on radium's providers."""

    title = "Pydantic AI's instrumentation"
    requirement = "pydantic-ai-slim >= 1.0"

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        """True while this instrumentor, or the application, has turned agent tracing on."""
        if self._on:
            return True
        module = sys.modules.get("pydantic_ai.agent")  # not imported: nobody turned it on
        agent = getattr(module, "Agent", None) if module is not None else None
        try:
            return bool(getattr(agent, "_instrument_default", False))
        except Exception:  # an odd value whose truth cannot be told
            return False

    def _patch(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Set every class's default to settings on these providers (lock held); undone
        only where the default is still radium's (one changed since is someone else's).
        """
        settings = _settings(tracer_provider, meter_provider, capture_content)
        for module_name, class_name in _TARGETS:
            cls = _class(module_name, class_name, required=class_name == "Agent")
            if cls is None:
                continue
            before = cls.__dict__.get("_instrument_default", False)
            cls.instrument_all(settings)
            self._on_undo(functools.partial(_put_back, cls, before, settings))


def _put_back(cls: type[Any], before: Any, settings: Any) -> None:
    """``cls``'s instrumentation default as it was, if ``settings`` are still its default."""
    if cls.__dict__.get("_instrument_default") is settings:
        cls.instrument_all(before)


def _class(module_name: str, class_name: str, *, required: bool) -> type[Any] | None:
    """``module_name.class_name`` if it imports and has ``instrument_all``."""
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        if required:
            raise
        return None
    if not isinstance(cls, type) or not callable(getattr(cls, "instrument_all", None)):
        if required:
            raise TypeError(f"{module_name}.{class_name}.instrument_all is missing")
        return None
    return cls


def _settings(tracer_provider: Any, meter_provider: Any, capture_content: bool) -> Any:
    """Pydantic AI's ``InstrumentationSettings`` for these providers, newest format it has."""
    settings_type = importlib.import_module("pydantic_ai.models.instrumented")
    options: dict[str, Any] = {
        "tracer_provider": tracer_provider,
        "include_content": capture_content,
        "include_binary_content": capture_content,
        "include_model_request_parameters": capture_content,
    }
    if meter_provider is not None:
        options["meter_provider"] = meter_provider
    error: Exception = ValueError("no instrumentation version")
    for version in _VERSIONS:
        try:
            return settings_type.InstrumentationSettings(version=version, **options)
        except (ValueError, TypeError) as exc:  # a version (or an option) this release lacks
            error = exc
    raise error
