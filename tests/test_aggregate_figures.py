"""The figures of a model row when a second layer's record of a request replaces the first
(SPEC "One request counts once"), with other requests of the same model already counted, and
the framework conversation ids a session keeps (issue 20: mutants that survived in
``aggregate.py``). Real SDK spans through the real processor; every figure exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import Status, StatusCode, set_span_in_context
from test_framework_rules import OP, Layers, ns, oi_llm, usage

from radium_otel._internal.aggregate import MAX_CONVERSATION_IDS, add_conversation_id
from radium_otel._internal.record import ModelUsage


@pytest.fixture
def lay() -> Iterator[Layers]:
    layers = Layers()
    yield layers
    layers.provider.shutdown()


PROV = "gen_ai.provider.name"


def framework(model: str, inp: int, out: int) -> dict[str, Any]:
    """An OpenInference LLM span that names its provider: the same key as the client's."""
    return {**oi_llm(model, inp, out), "llm.system": "openai"}


def only_row(lay: Layers) -> ModelUsage:
    (record,) = lay.records
    (row,) = record.model_usage
    return row


def test_a_richer_second_record_replaces_the_first_beside_other_requests(lay: Layers) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    # A request the client alone recorded, with every kind of token and an error.
    alone = lay.start(
        "openai", "chat gpt-4o", 1,
        {**usage("gpt-4o", 100, 10, cached=8, reasoning=2),
         "gen_ai.usage.cache_creation.input_tokens": 4,
         "radium.usage.cache_creation_1h.input_tokens": 1},
        root,
    )  # fmt: skip
    alone.set_status(Status(StatusCode.ERROR, "overloaded"))
    alone.end(end_time=ns(2))  # 1 s
    lay.span("oi", "ChatOpenAI", 3, 5, framework("gpt-4o", 300, 30), root)  # 2 s, counted first
    client = lay.start(
        "openai", "chat gpt-4o", 3.1,
        {**usage("gpt-4o", 300, 30, cached=120, reasoning=7),
         "gen_ai.usage.cache_creation.input_tokens": 40,
         "radium.usage.cache_creation_1h.input_tokens": 16},
        root,
    )  # fmt: skip
    client.set_status(Status(StatusCode.ERROR, "rate limited"))
    client.end(end_time=ns(4.9))
    root.end(end_time=ns(6))

    row = only_row(lay)
    assert (row.model, row.provider, row.requests, row.errors) == ("gpt-4o", "openai", 2, 2)
    assert (row.input_tokens, row.output_tokens) == (400, 40)
    assert type(row.output_tokens) is int  # (the JSON export writes 40, never 40.0)
    assert (row.cache_read_tokens, row.cache_creation_tokens) == (128, 44)
    assert (row.cache_creation_1h_tokens, row.reasoning_tokens) == (17, 9)
    assert row.latency_s == 3.0  # the replaced request keeps the time counted first


def test_the_spellings_of_one_model_add_up_in_its_row(lay: Layers) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    for at, model, one_hour in [(1, "gpt-4o", 3), (3, "gpt-4o-2024-08-06", 5)]:
        attrs = {
            **usage(model, 100, 10),
            "gen_ai.usage.cache_creation.input_tokens": 20,
            "radium.usage.cache_creation_1h.input_tokens": one_hour,
        }
        lay.span("openai", f"chat {model}", at, at + 1.5, attrs, root)
    root.end(end_time=ns(6))

    row = only_row(lay)
    assert [(n.model, n.requests) for n in row.names] == [("gpt-4o", 1), ("gpt-4o-2024-08-06", 1)]
    assert (row.requests, row.cache_creation_tokens, row.cache_creation_1h_tokens) == (2, 40, 8)
    assert row.latency_s == 3.0


