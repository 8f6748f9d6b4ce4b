"""`instrument`: turn on an installed GenAI instrumentation package for each client library.

radium counts any span that follows the GenAI conventions (or the Traceloop / OpenInference
spellings), so an application can keep its model calls as they are and let an existing
instrumentation package trace them. For each client asked for, the first package of its
preference list that is installed and imports is enabled on radium's tracer provider (and
meter provider, when radium has one): the official OpenTelemetry contrib package first,
then Traceloop's (OpenLLMetry), then OpenInference's. One package per client: two would
trace each request twice. A client whose library is installed but that has no package says
so in one warning naming the package to install; nothing here raises into the application
except an unknown client name.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from radium_otel._internal.errors import logger

if TYPE_CHECKING:
    from radium_otel._internal.instance import Radium

__all__ = ["SUPPORTED", "Package", "instrument", "uninstrument"]


@dataclass(frozen=True, slots=True)
class Package:
    """An instrumentation package: its pip name and its instrumentor class."""

    dist: str
    module: str
    instrumentor: str


@dataclass(frozen=True, slots=True)
class _Client:
    library: str  # the module whose presence says the client is installed
    dist: str  # its pip name
    packages: tuple[Package, ...]  # in order of preference


#: Client name → its library and the instrumentation packages radium can enable, preferred
#: first. Names are the client libraries' pip names.
SUPPORTED: dict[str, _Client] = {
    "openai": _Client(
        "openai",
        "openai",
        (
            Package(
                "opentelemetry-instrumentation-genai-openai",
                "opentelemetry.instrumentation.genai.openai",
                "OpenAIInstrumentor",
            ),
            Package(
                "opentelemetry-instrumentation-openai-v2",
                "opentelemetry.instrumentation.openai_v2",
                "OpenAIInstrumentor",
            ),
            Package(
                "opentelemetry-instrumentation-openai",
                "opentelemetry.instrumentation.openai",
                "OpenAIInstrumentor",
            ),
            Package(
                "openinference-instrumentation-openai",
                "openinference.instrumentation.openai",
                "OpenAIInstrumentor",
            ),
        ),
    ),
    "anthropic": _Client(
        "anthropic",
        "anthropic",
        (
            Package(
                "opentelemetry-instrumentation-genai-anthropic",
                "opentelemetry.instrumentation.genai.anthropic",
                "AnthropicInstrumentor",
            ),
            Package(
                "opentelemetry-instrumentation-anthropic",
                "opentelemetry.instrumentation.anthropic",
                "AnthropicInstrumentor",
            ),
            Package(
                "openinference-instrumentation-anthropic",
                "openinference.instrumentation.anthropic",
                "AnthropicInstrumentor",
            ),
        ),
    ),
    "google-genai": _Client(
        "google.genai",
        "google-genai",
        (
            Package(
                "opentelemetry-instrumentation-google-genai",
                "opentelemetry.instrumentation.google_genai",
                "GoogleGenAiSdkInstrumentor",
            ),
            Package(
                "openinference-instrumentation-google-genai",
                "openinference.instrumentation.google_genai",
                "GoogleGenAIInstrumentor",
            ),
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class _Enabled:
    package: Package
    instrumentor: Any
    radium: Radium  # the instance whose providers it traces into
    owned: bool  # enabled here (False: the application had enabled it already)


# Guards `_enabled` (client name → what traces it) and serialises enabling and disabling.
_lock = threading.Lock()
_enabled: dict[str, _Enabled] = {}


def instrument(radium: Radium, clients: Iterable[str] = ()) -> dict[str, str | None]:
    """Enable an instrumentation package for each of ``clients`` (all supported: empty).

    Returns client → pip name of the package that traces it, or None when none could be
    enabled (a warning says why, and what to install). Idempotent: a client already
    instrumented for ``radium`` is left as it is; one instrumented for another instance
    (an earlier `configure`) moves to this one. With no ``clients``, only the clients whose
    library is installed are looked at, and a missing package is logged at INFO level.
    Raises `ValueError` for a client name radium does not know.
    """
    names = list(dict.fromkeys(clients))
    unknown = [name for name in names if name not in SUPPORTED]
    if unknown:
        raise ValueError(
            f"cannot instrument {', '.join(map(repr, unknown))}: "
            f"supported clients are {', '.join(SUPPORTED)}"
        )
    explicit = bool(names)
    if not explicit:
        names = [name for name in SUPPORTED if _installed(SUPPORTED[name].library)]
    with _lock:
        return {name: _instrument_one(radium, name, explicit) for name in names}


def uninstrument(radium: Radium | None = None, clients: Iterable[str] = ()) -> None:
    """Turn off what `instrument` enabled (for ``radium`` only, when given).

    Some packages cannot undo their patches (Traceloop's 0.62 leaves them in place): their
    spans then go on to a provider that is shut down, which drops them.
    """
    with _lock:
        for name in list(clients) or list(_enabled):
            entry = _enabled.get(name)
            if entry is None or (radium is not None and entry.radium is not radium):
                continue
            del _enabled[name]
            _uninstrument(name, entry)


def _instrument_one(radium: Radium, name: str, explicit: bool) -> str | None:
    """Enable the first package that works for client ``name`` (lock held)."""
    client = SUPPORTED[name]
    current = _enabled.get(name)
    if current is not None:
        if current.radium is radium or not current.owned:
            return current.package.dist
        del _enabled[name]
        _uninstrument(name, current)
    if not _installed(client.library):
        logger.warning(
            "radium-otel: not instrumenting %s: the %s package is not installed",
            name,
            client.dist,
        )
        return None
    problems: list[str] = []
    for package in client.packages:
        if not _installed(package.module):
            continue
        enabled = _enable(package, radium)
        if isinstance(enabled, str):
            problems.append(f"{package.dist}: {enabled}")
            continue
        _enabled[name] = enabled
        logger.info("radium-otel: %s is traced by %s", name, package.dist)
        return package.dist
    if problems:
        logger.warning("radium-otel: %s is not instrumented: %s", name, "; ".join(problems))
    else:
        logger.log(
            logging.WARNING if explicit else logging.INFO,
            "radium-otel: %s is not instrumented: pip install %s",
            name,
            client.packages[0].dist,
        )
    return None


def _enable(package: Package, radium: Radium) -> _Enabled | str:
    """The package's instrumentor enabled on ``radium``'s providers, or why it is not."""
    try:
        instrumentor = getattr(importlib.import_module(package.module), package.instrumentor)()
    except Exception as exc:  # a package that does not import with these versions
        return f"does not import ({type(exc).__name__}: {exc})"
    if getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
        # The application (or opentelemetry-instrument) enabled it already, on a provider
        # of its choosing; radium counts those spans when that provider is radium's.
        return _Enabled(package, instrumentor, radium, owned=False)
    kwargs: dict[str, Any] = {"tracer_provider": radium.tracer_provider}
    meter_provider = radium.export.meter_provider
    if meter_provider is not None:
        kwargs["meter_provider"] = meter_provider
    conflict = _dependency_conflict(instrumentor)
    if conflict:
        # The client library is installed (checked before) but outside the version range
        # the package declares; packages pin conservatively (google-genai's contrib package
        # says google-genai < 3 and traces 3.x correctly), so enable it and say so (INFO:
        # nothing the user could do about it).
        logger.info("radium-otel: %s %s; enabling it anyway", package.dist, conflict)
    try:
        instrumentor.instrument(skip_dep_check=True, **kwargs)
    except Exception as exc:
        return f"failed to instrument ({type(exc).__name__}: {exc})"
    if not getattr(instrumentor, "is_instrumented_by_opentelemetry", True):
        return "did not instrument"
    return _Enabled(package, instrumentor, radium, owned=True)


def _dependency_conflict(instrumentor: Any) -> str | None:
    """``supports X, and Y is installed`` when the installed library is outside its range."""
    try:
        from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

        conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
    except Exception:  # not a BaseInstrumentor, or no metadata: nothing to say
        return None
    if conflict is None:
        return None
    required, found = getattr(conflict, "required", None), getattr(conflict, "found", None)
    if required and found:
        return f"supports {required}, and {found} is installed"
    return str(conflict)


def _uninstrument(name: str, enabled: _Enabled) -> None:
    if not enabled.owned:
        return  # the application's to turn off
    try:
        enabled.instrumentor.uninstrument()
    except Exception as exc:
        logger.warning(
            "radium-otel: %s could not uninstrument %s: %s", enabled.package.dist, name, exc
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing or odd
        return False
