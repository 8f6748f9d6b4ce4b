"""Decorators and context managers that emit GenAI spans: `tool`, `model_call`, `session`.

One wrapper factory serves sync, async, generator and async-generator functions. The
wrapped function keeps its signature, return value and exceptions exactly; radium's own
bookkeeping is guarded so that a bug in it is logged, never raised into the agent.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.trace import Span, Status, StatusCode

from radium_otel._internal import constants as k
from radium_otel._internal.errors import log_internal_error, warn_once
from radium_otel._internal.messages import input_messages, output_messages
from radium_otel._internal.processor import session_context, span_attributes
from radium_otel._internal.usage import Counts, StreamUsage, response_counts

if TYPE_CHECKING:
    from radium_otel._internal.instance import Radium
    from radium_otel._internal.record import SessionRecord

__all__ = [
    "SessionScope",
    "SpanRecipe",
    "instrument",
    "model_decorator",
    "model_recipe",
    "record_decision",
    "record_usage",
    "tool_decorator",
    "tool_recipe",
]

F = TypeVar("F", bound=Callable[..., Any])
_MAX_CAPTURE = 4096


class SpanRecipe:
    """What a decorated function's span looks like: name, attributes and kind."""

    __slots__ = ("attributes", "capture_content", "is_model", "name")

    def __init__(
        self,
        name: str,
        attributes: dict[str, Any],
        *,
        is_model: bool,
        capture_content: bool | None,
    ) -> None:
        self.name = name
        self.attributes = attributes
        self.is_model = is_model
        self.capture_content = capture_content


class _Call:
    """One running call of a decorated function: its span and context token.

    ``span`` is ``None`` when radium could not start one: every method is then a no-op, so
    the wrappers run the function exactly as if it were not decorated.
    """

    __slots__ = ("capture", "recipe", "span", "stream", "token")

    def __init__(self, span: Span | None, capture: bool, recipe: SpanRecipe) -> None:
        self.span = span
        self.recipe = recipe
        self.capture = capture
        self.token: object | None = None
        self.stream: StreamUsage | None = None

    def enter(self) -> None:
        if self.span is not None:
            self.token = otel_context.attach(trace.set_span_in_context(self.span))

    def leave(self) -> None:
        if self.token is not None:
            otel_context.detach(cast("Token[Any]", self.token))
            self.token = None

    def capture_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.span is None or not self.capture:
            return
        try:
            if self.recipe.is_model:  # the request's messages, as the contrib packages do
                messages = input_messages(kwargs)
                if messages is not None:
                    self.span.set_attribute(k.GEN_AI_INPUT_MESSAGES, messages)
                return
            text = _short(_arguments(args, kwargs))
            self.span.set_attribute(k.GEN_AI_TOOL_CALL_ARGUMENTS, text)
        except Exception as exc:  # e.g. an argument whose __repr__ raises
            log_internal_error("capturing tool arguments", exc)

    def item(self, value: object) -> None:
        """A value the wrapped generator yielded: usage may be in it (streamed responses)."""
        if self.span is None or not self.recipe.is_model:
            return
        try:
            if self.stream is None:
                self.stream = StreamUsage()
            self.stream.add(value)
        except Exception as exc:
            log_internal_error("reading a streamed chunk", exc)

    def succeed(self, result: object) -> None:
        span = self.span
        if span is None:
            return
        if not self.recipe.is_model and not self.capture:
            _end(span)  # a tool call without content capture: nothing to record on the span
            return
        if self.recipe.is_model:
            if self.capture and self.stream is None:
                try:
                    messages = output_messages(result)
                    if messages is not None and span.is_recording():
                        span.set_attribute(k.GEN_AI_OUTPUT_MESSAGES, messages)
                except Exception as exc:
                    log_internal_error("capturing a model's reply", exc)
            _model_succeeded(span, result, self.stream)
            return
        try:
            if span.is_recording():
                span.set_attribute(k.GEN_AI_TOOL_CALL_RESULT, _short(repr(result)))
        except Exception as exc:
            log_internal_error("recording a call's result", exc)
        finally:
            _end(span)

    def fail(self, exc: BaseException) -> None:
        """The call raised ``exc``; a `GeneratorExit` (consumer stopped early) is no failure."""
        span = self.span
        if span is None:
            return
        try:
            if span.is_recording():
                if not isinstance(exc, GeneratorExit):
                    _set_error(span, exc)
                if self.recipe.is_model and self.stream is not None:
                    usage = self.stream.result()
                    if usage is not None:
                        _set_usage(span, usage.counts(), overwrite=False)
        except Exception as internal:
            log_internal_error("recording a failed call", internal)
        finally:
            _end(span)


