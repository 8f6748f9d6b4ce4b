"""The decorators and context managers: functions keep their shape, spans follow the GenAI
conventions, and a session's record counts exactly the calls made in it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import anthropic.types as anthropic_types
import pytest
from google.genai import types as genai_types
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import INVALID_SPAN, StatusCode

import radium_otel as rad
from radium_otel import ModelUsage, Radium, SessionRecord, SessionScope, ToolStats
from radium_otel._internal import errors
from radium_otel.testing import isolated

Spans = InMemorySpanExporter


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def radium(tmp_path: Path) -> Iterator[tuple[Radium, Spans]]:
    with isolated(tmp_path) as pair:
        yield pair


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which one-time warnings were already logged by earlier tests."""
    monkeypatch.setattr(errors, "_reported", set())


@pytest.fixture
def swallow_internal_errors(fresh_warnings: None) -> Iterator[None]:
    """Run as in production: internal errors are logged once, never raised."""
    errors.raise_internal_errors(False)
    try:
        yield
    finally:
        errors.raise_internal_errors(None)


@pytest.fixture
def global_rad(tmp_path: Path) -> Iterator[tuple[Radium, Spans]]:
    """The module-level API configured on a private provider, forgotten afterwards."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instance = rad.configure(
        workspace=tmp_path,
        tracer_provider=provider,
        print_summary=False,
        checkpoint_interval_s=3600,
    )
    try:
        yield instance, exporter
    finally:
        rad.shutdown()
        provider.shutdown()


def record_of(scope: SessionScope) -> SessionRecord:
    assert scope.record is not None, "the session published no record"
    return scope.record


def only_span(spans: Spans, name: str) -> ReadableSpan:
    found = [span for span in spans.get_finished_spans() if span.name == name]
    assert len(found) == 1, [span.name for span in spans.get_finished_spans()]
    return found[0]


def span_names(spans: Spans) -> list[str]:
    return [span.name for span in spans.get_finished_spans()]


def tool_row(stats: ToolStats) -> tuple[int, int, int, dict[str, int]]:
    """A tool's counts, without its (measured) duration."""
    return stats.calls, stats.successes, stats.failures, stats.error_types


def usage_row(row: ModelUsage) -> dict[str, object]:
    """A model row without its measured latency and its price."""
    return {
        "model": row.model,
        "provider": row.provider,
        "requests": row.requests,
        "errors": row.errors,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "cache_creation_tokens": row.cache_creation_tokens,
        "reasoning_tokens": row.reasoning_tokens,
    }


def radium_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "radium_otel"]


def consume(fn: Callable[..., Any], *args: Any) -> Any:
    """Call any kind of function to completion: generators are drained into a list."""
    if inspect.isasyncgenfunction(fn):

        async def drain() -> list[Any]:
            return [item async for item in fn(*args)]

        return asyncio.run(drain())
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(fn(*args))
    if inspect.isgeneratorfunction(fn):
        return list(fn(*args))
    return fn(*args)


# --- 1. the wrapper keeps the function's shape ------------------------------------------------


def read_lines(path: str, *, limit: int = 2) -> list[str]:
    """Read lines (sync)."""
    return [path] * limit


async def read_lines_async(path: str, *, limit: int = 2) -> list[str]:
    """Read lines (async)."""
    return [path] * limit


def stream_lines(path: str, *, limit: int = 2) -> Generator[str, None, None]:
    """Stream lines (generator)."""
    yield from [path] * limit


async def stream_lines_async(path: str, *, limit: int = 2) -> AsyncGenerator[str, None]:
    """Stream lines (async generator)."""
    for line in [path] * limit:
        yield line


KINDS = [
    pytest.param(read_lines, id="sync"),
    pytest.param(read_lines_async, id="async"),
    pytest.param(stream_lines, id="generator"),
    pytest.param(stream_lines_async, id="async-generator"),
]


@pytest.mark.parametrize("decorator", ["tool", "model_call"])
@pytest.mark.parametrize("fn", KINDS)
def test_wrapper_keeps_signature_name_doc_and_kind(
    radium: tuple[Radium, Spans], fn: Callable[..., Any], decorator: str
) -> None:
    inst, spans = radium
    if decorator == "tool":
        wrapped = inst.tool()(fn)
    else:
        wrapped = inst.model_call(provider="openai", model="gpt-5")(fn)

    assert wrapped is not fn
    assert inspect.signature(wrapped) == inspect.signature(fn)
    assert list(inspect.signature(wrapped).parameters) == ["path", "limit"]
    assert wrapped.__name__ == fn.__name__
    assert wrapped.__qualname__ == fn.__qualname__
    assert wrapped.__doc__ == fn.__doc__
    assert wrapped.__wrapped__ is fn  # type: ignore[attr-defined]
    # The wrapper itself is of the same kind (these checks do not follow __wrapped__).
    assert inspect.iscoroutinefunction(wrapped) is inspect.iscoroutinefunction(fn)
    assert inspect.isgeneratorfunction(wrapped) is inspect.isgeneratorfunction(fn)
    assert inspect.isasyncgenfunction(wrapped) is inspect.isasyncgenfunction(fn)

    assert consume(wrapped, "a.txt") == ["a.txt", "a.txt"]
    expected = f"execute_tool {fn.__name__}" if decorator == "tool" else "chat gpt-5"
    assert span_names(spans) == [expected]


def test_return_values_are_the_very_same_objects(radium: tuple[Radium, Spans]) -> None:
    inst, _ = radium
    result = {"rows": [1, 2, 3]}

    @inst.tool()
    def sync() -> dict[str, list[int]]:
        return result

    @inst.tool()
    async def coro() -> dict[str, list[int]]:
        return result

    @inst.tool()
    def gen() -> Generator[dict[str, list[int]], None, dict[str, list[int]]]:
        yield result
        return result

    @inst.tool()
    async def agen() -> AsyncIterator[dict[str, list[int]]]:
        yield result

    async def only_item_of_agen() -> dict[str, list[int]]:
        (item,) = [item async for item in agen()]
        return item

    with inst.session(agent="identity") as s:
        assert sync() is result
        assert asyncio.run(coro()) is result
        iterator = gen()
        assert next(iterator) is result
        with pytest.raises(StopIteration) as stop:
            next(iterator)
        assert stop.value.value is result
        assert asyncio.run(only_item_of_agen()) is result

    record = record_of(s)
    assert {name: tool_row(t) for name, t in record.tools.items()} == {
        "agen": (1, 1, 0, {}),
        "coro": (1, 1, 0, {}),
        "gen": (1, 1, 0, {}),
        "sync": (1, 1, 0, {}),
    }


def conversation(log: list[str]) -> Generator[str, str | None, str]:
    """Echoes what it is sent, answers a KeyError thrown in, and ends on "stop"."""
    log.append("start")
    try:
        received = yield "ready"
        while received != "stop":
            try:
                received = yield f"got {received}"
            except KeyError as exc:
                received = yield f"caught {exc.args[0]}"
        return "done"
    finally:
        log.append("cleanup")


