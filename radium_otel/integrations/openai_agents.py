"""`ApprovalRecorder`: the user's tool approvals in the OpenAI Agents SDK, as radium decisions.

A function tool made with ``needs_approval=True`` stops the run: the result has
``interruptions`` (``ToolApprovalItem``), the user calls ``state.approve(item)`` or
``state.reject(item)`` on ``result.to_state()`` and resumes with ``Runner.run(agent, state)``.
No span of the SDK (nor of OpenInference's or Traceloop's instrumentation) says what the
user decided, and three things around an approval come out wrong:

* **the decision**: `RunState.approve` / `RunState.reject` are wrapped to emit a
  ``tool_decision <tool>`` span carrying ``radium.tool.decision`` (``accept`` or
  ``reject``) and ``gen_ai.tool.name``, in the current context (the user's session);
* **spans of calls that did not run**: the SDK opens a function span for every call it
  runs, so the interrupted run has a 0 ms span (status OK, no output) for the call that
  waits for approval; nothing in it tells it from a tool that ran. The SDK's approval step
  (``_FunctionToolBatchExecutor._maybe_execute_tool_approval``, private; it runs inside the
  function span, whose OpenTelemetry span is then the current one) is wrapped: when it
  returns a pending approval, the current tool span gets ``radium.tool.approval="pending"``,
  which the processor reads as a call that did not run, not a tool call. (A call the user
  rejected when asked gets no span in the resumed run; one refused by a standing
  ``always_reject`` gets a span with status ERROR, marked ``radium.tool.approval="rejected"``
  and ``radium.tool.decision="reject"``: a refusal by rule, a decision, not a tool call.);
* **the resumed run** (OpenInference 2.6): the SDK resumes a run in the trace of the run
  it interrupted (a ``ReattachedTrace``, which tells no processor that it started), and
  OpenInference's processor ignores the spans of traces it did not see start, so the
  whole resumed run (its model request, the tool call that was approved) is lost. Its
  processor's ``on_span_start`` is wrapped to start the trace's root span when the first
  span of a reattached trace arrives, and ``ReattachedTrace.finish`` to end it.

Each patch is put on only when the class it patches can be imported (the SDK without
OpenInference still gets the decisions), and `uninstrument` puts everything back. No
exception leaves the wrappers into the application: a failure is logged and the SDK's own
behaviour goes on unchanged.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from opentelemetry import trace

from radium_otel._internal import constants as k
from radium_otel._internal.errors import log_internal_error, logger
from radium_otel.integrations.base import NativeInstrumentor, emit_decision

__all__ = ["ApprovalRecorder"]

_TRACER_NAME = "radium_otel"
_DECISIONS = {"approve": "accept", "reject": "reject"}
# True while a wrapped approve/reject runs (RunState.approve calls itself for a nested
# agent-as-tool run's approval): only the outermost call records the decision.
_deciding: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "radium_openai_agents_deciding", default=False
)
_MAX_REATTACHED = 1024  # reattached traces whose root span is open, at most


class ApprovalRecorder(NativeInstrumentor):
    """Records the user's approvals of OpenAI Agents SDK tool calls (see the module doc).

    ``meter_provider`` and ``capture_content`` are not used: a decision carries no content.
    Without the SDK's approval API nothing is changed (a warning); the corrections of spans
    are each optional: without them the decisions are still recorded.
    """

    title = "the recording of OpenAI Agents SDK approvals"
    requirement = "openai-agents >= 0.24"
    _tracer: ClassVar[Any] = None
    # SDK trace id → the OpenInference processors that started a root span for it.
    _reattached: ClassVar[dict[str, list[Any]]] = {}

    def _patch(self, tracer_provider: Any, meter_provider: Any, capture_content: bool) -> None:
        """Wrap the approval API, then correct the spans where this SDK allows (lock held)."""
        cls = type(self)
        cls._tracer = tracer_provider.get_tracer(_TRACER_NAME)
        self._on_undo(functools.partial(setattr, cls, "_tracer", None))
        self._patch_decisions()
        for patch in (self._patch_approval_step, self._patch_reattached_traces):
            try:
                patch()
            except Exception as exc:
                logger.warning(
                    "radium-otel: OpenAI Agents SDK approvals: %s failed: %s: %s",
                    patch.__name__.lstrip("_"),
                    type(exc).__name__,
                    exc,
                )

    # --- the decisions ----------------------------------------------------------------

    def _patch_decisions(self) -> None:
        """Wrap ``RunState.approve`` and ``RunState.reject`` (lock held)."""
        run_state = importlib.import_module("agents.run_state").RunState
        for method, verb in (("approve", "approve"), ("reject", "reject")):
            self._wrap(run_state, method, _decision_wrapper(verb))

    # --- spans of calls that did not run ----------------------------------------------

    def _patch_approval_step(self) -> None:
        """Wrap the SDK's approval step of a function tool call (lock held)."""
        module = importlib.import_module("agents.run_internal.tool_execution")
        executor = module._FunctionToolBatchExecutor
        items = importlib.import_module("agents.items")
        self._wrap(
            executor, "_maybe_execute_tool_approval", _approval_step_wrapper(items.ToolApprovalItem)
        )

    # --- OpenInference and resumed runs -----------------------------------------------

    def _patch_reattached_traces(self) -> None:
        """Let OpenInference's processor trace a resumed run (lock held); nothing to do
        when OpenInference is not installed.
        """
        try:
            oi = importlib.import_module("openinference.instrumentation.openai_agents._processor")
        except ImportError:
            return
        processor_cls = oi.OpenInferenceTracingProcessor
        reattached_cls = importlib.import_module("agents.tracing.traces").ReattachedTrace
        get_current_trace = importlib.import_module("agents.tracing").get_current_trace
        reattached = self._reattached
        self._wrap(
            processor_cls,
            "on_span_start",
            _span_start_wrapper(reattached_cls, get_current_trace, reattached),
        )
        self._wrap(reattached_cls, "finish", _finish_wrapper(reattached))


