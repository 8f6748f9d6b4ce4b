"""`AnalyticsService`: the seed's TR-2 API over one workspace's sessions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from radium_otel._internal.instance import Radium
from radium_otel._internal.processor import session_context
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.render import render_summary, split_percent
from radium_otel._internal.store import LookupFailed, SessionStore
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

__all__ = ["AnalyticsService", "ModelStats", "SessionReport", "SessionSummary"]


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

    @property
    def instance(self) -> Radium:
        """The instance that runs this service's live sessions."""
        if self._instance is None:
            self._instance = Radium(workspace=self.workspace, set_global=False)
        return self._instance

    def start_session(self, agent: str | None = None) -> str:
        """Open a session and make it the current one in this context; returns its id."""
        sid = self.instance.processor.open_session(agent=agent)
        session_context.set(sid)
        self.instance.session_started(sid)
        return sid

    def end_session(self, session_id: str) -> SessionReport:
        """Close a session and return its final report."""
        if session_context.get() == session_id:
            session_context.set(None)
        record = self.instance.processor.end_session(session_id)
        if record is None:
            return self.get_session_report(session_id)
        # As stored: with what the session hooks added (code changes, cost).
        return SessionReport(self.instance.finished_record(session_id) or record)

    def get_session_report(self, session_id: str) -> SessionReport:
        """The report of a stored session (full id or unique prefix of >= 4 characters)."""
        return SessionReport(self.store.read(self.store.resolve(session_id)))

    def get_model_stats(self, model: str) -> ModelStats:
        """Usage of ``model`` summed over every stored session."""
        sessions = 0
        totals = dict.fromkeys(
            (
                "requests",
                "errors",
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_creation_tokens",
                "reasoning_tokens",
            ),
            0,
        )
        latency = 0.0
        stored, _ = self.store.load_all()
        for s in stored:
            rows = [m for m in s.record.model_usage if m.model == model]
            if rows:
                sessions += 1
            for m in rows:
                for key in totals:
                    totals[key] += getattr(m, key)
                latency += m.latency_s
        if not sessions:
            raise LookupFailed(f"no session used model {model!r}")
        return ModelStats(model=model, sessions=sessions, latency_s=latency, **totals)

    def get_history(self) -> list[SessionSummary]:
        """One summary per stored session, newest first."""
        stored, _ = self.store.load_all()
        return [
            SessionSummary(
                id=r.id,
                start_time=r.start_time,
                status=r.status,
                agent=r.metadata.get("agent"),
                wall_time_s=r.wall_time_s,
                tool_calls=r.tool_calls,
                success_rate=SessionReport(r).success_rate,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cost_usd=r.cost_usd,
            )
            for r in reversed([s.record for s in stored])
        ]
