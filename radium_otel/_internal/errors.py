"""One way to handle radium-otel's own bugs: log once, let the agent carry on.

Everything that runs inside the user's process (span processor callbacks, decorator
bookkeeping, background writers) routes unexpected exceptions here. Under pytest they are
re-raised instead, so that tests see bugs; `raise_internal_errors` switches this.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    logger: logging.Logger

__all__ = ["log_internal_error", "logger", "raise_internal_errors", "warn_once"]

_lock = threading.Lock()
_reported: set[str] = set()
_raise: bool | None = None


def __getattr__(name: str) -> Any:
    # ``logger``, made when first asked for: `logging` costs a CLI like ``rad stats`` ~3 ms
    # of start-up that it does not need when nothing goes wrong.
    if name == "logger":
        import logging

        return logging.getLogger("radium_otel")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def raise_internal_errors(value: bool | None) -> None:
    """Re-raise internal errors (True), swallow them (False), or decide by context (None)."""
    global _raise
    _raise = value


def _should_raise() -> bool:
    if _raise is not None:
        return _raise
    return "pytest" in sys.modules or os.environ.get("RADIUM_RAISE_INTERNAL_ERRORS") == "1"


def log_internal_error(where: str, exc: BaseException) -> None:
    """Report an internal error raised in ``where``: once per place, with its traceback.

    Must be called from an ``except`` block; re-raises when `raise_internal_errors` says so.
    """
    if _should_raise():
        raise exc
    with _lock:
        first = where not in _reported
        _reported.add(where)
    if first:
        __getattr__("logger").warning(
            "radium-otel internal error in %s (reported once; the agent goes on)",
            where,
            exc_info=exc,
        )


def warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning the first time ``key`` is seen in this process."""
    with _lock:
        if key in _reported:
            return
        _reported.add(key)
    __getattr__("logger").warning(message, *args)
