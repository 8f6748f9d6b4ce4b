from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

from radium_otel import SessionRecord
from radium_otel._internal.errors import raise_internal_errors
from radium_otel.testing import isolated


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[str] = []

    def session_started(self, session_id: str, *, user_opened: bool = True) -> None:
        self.started.append(session_id)

    def session_ended(self, record: SessionRecord) -> SessionRecord:
        self.ended.append(record.id)
        return dataclasses.replace(record, code_changes={"lines_added": 3, "lines_removed": 1})


class Broken:
    def session_started(self, session_id: str, *, user_opened: bool = True) -> None:
        raise RuntimeError("start hook broke")

    def session_ended(self, record: SessionRecord) -> SessionRecord:
        raise RuntimeError("end hook broke")


def test_hooks_see_every_session_open_and_enrich_its_final_record(tmp_path: Path) -> None:
    hook = Recorder()
    with isolated(tmp_path, hooks=[hook]) as (inst, _):

        @inst.tool
        def work() -> int:
            return 1

        with inst.session(agent="a") as s:
            work()
        work()  # outside any session: the default session, closed at shutdown
    assert len(hook.started) == 2
    assert hook.started[0] == s.id
    assert hook.ended == hook.started
    assert s.record is not None
    assert s.record.code_changes == {"lines_added": 3, "lines_removed": 1}
    stored = json.loads((inst.store.folder / f"{s.id}.json").read_text())
    assert stored["code_changes"] == {"lines_added": 3, "lines_removed": 1}


def test_a_failing_hook_is_logged_and_the_record_still_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raise_internal_errors(False)
    try:
        with isolated(tmp_path, hooks=[Broken(), Recorder()]) as (inst, _):

            @inst.tool
            def work() -> int:
                return 1

            with caplog.at_level(logging.WARNING, logger="radium_otel"), inst.session() as s:
                work()
    finally:
        raise_internal_errors(None)
    assert s.record is not None
    assert s.record.tool_calls == 1
    assert s.record.code_changes == {"lines_added": 3, "lines_removed": 1}
    messages = [r.getMessage() for r in caplog.records]
    assert any("Broken.session_started" in m for m in messages)
    assert any("Broken.session_ended" in m for m in messages)
