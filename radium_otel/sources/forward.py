"""`--forward URL`: what the collector receives, passed on unchanged to an upstream OTLP/HTTP
endpoint (a team's OpenTelemetry Collector), from a bounded queue that never blocks intake.

A full queue (`MAX_QUEUED` requests or `MAX_QUEUED_BYTES`) drops the newest request and
counts it; an upstream that is down costs one timeout per request, in the forwarder's own
thread. Requests are retried once; what still fails is counted and logged once.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections import deque
from typing import Final

__all__ = ["Forwarder"]

logger = logging.getLogger("radium_otel")

MAX_QUEUED: Final = 1000
MAX_QUEUED_BYTES: Final = 64 * 1024 * 1024
TIMEOUT_S: Final = 10.0


class Forwarder:
    """Posts queued OTLP/HTTP bodies to ``url`` + the signal's path (``/v1/logs``, ...)."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        base = url.rstrip("/")
        for path in ("/v1/traces", "/v1/logs", "/v1/metrics"):
            base = base.removesuffix(path)
        self.base = base
        self.headers = dict(headers or {})
        self._queue: deque[tuple[str, bytes, str, str | None]] = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._stopping = False
        self.sent = self.dropped = self.failed = 0
        self._warned = False
        self._thread = threading.Thread(target=self._run, name="radium-forward", daemon=True)
        self._thread.start()

    def put(self, path: str, body: bytes, content_type: str, encoding: str | None) -> None:
        """Queue one request's body (never blocks; dropped and counted when full)."""
        with self._cond:
            if len(self._queue) >= MAX_QUEUED or self._bytes + len(body) > MAX_QUEUED_BYTES:
                self.dropped += 1
                return
            self._queue.append((path, body, content_type, encoding))
            self._bytes += len(body)
            self._cond.notify()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Send what is queued for at most ``timeout_s``, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                path, body, content_type, encoding = self._queue.popleft()
                self._bytes -= len(body)
            if self._send(path, body, content_type, encoding) or self._send(
                path, body, content_type, encoding
            ):
                self.sent += 1
            else:
                self.failed += 1

    def _send(self, path: str, body: bytes, content_type: str, encoding: str | None) -> bool:
        headers = {**self.headers, "Content-Type": content_type}
        if encoding:
            headers["Content-Encoding"] = encoding
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
            return True
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if not self._warned:
                self._warned = True
                logger.warning("radium-otel: cannot forward to %s: %s", self.base, exc)
            return False
