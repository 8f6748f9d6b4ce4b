"""``rad ui`` and ``rad report --html`` in Debian's chromium (Playwright, executable_path):
every view loads cleanly, shows what ``rad stats … --json`` says, sorts, filters, works from
the keyboard, and the report renders from ``file://`` with the network blocked.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

from .conftest import CLAUDE, CODEX, FAILING, LIVE, OTLP, RadUI, rad_env, rad_json, records, shot

VIEWS = ["overview", "sessions", "tools", "models"]


def open_view(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("main[aria-busy=false]")
    page.wait_for_load_state("networkidle")


def values(page: Any, selector: str) -> list[Any]:
    """The raw JSON values (data-value) of the elements matching ``selector``."""
    raw = page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.value)")
    return [json.loads(v) for v in raw]


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_loads_cleanly(page: Any, rad_ui: RadUI, view: str) -> None:
    open_view(page, f"{rad_ui.url}#/{view}")
    assert page.locator("h1").first.inner_text()  # a heading, no error box
    assert page.locator("[role=alert]").count() == 0
    if view in ("overview", "tools", "models"):
        assert page.locator(".chart canvas").count() >= 2  # uPlot drew
    shot(page, view)


def test_overview_figures_are_rad_stats_json(
    page: Any, rad_ui: RadUI, rad_exe: str, ui_workspace: Path
) -> None:
    open_view(page, f"{rad_ui.url}#/overview?by=week&until=2025-03-31")
    models = rad_json(rad_exe, ui_workspace, "model", "--until", "2025-03-31")["total"]
    tools = rad_json(rad_exe, ui_workspace, "tools", "--until", "2025-03-31")
    kpi = {
        k: json.loads(v)
        for k, v in page.eval_on_selector_all(
            "[data-kpi]", "els => els.map(e => [e.dataset.kpi, e.dataset.value])"
        )
    }
    assert kpi["sessions"] == models["sessions"] == 6
    assert kpi["cost"] == models["cost_usd"]
    assert kpi["requests"] == models["requests"]
    assert kpi["tokens"] == models["input_tokens"] + models["output_tokens"]
    assert kpi["tool_success_rate"] == tools["total"]["success_rate"]
    assert kpi["agreement_rate"] == tools["decisions"]["agreement_rate"]
    cost = page.locator('[data-kpi="cost"] .kpi-value').inner_text()
    assert cost.startswith("≥ $")  # an unpriced model: a partial total, never $0
    page.click("text=Numbers per week")
    rollup = rad_json(rad_exe, ui_workspace, "history", "--by", "week", "--until", "2025-03-31")
    rows = page.eval_on_selector_all("#periods tbody tr", "rs => rs.map(r => r.dataset.period)")
    assert rows == [p["period"] for p in reversed(rollup["periods"])]
    cells = page.locator("#periods tbody tr").first.locator("td")
    newest = rollup["periods"][-1]
    assert json.loads(cells.nth(0).get_attribute("data-value")) == newest["sessions"]
    assert json.loads(cells.nth(5).get_attribute("data-value")) == newest["cost_usd"]
    shot(page, "overview-weeks")


def test_session_list_is_rad_stats_history_and_sorts(
    page: Any, rad_ui: RadUI, rad_exe: str, ui_workspace: Path
) -> None:
    open_view(page, f"{rad_ui.url}#/sessions")
    history = rad_json(rad_exe, ui_workspace, "history", "--limit", "0")["sessions"]
    ids = page.eval_on_selector_all("#sessions tbody tr", "rs => rs.map(r => r.dataset.id)")
    assert ids == [s["id"] for s in history]
    costs = values(page, "#sessions tbody td:nth-child(11)")
    assert costs == [s["cost_usd"] for s in history]
    assert values(page, "#sessions tbody td:nth-child(9)") == [s["success_rate"] for s in history]

    page.click("button[data-sort=cost]")
    page.wait_for_selector("th[aria-sort=descending] button[data-sort=cost]")
    costs = values(page, "#sessions tbody td:nth-child(11)")
    priced = [c for c in costs if c is not None]
    assert priced == sorted(priced, reverse=True) and costs[-1] is None
    page.click("button[data-sort=cost]")
    page.wait_for_selector("th[aria-sort=ascending] button[data-sort=cost]")
    again = values(page, "#sessions tbody td:nth-child(11)")
    assert [c for c in again if c is not None] == sorted(priced)
    shot(page, "sessions-by-cost")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("source", "codex", [CODEX]), ("status", "failed", [FAILING]), ("model", "local-llm", [OTLP]),
     ("tag", "team=support", [OTLP]), ("source", "claude-code", [LIVE, CLAUDE])],
)  # fmt: skip
def test_filters_change_the_list(
    page: Any, rad_ui: RadUI, field: str, value: str, expected: list[str]
) -> None:
    open_view(page, f"{rad_ui.url}#/sessions")
    page.select_option(f"#f-{field}", value)
    expect(page.locator("#sessions tbody tr")).to_have_count(len(expected))
    ids = page.eval_on_selector_all("#sessions tbody tr", "rs => rs.map(r => r.dataset.id)")
    assert ids == expected
    assert json.loads(page.get_attribute("#session-count", "data-value")) == len(expected)
    page.click("text=Clear")
    expect(page.locator("#sessions tbody tr")).to_have_count(7)


def test_the_failing_tool_session_shows_the_failure(
    page: Any, rad_ui: RadUI, rad_exe: str, ui_workspace: Path
) -> None:
    open_view(page, f"{rad_ui.url}#/sessions?status=failed")
    page.click(f"#sessions tr[data-id='{FAILING}'] a")
    page.wait_for_selector(f"[data-session='{FAILING}']")
    tools = rad_json(rad_exe, ui_workspace, "tools", FAILING)
    row = page.locator("#session-tools tr[data-tool=run_tests]")
    assert "has-failures" in (row.get_attribute("class") or "")
    assert json.loads(row.locator("td.errors").get_attribute("data-value")) == {
        "TestsFailed": 2,
        "TimeoutError": 1,
    } == tools["tools"][0]["error_types"]  # fmt: skip
    assert row.locator("td").nth(3).inner_text() == "3"  # failures
    assert "TestsFailed × 2" in row.inner_text()
    assert page.locator(".badge.st-failed").first.inner_text() == "failed"
    summary = page.locator("pre.summary").inner_text()
    assert "Tool Calls:                 4 ( ✓ 1 x 3 )" in summary
    assert "Success Rate:               25.0%" in summary
    shot(page, "session-failing")


def test_sources_pages_show_what_each_source_gives(page: Any, rad_ui: RadUI) -> None:
    open_view(page, f"{rad_ui.url}#/session/{CODEX}")
    assert "codex reported +10 −2 lines without naming the files." in page.inner_text("#files-note")
    assert "rule 1" in page.inner_text("#decisions")
    open_view(page, f"{rad_ui.url}#/session/c1000000")
    assert "$0.07 reported by claude-code" in page.inner_text("[data-kpi=cost]")
    assert "config 2" in page.inner_text("#decisions")
    open_view(page, f"{rad_ui.url}#/session/{OTLP}")
    assert page.locator("[data-kpi=cost] .kpi-value").inner_text() == "n/a"
    open_view(page, f"{rad_ui.url}#/session/d5000000")
    assert page.locator("#files tbody tr").count() == 2
    shot(page, "session")


def test_keyboard_and_labels(page: Any, rad_ui: RadUI) -> None:
    open_view(page, f"{rad_ui.url}#/sessions")
    unlabelled = page.eval_on_selector_all(
        "input, select, button",
        "els => els.filter(e => !(e.labels && e.labels.length) && !e.textContent.trim()"
        " && !e.getAttribute('aria-label')).map(e => e.outerHTML)",
    )
    assert unlabelled == []
    # the skip link first, then the brand and the four views
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sessions"
    page.keyboard.press("Enter")
    page.wait_for_selector("main[aria-busy=false]")
    # j moves through the rows, Enter opens one
    page.locator("main").focus()
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.evaluate("document.activeElement.closest('tr').dataset.id")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"[data-session='{second}']")
    page.keyboard.press("4")
    page.wait_for_selector("#models")
    assert page.evaluate("document.querySelector('[aria-current=page]').textContent") == "Models"
    page.keyboard.press("2")
    page.wait_for_selector("#sessions")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "f-since"
    # sorting from the keyboard
    page.focus("button[data-sort=wall]")
    page.keyboard.press("Enter")
    page.wait_for_selector("th[aria-sort=descending] button[data-sort=wall]")


def test_live_sessions_appear_without_a_reload(
    page: Any, rad_ui: RadUI, ui_workspace: Path
) -> None:
    open_view(page, f"{rad_ui.url}#/sessions?status=active")
    page.wait_for_selector("#live a")
    assert page.inner_text("#live") == "1 live session"
    now = datetime.now(timezone.utc)
    live = next(r for r in records(now) if r.id == LIVE)
    new_id = "a8000000-0000-4000-8000-000000000008"
    SessionStore(sessions_dir(ui_workspace)).write(
        replace(live, id=new_id, start_time=now - timedelta(seconds=2))
    )
    try:
        expect(page.locator("#live")).to_have_text("2 live sessions", timeout=15_000)
        page.wait_for_selector(f"#sessions tr[data-id='{new_id}']", timeout=15_000)
        shot(page, "live")
    finally:
        (sessions_dir(ui_workspace) / f"{new_id}.json").unlink()


def test_html_report_renders_offline(
    browser: Any, rad_exe: str, ui_workspace: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    subprocess.run(
        [rad_exe, "--workspace", str(ui_workspace), "report", "--html", str(out)],
        check=True, env=rad_env(), capture_output=True, timeout=60,
    )  # fmt: skip
    html = out.read_text()
    assert "http://" not in html.split('id="radium-data"')[0]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
    requests: list[str] = []

    def block(route: Any) -> None:
        requests.append(route.request.url)
        if route.request.url == out.as_uri():
            route.continue_()  # the report itself
        else:
            route.abort()

    context.route("**/*", block)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(out.as_uri())
        page.wait_for_selector("main[aria-busy=false]")
        assert page.locator(".chart canvas").count() >= 5
        models = rad_json(rad_exe, ui_workspace, "model")["total"]
        assert json.loads(page.get_attribute("[data-kpi=cost]", "data-value")) == models["cost_usd"]
        shot(page, "report-overview")
        for view in ("sessions", "tools", "models", f"session/{FAILING}"):
            page.evaluate(f"location.hash = '#/{view}'")
            page.wait_for_selector("main[aria-busy=false] h1")
        assert "TestsFailed × 2" in page.inner_text("#session-tools")
        page.evaluate("location.hash = '#/sessions'")
        page.wait_for_selector("#sessions")
        page.select_option("#f-source", "codex")
        expect(page.locator("#sessions tbody tr")).to_have_count(1)
        shot(page, "report-sessions")
        # only the file itself was loaded: no request left the page
        assert set(requests) <= {out.as_uri()}
        assert problems == []
    finally:
        context.close()