def test_a_lone_request_replaced_keeps_its_first_time(lay: Layers) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "ChatOpenAI", 1, 3, framework("gpt-4o", 50, 5), root)
    lay.span("openai", "chat gpt-4o", 1.2, 2.9, usage("gpt-4o", 50, 5, cached=20), root)
    root.end(end_time=ns(4))

    row = only_row(lay)
    assert (row.requests, row.errors, row.input_tokens, row.cache_read_tokens) == (1, 0, 50, 20)
    assert row.latency_s == 2.0


def test_a_session_keeps_at_most_sixteen_conversation_ids_in_arrival_order() -> None:
    metadata: dict[str, Any] = {}
    add_conversation_id(metadata, "c0", "c1", "c0")
    add_conversation_id(metadata, *(f"c{i}" for i in range(20)))
    assert MAX_CONVERSATION_IDS == 16
    assert metadata == {"conversation_ids": [f"c{i}" for i in range(16)]}


def test_a_zero_length_request_replaced_adds_no_time(lay: Layers) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "ChatOpenAI", 1, 1, framework("gpt-4o", 50, 5), root)
    lay.span("openai", "chat gpt-4o", 0.5, 1.5, usage("gpt-4o", 50, 5, reasoning=2), root)
    root.end(end_time=ns(4))

    row = only_row(lay)
    assert (row.requests, row.reasoning_tokens, row.latency_s) == (1, 2, 0.0)


@pytest.mark.parametrize("dated_first", [True, False])
def test_of_two_records_as_rich_the_dated_name_stays(lay: Layers, dated_first: bool) -> None:
    names = ["gpt-4o-2024-08-06", "gpt-4o"] if dated_first else ["gpt-4o", "gpt-4o-2024-08-06"]
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "ChatOpenAI", 1, 3, framework(names[0], 50, 5), root)
    lay.span("openai", "chat", 1.1, 2.9, usage(names[1], 50, 5), root)
    root.end(end_time=ns(4))

    row = only_row(lay)
    assert [(n.model, n.provider, n.requests) for n in row.names] == [
        ("gpt-4o-2024-08-06", "openai", 1)
    ]
    assert (row.requests, row.latency_s) == (1, 2.0)


# --- which records are one request --------------------------------------------------------
def chat(model: str, inp: int, out: int, **detail: int) -> dict[str, Any]:
    """A client span's attributes with no provider unless given, and any detail counts."""
    attrs: dict[str, Any] = {
        OP: "chat",
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": inp,
        "gen_ai.usage.output_tokens": out,
    }
    keys = {
        "read": "gen_ai.usage.cache_read.input_tokens",
        "write": "gen_ai.usage.cache_creation.input_tokens",
        "reasoning": "gen_ai.usage.reasoning.output_tokens",
    }
    attrs.update({keys[k]: n for k, n in detail.items()})
    return attrs


def requests_of(lay: Layers) -> int:
    (record,) = lay.records
    return record.requests


def test_two_tracers_of_one_library_are_one_layer(lay: Layers) -> None:
    """Identical parallel requests from two versions of one instrumentation both count."""
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("openai", "chat", 1, 2, usage("gpt-4o", 50, 5), root)
    other = lay.provider.get_tracer("openai", "2.0")
    span = other.start_span(
        "chat", set_span_in_context(root), attributes=usage("gpt-4o", 50, 5), start_time=ns(1)
    )
    span.end(end_time=ns(2))
    root.end(end_time=ns(3))
    assert requests_of(lay) == 2


def test_a_second_record_is_found_32_requests_back_and_no_further(lay: Layers) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    for i in range(32):  # the framework's records, each its own request
        lay.span("oi", "ChatOpenAI", 1 + i, 100, framework("gpt-4o", 100 + i, 5), root)
    # The client's record of the oldest one, then one of a request no layer recorded.
    lay.span("openai", "chat", 1.1, 99, usage("gpt-4o", 100, 5), root)
    lay.span("openai", "chat", 1.2, 99, usage("gpt-4o", 999, 9), root)
    root.end(end_time=ns(200))
    assert requests_of(lay) == 33