def _model_succeeded(span: Span, result: object, stream: StreamUsage | None) -> None:
    """A model call returned ``result``: its usage (or the stream's) on its span, which ends."""
    try:
        if span.is_recording():
            streamed = stream.result() if stream is not None else None
            counts = response_counts(result) if streamed is None else streamed.counts()
            if counts is not None:
                _set_usage(span, counts, overwrite=False)
    except Exception as exc:
        log_internal_error("recording a call's result", exc)
    finally:
        _end(span)


class _Run(Protocol):
    """What the generator wrappers drive: a decorated call's span, or a session."""

    def capture_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None: ...
    def enter(self) -> None: ...
    def leave(self) -> None: ...
    def item(self, value: object) -> None: ...
    def succeed(self, result: object) -> None: ...
    def fail(self, exc: BaseException) -> None: ...


def tool_recipe(name: str, capture_content: bool | None = None) -> SpanRecipe:
    """The ``execute_tool {name}`` span of a decorated tool."""
    return SpanRecipe(
        f"{k.OP_EXECUTE_TOOL} {name}",
        {k.GEN_AI_OPERATION_NAME: k.OP_EXECUTE_TOOL, k.GEN_AI_TOOL_NAME: name},
        is_model=False,
        capture_content=capture_content,
    )


def model_recipe(provider: str | None, model: str | None, operation: str) -> SpanRecipe:
    """The ``{operation} {model}`` span of a decorated model call."""
    attributes: dict[str, Any] = {k.GEN_AI_OPERATION_NAME: operation}
    if provider:
        attributes[k.GEN_AI_PROVIDER_NAME] = provider
    if model:
        attributes[k.GEN_AI_REQUEST_MODEL] = model
    name = f"{operation} {model}" if model else operation
    return SpanRecipe(name, attributes, is_model=True, capture_content=None)


def tool_decorator(
    fn: F | None, name: str | None, capture_content: bool | None, get_instance: Callable[[], Radium]
) -> F | Callable[[F], F]:
    """``@tool`` and ``@tool(...)``: decorate ``fn`` now, or return the decorator."""

    def decorate(func: F) -> F:
        return instrument(func, tool_recipe(name or func.__name__, capture_content), get_instance)

    return decorate if fn is None else decorate(fn)


def model_decorator(
    fn: F | None,
    provider: str | None,
    model: str | None,
    operation: str,
    get_instance: Callable[[], Radium],
) -> F | Callable[[F], F]:
    """``@model_call`` and ``@model_call(...)``: decorate ``fn`` now, or return the decorator."""

    def decorate(func: F) -> F:
        return instrument(func, model_recipe(provider, model, operation), get_instance)

    return decorate if fn is None else decorate(fn)


