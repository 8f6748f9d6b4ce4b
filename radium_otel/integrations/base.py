"""What an integration is: a library radium can trace, and the packages that trace it.

A `Target` is a client library (``openai``) or an agent framework (``langchain``); each of
its packages is an instrumentor class, tried in order of preference. Third-party
instrumentors follow OpenTelemetry's ``BaseInstrumentor`` interface; a framework that emits
its own spans gets a small instrumentor in this package that turns them on (family
``"native"``) with the same interface: ``instrument(tracer_provider=..., meter_provider=...,
capture_content=...)``, ``uninstrument()`` and ``is_instrumented_by_opentelemetry``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from opentelemetry import trace

from radium_otel._internal import constants as k
from radium_otel._internal.errors import log_internal_error, logger

__all__ = ["NativeInstrumentor", "Package", "Target", "emit_decision"]


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
    # radium's own instrumentors (family "native") enabled and disabled with this package,
    # for what no span of it says (e.g. the user's decisions).
    companions: tuple[Package, ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """A library radium can trace, and the packages that can trace it."""

    library: str  # the module whose presence says the library is installed
    dist: str  # its pip name
    packages: tuple[Package, ...]  # in order of preference


class NativeInstrumentor:
    """Base of radium's own instrumentors: process-wide changes to a library, put back by
    `uninstrument`, behind OpenTelemetry's ``BaseInstrumentor`` interface (``instrument``,
    ``uninstrument``, ``is_instrumented_by_opentelemetry``, ``instrumentation_dependencies``).

    A subclass names its library (``title``, ``requirement``) and implements `_patch`, which
    makes each change through `_set`, `_wrap` or `_on_undo` so that it can be undone. As
    with ``BaseInstrumentor``, the state is the class's, shared by its instances. No
    exception leaves these methods: a change that fails is logged and everything made so far
    is undone.
    """

    title: ClassVar[str]  # the library, in messages
    requirement: ClassVar[str]  # what it instruments, as ``BaseInstrumentor`` reports it
    _lock: ClassVar[threading.Lock]
    _on: ClassVar[bool]  # instrumented (whether or not anything needed changing)
    _undo: ClassVar[list[Callable[[], None]]]  # newest last

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._lock = threading.Lock()
        cls._on = False
        cls._undo = []

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        """True from `instrument` to `uninstrument` (as for ``BaseInstrumentor``)."""
        return self._on

    def instrumentation_dependencies(self) -> tuple[str, ...]:
        """The library this instruments (as ``BaseInstrumentor`` reports it)."""
        return (self.requirement,)

    def instrument(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        capture_content: bool = False,
        **_: Any,
    ) -> None:
        """Make the changes, for ``tracer_provider`` (the global one without it) and
        ``meter_provider``; content is recorded only with ``capture_content``. Does nothing
        when already instrumented.
        """
        with self._lock:
            if self._on:
                return
            try:
                self._patch(
                    tracer_provider or trace.get_tracer_provider(), meter_provider, capture_content
                )
            except Exception as exc:
                logger.warning(
                    "radium-otel: could not turn on %s: %s: %s", self.title, type(exc).__name__, exc
                )
                self._restore()
                return
            type(self)._on = True

    def uninstrument(self, **_: Any) -> None:
        """Put back everything `instrument` changed."""
        with self._lock:
            self._restore()
            type(self)._on = False

    def _patch(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Make the changes (lock held)."""
        raise NotImplementedError

    def _on_undo(self, undo: Callable[[], None]) -> None:
        """Have `uninstrument` call ``undo`` (newest first)."""
        self._undo.append(undo)

    def _set(self, target: Any, values: dict[str, Any], *, instance: bool = False) -> None:
        """Set attributes of ``target``, to be put back as they were (``instance``: only
        what the object itself held, not what its class gave, is put back).
        """
        held = vars(target) if instance else None
        before = {
            name: held.get(name, _MISSING) if held is not None else getattr(target, name, _MISSING)
            for name in values
        }

        def put_back() -> None:
            for name, value in before.items():
                if value is not _MISSING:
                    setattr(target, name, value)
                elif name in vars(target):
                    delattr(target, name)

        self._on_undo(put_back)
        for name, value in values.items():
            setattr(target, name, value)

    def _wrap(self, owner: type[Any], name: str, make: Callable[[Any], Any]) -> None:
        """Replace the method ``owner.name`` (the class's own) by ``make(original)``."""
        original = getattr(owner, name)
        wrapper = functools.wraps(original)(make(original))
        self._set(owner, {name: wrapper}, instance=True)

    def _restore(self) -> None:
        """Undo the changes, newest first (lock held)."""
        undo = type(self)._undo
        while undo:
            try:
                undo.pop()()
            except Exception as exc:
                logger.warning(
                    "radium-otel: could not undo a change to %s: %s: %s",
                    self.title,
                    type(exc).__name__,
                    exc,
                )


def emit_decision(tracer: Any, decision: str, tool: str | None) -> None:
    """A ``tool_decision <tool>`` span of ``tracer`` in the current context, carrying the
    user's decision about a call of ``tool`` (never raises).
    """
    try:
        if tracer is None:
            return
        attributes: dict[str, Any] = {k.RADIUM_TOOL_DECISION: decision}
        if tool:
            attributes[k.GEN_AI_TOOL_NAME] = tool
        name = f"tool_decision {tool}" if tool else "tool_decision"
        tracer.start_span(name, attributes=attributes).end()
    except Exception as exc:
        log_internal_error("recording a tool decision", exc)


_MISSING = object()
