"""What leaves the process, and where: `ExportSettings`, resolved against the ``OTEL_*`` variables.

Arguments win over the environment, as everywhere in OpenTelemetry; ``OTEL_SDK_DISABLED=true``
and ``OTEL_{TRACES,METRICS}_EXPORTER=none`` win over both (they are the operator's off switch).
This module reads only ``os.environ``: it imports no exporter, so deciding that nothing is to be
exported costs nothing.

A signal (traces or metrics) is exported

- over OTLP when an endpoint or protocol is given as an argument, when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` or the signal's ``OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT`` is set,
  or when ``OTEL_{SIGNAL}_EXPORTER`` names ``otlp``;
- to the console (stderr, never the agent's stdout) when ``console=True`` or
  ``OTEL_{SIGNAL}_EXPORTER`` names ``console``;
- to an OTLP/JSON lines file when ``json_file`` is given.

Variables that only set the environment of a provider the application made itself are not
applied to it (`from_environment=False`): that application's SDK set-up already read them, and a
second exporter to the same endpoint would send every span twice.

Two timeouts are kept apart. ``timeout_s`` (``OTEL_EXPORTER_OTLP_TIMEOUT``) bounds each export
request, retries included, as the OTLP exporters do. ``shutdown_timeout_s``
(``RADIUM_EXPORT_SHUTDOWN_TIMEOUT``, 2 s by default, Sentry's default) bounds what the process's
exit waits for export all told: a collector that is down or hangs cannot hold a user's terminal
for a request timeout and its retries. ``OTEL_EXPORTER_OTLP_TIMEOUT`` is read in seconds, as the
Python OTLP exporters read it (the specification says milliseconds): ``10000`` is 10,000 s per
request, with a warning, and still at most ``shutdown_timeout_s`` at exit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from radium_otel._internal.errors import warn_once

__all__ = [
    "DEFAULT_SHUTDOWN_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "PROTOCOLS",
    "SHUTDOWN_TIMEOUT_VARIABLE",
    "ExportSettings",
    "Signal",
    "SignalPlan",
    "sdk_disabled",
]

Signal = Literal["traces", "metrics"]
PROTOCOLS = ("http/protobuf", "grpc")
DEFAULT_TIMEOUT_S = 10.0  # the OTLP exporters' own default
DEFAULT_SHUTDOWN_TIMEOUT_S = 2.0  # Sentry's default shutdown timeout
SHUTDOWN_TIMEOUT_VARIABLE = "RADIUM_EXPORT_SHUTDOWN_TIMEOUT"
# A timeout variable at least this large was most likely meant in milliseconds (the spec's unit).
_LOOKS_LIKE_MILLIS_S = 1000.0
_COMPRESSIONS = ("none", "gzip", "deflate")
_EXPORTER_NAMES = ("otlp", "console", "none")


def sdk_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: export nothing (radium's local session records still work)."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """Export options given in code; each ``None`` falls back to the standard variables.

    ``endpoint`` is the collector's base URL (``http://127.0.0.1:4318`` for HTTP/protobuf,
    ``http://127.0.0.1:4317`` for gRPC); ``/v1/traces`` and ``/v1/metrics`` are added for HTTP.
    ``timeout_s`` bounds each export request, retries included, and `ExportPipeline.force_flush`
    (the Python OTLP exporters read ``OTEL_EXPORTER_OTLP_TIMEOUT`` in seconds, and so does
    this). ``shutdown_timeout_s`` bounds the wait for export at shutdown, whatever the request
    timeout (``RADIUM_EXPORT_SHUTDOWN_TIMEOUT``, else 2 s; 0: do not wait).
    """

    endpoint: str | None = None
    protocol: str | None = None
    headers: Mapping[str, str] | None = field(default=None, hash=False)
    timeout_s: float | None = None
    compression: str | None = None
    console: bool = False
    json_file: str | os.PathLike[str] | None = None
    shutdown_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ValueError(
                f"unsupported OTLP protocol {self.protocol!r}; use one of {', '.join(PROTOCOLS)}"
            )
        if self.compression is not None and self.compression not in _COMPRESSIONS:
            raise ValueError(
                f"unsupported OTLP compression {self.compression!r}; "
                f"use one of {', '.join(_COMPRESSIONS)}"
            )
        if self.timeout_s is not None and not (
            math.isfinite(self.timeout_s) and self.timeout_s > 0
        ):
            raise ValueError(f"timeout_s must be a positive number of seconds: {self.timeout_s!r}")
        if self.shutdown_timeout_s is not None and not (
            math.isfinite(self.shutdown_timeout_s) and self.shutdown_timeout_s >= 0
        ):
            raise ValueError(
                "shutdown_timeout_s must be a number of seconds, 0 or more: "
                f"{self.shutdown_timeout_s!r}"
            )

    def resolved_shutdown_timeout_s(self) -> float:
        """The most shutdown waits for export: the argument, else
        ``RADIUM_EXPORT_SHUTDOWN_TIMEOUT`` (seconds), else `DEFAULT_SHUTDOWN_TIMEOUT_S`.
        """
        if self.shutdown_timeout_s is not None:
            return self.shutdown_timeout_s
        raw = _env(SHUTDOWN_TIMEOUT_VARIABLE)
        if raw is None:
            return DEFAULT_SHUTDOWN_TIMEOUT_S
        value = _seconds(raw)
        if value is not None and value >= 0:
            return value
        warn_once(
            f"timeout:{SHUTDOWN_TIMEOUT_VARIABLE}",
            "radium-otel: %s=%s is not a number of seconds (0 or more); using %s",
            SHUTDOWN_TIMEOUT_VARIABLE,
            raw,
            DEFAULT_SHUTDOWN_TIMEOUT_S,
        )
        return DEFAULT_SHUTDOWN_TIMEOUT_S

    @property
    def requested_in_code(self) -> bool:
        """Whether the arguments themselves ask for any export."""
        return (
            self.endpoint is not None
            or self.protocol is not None
            or self.console
            or self.json_file is not None
        )

    def plan(self, signal: Signal, *, from_environment: bool = True) -> SignalPlan:
        """Which exporters ``signal`` gets, and how its OTLP exporter is set up."""
        if sdk_disabled():
            return SignalPlan(signal)
        names = _exporter_names(signal)
        if names is not None and "none" in names:
            return SignalPlan(signal)
        upper = signal.upper()
        env_endpoint = _env(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT") or _env(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        otlp = self.endpoint is not None or self.protocol is not None
        console = self.console
        if from_environment:
            otlp = otlp or env_endpoint is not None or (names is not None and "otlp" in names)
            console = console or (names is not None and "console" in names)
        protocol = self.protocol or _env_protocol(signal)
        if otlp and protocol is None:
            otlp = False  # a bad OTEL_EXPORTER_OTLP_PROTOCOL: warned, not guessed
        return SignalPlan(
            signal,
            otlp=otlp,
            console=console,
            json_file=self.json_file,
            protocol=protocol or "http/protobuf",
            endpoint=self.endpoint,
            headers=None if self.headers is None else dict(self.headers),
            timeout_s=self.timeout_s if self.timeout_s is not None else _env_timeout(signal),
            compression=self.compression,
        )


@dataclass(frozen=True, slots=True)
class SignalPlan:
    """The resolved export of one signal.

    ``endpoint=None`` lets the exporter read the ``OTEL_EXPORTER_OTLP_*_ENDPOINT`` variables
    itself (``headers`` and ``compression`` the same).
    """

    signal: Signal
    otlp: bool = False
    console: bool = False
    json_file: str | os.PathLike[str] | None = None
    protocol: str = "http/protobuf"
    endpoint: str | None = None
    headers: dict[str, str] | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    compression: str | None = None

    @property
    def active(self) -> bool:
        """Whether anything is exported for this signal."""
        return self.otlp or self.console or self.json_file is not None


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _exporter_names(signal: Signal) -> set[str] | None:
    """``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` as a set of names, if set."""
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    raw = _env(variable)
    if raw is None:
        return None
    names = {name.strip().lower() for name in raw.split(",") if name.strip()}
    unknown = names - set(_EXPORTER_NAMES)
    if unknown:
        warn_once(
            f"exporter-names:{variable}",
            "radium-otel ignores %s=%s entries it does not know: %s (known: %s)",
            variable,
            raw,
            ", ".join(sorted(unknown)),
            ", ".join(_EXPORTER_NAMES),
        )
    return names & set(_EXPORTER_NAMES)


def _env_protocol(signal: Signal) -> str | None:
    variable = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
    raw = _env(variable)
    if raw is None:
        variable = "OTEL_EXPORTER_OTLP_PROTOCOL"
        raw = _env(variable)
    if raw is None:
        return "http/protobuf"
    if raw in PROTOCOLS:
        return raw
    warn_once(
        f"protocol:{variable}",
        "radium-otel: %s=%s is not supported (use %s); %s are not exported over OTLP",
        variable,
        raw,
        " or ".join(PROTOCOLS),
        signal,
    )
    return None


def _seconds(raw: str) -> float | None:
    """``raw`` as a finite number, else None."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _env_timeout(signal: Signal) -> float:
    """The export timeout in seconds, read as the Python OTLP exporters read it.

    The specification says milliseconds; a value that looks like milliseconds is still read
    as seconds (what every Python exporter in the process does with it), with a warning.
    """
    for variable in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        raw = _env(variable)
        if raw is None:
            continue
        value = _seconds(raw)
        if value is not None and value >= _LOOKS_LIKE_MILLIS_S:
            warn_once(
                f"timeout-units:{variable}",
                "radium-otel: %s=%s is read in seconds, as the Python OTLP exporters read it "
                "(the OpenTelemetry specification says milliseconds): each export may take "
                "up to %.0f s; exit still waits for export at most %s (%.3g s by default)",
                variable,
                raw,
                value,
                SHUTDOWN_TIMEOUT_VARIABLE,
                DEFAULT_SHUTDOWN_TIMEOUT_S,
            )
        if value is not None and value > 0:
            return value
        warn_once(
            f"timeout:{variable}",
            "radium-otel: %s=%s is not a positive number of seconds; using %s",
            variable,
            raw,
            DEFAULT_TIMEOUT_S,
        )
        return DEFAULT_TIMEOUT_S
    return DEFAULT_TIMEOUT_S
