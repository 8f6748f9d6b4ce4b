"""``rad ui`` under test: a workspace with a session of every source, the real ``rad ui``
process serving it, and Debian's chromium driven by Playwright (no browser download).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import pytest
from conftest import full_record
from playwright.sync_api import sync_playwright

from radium_otel._internal.record import CacheStats, ModelUsage, SessionRecord, ToolStats
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

CHROMIUM = os.environ.get("RADIUM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"

START = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)  # a Monday
FAILING = "f0000000-0000-4000-8000-00000000000f"
CLAUDE = "c1000000-0000-4000-8000-000000000001"
CODEX = "c2000000-0000-4000-8000-000000000002"
GEMINI = "c3000000-0000-4000-8000-000000000003"
OTLP = "c4000000-0000-4000-8000-000000000004"
DECORATED = "d5000000-0000-4000-8000-000000000005"
LIVE = "a6000000-0000-4000-8000-000000000006"


def _model(model: str, provider: str, requests: int, inp: int, out: int, cost: float | None,
           cache: int = 0) -> ModelUsage:  # fmt: skip
    return ModelUsage(
        model=model, provider=provider, requests=requests, input_tokens=inp, output_tokens=out,
        cache_read_tokens=cache, latency_s=requests * 1.5, cost_usd=cost,
    )  # fmt: skip


def records(now: datetime) -> list[SessionRecord]:
    """Sessions of every source (Claude Code, Codex, Gemini CLI, OTLP, decorators), a
    session whose tool failed, and a live one, over three weeks.
    """
    base = full_record()
    meta = {k: v for k, v in base.metadata.items() if k not in ("agent", "tags")}

    def make(sid: str, day: int, agent: str, source: str | None, **changes: Any) -> SessionRecord:
        start = START + timedelta(days=day, hours=day % 5)
        m = {**meta, "agent": agent, "tags": changes.pop("tags", {"team": "core"})}
        if source is not None:
            m["source"] = source
        return replace(
            base, id=sid, start_time=start, end_time=start + timedelta(seconds=90),
            updated_time=start + timedelta(seconds=90), metadata=m, **changes,
        )  # fmt: skip

    return [
        make(
            CLAUDE,
            0,
            "claude-code",
            "claude-code",
            reported_cost_usd=0.0712,
            decisions={"accept": 1, "auto_accept": 2},
            decision_sources={"accept": {"user": 1}, "auto_accept": {"config": 2}},
            tags={"team": "core", "ticket": "X-1"},
        ),
        make(
            CODEX,
            2,
            "codex",
            "codex",
            code_changes={
                "lines_added": 10,
                "lines_removed": 2,
                "files_changed": None,
                "measured_by": "codex",
            },
            decisions={"reject": 1},
            decision_sources={"reject": {"rule": 1}},
            model_usage=[_model("gpt-5", "openai", 4, 8_000, 2_000, 0.03, cache=2_000)],
            cache_stats=CacheStats(cache_read_tokens=2_000, hit_rate=0.25, savings_usd=0.002),
            cost_usd=0.03,
            tool_calls=2,
            tool_successes=2,
            tool_failures=0,
            tools={"shell": ToolStats(calls=2, successes=2, duration_s=3.0)},
        ),
        make(
            GEMINI,
            8,
            "gemini-cli",
            "gemini-cli",
            model_usage=[_model("gemini-2.5-pro", "google", 3, 30_000, 900, 0.0465)],
            cache_stats=CacheStats(),
            cost_usd=0.0465,
            decisions={},
            tools={"read_file": ToolStats(calls=2, successes=2, duration_s=0.4)},
            tool_calls=2,
            tool_successes=2,
            tool_failures=0,
        ),
        make(
            OTLP,
            9,
            "support-bot",
            "otlp",
            model_usage=[_model("local-llm", "ollama", 6, 4_000, 600, None)],
            cache_stats=CacheStats(),
            cost_usd=None,
            decisions={},
            tools={},
            tool_calls=0,
            tool_successes=0,
            tool_failures=0,
            code_changes=None,
            tags={"team": "support"},
        ),
        make(
            DECORATED,
            15,
            "coder",
            None,
            code_changes={
                "lines_added": 7,
                "lines_removed": 1,
                "files_changed": 2,
                "files": [
                    {"path": "src/app.py", "added": 5, "removed": 1, "binary": False},
                    {"path": "tests/test_app.py", "added": 2, "removed": 0, "binary": False},
                ],
            },
        ),
        make(
            FAILING,
            16,
            "coder",
            None,
            status="failed",
            tool_calls=4,
            tool_successes=1,
            tool_failures=3,
            tools={
                "run_tests": ToolStats(
                    calls=3,
                    successes=0,
                    failures=3,
                    duration_s=30.0,
                    error_types={"TestsFailed": 2, "TimeoutError": 1},
                ),
                "read_file": ToolStats(calls=1, successes=1, duration_s=0.1),
            },
        ),
        replace(
            make(LIVE, 17, "claude-code", "claude-code"),
            status="active",
            start_time=now - timedelta(minutes=3),
            end_time=None,
            updated_time=now,
            metadata={
                **meta,
                "agent": "claude-code",
                "source": "claude-code",
                "tags": {},
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "checkpoint_interval_s": 100_000,
            },
        ),
    ]


@pytest.fixture(scope="module")
def ui_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding `records` (written through the store, as agents write them)."""
    ws = tmp_path_factory.mktemp("ui") / "ws"
    ws.mkdir()
    store = SessionStore(sessions_dir(ws))
    for record in records(datetime.now(timezone.utc)):
        store.write(record)
    return ws


