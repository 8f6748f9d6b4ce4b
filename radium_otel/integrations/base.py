"""What an integration is: a library radium can trace, and the packages that trace it.

A `Target` is a client library (``openai``) or an agent framework (``langchain``); each of
its packages is an instrumentor class, tried in order of preference. Third-party
instrumentors follow OpenTelemetry's ``BaseInstrumentor`` interface; a framework that emits
its own spans gets a small instrumentor in this package that turns them on (family
``"native"``) with the same interface: ``instrument(tracer_provider=..., meter_provider=...,
capture_content=...)``, ``uninstrument()`` and ``is_instrumented_by_opentelemetry``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Package", "Target"]


@dataclass(frozen=True, slots=True)
class Package:
    """An instrumentation package: its pip name, its instrumentor class, and how it is told
    whether to record content (its family: ``"otel"``, ``"otel-v2"`` and ``"traceloop"``
    through an environment switch, ``"openinference"`` through a ``TraceConfig``,
    ``"native"`` through a ``capture_content`` argument).
    """

    dist: str
    module: str
    instrumentor: str
    family: str = "otel"
    # Client libraries whose own instrumentation is turned on with this package because
    # their spans carry usage this package's lack (cached and reasoning tokens), and sit in
    # the same trace as its spans; the processor counts a request recorded by both once
    # (SPEC "One request counts once").
    clients: tuple[str, ...] = ()
    # radium's own instrumentors (``module:Class``, the native interface) enabled and
    # disabled with this package, for what no span of it says (e.g. the user's decisions).
    companions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """A library radium can trace, and the packages that can trace it."""

    library: str  # the module whose presence says the library is installed
    dist: str  # its pip name
    packages: tuple[Package, ...]  # in order of preference
