"""Export and date figures that the broader export tests left open (issue 20: mutants that
survived in ``reports.py``): a session whose total is unpriced while one model is priced, one
with no models and no ``accept`` decisions, the exact CSV and JSON text, and the
``--since``/``--until`` values with a time or at the end of the calendar.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import full_record

from radium_otel._internal import reports
from radium_otel._internal.index import SessionIndex, index_path, read_facts
from radium_otel._internal.record import (
    CacheStats,
    ModelUsage,
    PricingInfo,
    SessionRecord,
    ToolStats,
)
from radium_otel._internal.reports import (
    CSV_COLUMNS,
    Answer,
    IndexedSessions,
    ScannedSessions,
    Sessions,
    WhenError,
    Window,
    ask,
    history_report,
    model_report,
    parse_when,
    records_text,
    rollup_report,
    tool_report,
    write_json_array,
)
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

START = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def priced_in_part() -> SessionRecord:
    """Its total was never priced (None) but one of its two models was: the CSV gives that
    model's cost as a partial total."""
    return SessionRecord(
        id="part-priced",
        status="completed",
        start_time=START,
        end_time=START + timedelta(seconds=30),
        metadata={"agent": "réviseur", "service.name": "svc", "host": 7},
        wall_time_s=30.0,
        decisions={"reject": 1, "auto_accept": 2},
        code_changes={"lines_added": 4, "lines_removed": True, "files_changed": 1},
        model_usage=[
            ModelUsage(
                model="m-priced",
                requests=2,
                errors=1,
                input_tokens=100,
                output_tokens=10,
                cache_read_tokens=40,
                reasoning_tokens=3,
                cost_usd=0.25,
            ),
            ModelUsage(
                model="m-unknown",
                requests=1,
                input_tokens=50,
                output_tokens=5,
                cache_creation_tokens=20,
            ),
        ],
        cache_stats=CacheStats(cache_read_tokens=40, cache_creation_tokens=20, hit_rate=0.4),
    )


def without_models() -> SessionRecord:
    return SessionRecord(
        id="no-models",
        status="failed",
        start_time=START,
        metadata={"agent": ["not", "text"]},
        decisions={"modify": 1},
        cache_stats=CacheStats(hit_rate=0.0),
    )


def test_csv_cells_of_a_partly_priced_session_and_of_one_without_models() -> None:
    text = records_text([priced_in_part(), without_models()], "csv")

    assert "\r" not in text
    header, first, second, end = text.split("\n")
    assert (header.split(","), end) == (list(CSV_COLUMNS), "")
    assert dict(zip(CSV_COLUMNS, first.split(","), strict=True)) == {
        **dict.fromkeys(CSV_COLUMNS, ""),
        "id": "part-priced",
        "status": "completed",
        "start_time": "2025-03-01T09:00:00.000000Z",
        "end_time": "2025-03-01T09:00:30.000000Z",
        "agent": "réviseur",
        "wall_time_s": "30.0",
        "agent_active_time_s": "0.0",
        "api_time_s": "0.0",
        "tool_time_s": "0.0",
        "tool_calls": "0",
        "tool_successes": "0",
        "tool_failures": "0",
        "decisions_reviewed": "3",
        "decisions_accept": "0",
        "decisions_reject": "1",
        "decisions_modify": "0",
        "decisions_auto_accept": "2",
        "agreement_rate": repr(2 / 3),
        "models": "m-priced;m-unknown",
        "requests": "3",
        "model_errors": "1",
        "input_tokens": "150",
        "output_tokens": "15",
        "cache_read_tokens": "40",
        "cache_creation_tokens": "20",
        "reasoning_tokens": "3",
        "cache_hit_rate": "0.4",
        "cost_usd": "0.25",
        "cost_partial": "true",
        "lines_added": "4",
        "files_changed": "1",
        "service_name": "svc",
    }
    assert dict(zip(CSV_COLUMNS, second.split(","), strict=True)) == {
        **dict.fromkeys(CSV_COLUMNS, ""),
        "id": "no-models",
        "status": "failed",
        "start_time": "2025-03-01T09:00:00.000000Z",
        "wall_time_s": "0.0",
        "agent_active_time_s": "0.0",
        "api_time_s": "0.0",
        "tool_time_s": "0.0",
        "tool_calls": "0",
        "tool_successes": "0",
        "tool_failures": "0",
        "decisions_reviewed": "1",
        "decisions_accept": "0",
        "decisions_reject": "0",
        "decisions_modify": "1",
        "decisions_auto_accept": "0",
        "agreement_rate": "0.0",
        "requests": "0",
        "model_errors": "0",
        "input_tokens": "0",
        "output_tokens": "0",
        "cache_read_tokens": "0",
        "cache_creation_tokens": "0",
        "reasoning_tokens": "0",
    }


