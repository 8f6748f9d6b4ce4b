"""Session hooks: work that belongs to a session's start and end, beside the span totals.

A hook is told when a session opens (in the thread whose span opened it, before the agent
goes on: for a session the user opened, do there only what must be the state at that
instant, quickly, and the rest in the background; a session that spans opened, e.g. an agent
framework's run, is told inside a span's start: do nothing there that waits) and gets the
final record when it ends, returning it enriched (code changes, cost, ...); a session that
ended with nothing to write is told by ``session_dropped`` when the hook has it. A failing
hook is logged and skipped; the record is still written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from radium_otel._internal.record import SessionRecord

__all__ = ["SessionHook", "default_hooks"]


class SessionHook(Protocol):
    """Extra measurements of a session, taken at its start and end."""

    def session_started(self, session_id: str, *, user_opened: bool = True) -> None:
        """A session opened (by the user, or by spans); must return quickly (the agent
        waits for it).
        """

    def session_ended(self, record: SessionRecord) -> SessionRecord:
        """The session's final record; returns it with this hook's fields filled in."""


def default_hooks(workspace: Path) -> list[SessionHook]:
    """The hooks every `Radium` runs unless told otherwise: code changes from git snapshots,
    then cost from the token counts.
    """
    from radium_otel._internal.codechanges import CodeChangeTracker
    from radium_otel._internal.pricing import CostHook

    return [CodeChangeTracker(workspace), CostHook(workspace)]
