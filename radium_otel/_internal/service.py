"""`AnalyticsService`: the seed's TR-2 API over one workspace's sessions.

Reading (reports, model stats, history) needs neither the OpenTelemetry SDK nor a `Radium`
instance: those are loaded when the service first starts or ends a session.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from radium_otel._internal.index import ModelFacts, effective_status, from_us
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.render import render_summary, split_percent
from radium_otel._internal.reports import Sessions, Window, ask, model_sums
from radium_otel._internal.store import LookupFailed, SessionStore
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

if TYPE_CHECKING:
    from radium_otel._internal.instance import Radium

__all__ = ["AnalyticsService", "ModelStats", "SessionReport", "SessionSummary"]

_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class SessionReport:
    """A session record with the rates derived from it (SPEC "Rates")."""

    record: SessionRecord

    @property
    def success_rate(self) -> float | None:
        """Successful tool calls / executed tool calls; None without tool calls."""
        r = self.record
        return r.tool_successes / r.tool_calls if r.tool_calls else None

    @property
    def user_agreement(self) -> float | None:
        """(accept + auto_accept) / all decisions; None without decisions."""
        d = self.record.decisions
        reviewed = sum(d.values())
        return (d.get("accept", 0) + d.get("auto_accept", 0)) / reviewed if reviewed else None

    @property
    def time_split_percent(self) -> tuple[float, float]:
        """API and tool shares of agent-active time, adding up to 100.0."""
        return split_percent(self.record.api_time_s, self.record.tool_time_s)

    def summary(self) -> str:
        """The UX-1 summary text."""
        return render_summary(self.record)


@dataclass(frozen=True, slots=True)
class ModelStats:
    """One model's usage over every stored session."""

    model: str
    sessions: int
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    reasoning_tokens: int
    latency_s: float


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One row of the session history."""

    id: str
    start_time: datetime
    status: str
    agent: str | None
    wall_time_s: float
    tool_calls: int
    success_rate: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


class AnalyticsService:
    """Start and end sessions, read reports, model stats and history of a workspace.

    ``instance`` runs the live sessions (default: a new `Radium` on the same workspace that
    does not touch the global tracer provider).
    """

    def __init__(
        self, workspace: str | os.PathLike[str] | None = None, instance: Radium | None = None
    ) -> None:
        self.workspace = instance.workspace if instance else resolve_workspace(workspace)
        self.store = SessionStore(sessions_dir(self.workspace))
        self._instance = instance
        # Open session -> the session that was current where it started (None: none was).
        # Ending one hands "current" back to it. (A ContextVar token would restore it too,
        # but only in the context that set it, and even after that session had ended; this
        # map is spliced when a session ends out of order, so an ended one never returns.)
        self._previous: dict[str, str | None] = {}
        self._lock = threading.Lock()  # guards _previous

    @property
    def instance(self) -> Radium:
        """The instance that runs this service's live sessions."""
        if self._instance is None:
            from radium_otel._internal.instance import Radium

            self._instance = Radium(workspace=self.workspace, set_global=False)
        return self._instance

    def start_session(self, agent: str | None = None) -> str:
        """Open a session and make it the current one in this context; returns its id.

        Sessions nest: `end_session` makes the session that was current here before this
        one (if still open) the current one again.
        """
        from radium_otel._internal.processor import session_context

        sid = self.instance.processor.open_session(agent=agent)
        with self._lock:
            self._previous[sid] = session_context.get()
        session_context.set(sid)
        self.instance.session_started(sid)
        return sid

    def end_session(self, session_id: str) -> SessionReport:
        """Close a session and return its final report."""
        from radium_otel._internal.processor import session_context

        with self._lock:
            previous = self._previous.pop(session_id, None)
            for sid, before in self._previous.items():
                if before == session_id:
                    self._previous[sid] = previous
        if session_context.get() == session_id:
            session_context.set(previous)
        record = self.instance.processor.end_session(session_id)
        if record is None:
            return self.get_session_report(session_id)
        # As stored: with what the session hooks added (code changes, cost).
        return SessionReport(self.instance.finished_record(session_id) or record)

    def get_session_report(self, session_id: str) -> SessionReport:
        """The report of a stored session (full id or unique prefix of >= 4 characters)."""
        return SessionReport(self.store.read(self.store.resolve(session_id)))

    def _ask(self, build: Callable[[Sessions], _R]) -> _R:
        """``build`` over the stored sessions, read as ``rad stats`` reads them."""
        return ask(self.store.folder, build).value

    def get_model_stats(self, model: str) -> ModelStats:
        """Usage of ``model`` summed over every stored session (with any provider)."""

        def build(source: Sessions) -> tuple[list[ModelFacts], int]:
            rows = [m for m in source.models(Window()) if m.model == model]
            return rows, source.sessions_with_model(model)

        rows, sessions = self._ask(build)
        if not rows:
            raise LookupFailed(f"no session used model {model!r}")
        sums = model_sums(rows)
        latency_us = sums.pop("latency_us")
        return ModelStats(model, sessions, latency_s=latency_us / 1_000_000, **sums)

    def get_history(self) -> list[SessionSummary]:
        """One summary per stored session, newest first."""
        now = time.time()
        return [
            SessionSummary(
                id=f.id,
                start_time=from_us(f.start_us),
                status=effective_status(f, now),
                agent=f.agent,
                wall_time_s=f.wall_us / 1_000_000,
                tool_calls=f.tool_calls,
                success_rate=f.tool_successes / f.tool_calls if f.tool_calls else None,
                input_tokens=f.input_tokens,
                output_tokens=f.output_tokens,
                cost_usd=None if f.cost_nusd is None else f.cost_nusd / 1_000_000_000,
            )
            for f in self._ask(lambda source: source.history(Window(), None, None))
        ]