def instrument(fn: F, recipe: SpanRecipe, get_instance: Callable[[], Radium]) -> F:
    """Wrap ``fn`` so that each call runs inside a span made from ``recipe``."""
    # (session id, attributes) for the last session seen: calls of one session reuse one dict
    # (the SDK copies it into the span) instead of building it again for every call. One
    # tuple, read and replaced whole, so threads in different sessions never mix them up.
    named: list[tuple[str | None, dict[str, Any]]] = [(None, recipe.attributes)]
    name = recipe.name

    def start() -> _Call:
        opened = open_span()
        return _Call(None, False, recipe) if opened is None else _Call(*opened, recipe)

    def open_span() -> tuple[Span, bool] | None:
        """The call's span and whether to capture its content; None if it could not start."""
        try:
            inst = get_instance()
            sid = session_context.get()
            last = named[0]
            if sid is None:
                attributes = recipe.attributes
            elif last[0] == sid:
                attributes = last[1]
            else:
                # Naming the session up front spares the processor stamping it on the span.
                attributes = {**recipe.attributes, k.GEN_AI_CONVERSATION_ID: sid}
                named[0] = (sid, attributes)
            span = inst.tracer.start_span(name, attributes=attributes)
            capture = (
                inst.capture_content if recipe.capture_content is None else recipe.capture_content
            )
            return span, capture
        except Exception as exc:
            log_internal_error("starting a span", exc)
            return None

    if inspect.isasyncgenfunction(fn):
        wrapper: Callable[..., Any] = _wrap_async_gen(fn, start)
    elif inspect.isgeneratorfunction(fn):
        wrapper = _wrap_gen(fn, start)
    elif inspect.iscoroutinefunction(fn):
        wrapper = _wrap_async(fn, start)
    else:
        wrapper = _wrap_sync(fn, open_span, recipe)
    return cast(F, functools.wraps(fn)(wrapper))


def _wrap_sync(
    fn: Callable[..., Any],
    open_span: Callable[[], tuple[Span, bool] | None],
    recipe: SpanRecipe,
) -> Callable[..., Any]:
    # The hot path of every decorated call: `_Call`'s work inlined for a tool call without
    # content capture and a model call that returns (no object per call); the rest through
    # a `_Call`.
    attach, detach, in_context = otel_context.attach, otel_context.detach, trace.set_span_in_context
    is_model = recipe.is_model

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opened = open_span()
        if opened is None:
            return fn(*args, **kwargs)
        span, capture = opened
        call = _Call(span, capture, recipe) if capture else None
        if call is not None:
            call.capture_arguments(args, kwargs)
        token = attach(in_context(span))
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            detach(token)
            (call or _Call(span, capture, recipe)).fail(exc)
            raise
        detach(token)
        if call is not None:
            call.succeed(result)
        elif is_model:
            _model_succeeded(span, result, None)
        else:
            _end(span)  # a tool call without content capture: nothing to record on the span
        return result

    return wrapper


