"""Shared fixtures: session records with known numbers, a store, the installed ``rad``."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from radium_otel._internal.record import CacheStats, ModelUsage, SessionRecord, ToolStats
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

RecordFactory = Callable[..., SessionRecord]

#: The session of the seed's UX-1 example (REQ-020).
SEED_ID = "3c6ddcd3-85b6-48f1-88e1-f428ca458337"
SEED_START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc)

# Variables that change where sessions are read from or how output looks.
_ENV_PREFIXES = ("RADIUM_", "OTEL_")
_ENV_NAMES = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes several seconds (builds a wheel)")


def ux1_record() -> SessionRecord:
    """The seed's UX-1 numbers: 231 calls (214 ok, 17 failed), wall 4h 9m 54s, ..."""
    return SessionRecord(
        id=SEED_ID,
        status="completed",
        start_time=SEED_START,
        end_time=SEED_START + timedelta(seconds=14994),
        updated_time=SEED_START + timedelta(seconds=14994),
        wall_time_s=14994.0,
        agent_active_time_s=10397.0,
        api_time_s=4182.0,
        tool_time_s=6215.0,
        tool_calls=231,
        tool_successes=214,
        tool_failures=17,
        code_changes={"lines_added": 505, "lines_removed": 208},
    )


def full_record(session_id: str = SEED_ID, **changes: Any) -> SessionRecord:
    """A record with every field filled in (tools, decisions, models, cache, cost)."""
    record = SessionRecord(
        id=session_id,
        status="completed",
        start_time=SEED_START,
        end_time=SEED_START + timedelta(seconds=90, microseconds=250_000),
        updated_time=SEED_START + timedelta(seconds=90, microseconds=250_000),
        metadata={
            "agent": "coder",
            "service.name": "tests",
            "host": "example-host",
            "pid": 4242,
            "cwd": "/work/project",
            "git.branch": "main",
            "git.commit": "0123456789abcdef0123456789abcdef01234567",
            "radium_otel_version": "0.1.0",
            "tags": {"ticket": "X-1"},
        },
        wall_time_s=90.25,
        agent_active_time_s=60.3,
        api_time_s=40.3,
        tool_time_s=20.0,
        tool_calls=5,
        tool_successes=4,
        tool_failures=1,
        tools={
            "read_file": ToolStats(calls=3, successes=3, duration_s=1.5),
            "run_tests": ToolStats(
                calls=2,
                successes=1,
                failures=1,
                duration_s=18.75,
                error_types={"TestsFailed": 1},
            ),
        },
        decisions={"accept": 2, "reject": 1},
        code_changes={"lines_added": 12, "lines_removed": 3, "files_changed": 2},
        model_usage=[
            ModelUsage(
                model="claude-sonnet-4-5",
                provider="anthropic",
                requests=7,
                errors=1,
                input_tokens=21_000,
                output_tokens=1_200,
                cache_read_tokens=14_000,
                cache_creation_tokens=2_000,
                reasoning_tokens=0,
                latency_s=40.3,
                cost_usd=0.0651,
            )
        ],
        cache_stats=CacheStats(
            cache_read_tokens=14_000,
            cache_creation_tokens=2_000,
            hit_rate=14_000 / 21_000,
            savings_usd=0.0378,
        ),
        cost_usd=0.0651,
        diagnostics={"dropped_attributes": 1},
    )
    return replace(record, **changes)


@pytest.fixture
def make_record() -> RecordFactory:
    """`full_record`: a complete record; keyword arguments replace fields."""
    return full_record


@pytest.fixture
def seed_record() -> SessionRecord:
    """The seed's UX-1 session."""
    return ux1_record()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder (no ``.radium/`` yet)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def store(workspace: Path) -> SessionStore:
    """The session store of `workspace`."""
    return SessionStore(sessions_dir(workspace))


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The environment for subprocesses, without radium / OTel / colour settings."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_ENV_PREFIXES) and key not in _ENV_NAMES
    }


@pytest.fixture
def no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process without radium / OTel / colour settings from the environment."""
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES) or key in _ENV_NAMES:
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def rad_exe() -> str:
    """The ``rad`` console script installed beside this interpreter."""
    beside = Path(sys.executable).with_name("rad")
    found = str(beside) if beside.exists() else shutil.which("rad")
    if found is None:
        pytest.fail("the `rad` console script is not installed (pip install -e .)")
    return found
