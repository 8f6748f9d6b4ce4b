"""One live session of an outside source, event by event (issue 20: mutants that survived in
``sources/events.py``): what `LiveSession.apply` counts, what it takes for a second record of
one request, tool call or decision, the line counts, and the journal's rows. Every figure exact.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from radium_otel._internal.aggregate import ModelCall
from radium_otel._internal.record import SessionRecord, ToolStats
from radium_otel.sources.events import (
    DECISION_NEAR_NS,
    MAX_FILES,
    SEEN_KEYS,
    Decision,
    Describe,
    End,
    Event,
    Item,
    Lines,
    LiveSession,
    Opened,
    Request,
    Seen,
    ToolRun,
    from_row,
    to_row,
)

S = 1_000_000_000
T = 1_764_700_000 * S


def at(seconds: float) -> int:
    return T + round(seconds * S)


def session(*events: Event, source: str = "codex") -> LiveSession:
    live = LiveSession("s-1", source, {})
    for event in events:
        assert live.apply(Item("s-1", source, None, event))
    return live


def record(live: LiveSession, *, lines_known: bool = True) -> SessionRecord:
    return live.record("completed", at(100), lines_known=lines_known)


def request(start: float, end: float, inp: int = 100, out: int = 10, **kw: Any) -> ModelCall:
    return ModelCall("gpt-5.5", "openai", at(start), at(end), False, inp, out, **kw)


# --- the journal ------------------------------------------------------------------------------
EVERY_EVENT: list[Event] = [
    Request(ModelCall("m", "p", 1, 2, True, 3, 4, 5, 6, 7, 8), "codex/events", 0.25, True),
    Request(ModelCall("m", None, 1, 2, False), "codex/events"),
    Opened(5),
    ToolRun("Bash", 1, 2, "ShellError", "claude-code/transcript"),
    Decision("reject", "config", 3, "codex/transcript"),
    Lines(2, 1, "a.txt", 4),
    Seen(1, 2),
    Describe((("model", "gpt-5.5"), ("codex.provider", "openai"))),
    End(9),
]


@pytest.mark.parametrize("event", EVERY_EVENT)
def test_a_journal_row_gives_back_its_item(event: Event) -> None:
    item = Item("s-1", "codex", "k.1", event)
    assert from_row(to_row(item)) == item


@pytest.mark.parametrize(
    ("row", "error", "message"),
    [
        (["s", "codex", None, "Z", 1], ValueError, "unknown journal row tag 'Z'"),
        ([None, "codex", None, "O", 1], TypeError, "journal row without a session id and source"),
        (["s", 3, None, "O", 1], TypeError, "journal row without a session id and source"),
    ],
)
def test_a_damaged_journal_row_is_refused(
    row: list[Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{message}$"):
        from_row(row)


# --- records applied once -----------------------------------------------------------------------
def test_a_record_sent_again_is_applied_once_and_the_oldest_keys_are_forgotten() -> None:
    live = LiveSession("s-1", "codex", {})
    seen = Item("s-1", "codex", "k", Seen(at(0), at(1)))
    assert (live.apply(seen), live.apply(seen)) == (True, False)
    for i in range(SEEN_KEYS):
        assert live.apply(Item("s-1", "codex", f"other-{i}", Seen(at(0), at(1))))
    # The SEEN_KEYS newest kept, the first forgotten.
    assert not live.apply(Item("s-1", "codex", "other-0", Seen(at(0), at(1))))
    assert live.apply(seen)
    keyless = Item("s-1", "codex", None, Request(request(1, 2), "codex/events"))
    assert (live.apply(keyless), live.apply(keyless)) == (True, True)
    assert record(live).requests == 2


# --- requests ------------------------------------------------------------------------------------
def test_a_request_starts_when_it_was_sent_and_its_reported_costs_add_up_exactly() -> None:
    live = session(
        Opened(at(1)),
        Request(request(3, 3), "codex/events", 0.1, from_open=True),  # sent at 1 s
        Request(request(4, 5), "codex/events", 0.2, from_open=True),  # nothing sent: its own
        Opened(at(9)),
        Request(request(6, 7), "codex/events", float("nan"), from_open=True),  # sent after
        Request(request(7, 8), "codex/events"),
    )
    r = record(live)
    assert (r.requests, r.api_time_s) == (4, 5.0)  # 1-3, 4-5, 6-7, 7-8
    assert r.model_usage[0].latency_s == 5.0
    assert r.reported_cost_usd == 0.3  # (0.1 + 0.2 as decimals; NaN left out)
    assert (r.start_time.timestamp(), r.wall_time_s) == (at(1) / S, 8.0)


def test_a_request_whose_usage_came_when_it_was_sent_lasts_no_time() -> None:
    live = session(Opened(at(3)), Request(request(1, 3), "codex/events", from_open=True))
    assert record(live).api_time_s == 0.0
    never_sent = session(Request(request(1, 3), "codex/events", from_open=True))
    assert never_sent.record("completed", at(100), lines_known=True).api_time_s == 2.0


def test_no_reported_cost_is_none() -> None:
    assert record(session(Request(request(1, 2), "codex/events"))).reported_cost_usd is None


@pytest.mark.parametrize(
    ("second", "requests"),
    [
        (Request(request(1.5, 3.5), "codex/transcript"), 1),  # overlaps half: the same
        (Request(request(2.0, 4.0), "codex/transcript"), 1),  # touching half exactly
        (Request(request(2.1, 4.0), "codex/transcript"), 2),  # less than half
        (Request(request(1, 3, out=11), "codex/transcript"), 2),  # other tokens
        (Request(request(1, 3), "codex/events"), 2),  # the same channel: another request
        (Request(request(1.5, 2), "codex/transcript"), 1),  # within it, shorter
        (Request(request(2, 6), "codex/transcript"), 1),  # over half of it, longer
        (Request(request(3, 3), "codex/transcript"), 1),  # an instant at its end
    ],
)
def test_a_second_channels_record_of_a_request_counts_once(second: Request, requests: int) -> None:
    live = session(Request(request(1, 3), "codex/events"), second)
    assert record(live).requests == requests


def test_a_record_is_looked_for_in_every_other_channel_and_past_matched_ones() -> None:
    live = session(
        Request(request(10, 12), "codex/events"),
        Request(request(1, 3), "codex/transcript"),
        Request(request(1, 3), "codex/events"),  # its own channel passed, then a match
        Request(request(5, 7), "codex/transcript"),
        Request(request(5, 7), "codex/events"),  # past the 1-3 s record already matched
    )
    assert record(live).requests == 3


def test_a_record_is_matched_once() -> None:
    live = session(
        Request(request(1, 3), "codex/events"),
        Request(request(1, 3), "codex/transcript"),
        Request(request(1, 3), "codex/transcript"),  # a second request at the same time
    )
    assert record(live).requests == 2


# --- tool calls and decisions ----------------------------------------------------------------
def test_a_tool_call_and_a_decision_two_channels_report_count_once() -> None:
    live = session(
        ToolRun("Bash", at(1), at(2), None),
        ToolRun("Bash", at(1.2), at(2.1), None, "claude-code/transcript"),  # the same
        ToolRun("Bash", at(5), at(6), "ShellError", "claude-code/transcript"),  # another
        ToolRun("Read", at(1), at(2), None, "claude-code/transcript"),  # another tool
        ToolRun("Read", at(5.1), at(5.9), None),  # beside a Bash run: another call
        Decision("accept", "user", at(10)),
        Decision("accept", "user", at(10) + DECISION_NEAR_NS, "claude-code/transcript"),
        Decision("accept", "config", at(20)),
        Decision("accept", None, at(20) + DECISION_NEAR_NS + 1, "claude-code/transcript"),
        Decision("reject", "user", at(21)),
        Decision("maybe", "user", at(90)),  # not a decision: dropped, no bound
        Decision("", None, at(91)),
        source="claude-code",
    )
    r = record(live)
    assert r.tools == {
        "Bash": ToolStats(
            calls=2, successes=1, failures=1, duration_s=2.0, error_types={"ShellError": 1}
        ),
        "Read": ToolStats(calls=2, successes=2, duration_s=1.8),
    }
    assert r.decisions == {"accept": 3, "reject": 1}
    assert r.decision_sources == {"accept": {"config": 1, "user": 1}, "reject": {"user": 1}}
    assert r.diagnostics == {"dropped_attributes": 2}
    assert r.wall_time_s == 24.000000001  # 1 s to the last accept (25 s + 1 ns), never 90 s


# --- lines, metadata, the end -----------------------------------------------------------------
def test_lines_of_named_files_are_kept_over_counts_without_files() -> None:
    live = session(
        Lines(2, 1, "b.txt", at(1)),
        Lines(3, 0, "a.txt", at(2)),
        Lines(1, 1, "b.txt", at(3)),
        Lines(9, 9, None, at(4)),  # (a metric's counts of the same edits)
    )
    assert record(live).code_changes == {
        "lines_added": 6,
        "lines_removed": 2,
        "files_changed": 2,
        "files": [
            {"path": "a.txt", "added": 3, "removed": 0, "binary": False, "renamed_from": None},
            {"path": "b.txt", "added": 3, "removed": 2, "binary": False, "renamed_from": None},
        ],
        "files_truncated": False,
        "measured_by": "codex",
    }


@pytest.mark.parametrize(
    ("events", "lines_known", "changes"),
    [
        ([Lines(4, 2, None, T), Lines(1, 0, None, T)], False,
         (5, 2, None, [], False)),  # counts without files: how many files is unknown
        ([], True, (0, 0, 0, [], False)),  # a source that counts lines: none
        ([], False, None),  # a source that cannot: unknown, never 0
    ],
)  # fmt: skip
def test_line_counts_without_files(
    events: list[Event], lines_known: bool, changes: tuple[Any, ...] | None
) -> None:
    got = record(session(*events), lines_known=lines_known).code_changes
    if changes is None:
        assert got is None
    else:
        assert got is not None
        keys = ("lines_added", "lines_removed", "files_changed", "files", "files_truncated")
        assert tuple(got[key] for key in keys) == changes


def test_past_the_file_limit_totals_stay_exact_and_the_file_count_unknown() -> None:
    events: list[Event] = [Lines(1, 0, f"f{i:04}.txt", T) for i in range(MAX_FILES + 1)]
    changes = record(session(*events)).code_changes
    assert changes is not None
    assert (changes["lines_added"], changes["files_changed"]) == (MAX_FILES + 1, None)
    assert (len(changes["files"]), changes["files_truncated"]) == (MAX_FILES, True)
    just = record(session(*events[: MAX_FILES - 1])).code_changes
    assert just is not None
    assert (just["files_changed"], just["files_truncated"]) == (MAX_FILES - 1, False)


def test_metadata_first_said_stays_and_a_continued_session_takes_its_stored_id() -> None:
    live = session(
        Describe((("model", "gpt-5.5"), ("codex.provider", "openai"))),
        Describe((("model", "gpt-6"), ("stored_as", "s-1-2"))),
        Seen(at(1), at(2)),
    )
    r = record(live)
    assert r.id == "s-1-2"
    assert (r.metadata["model"], r.metadata["codex.provider"]) == ("gpt-5.5", "openai")
    assert "stored_as" not in r.metadata


def test_a_session_known_only_from_its_description_starts_and_ends_now() -> None:
    r = record(session(Describe((("model", "gpt-5.5"),))))
    assert (r.start_time, r.end_time, r.wall_time_s) == (
        datetime.fromtimestamp(at(100) / S, timezone.utc),
        datetime.fromtimestamp(at(100) / S, timezone.utc),
        0.0,
    )


def test_the_end_signal_bounds_and_ends_the_session() -> None:
    live = session(Seen(at(1), at(2)), End(at(7)))
    assert live.ended
    assert record(live).wall_time_s == 6.0
    assert not session(Seen(at(1), at(2))).ended
