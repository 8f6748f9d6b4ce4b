"""`rad collect`: run the receiver and the collector until stopped; the set-up lines per CLI.

One collector per workspace (a lock on its journal folder): sessions go to the workspace's
store, the journal to ``.radium/_internals/collector/``. On SIGINT/SIGTERM the receiver stops,
live sessions are written as they stand and stay in the journal: the next `rad collect`
resumes them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from radium_otel._internal.pricing import CostHook
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.sources.collector import Collector
from radium_otel.sources.forward import Forwarder
from radium_otel.sources.journal import journal_dir
from radium_otel.sources.receiver import LOOPBACK, Receiver

__all__ = ["CLIS", "CollectorBusy", "journal_dir", "serve", "setup_text"]

TICK_S: Final = 1.0
CLIS: Final = ("claude-code", "codex", "gemini-cli")


class CollectorBusy(Exception):
    """Another `rad collect` runs on this workspace."""


def serve(
    workspace: Path,
    *,
    host: str = "127.0.0.1",
    http_port: int | None = 4318,
    grpc_port: int | None = 4317,
    token: str | None = None,
    idle_timeout_s: float,
    forward: str | None = None,
    ready: Callable[[Receiver, int], None] | None = None,
    stop: threading.Event | None = None,
) -> Collector:
    """Collect until SIGINT/SIGTERM (or ``stop`` is set); returns the collector, closed.

    ``ready`` is told the running receiver and how many live sessions the journal gave back.
    Raises `CollectorBusy`, `ReceiverError`, or `OSError` for a workspace it cannot write.
    """
    folder = journal_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CollectorBusy(
                f"another rad collect is running on this workspace ({workspace})"
            ) from None
        return _serve_locked(
            workspace, folder, host, http_port, grpc_port, token, idle_timeout_s, forward,
            ready, stop or threading.Event(),
        )  # fmt: skip
    finally:
        os.close(lock)


def _serve_locked(
    workspace: Path,
    folder: Path,
    host: str,
    http_port: int | None,
    grpc_port: int | None,
    token: str | None,
    idle_timeout_s: float,
    forward: str | None,
    ready: Callable[[Receiver, int], None] | None,
    stop: threading.Event,
) -> Collector:
    cost = CostHook(workspace)
    collector = Collector(
        SessionStore(sessions_dir(workspace)),
        folder,
        idle_timeout_s=idle_timeout_s,
        finish=cost.session_ended,
    )
    recovered = collector.recover()
    forwarder = Forwarder(forward) if forward else None
    receiver = Receiver(
        collector,
        host=host,
        http_port=http_port,
        grpc_port=grpc_port,
        token=token,
        forwarder=forwarder,
    )
    receiver.start()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        if ready is not None:
            ready(receiver, recovered)
        while not stop.wait(TICK_S):
            collector.tick()
    finally:
        receiver.stop()
        collector.tick()
        collector.close()
        if forwarder is not None:
            forwarder.stop()
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
    return collector


def setup_text(cli: str, *, host: str, http_port: int, grpc_port: int, token: str | None) -> str:
    """The lines that point ``cli`` at this collector, content logging off."""
    shown = "127.0.0.1" if host in LOOPBACK or host in ("0.0.0.0", "::") else host
    http = f"http://{shown}:{http_port}"
    grpc_url = f"http://{shown}:{grpc_port}"
    if cli == "claude-code":
        lines = [
            "# Claude Code: add to your shell profile (or to the env of settings.json)",
            "export CLAUDE_CODE_ENABLE_TELEMETRY=1",
            "export OTEL_LOGS_EXPORTER=otlp",
            "export OTEL_METRICS_EXPORTER=otlp",
            "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            f"export OTEL_EXPORTER_OTLP_ENDPOINT={http}",
            "export OTEL_METRICS_EXPORT_INTERVAL=10000",
            "export OTEL_LOGS_EXPORT_INTERVAL=5000",
            "# prompts and tool details stay off: leave OTEL_LOG_USER_PROMPTS and",
            "# OTEL_LOG_TOOL_DETAILS unset",
        ]
        if token:
            lines.append(f"export OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer {token}'")
        return "\n".join(lines)
    if cli == "codex":
        headers = f', headers = {{ "Authorization" = "Bearer {token}" }}' if token else ""
        return "\n".join(
            [
                "# Codex CLI: add to $CODEX_HOME/config.toml (default ~/.codex/config.toml)",
                "[otel]",
                "log_user_prompt = false",
                f'exporter = {{ otlp-http = {{ endpoint = "{http}/v1/logs", '
                f'protocol = "binary"{headers} }} }}',
            ]
        )
    if cli == "gemini-cli":
        return "\n".join(
            [
                "# Gemini CLI: add to ~/.gemini/settings.json (OTLP/gRPC, its default)",
                "{",
                '  "telemetry": {',
                '    "enabled": true,',
                '    "target": "local",',
                f'    "otlpEndpoint": "{grpc_url}",',
                '    "otlpProtocol": "grpc",',
                '    "logPrompts": false',
                "  }",
                "}",
            ]
            + (
                ["# Gemini CLI sends no custom headers: run rad collect on 127.0.0.1 (no token)"]
                if token
                else []
            )
        )
    raise ValueError(f"unknown CLI {cli!r}; choose from {', '.join(CLIS)}")


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``1h``, ``1h30m``; `ValueError` otherwise."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    rest = text.strip().lower()
    if not rest:
        raise ValueError("empty duration")
    if rest.replace(".", "", 1).isdigit():
        return float(rest)
    total, number = 0.0, ""
    for ch in rest:
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
        else:
            raise ValueError(f"not a duration: {text!r} (e.g. 90s, 30m, 1h)")
    if number:
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 30m, 1h)")
    return total
