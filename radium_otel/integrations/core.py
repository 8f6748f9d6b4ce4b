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

Content: a package radium enables puts prompts, completions and system instructions on its
spans if and only if radium's ``capture_content`` is True (SPEC: content is never exported
unless asked for), whatever that package's own default. Each package is told through its
own switch: OpenInference through a `TraceConfig` passed to ``instrument`` (which also keeps
only scalar request parameters, such as the model, in ``llm.invocation_parameters``);
Traceloop's packages through ``TRACELOOP_TRACE_CONTENT`` and the contrib packages through
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, both read on every request, set
while radium's instrumentation is on and removed after. A switch the user set in the
environment is theirs: it wins, with a warning when it turns content on while
``capture_content`` is False.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from radium_otel._internal.errors import logger
from radium_otel.integrations.base import Package, Target
from radium_otel.integrations.clients import CLIENTS
from radium_otel.integrations.frameworks import FRAMEWORKS

if TYPE_CHECKING:
    from radium_otel._internal.instance import Radium

__all__ = ["SUPPORTED", "instrument", "uninstrument"]


#: Name → what radium can trace, and how. Names are the libraries' pip names (short forms
#: for frameworks whose pip name says little: ``langchain`` covers LangGraph too).
SUPPORTED: dict[str, Target] = {**CLIENTS, **FRAMEWORKS}


@dataclass(frozen=True, slots=True)
class _Enabled:
    package: Package
    instrumentor: Any
    radium: Radium  # the instance whose providers it traces into
    owned: bool  # enabled here (False: the application had enabled it already)
    companions: tuple[_Enabled, ...] = ()  # the package's companions, enabled with it


# Guards `_enabled` (client name → what traces it) and `_env_set`, and serialises enabling
# and disabling.
_lock = threading.Lock()
_enabled: dict[str, _Enabled] = {}
_env_set: dict[str, str] = {}  # environment switches radium set → the value it set

TRACELOOP_TRACE_CONTENT = "TRACELOOP_TRACE_CONTENT"
GENAI_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_NO_CONTENT = frozenset({"", "false", "0", "no", "off", "no_content", "none"})
# Package family → the environment switch it reads on every request, and its values for
# content on and off (None: unset, the package's default being off).
_CONTENT_ENV: dict[str, tuple[str, str, str | None]] = {
    "otel": (GENAI_CAPTURE_CONTENT, "SPAN_ONLY", None),  # packages on opentelemetry-util-genai
    "otel-v2": (GENAI_CAPTURE_CONTENT, "true", None),  # openai-v2, before util-genai
    "traceloop": (TRACELOOP_TRACE_CONTENT, "true", "false"),
}
# Request parameters OpenInference may keep when content is off: the model and settings,
# never text (``prediction``, ``stop``, ``user``, ``metadata`` and the like are dropped).
_INVOCATION_KEYS = ("llm.invocation_parameters", "embedding.invocation_parameters")
_NAMED_SETTINGS = frozenset({"model", "service_tier", "reasoning_effort"})
# Content OpenInference packages record under keys of their own, which ``TraceConfig``'s
# ``hide_inputs`` does not cover: CrewAI's task descriptions (the user's prompt) and agents'
# goals and backstories.
_UNMASKED_CONTENT = frozenset({"crew_tasks", "crew_agents"})


def instrument(radium: Radium, names: Iterable[str] = ()) -> dict[str, str | None]:
    """Enable an instrumentation package for each of ``names`` (all supported: empty).

    ``names`` are client libraries and agent frameworks (`SUPPORTED`). Returns name → pip
    name of the package that traces it, or None when none could be enabled (a warning says
    why, and what to install). The ``clients`` of a framework's package whose library is
    installed are instrumented with it, and listed too. Idempotent: a name already instrumented for
    ``radium`` is left as it is; one instrumented for another instance (an earlier
    `configure`) moves to this one. With no ``names``, only the libraries that are
    installed are looked at, and a missing package is logged at INFO level. Raises
    `ValueError` for a name radium does not know.
    """
    asked = list(dict.fromkeys(names))
    unknown = [name for name in asked if name not in SUPPORTED]
    if unknown:
        raise ValueError(
            f"cannot instrument {', '.join(map(repr, unknown))}: "
            f"supported are {', '.join(SUPPORTED)}"
        )
    explicit = bool(asked)
    if not explicit:
        asked = [name for name in SUPPORTED if _installed(SUPPORTED[name].library)]
    with _lock:
        result = {name: _instrument_one(radium, name, explicit) for name in asked}
        for name in asked:
            enabled = _enabled.get(name)
            if result[name] is None or enabled is None:
                continue
            for client in enabled.package.clients:
                if client not in result and _installed(SUPPORTED[client].library):
                    result[client] = _instrument_one(radium, client, False)
        return result


def uninstrument(radium: Radium | None = None, names: Iterable[str] = ()) -> None:
    """Turn off what `instrument` enabled (for ``radium`` only, when given).

    Some packages cannot undo their patches (Traceloop's 0.62 leaves them in place): their
    spans then go on to a provider that is shut down, which drops them.
    """
    with _lock:
        for name in list(names) or list(_enabled):
            entry = _enabled.get(name)
            if entry is None or (radium is not None and entry.radium is not radium):
                continue
            del _enabled[name]
            _uninstrument(name, entry)