def drive(gen: Generator[str, str | None, str], script: list[tuple[str, Any]]) -> list[object]:
    """Run ``script`` against ``gen`` and write down what each step did."""
    out: list[object] = []
    for op, arg in script:
        try:
            if op == "next":
                out.append(("yield", next(gen)))
            elif op == "send":
                out.append(("yield", gen.send(arg)))
            elif op == "throw":
                out.append(("yield", gen.throw(arg)))
            else:
                gen.close()
                out.append(("closed",))
        except StopIteration as stop:
            out.append(("return", stop.value))
        except Exception as exc:
            out.append(("raise", type(exc).__name__, str(exc), exc is arg))
    return out


FULL_SCRIPT = [
    ("next", None),
    ("send", "a"),
    ("throw", KeyError("k")),
    ("send", "b"),
    ("send", "stop"),
]
GENERATOR_SCRIPTS = [
    pytest.param(
        FULL_SCRIPT,
        [
            ("yield", "ready"),
            ("yield", "got a"),
            ("yield", "caught k"),
            ("yield", "got b"),
            ("return", "done"),
        ],
        ["start", "cleanup"],
        id="send-throw-return",
    ),
    pytest.param(
        [("next", None), ("throw", ValueError("v")), ("next", None)],
        [("yield", "ready"), ("raise", "ValueError", "v", True), ("return", None)],
        ["start", "cleanup"],
        id="uncaught-throw",
    ),
    pytest.param(
        [("next", None), ("send", "a"), ("close", None), ("next", None), ("close", None)],
        [("yield", "ready"), ("yield", "got a"), ("closed",), ("return", None), ("closed",)],
        ["start", "cleanup"],
        id="close-midway",
    ),
    pytest.param(
        [("send", "x"), ("next", None), ("send", "stop")],
        [
            ("raise", "TypeError", "can't send non-None value to a just-started generator", False),
            ("yield", "ready"),
            ("return", "done"),
        ],
        ["start", "cleanup"],
        id="send-before-start",
    ),
    pytest.param(
        [("throw", KeyError("early")), ("next", None)],
        [("raise", "KeyError", "'early'", True), ("return", None)],
        [],
        id="throw-before-start",
    ),
    pytest.param(
        [("close", None), ("next", None)],
        [("closed",), ("return", None)],
        [],
        id="close-before-start",
    ),
]


@pytest.mark.parametrize(("script", "expected", "expected_log"), GENERATOR_SCRIPTS)
def test_generator_protocol_is_unchanged(
    radium: tuple[Radium, Spans],
    script: list[tuple[str, Any]],
    expected: list[object],
    expected_log: list[str],
) -> None:
    inst, _ = radium
    raw_log: list[str] = []
    assert drive(conversation(raw_log), script) == expected
    assert raw_log == expected_log

    wrapped = inst.tool()(conversation)
    log: list[str] = []
    assert drive(wrapped(log), script) == expected
    assert log == expected_log