def _decision_wrapper(verb: str) -> Callable[[Any], Any]:
    """``RunState.<verb>``, wrapped: the outermost call records the user's decision once
    the SDK accepted it (an approval it refuses raises, and is no decision).
    """
    decision = _DECISIONS[verb]

    def make(original: Any) -> Any:
        def wrapper(self: Any, approval_item: Any, *args: Any, **kwargs: Any) -> Any:
            if _deciding.get():
                return original(self, approval_item, *args, **kwargs)
            token = _deciding.set(True)
            try:
                result = original(self, approval_item, *args, **kwargs)
            finally:
                _deciding.reset(token)
            _emit_decision(decision, _tool_name(approval_item))
            return result

        return wrapper

    return make


def _emit_decision(decision: str, tool: str | None) -> None:
    emit_decision(ApprovalRecorder._tracer, decision, tool)


def _tool_name(approval_item: Any) -> str | None:
    """The tool a ``ToolApprovalItem`` is about."""
    name = getattr(approval_item, "tool_name", None) or getattr(approval_item, "name", None)
    return name if isinstance(name, str) and name else None


def _approval_step_wrapper(approval_item_cls: Any) -> Callable[[Any], Any]:
    """``_maybe_execute_tool_approval``, wrapped: marks the current tool span when the call
    will not run (its result is a pending approval, or the rejection it answers with).
    """

    def make(original: Any) -> Any:
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = await original(self, *args, **kwargs)
            if result is not None:
                try:
                    _mark_not_run(result, kwargs.get("span_fn"), approval_item_cls)
                except Exception as exc:
                    log_internal_error("openai-agents approval step", exc)
            return result

        return wrapper

    return make


def _mark_not_run(result: Any, sdk_span: Any, approval_item_cls: Any) -> None:
    """Mark the current OpenTelemetry tool span of a call that waits or was rejected."""
    run_item = getattr(result, "run_item", None)
    if isinstance(run_item, approval_item_cls):
        state = "pending"
    elif run_item is not None and getattr(sdk_span, "error", None) is not None:
        # (The SDK sets an error on the span of a call the user rejected; a call a tool
        # input guardrail refused returns a rejection item too, without one.)
        state = "rejected"
    else:
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    if not (
        attributes.get(k.OPENINFERENCE_SPAN_KIND) == "TOOL"
        or attributes.get(k.GEN_AI_OPERATION_NAME) == k.OP_EXECUTE_TOOL
    ):
        return  # not a tool span of an instrumentation that makes its spans current
    span.set_attribute(k.RADIUM_TOOL_APPROVAL, state)
    if state != "pending":
        # Refused by a standing decision (``always_reject``): the SDK answers a call the
        # user rejected when asked before it plans the tool runs, with no span, so this is
        # a refusal by rule; radium counts it as a decision, not a tool call.
        span.set_attribute(k.RADIUM_TOOL_DECISION, "reject")


def _span_start_wrapper(
    reattached_cls: Any, get_current_trace: Any, reattached: dict[str, list[Any]]
) -> Callable[[Any], Any]:
    """OpenInference's ``on_span_start``, wrapped: the first span of a reattached trace it
    did not see start starts the trace's root span first.
    """

    def make(original: Any) -> Any:
        def wrapper(self: Any, span: Any) -> None:
            try:
                _start_reattached(self, span, reattached_cls, get_current_trace, reattached)
            except Exception as exc:
                log_internal_error("openai-agents resumed run", exc)
            original(self, span)

        return wrapper

    return make


def _start_reattached(
    processor: Any,
    span: Any,
    reattached_cls: Any,
    get_current_trace: Any,
    reattached: dict[str, list[Any]],
) -> None:
    trace_id = getattr(span, "trace_id", None)
    roots = getattr(processor, "_root_spans", None)
    if not trace_id or not isinstance(roots, dict) or trace_id in roots:
        return
    if getattr(processor, "draining", False):
        return
    current = get_current_trace()
    if not isinstance(current, reattached_cls) or current.trace_id != trace_id:
        return
    processor.on_trace_start(current)
    if trace_id in roots:
        started = reattached.setdefault(trace_id, [])
        if processor not in started:
            started.append(processor)
        while len(reattached) > _MAX_REATTACHED:
            reattached.pop(next(iter(reattached)))


def _finish_wrapper(reattached: dict[str, list[Any]]) -> Callable[[Any], Any]:
    """``ReattachedTrace.finish``, wrapped: ends the root spans started for it."""

    def make(original: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            try:
                for processor in reattached.pop(self.trace_id, ()):
                    processor.on_trace_end(self)
            except Exception as exc:
                log_internal_error("openai-agents resumed run", exc)
            return result

        return wrapper

    return make