def _wrap_async(
    fn: Callable[..., Awaitable[Any]], start: Callable[[], _Call]
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = start()
        call.capture_arguments(args, kwargs)
        call.enter()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            call.leave()
            call.fail(exc)
            raise
        call.leave()
        call.succeed(result)
        return result

    return wrapper


def _wrap_gen(
    fn: Callable[..., Generator[Any, Any, Any]], start: Callable[[], _Run]
) -> Callable[..., Any]:
    """The span covers the whole iteration; the context is active only while the body runs.

    ``send``, ``throw`` and ``close`` reach the wrapped generator as they would undecorated.
    """

    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        call = start()
        call.capture_arguments(args, kwargs)
        try:
            gen = fn(*args, **kwargs)
        except BaseException as exc:  # wrong arguments: no generator, no iteration to span
            call.fail(exc)
            raise
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            call.enter()
            try:
                item = gen.send(to_send) if to_throw is None else gen.throw(to_throw)
            except StopIteration as stop:
                call.leave()
                call.succeed(stop.value)
                return stop.value
            except BaseException as exc:
                call.leave()
                call.fail(exc)
                raise
            call.leave()
            call.item(item)
            to_send, to_throw = None, None
            try:
                to_send = yield item
            except GeneratorExit as exc:
                call.enter()
                try:
                    gen.close()  # runs the generator's cleanup; may raise
                except BaseException as error:
                    call.leave()
                    call.fail(error)
                    raise
                call.leave()
                call.fail(exc)
                raise
            except BaseException as exc:
                to_throw = exc

    return wrapper


def _wrap_async_gen(
    fn: Callable[..., AsyncGenerator[Any, Any]], start: Callable[[], _Run]
) -> Callable[..., Any]:
    """As `_wrap_gen`, for ``asend``, ``athrow`` and ``aclose``."""

    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        call = start()
        call.capture_arguments(args, kwargs)
        try:
            agen = fn(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            call.enter()
            try:
                if to_throw is None:
                    item = await agen.asend(to_send)
                else:
                    item = await agen.athrow(to_throw)
            except StopAsyncIteration:
                call.leave()
                call.succeed(None)
                return
            except BaseException as exc:
                call.leave()
                call.fail(exc)
                raise
            call.leave()
            call.item(item)
            to_send, to_throw = None, None
            try:
                to_send = yield item
            except GeneratorExit as exc:
                call.enter()
                try:
                    await agen.aclose()  # runs the generator's cleanup; may raise
                except BaseException as error:
                    call.leave()
                    call.fail(error)
                    raise
                call.leave()
                call.fail(exc)
                raise
            except BaseException as exc:
                to_throw = exc

    return wrapper


# --- sessions ----------------------------------------------------------------------------
class SessionScope:
    """``with rad.session(...)``, ``async with``, or ``@rad.session(...)``: one agent session.

    Opens an ``invoke_agent`` span that carries ``gen_ai.conversation.id``; every span
    started inside belongs to the session. After the block, `record` holds the final record.
    """

    def __init__(
        self,
        get_instance: Callable[[], Radium],
        agent: str | None = None,
        tags: Mapping[str, str] | None = None,
        session_id: str | None = None,
    ) -> None:
        self._get_instance = get_instance
        self.agent = agent
        self.tags = dict(tags or {})
        self.id = session_id or str(uuid.uuid4())
        self.record: SessionRecord | None = None
        self._span: Span | None = None
        self._otel_token: object | None = None
        self._session_token: Token[str | None] | None = None

    def __enter__(self) -> SessionScope:
        self._open()
        self._activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._deactivate()
        self._close(exc)

    def _open(self) -> None:
        """Start the session's span (not yet the current one)."""
        try:
            inst = self._get_instance()
            attributes: dict[str, Any] = {
                k.GEN_AI_OPERATION_NAME: k.OP_INVOKE_AGENT,
                k.GEN_AI_CONVERSATION_ID: self.id,
                k.RADIUM_SESSION_ROOT: True,
            }
            if self.agent:
                attributes[k.GEN_AI_AGENT_NAME] = self.agent
            for key, value in self.tags.items():
                attributes[k.RADIUM_SESSION_TAG_PREFIX + str(key)] = str(value)
            name = f"{k.OP_INVOKE_AGENT} {self.agent}" if self.agent else k.OP_INVOKE_AGENT
            self._span = inst.tracer.start_span(name, attributes=attributes)
            inst.session_started(self.id)
        except Exception as exc:
            log_internal_error("opening a session", exc)

    def _activate(self) -> None:
        """Make the session current in this context: spans started now belong to it."""
        if self._span is None or self._session_token is not None:
            return
        try:
            self._otel_token = otel_context.attach(trace.set_span_in_context(self._span))
            self._session_token = session_context.set(self.id)
        except Exception as exc:
            log_internal_error("entering a session", exc)

    def _deactivate(self) -> None:
        try:
            if self._session_token is not None:
                session_context.reset(self._session_token)
                self._session_token = None
            if self._otel_token is not None:
                otel_context.detach(cast("Token[Any]", self._otel_token))
                self._otel_token = None
        except Exception as exc:
            log_internal_error("leaving a session", exc)

    def _close(self, exc: BaseException | None) -> None:
        """End the session's span (failed by ``exc``, if given) and keep its final record."""
        try:
            span, self._span = self._span, None
            if span is None:
                return
            if exc is not None and span.is_recording():
                _set_error(span, exc)
            _end(span)
            self.record = self._get_instance().finished_record(self.id)
        except Exception as internal:
            log_internal_error("closing a session", internal)

    async def __aenter__(self) -> SessionScope:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: F) -> F:
        """Use as a decorator: every call of ``fn`` is a session of its own.

        A generator's session spans its whole iteration (it is current only while the
        generator's body runs), as a decorated tool's span does.
        """
        scope_args = (self._get_instance, self.agent, self.tags)

        def start() -> _SessionRun:
            return _SessionRun(SessionScope(*scope_args))

        if inspect.isasyncgenfunction(fn):
            return cast(F, functools.wraps(fn)(_wrap_async_gen(fn, start)))
        if inspect.isgeneratorfunction(fn):
            return cast(F, functools.wraps(fn)(_wrap_gen(fn, start)))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with SessionScope(*scope_args):
                    return await fn(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with SessionScope(*scope_args):
                return fn(*args, **kwargs)

        return cast(F, wrapper)


class _SessionRun:
    """A `SessionScope` driven by the generator wrappers, in the shape of a `_Call`."""

    __slots__ = ("scope",)

    def __init__(self, scope: SessionScope) -> None:
        self.scope = scope
        scope._open()

    def capture_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    def enter(self) -> None:
        self.scope._activate()

    def leave(self) -> None:
        self.scope._deactivate()

    def item(self, value: object) -> None:
        return None

    def succeed(self, result: object) -> None:
        self.scope._close(None)

    def fail(self, exc: BaseException) -> None:
        self.scope._close(None if isinstance(exc, GeneratorExit) else exc)


# --- recording onto the current span -------------------------------------------------------
def record_usage(
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    *,
    cache_read_tokens: int | None = None,
    cache_creation_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    cache_creation_1h_tokens: int | None = None,
    model: str | None = None,
) -> None:
    """Put token usage on the current model span (OpenTelemetry semantics: ``input_tokens``
    includes cache reads and writes, ``output_tokens`` includes reasoning).

    Wins over usage read from the decorated function's return value.
    """
    try:
        span = trace.get_current_span()
        if not span.is_recording():
            warn_once("record_usage:no-span", "rad.record_usage() called outside any span")
            return
        op = span_attributes(span).get(k.GEN_AI_OPERATION_NAME)
        if op == k.OP_EXECUTE_TOOL or op == k.OP_INVOKE_AGENT:
            warn_once(
                "record_usage:not-a-model-span",
                "rad.record_usage() called in a span whose operation is %s: tokens count only "
                "on a model call (call it inside the @rad.model_call function)",
                op,
            )
        counts = (
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_creation_tokens,
            reasoning_tokens,
            cache_creation_1h_tokens,
            model,
        )
        _set_usage(span, counts, overwrite=True)
    except Exception as exc:
        log_internal_error("record_usage", exc)


def record_decision(decision: str, tool: str | None, get_instance: Callable[[], Radium]) -> None:
    """Record the user's decision about a tool call (see ``rad.record_decision``)."""
    try:
        if decision not in k.DECISIONS:
            warn_once(
                f"record_decision:{decision}",
                "rad.record_decision(%r): expected one of %s",
                decision,
                ", ".join(k.DECISIONS),
            )
            return
        span = trace.get_current_span()
        attrs = span_attributes(span)
        if (
            decision != "reject"  # on a running call it would uncount a call that did run
            and span.is_recording()
            and attrs.get(k.GEN_AI_OPERATION_NAME) == k.OP_EXECUTE_TOOL
            and k.RADIUM_TOOL_DECISION not in attrs
            and (tool is None or attrs.get(k.GEN_AI_TOOL_NAME) == tool)
        ):
            span.set_attribute(k.RADIUM_TOOL_DECISION, decision)
            return
        # Not inside the call it is about (a rejected call never runs): a span of its own.
        attributes: dict[str, Any] = {k.RADIUM_TOOL_DECISION: decision}
        if tool:
            attributes[k.GEN_AI_TOOL_NAME] = tool
        name = f"tool_decision {tool}" if tool else "tool_decision"
        _end(get_instance().tracer.start_span(name, attributes=attributes))
    except Exception as exc:
        log_internal_error("record_decision", exc)


# The span attributes of a `Usage`'s counts, in the order of `Counts`.
_USAGE_KEYS = (
    k.GEN_AI_USAGE_INPUT_TOKENS,
    k.GEN_AI_USAGE_OUTPUT_TOKENS,
    k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    k.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    k.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    k.RADIUM_USAGE_CACHE_CREATION_1H,
)


def _set_usage(span: Span, counts: Counts, *, overwrite: bool) -> None:
    """Put the usage ``counts`` on ``span``; unless ``overwrite``, what is already there wins."""
    if not overwrite and _add_usage(span, counts):
        return
    attrs = span_attributes(span)
    new: dict[str, Any] = {}
    # Tokens already there come from rad.record_usage(): it said what this request used.
    if overwrite or attrs.keys().isdisjoint(_USAGE_KEYS):
        for key, value in zip(_USAGE_KEYS, counts):  # noqa: B905 (counts ends with the model)
            if value is not None:
                new[key] = value
    model = counts[6]
    if model and (overwrite or k.GEN_AI_RESPONSE_MODEL not in attrs):
        new[k.GEN_AI_RESPONSE_MODEL] = model
    if new:
        span.set_attributes(new)


_SDK_SET_ATTRIBUTES = SdkSpan.set_attributes
_USAGE_AND_MODEL_KEYS = frozenset((*_USAGE_KEYS, k.GEN_AI_RESPONSE_MODEL))


def _add_usage(span: Span, counts: Counts) -> bool:
    """`_set_usage` without ``overwrite``, in its usual case: an open SDK span without usage
    or response model yet. Adds them straight into the span's attributes, as
    ``span.set_attributes`` would leave them; False when the case is not that one (then the
    caller takes the general way).

    The SDK's ``set_attributes`` checks every value (its type, its length) generically:
    about 10k instructions an attribute, most of what a model call costs radium. Ints and
    strings within the span's length limit come out of those checks unchanged, so when they
    fit within the span's count limit they are added under the span's lock, as the SDK adds
    them. The SDK internals this relies on are checked by a test; anything unexpected takes
    the SDK's way.
    """
    if getattr(type(span), "set_attributes", None) is not _SDK_SET_ATTRIBUTES:
        return False  # not an SDK span, or one whose class writes attributes its own way
    inp, out, read, write, reasoning, write_1h, model = counts
    new: dict[str, Any] = {}
    if inp is not None:
        new[k.GEN_AI_USAGE_INPUT_TOKENS] = inp
    if out is not None:
        new[k.GEN_AI_USAGE_OUTPUT_TOKENS] = out
    if read is not None:
        new[k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = read
    if write is not None:
        new[k.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = write
    if reasoning is not None:
        new[k.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = reasoning
    if write_1h is not None:
        new[k.RADIUM_USAGE_CACHE_CREATION_1H] = write_1h
    if model:
        new[k.GEN_AI_RESPONSE_MODEL] = model
    try:
        bounded = span._attributes  # type: ignore[attr-defined]
        if type(bounded) is not BoundedAttributes:
            return False
        inner = bounded._dict
        limit = bounded.max_value_len
        if model and limit is not None and len(model) > limit:
            return False  # (the SDK truncates it)
        with span._lock:  # type: ignore[attr-defined]
            maxlen = bounded.maxlen
            if (
                span._end_time is not None  # type: ignore[attr-defined]
                or bounded._immutable
                or (maxlen is not None and len(inner) + len(new) > maxlen)
                or not inner.keys().isdisjoint(_USAGE_AND_MODEL_KEYS)
            ):
                return False
            inner.update(new)
        return True
    except AttributeError:  # another SDK version: its own way
        return False


def _set_error(span: Span, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc``: status ERROR and ``error.type``."""
    error_type = type(exc).__qualname__
    try:
        description = f"{error_type}: {exc}"
    except Exception:  # an exception whose __str__ raises
        description = error_type
    span.set_status(Status(StatusCode.ERROR, description[:256]))
    span.set_attribute(k.ERROR_TYPE, error_type)


def _end(span: Span) -> None:
    try:
        span.end()
    except Exception as exc:  # another span processor's on_end raised
        log_internal_error("ending a span", exc)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_CAPTURE else text[: _MAX_CAPTURE - 1] + "…"


def _arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The arguments of a call as they would be written: ``'a.txt', mode='w'``."""
    return ", ".join([*map(repr, args), *(f"{key}={value!r}" for key, value in kwargs.items())])