def test_generator_outcomes_in_the_record(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium
    wrapped = inst.tool()(conversation)
    with inst.session(agent="gen") as s:
        for script in (
            FULL_SCRIPT,
            [("next", None), ("throw", ValueError("v"))],
            [("next", None), ("close", None)],
            [("close", None)],  # never started: no call at all
        ):
            drive(wrapped([]), script)

    record = record_of(s)
    assert tool_row(record.tools["conversation"]) == (3, 2, 1, {"ValueError": 1})
    statuses = [
        span.status.status_code
        for span in spans.get_finished_spans()
        if span.name == "execute_tool conversation"
    ]
    assert statuses == [StatusCode.UNSET, StatusCode.ERROR, StatusCode.UNSET]


async def conversation_async(log: list[str]) -> AsyncIterator[str]:
    log.append("start")
    try:
        received = yield "ready"
        while received != "stop":
            try:
                received = yield f"got {received}"
            except KeyError as exc:
                received = yield f"caught {exc.args[0]}"
    finally:
        log.append("cleanup")


async def drive_async(gen: Any, script: list[tuple[str, Any]]) -> list[object]:
    out: list[object] = []
    for op, arg in script:
        try:
            if op == "next":
                out.append(("yield", await gen.__anext__()))
            elif op == "send":
                out.append(("yield", await gen.asend(arg)))
            elif op == "throw":
                out.append(("yield", await gen.athrow(arg)))
            else:
                await gen.aclose()
                out.append(("closed",))
        except StopAsyncIteration:
            out.append(("stop",))
        except Exception as exc:
            out.append(("raise", type(exc).__name__, str(exc), exc is arg))
    return out


ASYNC_SCRIPTS = [
    pytest.param(
        FULL_SCRIPT,
        [
            ("yield", "ready"),
            ("yield", "got a"),
            ("yield", "caught k"),
            ("yield", "got b"),
            ("stop",),
        ],
        id="asend-athrow-stop",
    ),
    pytest.param(
        [("next", None), ("throw", ValueError("v")), ("next", None)],
        [("yield", "ready"), ("raise", "ValueError", "v", True), ("stop",)],
        id="uncaught-athrow",
    ),
    pytest.param(
        [("next", None), ("send", "a"), ("close", None), ("next", None)],
        [("yield", "ready"), ("yield", "got a"), ("closed",), ("stop",)],
        id="aclose-midway",
    ),
]


@pytest.mark.parametrize(("script", "expected"), ASYNC_SCRIPTS)
def test_async_generator_protocol_is_unchanged(
    radium: tuple[Radium, Spans], script: list[tuple[str, Any]], expected: list[object]
) -> None:
    inst, spans = radium
    raw_log: list[str] = []
    assert asyncio.run(drive_async(conversation_async(raw_log), script)) == expected
    assert raw_log == ["start", "cleanup"]

    wrapped = inst.tool()(conversation_async)
    log: list[str] = []
    assert asyncio.run(drive_async(wrapped(log), script)) == expected
    assert log == ["start", "cleanup"]
    assert span_names(spans) == ["execute_tool conversation_async"]


def test_early_break_closes_the_generator_and_ends_the_span(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium
    log: list[str] = []

    @inst.tool()
    def numbers() -> Generator[int, None, None]:
        try:
            yield from range(10)
        finally:
            log.append("cleanup")

    got = []
    with inst.session(agent="break") as s:
        for n in numbers():
            got.append(n)
            if n == 2:
                break
        assert log == ["cleanup"]
        assert span_names(spans) == ["execute_tool numbers"]

    assert got == [0, 1, 2]
    assert tool_row(record_of(s).tools["numbers"]) == (1, 1, 0, {})


def test_generator_span_covers_the_whole_iteration(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium
    current: list[int] = []

    def current_span_id() -> int:
        return trace.get_current_span().get_span_context().span_id

    @inst.tool()
    def pages() -> Iterator[int]:
        current.append(current_span_id())
        yield 1
        current.append(current_span_id())
        yield 2
        current.append(current_span_id())

    with inst.session(agent="pages"):
        outside = current_span_id()
        iterator = pages()
        before = time.time_ns()
        assert next(iterator) == 1
        assert current_span_id() == outside  # between items the caller's context is back
        assert span_names(spans) == []  # still running
        assert next(iterator) == 2
        before_last = time.time_ns()
        with pytest.raises(StopIteration):
            next(iterator)
        after = time.time_ns()

    span = only_span(spans, "execute_tool pages")
    assert current == [span.context.span_id] * 3  # the body always runs inside the tool span
    assert span.parent is not None and span.parent.span_id == outside
    assert span.start_time is not None and span.end_time is not None
    assert before <= span.start_time
    assert before_last <= span.end_time <= after


def test_async_generator_span_covers_the_whole_iteration(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium
    current: list[int] = []

    @inst.model_call(provider="openai", model="gpt-5")
    async def chunks() -> AsyncIterator[str]:
        for text in ("a", "b"):
            await asyncio.sleep(0)
            current.append(trace.get_current_span().get_span_context().span_id)
            yield text

    async def main() -> list[str]:
        out = []
        async for text in chunks():
            out.append(text)
            assert span_names(spans) == []
        return out

    with inst.session(agent="async-pages"):
        assert asyncio.run(main()) == ["a", "b"]
    span = only_span(spans, "chat gpt-5")
    assert current == [span.context.span_id] * 2


def test_methods_are_decorated_like_functions(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    class Editor:
        def __init__(self) -> None:
            self.lines = ["x", "y"]

        @inst.tool()
        def count(self, extra: int) -> int:
            return len(self.lines) + extra

        @inst.tool(name="fetch_lines")
        async def fetch(self) -> list[str]:
            return self.lines

        @inst.tool()
        def walk(self) -> Iterator[str]:
            yield from self.lines

    editor = Editor()
    with inst.session(agent="methods") as s:
        assert editor.count(3) == 5
        assert asyncio.run(editor.fetch()) is editor.lines
        assert list(editor.walk()) == ["x", "y"]

    assert list(inspect.signature(Editor.count).parameters) == ["self", "extra"]
    assert list(inspect.signature(editor.count).parameters) == ["extra"]
    assert {name: tool_row(t) for name, t in record_of(s).tools.items()} == {
        "count": (1, 1, 0, {}),
        "fetch_lines": (1, 1, 0, {}),
        "walk": (1, 1, 0, {}),
    }
    assert sorted(span_names(spans)) == [
        "execute_tool count",
        "execute_tool fetch_lines",
        "execute_tool walk",
        "invoke_agent methods",
    ]


def test_instance_tool_without_parentheses(radium: tuple[Radium, Spans]) -> None:
    inst, _ = radium
    tool: Any = inst.tool  # the bare form does not type-check either

    def add_one(x: int) -> int:
        return x + 1

    decorated = tool(add_one)
    assert decorated(1) == 2


# --- 2. exceptions ---------------------------------------------------------------------------


class ToolErrors:
    class PermissionDenied(Exception):
        """Nested, so that its ``__qualname__`` differs from its ``__name__``."""


def fail_sync(error: BaseException) -> None:
    raise error


async def fail_async(error: BaseException) -> None:
    raise error


def fail_gen(error: BaseException) -> Iterator[str]:
    yield "first"
    raise error


async def fail_async_gen(error: BaseException) -> AsyncIterator[str]:
    yield "first"
    raise error


FAILING = [
    pytest.param(fail_sync, id="sync"),
    pytest.param(fail_async, id="async"),
    pytest.param(fail_gen, id="generator"),
    pytest.param(fail_async_gen, id="async-generator"),
]


def caught(fn: Callable[..., Any], error: BaseException) -> BaseException:
    with pytest.raises(ToolErrors.PermissionDenied) as info:
        consume(fn, error)
    return info.value


@pytest.mark.parametrize("fn", FAILING)
def test_exception_propagates_unchanged_and_counts_as_failure(
    radium: tuple[Radium, Spans], fn: Callable[..., Any]
) -> None:
    inst, spans = radium
    raw_tail = traceback.extract_tb(
        caught(fn, ToolErrors.PermissionDenied("/etc/shadow")).__traceback__
    )[-1]
    wrapped = inst.tool(name="read_file")(fn)
    error = ToolErrors.PermissionDenied("/etc/shadow")

    with inst.session(agent="failing") as s:
        got = caught(wrapped, error)

    assert got is error
    tail = traceback.extract_tb(got.__traceback__)[-1]
    assert (tail.filename, tail.lineno, tail.name, tail.line) == (
        raw_tail.filename,
        raw_tail.lineno,
        raw_tail.name,
        raw_tail.line,
    )
    assert (tail.name, tail.line) == (fn.__name__, "raise error")

    record = record_of(s)
    assert record.status == "completed"  # the tool failed, not the session
    assert (record.tool_calls, record.tool_successes, record.tool_failures) == (1, 0, 1)
    assert tool_row(record.tools["read_file"]) == (
        1,
        0,
        1,
        {"ToolErrors.PermissionDenied": 1},
    )
    span = only_span(spans, "execute_tool read_file")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ToolErrors.PermissionDenied: /etc/shadow"
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ToolErrors.PermissionDenied"


def test_exception_with_a_broken_str_still_fails_the_span(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    error = Unprintable()
    with inst.session(agent="x") as s:
        with pytest.raises(Unprintable) as info:
            inst.tool(name="t")(fail_sync)(error)
    assert info.value is error
    span = only_span(spans, "execute_tool t")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == (
        "test_exception_with_a_broken_str_still_fails_the_span.<locals>.Unprintable"
    )
    assert record_of(s).tools["t"].error_types == {
        "test_exception_with_a_broken_str_still_fails_the_span.<locals>.Unprintable": 1
    }


def test_closing_a_generator_early_is_not_a_failure(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium
    gen = inst.tool(name="sync_stream")(stream_lines)
    agen = inst.tool(name="async_stream")(stream_lines_async)

    async def first_then_close() -> str:
        iterator = agen("b")
        first: str = await iterator.__anext__()
        await iterator.aclose()
        return first

    with inst.session(agent="early") as s:
        iterator = gen("a")
        assert next(iterator) == "a"
        iterator.close()
        assert asyncio.run(first_then_close()) == "b"

    record = record_of(s)
    assert (record.tool_calls, record.tool_successes, record.tool_failures) == (2, 2, 0)
    for span in spans.get_finished_spans():
        assert span.status.status_code is StatusCode.UNSET
        assert span.attributes is not None and "error.type" not in span.attributes


def test_cleanup_that_raises_on_close_is_a_failure(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.tool()
    def leaky() -> Generator[int, None, None]:
        try:
            yield 1
            yield 2
        finally:
            raise OSError("flush failed")

    with inst.session(agent="leaky") as s:
        iterator = leaky()
        next(iterator)
        with pytest.raises(OSError, match="flush failed"):
            iterator.close()

    assert tool_row(record_of(s).tools["leaky"]) == (1, 0, 1, {"OSError": 1})
    assert only_span(spans, "execute_tool leaky").status.status_code is StatusCode.ERROR


# --- 3. model calls: usage from real SDK objects ---------------------------------------------

CHAT_USAGE: dict[str, Any] = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
}


def chat_completion() -> ChatCompletion:
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_760_000_000,
            "model": "o4-mini-2025-04-16",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Done."},
                    "finish_reason": "stop",
                }
            ],
            "usage": CHAT_USAGE,
        }
    )


def chat_chunks() -> list[ChatCompletionChunk]:
    def chunk(content: str | None, usage: dict[str, Any] | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1_760_000_000,
                "model": "o4-mini-2025-04-16",
                "choices": [] if content is None else [{"index": 0, "delta": {"content": content}}],
                "usage": usage,
            }
        )

    return [chunk("Do"), chunk("ne."), chunk(None, CHAT_USAGE)]


def responses_response() -> Response:
    return Response.model_validate(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 1_760_000_000,
            "model": "gpt-5-2025-08-07",
            "status": "completed",
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": 8000,
                "input_tokens_details": {"cached_tokens": 6144, "cache_write_tokens": 1024},
                "output_tokens": 1500,
                "output_tokens_details": {"reasoning_tokens": 1088},
                "total_tokens": 9500,
            },
        }
    )