def rad_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADIUM_", "OTEL_"))}
    return {**env, "NO_COLOR": "1", "RADIUM_SUMMARY": "0"}


def rad_json(rad_exe: str, ws: Path, *args: str) -> Any:
    """``rad --workspace ws stats ... --json`` parsed."""
    out = subprocess.run(
        [rad_exe, "--workspace", str(ws), "stats", *args, "--json"],
        capture_output=True, text=True, env=rad_env(), check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout)


class RadUI:
    """A running ``rad ui --no-open`` process."""

    def __init__(self, rad_exe: str, ws: Path) -> None:
        self.proc = subprocess.Popen(
            [rad_exe, "--workspace", str(ws), "ui", "--no-open"],
            stderr=subprocess.PIPE, text=True, env=rad_env(),
        )  # fmt: skip
        assert self.proc.stderr is not None
        lines = []
        for line in self.proc.stderr:
            lines.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if found:
                self.url, self.port = found[0], int(found[1])
                break
        else:
            raise AssertionError("rad ui did not start: " + "".join(lines))
        self.log = lines
        self._drain = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._drain.start()

    def _read(self, stream: IO[str]) -> None:
        self.log.extend(stream)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._drain.join(timeout=10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        assert not any("internal error" in line for line in self.log), self.log


@pytest.fixture(scope="module")
def rad_ui(rad_exe: str, ui_workspace: Path) -> Iterator[RadUI]:
    """``rad ui`` serving `ui_workspace`."""
    server = RadUI(rad_exe, ui_workspace)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright (``executable_path``; never a download)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is not installed: scripts/bootstrap.sh --tests installs it")
        pytest.skip(f"{CHROMIUM} not installed (scripts/bootstrap.sh --tests installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Console:
    """Console messages and page errors of one page."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))

    def _message(self, msg: Any) -> None:
        if msg.type in ("error", "warning"):
            self.problems.append(f"{msg.type}: {msg.text}")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (1400×1000) whose console must stay clean."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.console = Console(pg)
    try:
        yield pg
        assert pg.console.problems == []
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    """A full-page screenshot kept as a CI artifact (``artifacts/ui/<name>.png``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("rad ui tests run on POSIX", allow_module_level=True)
