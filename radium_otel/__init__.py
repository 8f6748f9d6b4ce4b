"""radium-otel: session analytics for AI agents, built on OpenTelemetry.

>>> import radium_otel as rad
>>> rad.configure(workspace=".")                       # doctest: +SKIP
>>> with rad.session(agent="coder"):                   # doctest: +SKIP
...     run_agent()
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any, TypeVar, overload

from radium_otel._internal import constants as _k

if TYPE_CHECKING:  # loaded on first use at run time: see _LAZY
    from radium_otel._internal.instance import Radium
    from radium_otel._internal.instrument import SessionScope, record_usage
    from radium_otel._internal.processor import SessionSpanProcessor
    from radium_otel._internal.record import CacheStats, ModelUsage, SessionRecord, ToolStats
    from radium_otel._internal.service import (
        AnalyticsService,
        ModelStats,
        SessionReport,
        SessionSummary,
    )
    from radium_otel._internal.usage import Usage

__version__ = "0.1.0"

__all__ = [
    "AnalyticsService",
    "CacheStats",
    "ModelStats",
    "ModelUsage",
    "Radium",
    "SessionRecord",
    "SessionReport",
    "SessionScope",
    "SessionSpanProcessor",
    "SessionSummary",
    "ToolStats",
    "Usage",
    "__version__",
    "configure",
    "get_instance",
    "instrument",
    "model_call",
    "record_decision",
    "record_usage",
    "session",
    "shutdown",
    "tool",
]

# Exported names imported on first access (PEP 562), so that ``import radium_otel`` -- and
# every ``rad stats`` command -- does not load the OpenTelemetry SDK. To export one more name
# from a module: add it here, to the ``TYPE_CHECKING`` imports above and to ``__all__``.
_LAZY: dict[str, str] = {
    "AnalyticsService": "radium_otel._internal.service",
    "CacheStats": "radium_otel._internal.record",
    "ModelStats": "radium_otel._internal.service",
    "ModelUsage": "radium_otel._internal.record",
    "Radium": "radium_otel._internal.instance",
    "SessionRecord": "radium_otel._internal.record",
    "SessionReport": "radium_otel._internal.service",
    "SessionScope": "radium_otel._internal.instrument",
    "SessionSpanProcessor": "radium_otel._internal.processor",
    "SessionSummary": "radium_otel._internal.service",
    "ToolStats": "radium_otel._internal.record",
    "Usage": "radium_otel._internal.usage",
    "record_usage": "radium_otel._internal.instrument",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and flag unknown names

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_default: Radium | None = None
_default_args: dict[str, Any] = {}


def configure(
    workspace: str | os.PathLike[str] | None = None,
    service_name: str | None = None,
    otlp_endpoint: str | None = None,
    protocol: str | None = None,
    capture_content: bool = False,
    print_summary: bool = True,
    *,
    otlp_headers: Mapping[str, str] | None = None,
    otlp_timeout_s: float | None = None,
    export_shutdown_timeout_s: float | None = None,
    otlp_compression: str | None = None,
    console_export: bool = False,
    otlp_json_file: str | os.PathLike[str] | None = None,
    instrument: Sequence[str] | None = None,
    **options: Any,
) -> Radium:
    """Configure the process-wide instance (idempotent: same arguments, same instance).

    Attaches to the application's SDK ``TracerProvider`` (and ``MeterProvider``) when one is
    set, else creates one. Sessions are always recorded locally; export is optional:

    - ``otlp_endpoint``: the collector's base URL (``http://127.0.0.1:4318``, or ``:4317``
      with ``protocol="grpc"``); ``protocol``: ``"http/protobuf"`` (default) or ``"grpc"``;
      ``otlp_headers``, ``otlp_timeout_s`` (per export request, retries included),
      ``otlp_compression`` (``"gzip"``, ``"deflate"``, ``"none"``);
    - ``console_export``: print spans and metrics to stderr;
    - ``otlp_json_file``: append spans and metrics to a file as OTLP/JSON lines.

    ``instrument`` names client libraries (``"openai"``, ``"anthropic"``, ``"google-genai"``)
    and agent frameworks (``"pydantic-ai"``, ``"openai-agents"``, ``"langchain"``, ...) to
    trace with the instrumentation installed for each (see `instrument`).

    Unset, the standard variables apply: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (and per-signal
    ``_TRACES_``/``_METRICS_`` endpoints), ``_PROTOCOL``, ``_HEADERS``, ``_TIMEOUT`` (seconds),
    ``_COMPRESSION``, ``OTEL_TRACES_EXPORTER``/``OTEL_METRICS_EXPORTER`` (``otlp``,
    ``console``, ``none``), ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``;
    ``OTEL_SDK_DISABLED=true`` turns export and metrics off. ``_TIMEOUT`` is read in seconds,
    as the Python OTLP exporters read it (the specification says milliseconds: ``10000`` is
    10,000 s per request, with a warning). However long that is, the process's exit waits at
    most 2 s for export, after the session records are written: ``export_shutdown_timeout_s``
    or ``RADIUM_EXPORT_SHUTDOWN_TIMEOUT`` (seconds; 0: do not wait) changes that.
    ``options`` go to `Radium` (``tracer_provider``, ``meter_provider``,
    ``checkpoint_interval_s``, ...).
    """
    from radium_otel._internal.instance import Radium

    global _default
    args = {
        "workspace": None if workspace is None else os.fspath(workspace),
        "service_name": service_name,
        "otlp_endpoint": otlp_endpoint,
        "protocol": protocol,
        "capture_content": capture_content,
        "print_summary": print_summary,
        "otlp_headers": None if otlp_headers is None else dict(otlp_headers),
        "otlp_timeout_s": otlp_timeout_s,
        "export_shutdown_timeout_s": export_shutdown_timeout_s,
        "otlp_compression": otlp_compression,
        "console_export": console_export,
        "otlp_json_file": None if otlp_json_file is None else os.fspath(otlp_json_file),
        "instrument": None if instrument is None else tuple(instrument),
        **options,
    }
    with _lock:
        if _default is not None:
            if args == _default_args:
                return _default
            _default.shutdown()
        _default = Radium(**args)
        _default_args.clear()
        _default_args.update(args)
        return _default


def get_instance() -> Radium:
    """The process-wide instance, configured with defaults on first use."""
    instance = _default
    if instance is not None:
        return instance
    with _lock:
        if _default is None:
            return _configure_default()
        return _default


def _configure_default() -> Radium:
    from radium_otel._internal.instance import Radium

    global _default
    _default = Radium()
    _default_args.clear()
    _default_args.update(
        workspace=None,
        service_name=None,
        otlp_endpoint=None,
        protocol=None,
        capture_content=False,
        print_summary=True,
        otlp_headers=None,
        otlp_timeout_s=None,
        export_shutdown_timeout_s=None,
        otlp_compression=None,
        console_export=False,
        otlp_json_file=None,
        instrument=None,
    )
    return _default


def shutdown() -> None:
    """Close every open session of the process-wide instance and forget it."""
    global _default
    with _lock:
        instance, _default = _default, None
    if instance is not None:
        instance.shutdown()


def instrument(*names: str) -> dict[str, str | None]:
    """Trace client libraries and agent frameworks with the instrumentation installed for each.

    ``names``: the clients ``"openai"``, ``"anthropic"``, ``"google-genai"`` and the
    frameworks ``"pydantic-ai"``, ``"openai-agents"``, ``"langchain"``, ``"crewai"``,
    ``"smolagents"``, ``"strands"``, ``"google-adk"``, ``"llama-index"``; none: every one
    whose library is installed. For each, the first installed of its packages is enabled on
    radium's providers: for a client the OpenTelemetry contrib one
    (``opentelemetry-instrumentation-genai-openai``, ``-openai-v2``, ``-genai-anthropic``,
    ``-google-genai``), then Traceloop's (``opentelemetry-instrumentation-openai``,
    ``-anthropic``), then OpenInference's (``openinference-instrumentation-*``); for a
    framework its own spans or its OpenInference / Traceloop package, with the client
    instrumentations that bring usage its spans lack (README "Agent frameworks"). Returns
    name → the package enabled, or None with one warning naming the package to install.
    Idempotent; never raises but for an unknown name. `shutdown` turns them off again.
    """
    return get_instance().instrument(*names)


def session(agent: str | None = None, *, tags: Mapping[str, str] | None = None) -> SessionScope:
    """One agent session: ``with``, ``async with`` or as a decorator."""
    from radium_otel._internal.instrument import SessionScope

    return SessionScope(get_instance, agent, tags)


@overload
def tool(fn: F, /) -> F: ...
@overload
def tool(*, name: str | None = None, capture_content: bool | None = None) -> Callable[[F], F]: ...
def tool(
    fn: F | None = None, /, *, name: str | None = None, capture_content: bool | None = None
) -> F | Callable[[F], F]:
    """Trace each call as an ``execute_tool`` span (sync, async, generators).

    An exception escaping the function marks the call failed and propagates unchanged.
    """
    from radium_otel._internal.instrument import tool_decorator

    return tool_decorator(fn, name, capture_content, get_instance)


@overload
def model_call(fn: F, /) -> F: ...
@overload
def model_call(
    *, provider: str | None = None, model: str | None = None, operation: str = _k.OP_CHAT
) -> Callable[[F], F]: ...
def model_call(
    fn: F | None = None,
    /,
    *,
    provider: str | None = None,
    model: str | None = None,
    operation: str = _k.OP_CHAT,
) -> F | Callable[[F], F]:
    """Trace each call as a model request (``chat {model}`` span).

    Token usage is read from the return value (OpenAI, Anthropic, Google GenAI responses or
    dicts of their shape), from the chunks a generator yields (streams), or from
    `record_usage` called inside.
    """
    from radium_otel._internal.instrument import model_decorator

    return model_decorator(fn, provider, model, operation, get_instance)


def record_decision(decision: str, tool: str | None = None) -> None:
    """Record the user's decision on a tool call: accept, reject, modify or auto_accept.

    Inside the tool's own span it is put on that span; otherwise (a rejected call never
    runs) it is recorded on a small span of its own.
    """
    from radium_otel._internal.instrument import record_decision as _record_decision

    _record_decision(decision, tool, get_instance)