def anthropic_message_dict(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Done."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def anthropic_message() -> anthropic_types.Message:
    return anthropic_types.Message.model_validate(
        anthropic_message_dict(
            {
                "input_tokens": 12,
                "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 200,
                "output_tokens": 350,
            }
        )
    )


def anthropic_events() -> list[object]:
    start = anthropic_message_dict(
        {
            "input_tokens": 12,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 200,
            "output_tokens": 1,
        }
    ) | {"content": [], "stop_reason": None}
    return [
        anthropic_types.RawMessageStartEvent.model_validate(
            {"type": "message_start", "message": start}
        ),
        anthropic_types.RawContentBlockDeltaEvent.model_validate(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Ok"},
            }
        ),
        anthropic_types.RawMessageDeltaEvent.model_validate(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 350},
            }
        ),
        anthropic_types.RawMessageStopEvent.model_validate({"type": "message_stop"}),
    ]


def gemini_response() -> genai_types.GenerateContentResponse:
    return genai_types.GenerateContentResponse(
        model_version="gemini-2.5-pro",
        usage_metadata=genai_types.GenerateContentResponseUsageMetadata(
            prompt_token_count=4000,
            tool_use_prompt_token_count=96,
            cached_content_token_count=2048,
            candidates_token_count=500,
            thoughts_token_count=700,
            total_token_count=5296,
        ),
    )


def expected_row(model: str, provider: str, *tokens: int, errors: int = 0) -> dict[str, object]:
    keys = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
    counts = dict(zip((*keys, "reasoning_tokens"), tokens, strict=True))
    return {"model": model, "provider": provider, "requests": 1, "errors": errors, **counts}


SDK_RESPONSES = [
    pytest.param(
        "openai",
        chat_completion,
        expected_row("o4-mini-2025-04-16", "openai", 2006, 300, 1920, 0, 192),
        id="openai-chat-completion",
    ),
    pytest.param(
        "openai",
        responses_response,
        expected_row("gpt-5-2025-08-07", "openai", 8000, 1500, 6144, 1024, 1088),
        id="openai-responses",
    ),
    pytest.param(
        "anthropic",
        anthropic_message,
        # Anthropic's 12 input tokens exclude the cache: input = 12 + 1000 + 200.
        expected_row("claude-sonnet-4-5-20250929", "anthropic", 1212, 350, 1000, 200, 0),
        id="anthropic-message",
    ),
    pytest.param(
        "gcp.gemini",
        gemini_response,
        # input = prompt + tool-use prompt; output = candidates + thoughts.
        expected_row("gemini-2.5-pro", "gcp.gemini", 4096, 1200, 2048, 0, 700),
        id="gemini-generate-content",
    ),
]


