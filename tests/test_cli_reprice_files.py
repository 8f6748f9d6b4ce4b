"""``--reprice`` (session, model, history) and ``rad stats session --files``."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner, Result

from radium_otel._internal.record import ModelUsage, SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.cli import app

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SID = "5e55a0e0-0000-4000-8000-000000000001"
M = Decimal(1_000_000)


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(app, args, env={"COLUMNS": "120", "NO_COLOR": "1"})


def write_session(workspace: Path, **changes: object) -> SessionRecord:
    record = SessionRecord(
        id=SID,
        status="completed",
        start_time=START,
        end_time=START,
        model_usage=[
            ModelUsage(
                model="claude-sonnet-4-5",
                provider="anthropic",
                requests=2,
                input_tokens=60_000,  # 10,000 uncached + 50,000 cache reads
                output_tokens=2_000,
                cache_read_tokens=50_000,
                cost_usd=99.0,  # a stale stored figure
            )
        ],
        cost_usd=99.0,
        code_changes={
            "lines_added": 12,
            "lines_removed": 3,
            "files_changed": 2,
            "files": [
                {"path": "src/app.py", "added": 12, "removed": 3, "binary": False},
                {"path": "logo.png", "added": 0, "removed": 0, "binary": True},
            ],
            "files_truncated": False,
        },
    )
    record = dataclasses.replace(record, **changes)  # type: ignore[arg-type]
    SessionStore(sessions_dir(workspace)).write(record)
    return record


# Claude Sonnet 4.5, published per million tokens: $3 input, $0.30 cache read, $15 output.
EXPECTED = (10_000 * Decimal(3) + 50_000 * Decimal("0.30") + 2_000 * 15) / M


def test_session_reprice_recomputes_from_the_stored_tokens(tmp_path: Path) -> None:
    write_session(tmp_path)
    stored = invoke(["--workspace", str(tmp_path), "stats", "session", "--json"])
    assert json.loads(stored.stdout)["cost_usd"] == 99.0
    result = invoke(["--workspace", str(tmp_path), "stats", "session", "--json", "--reprice"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert EXPECTED == Decimal("0.075")
    assert data["cost_usd"] == float(EXPECTED)
    assert data["model_usage"][0]["cost_usd"] == float(EXPECTED)
    assert result.stderr.startswith("rad: note: costs recomputed from the stored tokens")
    # The stored file is not changed by --reprice.
    again = invoke(["--workspace", str(tmp_path), "stats", "session", "--json"])
    assert json.loads(again.stdout)["cost_usd"] == 99.0


def test_model_and_history_reprice(tmp_path: Path) -> None:
    write_session(tmp_path)
    model = invoke(["--workspace", str(tmp_path), "stats", "model", "--json", "--reprice"])
    assert model.exit_code == 0, model.stderr
    assert json.loads(model.stdout)["total"]["cost_usd"] == float(EXPECTED)
    history = invoke(["--workspace", str(tmp_path), "stats", "history", "--json", "--reprice"])
    assert history.exit_code == 0, history.stderr
    assert json.loads(history.stdout)["sessions"][0]["cost_usd"] == float(EXPECTED)
    plain = invoke(["--workspace", str(tmp_path), "stats", "history", "--json"])
    assert json.loads(plain.stdout)["sessions"][0]["cost_usd"] == 99.0


def test_a_malformed_pricing_file_is_one_error_line(tmp_path: Path) -> None:
    write_session(tmp_path)
    (tmp_path / ".radium" / "pricing.toml").write_text('[models."x"]\ninput = "cheap"\n')
    result = invoke(["--workspace", str(tmp_path), "stats", "session", "--reprice"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rad: error: ")
    assert "line 2" in lines[0]


def test_session_files_lists_the_changed_files(tmp_path: Path) -> None:
    write_session(tmp_path)
    result = invoke(["--workspace", str(tmp_path), "stats", "session", "--files"])
    assert result.exit_code == 0, result.stderr
    assert "Code Changes:               +12 -3" in result.stdout
    tail = result.stdout.rstrip("\n").splitlines()[-2:]
    assert [line.split() for line in tail] == [["+12", "-3", "src/app.py"], ["binary", "logo.png"]]


def test_session_files_says_why_changes_are_unknown(tmp_path: Path) -> None:
    write_session(
        tmp_path,
        code_changes=None,
        metadata={"code_changes_error": "not a git repository"},
    )
    result = invoke(["--workspace", str(tmp_path), "stats", "session", "--files"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip("\n").splitlines()[-1] == (
        "Code changes unknown: not a git repository"
    )