def _instrument_one(radium: Radium, name: str, explicit: bool) -> str | None:
    """Enable the first package that works for ``name`` (lock held)."""
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
        _enabled[name] = dataclasses.replace(
            enabled, companions=_enable_companions(package, radium)
        )
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
    try:
        kwargs |= _content_switch(package, capture=radium.capture_content)
    except Exception as exc:  # an OpenInference without the TraceConfig radium knows
        return f"cannot be told to leave content out ({type(exc).__name__}: {exc})"
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
        _release_switch(package)
        return f"failed to instrument ({type(exc).__name__}: {exc})"
    if not getattr(instrumentor, "is_instrumented_by_opentelemetry", True):
        return "did not instrument"
    return _Enabled(package, instrumentor, radium, owned=True)


def _enable_companions(package: Package, radium: Radium) -> tuple[_Enabled, ...]:
    """The package's companions, enabled on ``radium``'s providers as packages are."""
    enabled = []
    for companion in package.companions:
        result = _enable(companion, radium)
        if isinstance(result, str):
            logger.warning("radium-otel: %s not enabled: %s", companion.instrumentor, result)
        else:
            enabled.append(result)
    return tuple(enabled)


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


def _content_switch(package: Package, *, capture: bool) -> dict[str, Any]:
    """Set ``package``'s content switch to follow ``capture``; extra ``instrument`` kwargs."""
    if package.family == "openinference":
        return {} if capture else {"config": _private_trace_config()}
    if package.family == "native":
        return {"capture_content": capture}
    switch = _CONTENT_ENV.get(package.family)
    if switch is None:
        return {}
    name, on, off = switch
    current = os.environ.get(name)
    if current is None or _env_set.get(name) == current:  # radium's to set
        wanted = on if capture else off
        if wanted is None:
            _restore_env(name)
        else:
            os.environ[name] = wanted
            _env_set[name] = wanted
    elif not capture:
        _warn_content(package, f"{name}={current}", current)
    return {}


def _warn_content(package: Package, switch: str, value: str) -> None:
    if value.strip().lower() not in _NO_CONTENT:
        logger.warning(
            "radium-otel: %s puts prompts and completions on its spans (%s is set), and "
            "they are exported; capture_content=False does not override a package's own switch",
            package.dist,
            switch,
        )


def _private_trace_config() -> Any:
    """An OpenInference ``TraceConfig`` that records no content.

    Every ``hide_*`` switch the user has not set in the environment is on, but the request
    parameters are kept without their text (they name the model of a request that failed);
    a switch the user set is read by ``TraceConfig`` itself, and warned about if it shows
    content.
    """
    config_type = _private_config_type()
    hide: dict[str, bool] = {}
    for field in dataclasses.fields(config_type):
        env = field.metadata.get("env_var")
        if not field.name.startswith("hide_") or field.name == "hide_llm_invocation_parameters":
            continue
        if env and env in os.environ:
            if field.name in ("hide_inputs", "hide_outputs"):
                shown = os.environ[env].strip().lower() in _NO_CONTENT
                if shown:
                    logger.warning(
                        "radium-otel: OpenInference puts %s on its spans (%s is set), and "
                        "they are exported; capture_content=False does not override it",
                        field.name.removeprefix("hide_"),
                        env,
                    )
            continue
        hide[field.name] = True
    return config_type(**hide)


@functools.cache
def _private_config_type() -> type[Any]:
    from openinference.instrumentation import TraceConfig

    class PrivateTraceConfig(TraceConfig):
        """`TraceConfig` that strips text out of the request parameters it records, and
        drops content that packages record under keys of their own.
        """

        def mask(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
            if key in _UNMASKED_CONTENT and self.hide_inputs:
                return None
            masked = super().mask(key, value, *args, **kwargs)
            if key in _INVOCATION_KEYS and isinstance(masked, str):
                return _settings_only(masked)
            return masked

    return PrivateTraceConfig


def _settings_only(parameters: str) -> str | None:
    """The scalar settings of a JSON request-parameters object (``None``: nothing usable)."""
    try:
        decoded = json.loads(parameters)
    except ValueError:
        return None
    if not isinstance(decoded, dict):
        return None
    kept = {
        key: value
        for key, value in decoded.items()
        if isinstance(value, bool | int | float)
        or (key in _NAMED_SETTINGS and isinstance(value, str))
    }
    return json.dumps(kept)


def _uninstrument(name: str, enabled: _Enabled) -> None:
    for companion in enabled.companions:
        _uninstrument(name, companion)
    if not enabled.owned:
        return  # the application's to turn off
    _release_switch(enabled.package)
    try:
        enabled.instrumentor.uninstrument()
    except Exception as exc:
        logger.warning(
            "radium-otel: %s could not uninstrument %s: %s", enabled.package.dist, name, exc
        )


def _release_switch(package: Package) -> None:
    """Remove ``package``'s content switch once no package radium enabled reads it (lock held)."""
    switch = _CONTENT_ENV.get(package.family)
    if switch is None:
        return
    name = switch[0]
    if not any(
        e.owned and _CONTENT_ENV.get(e.package.family, ("",))[0] == name for e in _enabled.values()
    ):
        _restore_env(name)


def _restore_env(name: str) -> None:
    """Remove a switch radium set, unless someone has changed it since."""
    value = _env_set.pop(name, None)
    if value is not None and os.environ.get(name) == value:
        del os.environ[name]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing or odd
        return False