def test_the_json_export_is_one_array_of_the_stored_records_in_utf8() -> None:
    records = [priced_in_part(), without_models()]
    text = records_text(records, "json")

    assert json.loads(text) == [r.to_json() for r in records]
    assert '"agent": "réviseur"' in text  # not \u00e9
    assert text.startswith("[\n  {\n    ") and text.endswith("\n  }\n]\n")

    buf = io.StringIO()
    assert write_json_array(iter(records * 2), buf) == 4
    assert len(json.loads(buf.getvalue())) == 4
    assert records_text([], "json") == "[]\n"


NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local time zone five hours behind UTC: a time without an offset is still UTC."""
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01 10:30", datetime(2025, 3, 1, 10, 30, tzinfo=timezone.utc)),
        ("2025-03-01T10:30:00", datetime(2025, 3, 1, 10, 30, tzinfo=timezone.utc)),
        ("2025-03-01T10:30:00Z", datetime(2025, 3, 1, 10, 30, tzinfo=timezone.utc)),
        ("2025-03-01 12:30+02:00", datetime(2025, 3, 1, 10, 30, tzinfo=timezone.utc)),
    ],
)
def test_a_time_is_a_utc_instant_whatever_the_local_zone(
    text: str, expected: datetime, far_from_utc: None
) -> None:
    got = parse_when(text, NOW)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_until_the_last_day_of_the_calendar_is_its_last_microsecond() -> None:
    assert parse_when("9999-12-31", NOW, end=True) == datetime(
        9999, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone.utc
    )
    assert parse_when("99991231", NOW) == datetime(9999, 12, 31, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["garbage", "2025-3-1", "2025-03-01x10"])
def test_other_values_are_refused(text: str) -> None:
    with pytest.raises(WhenError, match=r"^invalid date "):
        parse_when(text, NOW)


def stored_sessions(folder: Path) -> None:
    store = SessionStore(folder)
    a = ModelUsage(model="model-a", provider="openai", requests=1, input_tokens=1)
    for sid, models in [
        ("aaaa0001", [a, replace(a, provider="azure")]),  # one session, two rows of model-a
        ("aaaa0002", [a, replace(a, model="model-b")]),
        ("bbbb0001", [replace(a, model="model-b")]),
    ]:
        store.write(SessionRecord(id=sid, status="completed", start_time=START, model_usage=models))


def test_sessions_with_a_model_are_counted_once_each_by_the_index_and_by_a_scan(
    tmp_path: Path,
) -> None:
    folder = sessions_dir(tmp_path)
    stored_sessions(folder)
    (folder / "aaaa0000.json").write_text("{not json")  # sorts first

    scanned, skipped = ScannedSessions.read(folder)
    assert [name for name, _ in skipped] == ["aaaa0000.json"]
    assert skipped[0][1].startswith("not valid JSON (")
    with SessionIndex(folder) as index:
        index.refresh()
        indexed = IndexedSessions(index)
        for source in (scanned, indexed):
            counts = [source.sessions_with_model(m) for m in ("model-a", "model-b", "model-c")]
            assert counts == [2, 2, 0]
            assert source.names_with_prefix("aaaa") == 3  # the unreadable file is a name too
            assert source.names_with_prefix("bbbb0001") == 1
            # a prefix followed by letters past "X" in the names ("aaa" + "a...")
            assert [source.names_with_prefix(p) for p in ("a", "aaa", "b", "c")] == [3, 3, 1, 0]


@pytest.mark.parametrize(
    ("cost_usd", "pricing", "expected"),
    [
        (None, None, ("0.25", "true")),  # no total stored: its priced rows, as a partial sum
        (0.25, PricingInfo(partial=True), ("0.25", "true")),  # partial by its pricing
        (0.25, PricingInfo(partial=False), ("0.25", "false")),
    ],
)
def test_the_cost_cells_of_a_session_whose_rows_are_all_priced(
    cost_usd: float | None, pricing: PricingInfo | None, expected: tuple[str, str]
) -> None:
    record = SessionRecord(
        id="all-priced",
        status="completed",
        start_time=START,
        model_usage=[ModelUsage(model="m", requests=1, input_tokens=9, cost_usd=0.25)],
        cost_usd=cost_usd,
        pricing=pricing,
    )
    header, row, _ = records_text([record], "csv").split("\n")
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    assert (cells["cost_usd"], cells["cost_partial"]) == expected


@pytest.mark.parametrize("stored", [True, False])
def test_with_an_index_it_must_not_open_the_files_are_read_directly(
    tmp_path: Path, stored: bool
) -> None:
    """A symlinked index is refused (never followed): the answer comes from the files, says
    why, and whether there was any session at all."""
    folder = sessions_dir(tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    if stored:
        stored_sessions(folder)
    path = index_path(folder)
    path.unlink(missing_ok=True)
    path.symlink_to(tmp_path / "elsewhere.sqlite3")

    answer = ask(folder, lambda sessions: sessions.sessions_with_model("model-a"))
    assert answer == Answer(
        2 if stored else 0, [], not stored, f"refusing to open a symlinked index: {path}"
    )
    assert not (tmp_path / "elsewhere.sqlite3").exists()


# --- the order and the sums of rad stats model / tools / history --by ---------------------------
DECEMBER = datetime(2025, 12, 15, 23, 30, tzinfo=timezone.utc)


def sessions_of_two_months(folder: Path) -> None:
    """March: a session priced in part; December: two unpriced ones, of another agent."""
    store = SessionStore(folder)
    row = ModelUsage(model="m", requests=1, input_tokens=10)
    store.write(
        SessionRecord(
            id="march-01",
            status="completed",
            start_time=START,
            metadata={"agent": "coder"},
            tools={
                "bash": ToolStats(
                    calls=4, successes=1, failures=3, duration_s=2.0,
                    error_types={"ExitCode": 1, "Timeout": 2},
                ),
                "edit": ToolStats(calls=1, failures=1, error_types={"Timeout": 1}),
            },
            model_usage=[
                replace(row, model="m-free", input_tokens=50, cost_usd=0.0),
                replace(row, model="m-dear", input_tokens=5, cost_usd=0.5),
                replace(row, model="m-tiny", input_tokens=1, cost_usd=1e-9),  # 1 nano-USD
                # Unpriced: by tokens, not by name; one model without a provider first.
                replace(row, model="a-small", input_tokens=10),
                replace(row, model="z-big", input_tokens=100),
                replace(row, model="same", provider="openai"),
                replace(row, model="same", provider="azure"),
                replace(row, model="same"),
            ],
            cost_usd=0.5,
        )
    )  # fmt: skip
    for n in (1, 2):
        store.write(
            SessionRecord(
                id=f"december-{n}",
                status="completed",
                start_time=DECEMBER,
                metadata={"agent": "other"},
                tools={"edit": ToolStats(calls=2, failures=2, error_types={"ExitCode": 2})},
                model_usage=[row],
            )
        )


@pytest.fixture
def both_sources(tmp_path: Path) -> Iterator[tuple[ScannedSessions, IndexedSessions]]:
    folder = sessions_dir(tmp_path)
    sessions_of_two_months(folder)
    scanned, skipped = ScannedSessions.read(folder)
    assert skipped == []
    with SessionIndex(folder) as index:
        index.refresh()
        yield scanned, IndexedSessions(index)


def test_model_rows_by_cost_then_tokens_then_name_then_provider(
    both_sources: tuple[ScannedSessions, IndexedSessions],
) -> None:
    for source in both_sources:
        rows = model_report(source, Window()).rows
        assert [(r.model, r.provider, r.cost_usd) for r in rows] == [
            ("m-dear", None, 0.5),
            ("m-tiny", None, 1e-9),
            ("m-free", None, 0.0),
            ("z-big", None, None),
            ("m", None, None),  # 2 x 10 tokens
            ("a-small", None, None),
            ("same", None, None),
            ("same", "azure", None),
            ("same", "openai", None),
        ]


def test_tool_error_types_most_frequent_first_and_summed_over_tools(
    both_sources: tuple[ScannedSessions, IndexedSessions],
) -> None:
    for source in both_sources:
        report = tool_report(source, Window())
        assert [(r.tool, list(r.to_json()["error_types"].items())) for r in report.rows] == [
            ("edit", [("ExitCode", 4), ("Timeout", 1)]),  # 5 calls
            ("bash", [("Timeout", 2), ("ExitCode", 1)]),
        ]
        assert report.total.error_types == (("ExitCode", 5), ("Timeout", 3))


def test_months_start_on_their_first_day_in_utc_and_unpriced_ones_are_not_partial(
    both_sources: tuple[ScannedSessions, IndexedSessions], far_from_utc: None
) -> None:
    window = Window(until=datetime(2026, 1, 1, tzinfo=timezone.utc))
    for source in both_sources:
        report = rollup_report(source, window, None, "month", None).to_json()
        assert report["until"] == "2026-01-01T00:00:00.000000Z"
        assert [(p["period"], p["start"], p["cost_usd"], p["cost_partial"])
                for p in report["periods"]] == [
            ("2025-03", "2025-03-01T00:00:00.000000Z", 0.5, True),  # some rows unpriced
            ("2025-12", "2025-12-01T00:00:00.000000Z", None, False),
        ]  # fmt: skip
        assert rollup_report(source, window, None, "month", 0).periods == ()


def test_a_report_of_one_agent_says_which(
    both_sources: tuple[ScannedSessions, IndexedSessions],
) -> None:
    for source in both_sources:
        rollup = rollup_report(source, Window(), "other", "day", None).to_json()
        assert (rollup["agent"], [p["sessions"] for p in rollup["periods"]]) == ("other", [2])
        history = history_report(source, Window(), "coder", None, now=time.time()).to_json()
        assert (history["agent"], history["total_sessions"]) == ("coder", 1)


# --- how an answer is had: the index, rebuilt when corrupt; a scan racing with writers --------
def test_ask_shows_its_progress_and_rebuilds_an_index_found_corrupt_by_a_query(
    tmp_path: Path,
) -> None:
    folder = sessions_dir(tmp_path)
    folder.mkdir(parents=True)
    for n in range(300):  # written by hand: the index has yet to read them
        record = full_record(f"{n:08x}", start_time=START + timedelta(hours=n))
        (folder / f"{record.id}.json").write_text(json.dumps(record.to_json()))

    def tokens(source: Sessions) -> int:
        return model_report(source, Window()).total.input_tokens

    shown: list[tuple[int, int]] = []
    first = ask(folder, tokens, progress=lambda *p: shown.append(p))
    each = sum(row.input_tokens for row in full_record().model_usage)
    assert first == Answer(300 * each, [], False, None)
    assert (shown[0], shown[-1]) == ((0, 300), (300, 300))
    # The one page of the daily model sums overwritten: the refresh, which never reads it,
    # trusts the index; the query finds the damage.
    path = index_path(folder)
    with contextlib.closing(sqlite3.connect(path)) as db:
        (page,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'model_days'"
        ).fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    with path.open("r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xff" * size)

    # No reason: the answer came from the index, rebuilt, not from reading the files.
    assert ask(folder, tokens) == first


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="a Unix socket takes a file's place")
def test_a_file_gone_or_unreadable_by_the_time_a_scan_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers replace files while a scan runs: one listed file is deleted before it is read
    (left out), another replaced by something that cannot be opened (named, with why)."""
    folder = sessions_dir(tmp_path)
    store = SessionStore(folder)
    for sid in ("aaaa0001", "aaaa0002", "aaaa0003"):
        store.write(SessionRecord(id=sid, status="completed", start_time=START))
    monkeypatch.chdir(folder)  # a socket's path must be short
    sockets: list[socket.socket] = []

    def racing(path: Path) -> Any:
        if path.name != "aaaa0003.json":
            path.unlink()
        if path.name == "aaaa0002.json":
            sockets.append(socket.socket(socket.AF_UNIX))
            sockets[-1].bind(path.name)
        return read_facts(path)

    monkeypatch.setattr(reports, "read_facts", racing)
    try:
        scanned, skipped = ScannedSessions.read(folder)
    finally:
        for s in sockets:
            s.close()

    assert skipped == [("aaaa0002.json", "cannot read (No such device or address)")]
    assert [f.id for f in scanned.facts] == ["aaaa0003"]
    assert scanned.names_with_prefix("aaaa") == 3