def test_a_counted_request_absorbs_one_second_record_only(lay: Layers) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "ChatOpenAI", 1, 3, framework("gpt-4o", 50, 5), root)
    lay.span("openai", "chat", 1.1, 2.9, usage("gpt-4o", 50, 5), root)
    lay.span("wrapper", "chat", 1.2, 2.8, usage("gpt-4o", 50, 5), root)
    root.end(end_time=ns(4))
    assert requests_of(lay) == 2


def test_a_same_layer_record_between_does_not_hide_a_second_record(lay: Layers) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "ChatOpenAI", 1, 3, framework("gpt-4o", 50, 5), root)
    # Another request, from another version of the client's instrumentation (one layer).
    other = lay.provider.get_tracer("openai", "2.0").start_span(
        "chat", set_span_in_context(root), attributes=usage("gpt-4o", 70, 7), start_time=ns(1)
    )
    other.end(end_time=ns(3))
    lay.span("openai", "chat", 1.1, 2.9, usage("gpt-4o", 50, 5), root)  # the first again
    root.end(end_time=ns(4))
    assert requests_of(lay) == 2


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ((1, 10, 50, 5), (2, 3, 50, 5), 1),  # inside the first: one request
        ((0, 10, 50, 5), (6.5, 16.5, 50, 5), 2),  # overlap 3.5 s, under half of 10 s
        ((0, 10, 50, 5), (5, 15, 50, 5), 1),  # overlap exactly half
        ((1, 3, 50, 5), (1.1, 2.9, 50, 6), 2),  # other output tokens
    ],
)
def test_records_overlapping_half_the_shorter_with_the_same_tokens_are_one(
    lay: Layers,
    first: tuple[float, float, int, int],
    second: tuple[float, float, int, int],
    expected: int,
) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "ChatOpenAI", first[0], first[1], framework("gpt-4o", *first[2:]), root)
    lay.span("openai", "chat", second[0], second[1], usage("gpt-4o", *second[2:]), root)
    root.end(end_time=ns(20))
    assert requests_of(lay) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [("openai/gpt-4o", "gpt-4o"), ("gpt-4o", "openai/gpt-4o"), ("unknown", "gpt-4o")],
)
def test_a_prefixed_or_unknown_model_name_is_the_same_model(
    lay: Layers, first: str, second: str
) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "ChatOpenAI", 1, 3, framework(first, 50, 5), root)
    lay.span("openai", "chat", 1.1, 2.9, usage(second, 50, 5), root)
    root.end(end_time=ns(4))
    assert requests_of(lay) == 1


@pytest.mark.parametrize(
    ("first", "second", "kept"),
    [
        # A provider is detail: the record without one does not replace the one with one.
        (framework("gpt-4o", 50, 5), chat("gpt-4o", 50, 5), "openai"),
        # A single token of any kind is detail.
        (framework("gpt-4o", 50, 5), {**chat("gpt-4o", 50, 5, read=1), PROV: "azure"}, "azure"),
        (framework("gpt-4o", 50, 5), {**chat("gpt-4o", 50, 5, write=1), PROV: "azure"}, "azure"),
        (
            framework("gpt-4o", 50, 5),
            {**chat("gpt-4o", 50, 5, reasoning=1), PROV: "azure"},
            "azure",
        ),
        # Cache writes and cache reads are as much detail: the first stays.
        (
            {**chat("gpt-4o", 50, 5, write=10), PROV: "openai"},
            {**chat("gpt-4o", 50, 5, read=10), PROV: "azure"},
            "openai",
        ),
    ],
)
def test_the_record_with_more_detail_stays(
    lay: Layers, first: dict[str, Any], second: dict[str, Any], kept: str
) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    lay.span("oi", "first", 1, 3, first, root)
    lay.span("openai", "second", 1.1, 2.9, second, root)
    root.end(end_time=ns(4))
    row = only_row(lay)
    assert (row.requests, row.provider) == (1, kept)