@pytest.mark.parametrize(("provider", "build", "expected"), SDK_RESPONSES)
def test_usage_is_read_from_sdk_responses(
    radium: tuple[Radium, Spans],
    provider: str,
    build: Callable[[], object],
    expected: dict[str, object],
) -> None:
    inst, spans = radium
    response = build()

    @inst.model_call(provider=provider, model="requested-model")
    def call(prompt: str) -> object:
        return response

    with inst.session(agent="models") as s:
        assert call("hello") is response

    record = record_of(s)
    assert [usage_row(row) for row in record.model_usage] == [expected]
    assert record.model_usage[0].latency_s > 0
    assert record.api_time_s > 0
    attributes = only_span(spans, "chat requested-model").attributes
    assert attributes is not None
    assert attributes["gen_ai.request.model"] == "requested-model"
    assert attributes["gen_ai.response.model"] == expected["model"]
    assert attributes["gen_ai.usage.input_tokens"] == expected["input_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == expected["output_tokens"]


def test_openai_stream_takes_usage_from_the_final_chunk(radium: tuple[Radium, Spans]) -> None:
    inst, _ = radium
    chunks = chat_chunks()

    @inst.model_call(provider="openai", model="o4-mini")
    def stream() -> Iterator[ChatCompletionChunk]:
        yield from chunks

    with inst.session(agent="stream") as s:
        received = list(stream())

    assert all(a is b for a, b in zip(received, chunks, strict=True))
    assert [usage_row(row) for row in record_of(s).model_usage] == [
        expected_row("o4-mini-2025-04-16", "openai", 2006, 300, 1920, 0, 192)
    ]


def test_anthropic_stream_events_add_up(radium: tuple[Radium, Spans]) -> None:
    inst, _ = radium

    @inst.model_call(provider="anthropic", model="claude-sonnet-4-5")
    async def stream() -> AsyncIterator[object]:
        for event in anthropic_events():
            await asyncio.sleep(0)
            yield event

    async def main() -> list[str]:
        return [type(event).__name__ async for event in stream()]

    with inst.session(agent="stream") as s:
        assert asyncio.run(main()) == [
            "RawMessageStartEvent",
            "RawContentBlockDeltaEvent",
            "RawMessageDeltaEvent",
            "RawMessageStopEvent",
        ]

    assert [usage_row(row) for row in record_of(s).model_usage] == [
        expected_row("claude-sonnet-4-5-20250929", "anthropic", 1212, 350, 1000, 200, 0)
    ]


def test_stream_stopped_after_its_usage_still_counts_it(radium: tuple[Radium, Spans]) -> None:
    inst, _ = radium

    @inst.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def stream() -> Iterator[object]:
        yield from anthropic_events()

    with inst.session(agent="stream") as s:
        for event in stream():
            if isinstance(event, anthropic_types.RawMessageDeltaEvent):
                break  # the consumer does not wait for message_stop

    assert [usage_row(row) for row in record_of(s).model_usage] == [
        expected_row("claude-sonnet-4-5-20250929", "anthropic", 1212, 350, 1000, 200, 0)
    ]


def test_failed_stream_is_an_errored_request_with_its_usage_so_far(
    radium: tuple[Radium, Spans],
) -> None:
    inst, _ = radium

    @inst.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def stream() -> Iterator[object]:
        yield from anthropic_events()[:3]
        raise ConnectionResetError("peer went away")

    with inst.session(agent="stream") as s:
        with pytest.raises(ConnectionResetError):
            list(stream())

    assert [usage_row(row) for row in record_of(s).model_usage] == [
        expected_row("claude-sonnet-4-5-20250929", "anthropic", 1212, 350, 1000, 200, 0, errors=1)
    ]


def test_generator_returning_its_response_after_usage_less_chunks(
    radium: tuple[Radium, Spans],
) -> None:
    inst, _ = radium
    response = chat_completion()

    @inst.model_call(provider="openai", model="o4-mini")
    def stream() -> Generator[str, None, ChatCompletion]:
        yield "Do"
        yield "ne."
        return response

    with inst.session(agent="stream") as s:
        assert list(stream()) == ["Do", "ne."]

    assert [usage_row(row) for row in record_of(s).model_usage] == [
        expected_row("o4-mini-2025-04-16", "openai", 2006, 300, 1920, 0, 192)
    ]


def test_record_usage_wins_over_the_return_value(radium: tuple[Radium, Spans]) -> None:
    inst, _ = radium

    @inst.model_call(provider="openai", model="o4-mini")
    def call() -> ChatCompletion:
        rad.record_usage(input_tokens=10, output_tokens=5, cache_read_tokens=4)
        return chat_completion()

    with inst.session(agent="override") as s:
        call()

    # The tokens are the ones recorded; the model is still the one the response names.
    assert [usage_row(row) for row in record_of(s).model_usage] == [
        expected_row("o4-mini-2025-04-16", "openai", 10, 5, 4, 0, 0)
    ]


def test_record_usage_for_a_call_that_returns_no_usage(radium: tuple[Radium, Spans]) -> None:
    inst, _ = radium

    @inst.model_call(provider="mistral_ai", model="mistral-large")
    async def call() -> str:
        rad.record_usage(
            input_tokens=900,
            output_tokens=80,
            cache_read_tokens=512,
            cache_creation_tokens=64,
            reasoning_tokens=30,
            model="mistral-large-2411",
        )
        return "plain text"

    with inst.session(agent="manual") as s:
        assert asyncio.run(call()) == "plain text"

    assert [usage_row(row) for row in record_of(s).model_usage] == [
        expected_row("mistral-large-2411", "mistral_ai", 900, 80, 512, 64, 30)
    ]


def test_record_usage_outside_any_span_warns_once(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        rad.record_usage(input_tokens=1, output_tokens=1)
        rad.record_usage(input_tokens=1, output_tokens=1)
    assert radium_warnings(caplog) == ["rad.record_usage() called outside any span"]


def test_exception_in_a_model_call_is_an_errored_request(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium
    error = TimeoutError("upstream timed out")

    @inst.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def call() -> anthropic_types.Message:
        raise error

    @inst.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def ok() -> anthropic_types.Message:
        return anthropic_message()

    with inst.session(agent="errors") as s:
        with pytest.raises(TimeoutError) as info:
            call()
        ok()

    assert info.value is error
    # The failed request names no response model, only the requested alias: it joins the
    # row of the one snapshot of that alias the session saw (one row, one error rate).
    (row,) = record_of(s).model_usage
    assert usage_row(row) == {
        **expected_row("claude-sonnet-4-5-20250929", "anthropic", 1212, 350, 1000, 200, 0),
        "requests": 2,
        "errors": 1,
    }
    assert [(n.model, n.requests, n.errors) for n in row.names] == [
        ("claude-sonnet-4-5", 1, 1),
        ("claude-sonnet-4-5-20250929", 1, 0),
    ]
    failed = [s for s in spans.get_finished_spans() if s.status.status_code is StatusCode.ERROR]
    assert [(s.name, (s.attributes or {}).get("error.type")) for s in failed] == [
        ("chat claude-sonnet-4-5", "TimeoutError")
    ]


def test_model_call_inside_a_tool_is_its_child(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.model_call(provider="openai", model="o4-mini")
    def summarise() -> ChatCompletion:
        return chat_completion()

    @inst.tool()
    def research() -> str:
        summarise()
        return "ok"

    with inst.session(agent="nested") as s:
        research()

    tool_span = only_span(spans, "execute_tool research")
    model_span = only_span(spans, "chat o4-mini")
    assert model_span.parent is not None
    assert model_span.parent.span_id == tool_span.context.span_id
    record = record_of(s)
    assert record.tool_calls == 1
    assert record.requests == 1


# --- 4. decisions ----------------------------------------------------------------------------


def test_decision_inside_the_tool_lands_on_its_span(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.tool()
    def write_file(path: str) -> int:
        inst.record_decision("accept", tool="write_file")
        return 3

    with inst.session(agent="d") as s:
        assert write_file("a.txt") == 3

    assert span_names(spans) == ["execute_tool write_file", "invoke_agent d"]
    attributes = only_span(spans, "execute_tool write_file").attributes
    assert attributes is not None
    assert attributes["radium.tool.decision"] == "accept"
    record = record_of(s)
    assert record.decisions == {"accept": 1}
    assert record.tool_calls == 1


def test_reject_outside_any_tool_is_a_decision_not_a_call(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.tool()
    def run_shell(command: str) -> str:
        return command

    with inst.session(agent="d") as s:
        inst.record_decision("reject", tool="run_shell")  # the user refused: it never ran
        inst.record_decision("auto_accept", tool="run_shell")
        run_shell("ls")

    record = record_of(s)
    assert record.decisions == {"auto_accept": 1, "reject": 1}
    assert (record.tool_calls, record.tool_successes, record.tool_failures) == (1, 1, 0)
    assert tool_row(record.tools["run_shell"]) == (1, 1, 0, {})
    decision_spans = [s for s in spans.get_finished_spans() if s.name == "tool_decision run_shell"]
    assert [(s.attributes or {}).get("radium.tool.decision") for s in decision_spans] == [
        "reject",
        "auto_accept",
    ]


def test_decision_about_another_tool_gets_a_span_of_its_own(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium

    @inst.tool()
    def plan() -> None:
        inst.record_decision("modify", tool="edit_file")

    with inst.session(agent="d") as s:
        plan()

    attributes = only_span(spans, "execute_tool plan").attributes
    assert attributes is not None and "radium.tool.decision" not in attributes
    assert only_span(spans, "tool_decision edit_file").attributes == {
        "radium.tool.decision": "modify",
        "gen_ai.tool.name": "edit_file",
        "gen_ai.conversation.id": s.id,
    }
    record = record_of(s)
    assert record.decisions == {"modify": 1}
    assert list(record.tools) == ["plan"]


def test_unknown_decision_is_ignored_with_a_logged_warning(
    radium: tuple[Radium, Spans], fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    inst, spans = radium
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        with inst.session(agent="d") as s:
            inst.record_decision("maybe", tool="write_file")
            inst.record_decision("maybe", tool="write_file")

    assert radium_warnings(caplog) == [
        "rad.record_decision('maybe'): expected one of accept, reject, modify, auto_accept"
    ]
    assert span_names(spans) == ["invoke_agent d"]
    assert record_of(s).decisions == {}


# --- 6. internal errors never reach user code ------------------------------------------------


def run_every_kind(inst: Radium) -> None:
    """Decorated functions of every kind return, yield, receive and raise as undecorated."""
    result = object()
    error = KeyError("own")

    @inst.tool()
    def ok(x: int) -> object:
        return result

    @inst.tool()
    def bad() -> None:
        raise error

    @inst.tool()
    async def ok_async() -> object:
        return result

    @inst.tool()
    def echo() -> Generator[object, object, str]:
        received = yield "ready"
        yield received
        return "done"

    @inst.tool()
    async def echo_async() -> AsyncGenerator[object, object]:
        received = yield "ready"
        yield received

    @inst.model_call(provider="openai", model="o4-mini")
    def model() -> ChatCompletion:
        return response

    response = chat_completion()
    assert ok(1) is result
    assert ok(2) is result
    with pytest.raises(KeyError) as info:
        bad()
    assert info.value is error
    assert asyncio.run(ok_async()) is result

    gen = echo()
    assert next(gen) == "ready"
    assert gen.send(result) is result
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"

    async def drive() -> list[object]:
        agen = echo_async()
        try:
            return [await agen.__anext__(), await agen.asend(result)]
        finally:
            await agen.aclose()

    assert asyncio.run(drive()) == ["ready", result]
    assert model() is response
    inst.record_decision("accept", tool="ok")


def test_failing_processor_never_reaches_user_code(
    radium: tuple[Radium, Spans],
    swallow_internal_errors: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inst, spans = radium

    def broken(*args: object) -> None:
        raise RuntimeError("processor bug")

    monkeypatch.setattr(inst.processor, "_on_start", broken)
    monkeypatch.setattr(inst.processor, "_on_end", broken)
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        with inst.session(agent="broken") as s:
            run_every_kind(inst)
            run_every_kind(inst)

    assert radium_warnings(caplog) == [
        "radium-otel internal error in SessionSpanProcessor.on_start "
        "(reported once; the agent goes on)",
        "radium-otel internal error in SessionSpanProcessor.on_end "
        "(reported once; the agent goes on)",
    ]
    assert s.record is None  # the processor saw nothing
    assert len(spans.get_finished_spans()) == 2 * 8 + 1  # export goes on regardless


def test_failing_tracer_never_reaches_user_code(
    radium: tuple[Radium, Spans],
    swallow_internal_errors: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inst, spans = radium

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("tracer bug")

    monkeypatch.setattr(inst.tracer, "start_span", broken)
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        with inst.session(agent="broken") as s:
            run_every_kind(inst)
            run_every_kind(inst)

    assert radium_warnings(caplog) == [
        "radium-otel internal error in opening a session (reported once; the agent goes on)",
        "radium-otel internal error in starting a span (reported once; the agent goes on)",
        "radium-otel internal error in record_decision (reported once; the agent goes on)",
    ]
    assert s.record is None
    assert spans.get_finished_spans() == ()


class FailingExportProcessor(SpanProcessor):
    """A third-party span processor that raises from ``on_end`` (the SDK does not catch it)."""

    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("exporter bug")


def test_failing_third_party_processor_on_end_never_reaches_user_code(
    radium: tuple[Radium, Spans],
    swallow_internal_errors: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inst, _ = radium
    inst.tracer_provider.add_span_processor(FailingExportProcessor())
    with caplog.at_level(logging.WARNING, logger="radium_otel"):
        with inst.session(agent="third-party") as s:
            run_every_kind(inst)

    assert radium_warnings(caplog) == [
        "radium-otel internal error in ending a span (reported once; the agent goes on)"
    ]
    record = record_of(s)  # radium's own processor ran before the failing one
    assert (record.tool_calls, record.tool_successes, record.tool_failures) == (6, 5, 1)
    assert record.requests == 1
    assert record.decisions == {"accept": 1}


def test_argument_whose_repr_raises_is_not_the_tools_failure(
    tmp_path: Path, swallow_internal_errors: None, caplog: pytest.LogCaptureFixture
) -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    ran: list[object] = []
    with isolated(tmp_path, capture_content=True) as (inst, _):

        @inst.tool()
        def handle(value: object) -> object:
            ran.append(value)
            return value

        opaque = Opaque()
        with caplog.at_level(logging.WARNING, logger="radium_otel"):
            with inst.session(agent="repr") as s:
                assert handle(opaque) is opaque
                assert handle(opaque) is opaque

        assert ran == [opaque, opaque]
        assert tool_row(record_of(s).tools["handle"]) == (2, 2, 0, {})
        assert radium_warnings(caplog) == [
            "radium-otel internal error in capturing tool arguments "
            "(reported once; the agent goes on)",
            "radium-otel internal error in recording a call's result "
            "(reported once; the agent goes on)",
        ]


# --- 7. content capture ----------------------------------------------------------------------


def test_content_is_not_captured_by_default(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.tool()
    def write_file(path: str, *, text: str) -> str:
        return "secret result"

    with inst.session(agent="c"):
        write_file("notes.txt", text="secret text")

    attributes = only_span(spans, "execute_tool write_file").attributes
    assert attributes is not None
    assert "gen_ai.tool.call.arguments" not in attributes
    assert "gen_ai.tool.call.result" not in attributes
    every_value = [
        str(value)
        for span in spans.get_finished_spans()
        for value in (span.attributes or {}).values()
    ]
    assert not [v for v in every_value if "secret" in v]


def test_content_is_captured_when_asked(tmp_path: Path) -> None:
    with isolated(tmp_path, capture_content=True) as (inst, spans):

        @inst.tool()
        def write_file(path: str, *, text: str) -> dict[str, int]:
            return {"bytes": len(text)}

        @inst.tool(capture_content=False)
        def read_secret(path: str) -> str:
            return "hunter2"

        with inst.session(agent="c"):
            write_file("notes.txt", text="hello")
            read_secret("/etc/shadow")

        attributes = only_span(spans, "execute_tool write_file").attributes
        assert attributes is not None
        assert attributes["gen_ai.tool.call.arguments"] == "'notes.txt', text='hello'"
        assert attributes["gen_ai.tool.call.result"] == "{'bytes': 5}"
        opted_out = only_span(spans, "execute_tool read_secret").attributes
        assert opted_out is not None
        assert "gen_ai.tool.call.arguments" not in opted_out
        assert "gen_ai.tool.call.result" not in opted_out


def test_one_tool_can_opt_in_to_capture(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.tool(capture_content=True)
    def search(query: str) -> list[str]:
        return ["a", "b"]

    with inst.session(agent="c"):
        search("otel")

    attributes = only_span(spans, "execute_tool search").attributes
    assert attributes is not None
    assert attributes["gen_ai.tool.call.arguments"] == "'otel'"
    assert attributes["gen_ai.tool.call.result"] == "['a', 'b']"


def _gemini_reply() -> genai_types.GenerateContentResponse:
    reply = gemini_response()
    reply.candidates = [
        genai_types.Candidate(
            content=genai_types.Content(
                role="model",
                parts=[
                    genai_types.Part(text="Reading it."),
                    genai_types.Part(
                        function_call=genai_types.FunctionCall(
                            id="call_9", name="read", args={"path": "a.txt"}
                        )
                    ),
                ],
            ),
            finish_reason=genai_types.FinishReason.STOP,
        )
    ]
    return reply


MODEL_CONTENT = [
    pytest.param(
        {"messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "secret question"}]},
        chat_completion,
        [{"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
         {"role": "user", "parts": [{"type": "text", "content": "secret question"}]}],
        [{"role": "assistant", "parts": [{"type": "text", "content": "Done."}],
          "finish_reason": "stop"}],
        id="openai-chat",
    ),
    pytest.param(
        {"system": "Be brief.",
         "messages": [{"role": "user", "content": [{"type": "text", "text": "secret question"}]},
                      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                                    "content": "42"}]}]},
        anthropic_message,
        [{"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
         {"role": "user", "parts": [{"type": "text", "content": "secret question"}]},
         {"role": "user", "parts": [{"type": "tool_call_response", "id": "t1",
                                     "response": "42"}]}],
        [{"role": "assistant", "parts": [{"type": "text", "content": "Done."}],
          "finish_reason": "end_turn"}],
        id="anthropic",
    ),
    pytest.param(
        {"contents": "secret question"},
        _gemini_reply,
        [{"role": "user", "parts": [{"type": "text", "content": "secret question"}]}],
        [{"role": "assistant", "finish_reason": "stop",
          "parts": [{"type": "text", "content": "Reading it."},
                    {"type": "tool_call", "id": "call_9", "name": "read",
                     "arguments": '{"path": "a.txt"}'}]}],
        id="google-genai",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("request_kwargs", "reply", "sent", "received"), MODEL_CONTENT)
def test_a_model_calls_messages_are_on_its_span_only_when_captured(
    tmp_path: Path,
    request_kwargs: dict[str, Any],
    reply: Callable[[], object],
    sent: list[dict[str, Any]],
    received: list[dict[str, Any]],
) -> None:
    import json

    for capture in (True, False):
        with isolated(tmp_path / str(capture), capture_content=capture) as (inst, spans):

            @inst.model_call(provider="openai", model="m")
            def ask(**kwargs: Any) -> object:
                return reply()

            with inst.session(agent="c") as s:
                ask(**request_kwargs)

            attributes = only_span(spans, "chat m").attributes
            assert attributes is not None
            if capture:
                assert json.loads(str(attributes["gen_ai.input.messages"])) == sent
                assert json.loads(str(attributes["gen_ai.output.messages"])) == received
            else:
                assert "gen_ai.input.messages" not in attributes
                assert "gen_ai.output.messages" not in attributes
            assert record_of(s).requests == 1  # usage read as ever
            stored = (tmp_path / str(capture)).rglob("*.json")
            assert not [p for p in stored if "secret" in p.read_text()]  # never in the store


# --- 8. exported spans -----------------------------------------------------------------------


def test_exported_spans_follow_the_genai_conventions(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.tool(name="grep")
    def search(pattern: str) -> list[str]:
        return []

    @inst.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def think() -> anthropic_types.Message:
        return anthropic_message()

    @inst.model_call(provider="openai", operation="embeddings")
    def embed() -> None:
        return None

    with inst.session(agent="coder", tags={"ticket": "X-1"}) as s:
        search("TODO")
        think()
        embed()

    exported = {span.name: dict(span.attributes or {}) for span in spans.get_finished_spans()}
    assert exported == {
        "execute_tool grep": {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "grep",
            "gen_ai.conversation.id": s.id,
        },
        "chat claude-sonnet-4-5": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.conversation.id": s.id,
            "gen_ai.response.model": "claude-sonnet-4-5-20250929",
            "gen_ai.usage.input_tokens": 1212,
            "gen_ai.usage.output_tokens": 350,
            "gen_ai.usage.cache_read.input_tokens": 1000,
            "gen_ai.usage.cache_creation.input_tokens": 200,
        },
        "embeddings": {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "openai",
            "gen_ai.conversation.id": s.id,
        },
        "invoke_agent coder": {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.conversation.id": s.id,
            "gen_ai.agent.name": "coder",
            "radium.session.root": True,
            "radium.session.tag.ticket": "X-1",
        },
    }
    root = only_span(spans, "invoke_agent coder")
    for span in spans.get_finished_spans():
        if span is not root:
            assert span.parent is not None and span.parent.span_id == root.context.span_id
            assert span.context.trace_id == root.context.trace_id
    record = record_of(s)
    assert record.id == s.id
    assert record.metadata["agent"] == "coder"
    assert record.metadata["tags"] == {"ticket": "X-1"}


def test_a_session_that_raises_is_failed_and_reraises(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium
    error = RuntimeError("agent crashed")
    with pytest.raises(RuntimeError) as info, inst.session(agent="crash") as s:
        raise error
    assert info.value is error
    assert record_of(s).status == "failed"
    root = only_span(spans, "invoke_agent crash")
    assert root.status.status_code is StatusCode.ERROR
    assert (root.attributes or {}).get("error.type") == "RuntimeError"


# --- the module-level API --------------------------------------------------------------------


def test_module_level_api(global_rad: tuple[Radium, Spans]) -> None:
    instance, spans = global_rad
    assert rad.get_instance() is instance

    @rad.tool
    def bare(x: int) -> int:
        return x + 1

    @rad.tool()
    def empty_parens(x: int) -> int:
        return x * 2

    @rad.tool(name="renamed")
    async def named(x: int) -> int:
        return x - 1

    @rad.model_call
    def bare_model() -> ChatCompletion:
        return chat_completion()

    @rad.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def claude() -> str:
        rad.record_usage(input_tokens=100, output_tokens=20, cache_read_tokens=60)
        return "ok"

    with rad.session(agent="module", tags={"run": "1"}) as s:
        assert bare(1) == 2
        assert empty_parens(2) == 4
        assert asyncio.run(named(5)) == 4
        bare_model()
        assert claude() == "ok"
        rad.record_decision("reject", tool="rm")

    record = record_of(s)
    assert {name: tool_row(t) for name, t in record.tools.items()} == {
        "bare": (1, 1, 0, {}),
        "empty_parens": (1, 1, 0, {}),
        "renamed": (1, 1, 0, {}),
    }
    assert record.decisions == {"reject": 1}
    assert [usage_row(row) for row in record.model_usage] == [
        expected_row("claude-sonnet-4-5", "anthropic", 100, 20, 60, 0, 0),
        {**expected_row("o4-mini-2025-04-16", "openai", 2006, 300, 1920, 0, 192), "provider": None},
    ]
    assert sorted(span_names(spans)) == [
        "chat",
        "chat claude-sonnet-4-5",
        "execute_tool bare",
        "execute_tool empty_parens",
        "execute_tool renamed",
        "invoke_agent module",
        "tool_decision rm",
    ]
    assert {
        (span.attributes or {}).get("gen_ai.conversation.id") for span in spans.get_finished_spans()
    } == {s.id}


def test_record_usage_inside_a_tool_warns_that_it_will_not_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import radium_otel._internal.errors as errors

    errors._reported.discard("record_usage:not-a-model-span")
    with isolated(tmp_path) as (inst, _):

        @inst.tool
        def summarise() -> None:
            rad.record_usage(input_tokens=10, output_tokens=2)

        with caplog.at_level(logging.WARNING, logger="radium_otel"), inst.session() as s:
            summarise()
    assert s.record is not None
    assert s.record.model_usage == []
    assert any(
        "record_usage() called in a span whose operation is execute_tool" in r.getMessage()
        for r in caplog.records
    )


# --- @session on generators ------------------------------------------------------------------


def test_session_decorator_on_a_generator_spans_its_iteration(
    radium: tuple[Radium, Spans],
) -> None:
    from radium_otel._internal.processor import session_context

    inst, spans = radium

    @inst.tool
    def step(i: int) -> int:
        return i * 10

    @inst.session(agent="pager")
    def pages(n: int) -> Iterator[int]:
        for i in range(n):
            yield step(i)

    gen = pages(3)
    assert inspect.isgenerator(gen)
    assert next(gen) == 0
    assert session_context.get() is None  # current only while the generator's body runs
    assert span_names(spans) == ["execute_tool step"]  # the session is still open
    assert list(gen) == [10, 20]
    root = only_span(spans, "invoke_agent pager")
    sid = (root.attributes or {})["gen_ai.conversation.id"]
    steps = [s for s in spans.get_finished_spans() if s.name == "execute_tool step"]
    assert len(steps) == 3
    for span in steps:
        assert (span.attributes or {})["gen_ai.conversation.id"] == sid
        assert span.parent is not None and span.parent.span_id == root.context.span_id
    record = inst.finished_record(str(sid))
    assert record is not None
    assert (record.status, record.tool_calls) == ("completed", 3)


def test_session_decorator_on_an_async_generator_spans_its_iteration(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium

    @inst.tool
    async def step(i: int) -> int:
        await asyncio.sleep(0)
        return i

    @inst.session(agent="async-pager")
    async def pages(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield await step(i)

    async def main() -> list[int]:
        return [i async for i in pages(4)]

    assert asyncio.run(main()) == [0, 1, 2, 3]
    root = only_span(spans, "invoke_agent async-pager")
    sid = str((root.attributes or {})["gen_ai.conversation.id"])
    record = inst.finished_record(sid)
    assert record is not None
    assert (record.status, record.tool_calls) == ("completed", 4)


def test_session_decorator_on_a_generator_that_raises_fails_the_session(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium
    error = ValueError("page 2 is missing")

    @inst.session(agent="broken")
    def pages() -> Iterator[int]:
        yield 1
        raise error

    gen = pages()
    assert next(gen) == 1
    with pytest.raises(ValueError) as info:
        next(gen)
    assert info.value is error
    root = only_span(spans, "invoke_agent broken")
    assert root.status.status_code is StatusCode.ERROR
    record = inst.finished_record(str((root.attributes or {})["gen_ai.conversation.id"]))
    assert record is not None and record.status == "failed"


def test_session_decorator_on_a_generator_closed_early_completes(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium

    @inst.session(agent="early")
    def pages() -> Generator[int, None, None]:
        yield from range(10)

    gen = pages()
    assert next(gen) == 0
    gen.close()
    root = only_span(spans, "invoke_agent early")
    record = inst.finished_record(str((root.attributes or {})["gen_ai.conversation.id"]))
    assert record is not None and record.status == "completed"


# --- usage added straight into the span's attributes ----------------------------------------


def _usage_both_ways(limits: Any = None) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The attributes a span ends with after `_set_usage` and after the SDK's
    ``set_attributes`` of the same usage, and whether the fast way was taken."""
    from opentelemetry.sdk.trace import SpanLimits

    from radium_otel._internal import instrument

    tracer = TracerProvider(span_limits=limits or SpanLimits()).get_tracer("t")
    counts = (120, 30, 20, None, 5, None, "gpt-4o-2024-08-06")
    start = {"gen_ai.operation.name": "chat"}
    ours = tracer.start_span("a", attributes=start)
    theirs = tracer.start_span("b", attributes=start)
    fast = instrument._add_usage(ours, counts)
    if not fast:
        instrument._set_usage(ours, counts, overwrite=False)
    theirs.set_attributes(
        {
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30,
            "gen_ai.usage.cache_read.input_tokens": 20,
            "gen_ai.usage.reasoning.output_tokens": 5,
            "gen_ai.response.model": "gpt-4o-2024-08-06",
        }
    )
    ours.end()
    theirs.end()
    return _ended_attributes(ours), _ended_attributes(theirs), fast


def _ended_attributes(span: object) -> dict[str, Any]:
    assert isinstance(span, ReadableSpan)
    return dict(span.attributes or {})


def test_usage_goes_straight_into_an_sdk_span_as_the_sdk_would_put_it() -> None:
    """The model call's usage skips the SDK's generic value checks (most of what a model
    call cost radium) and leaves the span exactly as ``set_attributes`` would."""
    ours, theirs, fast = _usage_both_ways()
    assert fast
    assert list(ours.items()) == list(theirs.items())


def test_usage_takes_the_sdks_way_when_limits_apply() -> None:
    """A value longer than the span's length limit (the SDK truncates it) or a span with no
    room left (the SDK drops its oldest attributes): the SDK's way, same result."""
    from opentelemetry.sdk.trace import SpanLimits

    for limits in (SpanLimits(max_attribute_length=6), SpanLimits(max_span_attributes=3)):
        ours, theirs, fast = _usage_both_ways(limits)
        assert not fast
        assert list(ours.items()) == list(theirs.items())


def test_usage_on_an_ended_span_or_one_with_usage_is_not_added_straight() -> None:
    from radium_otel._internal import instrument

    span = TracerProvider().get_tracer("t").start_span("a")
    span.end()
    assert not instrument._add_usage(span, (1, 2, None, None, None, None, None))
    recorded = TracerProvider().get_tracer("t").start_span("b")
    recorded.set_attribute("gen_ai.usage.input_tokens", 7)
    assert not instrument._add_usage(recorded, (1, 2, None, None, None, None, None))
    assert not instrument._add_usage(INVALID_SPAN, (1, 2, None, None, None, None, None))
