"""`HITLDecisionRecorder`: LangChain's human-in-the-loop decisions, as radium decisions.

LangChain 1.x gates tool calls with ``HumanInTheLoopMiddleware(interrupt_on={...})``: the
agent (a LangGraph graph with a checkpointer) stops with an interrupt listing the calls to
review, and the user resumes it with ``Command(resume={"decisions": [...]})`` (one
decision a call: ``approve``, ``edit`` with edited arguments, ``reject``, or ``respond``;
in ``interrupt_mode="per_call"`` one interrupt a call, resumed with the decision itself).
The spans of LangChain's instrumentations show the interrupt only as a ``GraphInterrupt``
exception event and the resumed run as a second run; what the user decided is on none of
them. A rejected call never reaches the tool node, so no tool span is left to discount.

The middleware asks through LangGraph's ``interrupt()``, which raises on the first pass and,
when the graph is resumed, returns the user's answer. This instrumentor wraps the
middleware module's reference to it (``langchain.agents.middleware.human_in_the_loop.
interrupt``), pairs each answer with the call it is about, and emits a
``tool_decision <tool>`` span per decision (``radium.tool.decision``, ``gen_ai.tool.name``)
in the current context, the resumed run's: ``approve`` → ``accept``, ``edit`` →
``modify``, ``reject`` → ``reject``, and ``respond`` (the reviewer answers in the tool's
place, it never runs) → ``modify``. An answer the middleware will refuse (a number of
decisions that does not match the calls) records nothing.

`uninstrument` puts the middleware's ``interrupt`` back. No exception leaves the wrapper
into the application: a failure is logged and the answer goes on unchanged.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any, ClassVar

from radium_otel._internal.errors import log_internal_error
from radium_otel.integrations.base import NativeInstrumentor, emit_decision

__all__ = ["DECISIONS", "HITLDecisionRecorder", "TraceloopAgentFactoryGuard"]

#: The middleware's decision types → radium's decisions.
DECISIONS: Mapping[str, str] = {
    "approve": "accept",
    "edit": "modify",
    "reject": "reject",
    "respond": "modify",
}

_MIDDLEWARE_MODULE = "langchain.agents.middleware.human_in_the_loop"
_TRACER_NAME = "radium_otel"


class HITLDecisionRecorder(NativeInstrumentor):
    """Records the decisions of LangChain's ``HumanInTheLoopMiddleware`` (see the module doc).

    ``meter_provider`` and ``capture_content`` are not used: a decision carries no content
    (neither edited arguments nor a rejection message). Nothing to do without LangChain 1.x
    (its middleware).
    """

    title = "the recording of LangChain's human-in-the-loop decisions"
    requirement = "langchain >= 1.0"
    _tracer: ClassVar[Any] = None

    def _patch(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Wrap the middleware's ``interrupt`` (lock held)."""
        try:
            module: Any = importlib.import_module(_MIDDLEWARE_MODULE)
        except ImportError:
            return  # langchain-core without langchain 1.x: no such middleware
        original = module.interrupt
        if not callable(original):
            raise TypeError(f"{_MIDDLEWARE_MODULE}.interrupt is not callable")
        cls = type(self)
        cls._tracer = tracer_provider.get_tracer(_TRACER_NAME)
        self._on_undo(functools.partial(setattr, cls, "_tracer", None))
        self._set(module, {"interrupt": functools.wraps(original)(_interrupt_wrapper(original))})


def _interrupt_wrapper(original: Any) -> Any:
    """LangGraph's ``interrupt``, as the middleware calls it: its answer on a resumed run
    is recorded as decisions.
    """

    def interrupt(value: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(value, *args, **kwargs)  # (raises GraphInterrupt to stop the run)
        try:
            for tool, decision in _decisions(value, answer):
                _emit_decision(decision, tool)
        except Exception as exc:
            log_internal_error("langchain human-in-the-loop decision", exc)
        return answer

    return interrupt


def _decisions(request: Any, answer: Any) -> list[tuple[str | None, str]]:
    """(tool, radium decision) for each call ``request`` asked about and ``answer`` decides."""
    if _get(request, "type") == "tool_approval":  # per_call mode: one call, one decision
        decision = DECISIONS.get(str(_get(answer, "type")))
        return [] if decision is None else [(_name(_get(request, "name")), decision)]
    actions = _get(request, "action_requests")
    answers = _get(answer, "decisions")
    if not isinstance(actions, list) or not isinstance(answers, list):
        return []  # not the middleware's request, or an answer it will refuse
    if len(actions) != len(answers):
        return []
    decided = []
    for action, each in zip(actions, answers, strict=True):
        decision = DECISIONS.get(str(_get(each, "type")))
        if decision is not None:
            decided.append((_name(_get(action, "name")), decision))
    return decided


def _get(value: Any, key: str) -> Any:
    """``value[key]`` of a mapping, ``value.key`` of an object, else None."""
    if isinstance(value, Mapping):
        return value.get(key)
    return getattr(value, key, None)


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _emit_decision(decision: str, tool: str | None) -> None:
    emit_decision(HITLDecisionRecorder._tracer, decision, tool)


# Where Traceloop's LangChain package (0.62) wraps the agent factories: (module, function).
_AGENT_FACTORIES = (
    ("langchain.agents.factory", "create_agent"),
    ("langchain.agents", "create_agent"),
    ("langgraph.prebuilt.chat_agent_executor", "create_react_agent"),
    ("langgraph.prebuilt", "create_react_agent"),
)


class TraceloopAgentFactoryGuard(NativeInstrumentor):
    """Keeps the system prompt off the spans of Traceloop's agent factories.

    ``opentelemetry-instrumentation-langchain`` (Traceloop) wraps ``create_agent`` and
    ``create_react_agent`` to emit a ``create_agent`` span that carries the system prompt
    (``gen_ai.system_instructions``) whatever ``TRACELOOP_TRACE_CONTENT`` says. Those spans
    count for nothing in radium, so without ``capture_content`` this companion unwraps the
    factories Traceloop wrapped (building an agent is then not traced at all); with it, it
    leaves them. `uninstrument` puts Traceloop's wrappers back, for its own uninstrument.
    """

    title = "the guard of Traceloop's LangChain agent factories"
    requirement = "langchain >= 1.0"

    def _patch(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Unwrap the agent factories Traceloop wrapped (unless ``capture_content``)."""
        if capture_content:
            return
        for module_name, name in _AGENT_FACTORIES:
            try:
                module = importlib.import_module(module_name)
            except ImportError:  # a module this version does not have
                continue
            function = getattr(module, name, None)
            original = getattr(function, "__wrapped__", None)
            wrapper = getattr(function, "_self_wrapper", None)  # (wrapt's, Traceloop's)
            if original is not None and getattr(wrapper, "__module__", "").startswith(
                "opentelemetry.instrumentation.langchain"
            ):
                self._set(module, {name: original})