# --- the name a request two records describe keeps ----------------------------------------
def nameless(inp: int, out: int, **detail: int) -> dict[str, Any]:
    """A framework's LLM span that knows its provider but not the model: ``unknown``."""
    attrs = {**framework("x", inp, out), **{f"llm.token_count.prompt_details.{k}": v
                                             for k, v in detail.items()}}  # fmt: skip
    del attrs["llm.model_name"]
    return attrs


def one_request(lay: Layers, spans: list[tuple[str, str, dict[str, Any]]]) -> ModelUsage:
    """Two layers' records of one request, (scope, name, attributes) each, 1-3 s and
    1.1-2.9 s: the session's one model row.
    """
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    for (scope, name, attrs), (at, until) in zip(spans, [(1, 3), (1.1, 2.9)], strict=True):
        lay.span(scope, name, at, until, attrs, root)
    root.end(end_time=ns(4))
    return only_row(lay)


@pytest.mark.parametrize("nameless_first", [True, False])
@pytest.mark.parametrize("model", ["gpt-4o", "o1", "gpt-4o-2024-08-06"])
def test_a_record_that_names_the_model_gives_the_row_its_name(
    lay: Layers, nameless_first: bool, model: str
) -> None:
    """As much detail on both sides: a real name wins over ``unknown`` whatever its length
    (``unknown`` has 7 letters; it once won over names of 6 or fewer and left the row
    unpriced).
    """
    spans = [("oi", "ChatOpenAI", nameless(50, 5)), ("openai", "chat", usage(model, 50, 5))]
    row = one_request(lay, spans if nameless_first else spans[::-1])
    assert [(n.model, n.requests) for n in row.names] == [(model, 1)]
    assert (row.requests, row.input_tokens, row.latency_s) == (1, 50, 2.0)


@pytest.mark.parametrize(
    ("first", "second"),
    [("openai/gpt-4o", "gpt-4o-2024-08-06"), ("gpt-4o", "openai/gpt-4o-2024-08-06")],
)
def test_a_dated_snapshot_wins_over_its_alias_whichever_names_its_provider(
    lay: Layers, first: str, second: str
) -> None:
    row = one_request(
        lay,
        [("oi", "ChatOpenAI", framework(first, 50, 5)), ("openai", "chat", usage(second, 50, 5))],
    )
    assert [(n.model, n.requests) for n in row.names] == [(second, 1)]


@pytest.mark.parametrize("nameless_first", [True, False])
def test_the_richer_record_without_a_name_keeps_its_usage_and_takes_the_name(
    lay: Layers, nameless_first: bool
) -> None:
    spans = [
        ("oi", "ChatOpenAI", nameless(50, 5, cache_read=20)),
        ("openai", "chat", usage("gpt-4o", 50, 5)),
    ]
    row = one_request(lay, spans if nameless_first else spans[::-1])
    assert [(n.model, n.requests) for n in row.names] == [("gpt-4o", 1)]
    assert (row.requests, row.input_tokens, row.cache_read_tokens) == (1, 50, 20)


@pytest.mark.parametrize("error_first", [True, False])
def test_a_request_either_record_saw_fail_counts_as_failed(lay: Layers, error_first: bool) -> None:
    root = lay.start("app", "invoke_agent", 0, {OP: "invoke_agent"})
    first = lay.start("oi", "ChatOpenAI", 1, framework("gpt-4o", 50, 5), root)
    second = lay.start("openai", "chat", 1.1, usage("gpt-4o", 50, 5), root)
    (first if error_first else second).set_status(Status(StatusCode.ERROR, "overloaded"))
    second.end(end_time=ns(2.9))
    first.end(end_time=ns(3))
    root.end(end_time=ns(4))

    row = only_row(lay)
    # (the client's record ended first: its time is the request's)
    assert (row.model, row.requests, row.errors, row.latency_s) == ("gpt-4o", 1, 1, 1.8)
