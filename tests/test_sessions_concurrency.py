"""Which session a call belongs to, across threads, asyncio tasks and concurrent sessions."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import radium_otel as rad
from radium_otel import Radium, SessionRecord, SessionScope
from radium_otel.testing import isolated

Spans = InMemorySpanExporter


@pytest.fixture
def radium(tmp_path: Path) -> Iterator[tuple[Radium, Spans]]:
    with isolated(tmp_path) as pair:
        yield pair


def record_of(scope: SessionScope) -> SessionRecord:
    assert scope.record is not None, "the session published no record"
    return scope.record


def tool_calls(record: SessionRecord) -> dict[str, int]:
    return {name: stats.calls for name, stats in record.tools.items()}


def requests(record: SessionRecord) -> dict[str, tuple[int, int, int]]:
    return {
        row.model: (row.requests, row.input_tokens, row.output_tokens) for row in record.model_usage
    }


def conversation_id(span: ReadableSpan) -> object:
    return (span.attributes or {}).get("gen_ai.conversation.id")


def spans_named(spans: Spans, name: str) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name == name]


# --- threads ---------------------------------------------------------------------------------


def test_thread_pool_with_copied_context_counts_in_the_session(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium
    seen_threads: set[str] = set()
    barrier = threading.Barrier(4)

    @inst.tool()
    def lookup(key: int) -> int:
        barrier.wait(timeout=5)  # four calls really run at the same time
        seen_threads.add(threading.current_thread().name)
        return key * 2

    with inst.session(agent="pool") as s:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(contextvars.copy_context().run, lookup, i) for i in range(8)]
            assert [f.result() for f in futures] == [0, 2, 4, 6, 8, 10, 12, 14]

    assert len(seen_threads) == 4
    record = record_of(s)
    assert tool_calls(record) == {"lookup": 8}
    assert (record.tool_successes, record.tool_failures) == (8, 0)
    assert inst.processor.session_ids() == []  # no default session was needed
    root = spans_named(spans, "invoke_agent pool")[0]
    for span in spans_named(spans, "execute_tool lookup"):
        assert conversation_id(span) == s.id
        assert span.parent is not None and span.parent.span_id == root.context.span_id


def test_plain_thread_without_context_lands_in_the_default_session(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium

    @inst.tool()
    def in_session() -> None:
        pass

    @inst.tool()
    def background() -> None:
        pass

    with inst.session(agent="main") as s:
        in_session()
        worker = threading.Thread(target=background)
        worker.start()
        worker.join()

    assert tool_calls(record_of(s)) == {"in_session": 1}
    (default,) = inst.processor.snapshot_active()  # the default session is still open
    assert default.id != s.id
    assert default.status == "active"
    assert tool_calls(default) == {"background": 1}
    (span,) = spans_named(spans, "execute_tool background")
    assert conversation_id(span) == default.id
    assert span.parent is None  # no context travelled to the thread

    inst.shutdown()  # closes the default session, which is then final
    final = inst.finished_record(default.id)
    assert final is not None
    assert final.status == "completed"
    assert tool_calls(final) == {"background": 1}


def test_concurrent_sessions_in_threads_count_only_their_own_calls(
    radium: tuple[Radium, Spans],
) -> None:
    inst, spans = radium
    rounds = 5
    barrier = threading.Barrier(2)
    scopes: dict[str, SessionScope] = {}

    @inst.tool()
    def edit(n: int) -> int:
        return n

    @inst.tool()
    def search(n: int) -> int:
        return n

    @inst.model_call(provider="test")
    def think(model: str, tokens: int) -> None:
        rad.record_usage(input_tokens=tokens, output_tokens=1, model=model)

    def agent(name: str) -> None:
        with inst.session(agent=name) as scope:
            scopes[name] = scope
            for i in range(rounds):
                barrier.wait(timeout=5)  # both sessions are open and interleave round by round
                if name == "editor":
                    edit(i)
                    think("model-e", 10)
                else:
                    search(i)
                    search(i)
                    think("model-s", 100)

    threads = [threading.Thread(target=agent, args=(name,)) for name in ("editor", "searcher")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    editor, searcher = record_of(scopes["editor"]), record_of(scopes["searcher"])
    assert editor.id != searcher.id
    assert editor.metadata["agent"] == "editor"
    assert searcher.metadata["agent"] == "searcher"
    assert tool_calls(editor) == {"edit": 5}
    assert tool_calls(searcher) == {"search": 10}
    assert requests(editor) == {"model-e": (5, 50, 5)}
    assert requests(searcher) == {"model-s": (5, 500, 5)}
    for span in spans_named(spans, "execute_tool edit"):
        assert conversation_id(span) == editor.id
    for span in spans_named(spans, "execute_tool search"):
        assert conversation_id(span) == searcher.id
    assert inst.processor.session_ids() == []


# --- asyncio ---------------------------------------------------------------------------------


def test_gathered_tasks_count_in_the_session(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium
    running = 0
    most_running = 0

    @inst.tool()
    async def fetch(url: str) -> str:
        nonlocal running, most_running
        running += 1
        most_running = max(most_running, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1
        return url.upper()

    async def main() -> tuple[SessionScope, list[str]]:
        async with inst.session(agent="gather") as scope:
            pages = await asyncio.gather(*(fetch(f"u{i}") for i in range(5)))
        return scope, pages

    scope, pages = asyncio.run(main())
    assert pages == ["U0", "U1", "U2", "U3", "U4"]
    assert most_running == 5  # they did run concurrently
    record = record_of(scope)
    assert tool_calls(record) == {"fetch": 5}
    assert (record.tool_successes, record.tool_failures) == (5, 0)
    assert {conversation_id(span) for span in spans.get_finished_spans()} == {scope.id}
    assert inst.processor.session_ids() == []


def test_concurrent_sessions_in_tasks_count_only_their_own_calls(
    radium: tuple[Radium, Spans],
) -> None:
    inst, _ = radium

    @inst.tool()
    async def step(n: int) -> int:
        await asyncio.sleep(0)
        return n

    @inst.tool()
    async def fail(n: int) -> int:
        await asyncio.sleep(0)
        raise LookupError(n)

    @inst.model_call(provider="test")
    async def think(model: str, tokens: int) -> None:
        await asyncio.sleep(0)
        rad.record_usage(input_tokens=tokens, output_tokens=2, model=model)

    opened: list[str] = []
    both_open = asyncio.Event()  # asyncio.Barrier is 3.11+

    async def agent(name: str, calls: int) -> SessionScope:
        async with inst.session(agent=name) as scope:
            opened.append(name)
            if len(opened) == 2:
                both_open.set()
            await both_open.wait()
            for i in range(calls):
                await step(i)
                await think(f"model-{name}", 7)
            if name == "b":
                with pytest.raises(LookupError):
                    await fail(0)
        return scope

    async def main() -> list[SessionScope]:
        return list(await asyncio.gather(agent("a", 3), agent("b", 4)))

    a, b = (record_of(scope) for scope in asyncio.run(main()))
    assert a.id != b.id
    assert tool_calls(a) == {"step": 3}
    assert (a.tool_successes, a.tool_failures) == (3, 0)
    assert tool_calls(b) == {"fail": 1, "step": 4}
    assert (b.tool_successes, b.tool_failures) == (4, 1)
    assert b.tools["fail"].error_types == {"LookupError": 1}
    assert requests(a) == {"model-a": (3, 21, 6)}
    assert requests(b) == {"model-b": (4, 28, 8)}
    assert inst.processor.session_ids() == []


# --- the session decorator -------------------------------------------------------------------


def test_session_decorator_makes_each_call_a_session(radium: tuple[Radium, Spans]) -> None:
    inst, spans = radium

    @inst.tool()
    def act(n: int) -> int:
        return n

    @inst.session(agent="worker")
    def run(n: int) -> int:
        """One agent run."""
        for i in range(n):
            act(i)
        return n * 10

    @inst.session(agent="async-worker")
    async def run_async(n: int) -> int:
        for i in range(n):
            act(i)
        return n * 100

    assert run.__name__ == "run"
    assert run.__doc__ == "One agent run."
    assert run(1) == 10
    assert run(2) == 20
    assert asyncio.run(run_async(3)) == 300

    roots = [span for span in spans.get_finished_spans() if span.name.startswith("invoke_agent")]
    assert [span.name for span in roots] == [
        "invoke_agent worker",
        "invoke_agent worker",
        "invoke_agent async-worker",
    ]
    ids = [str(conversation_id(span)) for span in roots]
    assert len(set(ids)) == 3
    records = [inst.finished_record(sid) for sid in ids]
    assert [r.status if r else None for r in records] == ["completed"] * 3
    assert [tool_calls(r) if r else None for r in records] == [
        {"act": 1},
        {"act": 2},
        {"act": 3},
    ]
    assert inst.processor.session_ids() == []  # nothing leaked into a default session


def test_module_level_session_in_threads(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    rad.configure(
        workspace=tmp_path,
        tracer_provider=provider,
        print_summary=False,
        checkpoint_interval_s=3600,
    )
    try:

        @rad.tool
        def work(n: int) -> int:
            return n

        scopes: list[SessionScope] = []
        lock = threading.Lock()

        def agent(calls: int) -> None:
            with rad.session(agent=f"agent-{calls}") as scope:
                for i in range(calls):
                    work(i)
            with lock:
                scopes.append(scope)

        threads = [threading.Thread(target=agent, args=(n,)) for n in (1, 2, 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        counts = sorted(tool_calls(record_of(scope))["work"] for scope in scopes)
        assert counts == [1, 2, 3]
        for scope in scopes:
            assert (
                record_of(scope).metadata["agent"]
                == f"agent-{tool_calls(record_of(scope))['work']}"
            )
    finally:
        rad.shutdown()
        provider.shutdown()


def test_a_new_root_span_inside_a_session_still_belongs_to_it(
    radium: tuple[Radium, Spans],
) -> None:
    """The session comes from the context even when the span has no parent (e.g. an
    instrumentation that starts a new trace, or code that detached the OpenTelemetry context)."""
    inst, spans = radium

    @inst.tool()
    def detached() -> str:
        return "ok"

    with inst.session(agent="roots") as s:
        token = otel_context.attach(otel_context.Context())  # no current span
        try:
            assert detached() == "ok"
        finally:
            otel_context.detach(token)
        inst.tracer.start_span(
            "execute_tool foreign",
            context=otel_context.Context(),
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "foreign"},
        ).end()

    assert tool_calls(record_of(s)) == {"detached": 1, "foreign": 1}
    for name in ("execute_tool detached", "execute_tool foreign"):
        (span,) = spans_named(spans, name)
        assert span.parent is None
        assert conversation_id(span) == s.id
    assert inst.processor.session_ids() == []
