"""``rad ui`` over plain HTTP: what it refuses, its headers, and that its JSON is the JSON
of ``rad stats``.
"""

from __future__ import annotations

import http.client
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from radium_otel._internal.index import DAY_US
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

from .conftest import CLAUDE, CODEX, FAILING, GEMINI, LIVE, OTLP, RadUI, rad_json, records


def request(
    ui: RadUI, path: str, method: str = "GET", host: str | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", ui.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{ui.port}")
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def get_json(ui: RadUI, path: str) -> Any:
    status, headers, body = request(ui, path)
    assert status == 200, body
    assert headers["content-type"] == "application/json; charset=utf-8"
    return json.loads(body)


# --- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "attacker.test", "127.0.0.1", "127.0.0.1:1", "localhost.evil:{port}",
     "[::1]:{port}", ""],
)  # fmt: skip
def test_other_hosts_are_refused_dns_rebinding(rad_ui: RadUI, host: str) -> None:
    for path in ("/", "/api/overview", "/static/app.js"):
        status, _, body = request(rad_ui, path, host=host.format(port=rad_ui.port))
        assert status == 421, (host, path)
        assert b"session" not in body.lower()


def test_its_own_names_are_accepted(rad_ui: RadUI) -> None:
    for host in (f"127.0.0.1:{rad_ui.port}", f"localhost:{rad_ui.port}"):
        status, _, _ = request(rad_ui, "/", host=host)
        assert status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_only_get(rad_ui: RadUI, method: str) -> None:
    status, headers, _ = request(
        rad_ui, "/api/sessions", method, body=b"{}" if method in ("POST", "PUT") else None
    )
    assert status == 405
    assert headers["allow"] == "GET"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fviews.py",
        "/static/vendor/uplot/../../server.py",
        "/static/app.js/../../server.py",
        "/../radium_otel/ui/server.py",
        "//etc/passwd",
        "/static//app.js",
        "/static/views.py",
        "/api/session/..%2f..%2f..%2fetc%2fpasswd",
        "/api/session/../../index",
        "/api/session/%2e%2e",
        "/api/session/..",
        "/api/session/.json",
        "/api/session/c1000000-0000-4000-8000-000000000001.json/../x",
        "/api/../api/live",
        "/api/nothing",
        "/etc/passwd",
        "/index.html",
    ],
)
def test_path_tricks_are_refused(rad_ui: RadUI, path: str) -> None:
    status, _, body = request(rad_ui, path)
    assert status in (400, 404), (path, status)
    assert b"root:" not in body and b"import " not in body and b"def " not in body


def test_a_session_id_must_name_one_session(rad_ui: RadUI) -> None:
    status, _, body = request(rad_ui, "/api/session/c")
    assert status == 404
    assert json.loads(body) == {"error": "no session 'c' (a prefix needs at least 4 characters)"}
    status, _, body = request(rad_ui, "/api/session/c000")
    assert status == 404
    assert "ambiguous" not in json.loads(body)["error"]  # c000… matches none; c1.., c2.. differ
    status, _, _ = request(rad_ui, "/api/session/c100")
    assert status == 200


def test_bad_parameters_are_one_clear_error(rad_ui: RadUI) -> None:
    for path, message in [
        ("/api/sessions?sort=id;DROP", "unknown sort 'id;DROP'"),
        ("/api/sessions?status=gone", "unknown status 'gone'"),
        ("/api/sessions?per_page=7", "per_page must be one of 25, 50, 100, 200"),
        ("/api/sessions?page=-1", "page must be a whole number"),
        ("/api/overview?since=yesterday", "invalid date 'yesterday'"),
        ("/api/overview?by=year", "by must be day, week, month or auto"),
        ("/api/sessions?agent=a&agent=b", "agent given more than once"),
    ]:
        status, _, body = request(rad_ui, path)
        assert status == 400, path
        assert json.loads(body)["error"].startswith(message), path


def test_security_headers_on_every_answer(rad_ui: RadUI) -> None:
    for path in ("/", "/static/app.js", "/api/live", "/api/nothing"):
        _, headers, _ = request(rad_ui, path)
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


def test_static_files_and_the_vendored_licence(rad_ui: RadUI) -> None:
    status, headers, body = request(rad_ui, "/static/vendor/uplot/uPlot.iife.min.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert b"uPlot" in body
    package = Path(__file__).resolve().parents[2] / "radium_otel" / "ui" / "static" / "vendor"
    assert "MIT License" in (package / "uplot" / "LICENSE").read_text()
    _, _, page = request(rad_ui, "/")
    assert b"<script>" not in page  # no inline script: CSP script-src 'self'
    assert b"http://" not in page and b"https://" not in page  # nothing from elsewhere


def test_listens_on_loopback_only(rad_ui: RadUI) -> None:
    import socket

    addresses = {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    for address in addresses - {"127.0.0.1", "::1"} - {a for a in addresses if ":" in a}:
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((address, rad_ui.port)) != 0, address


# --- the JSON is rad stats' JSON -------------------------------------------------------------
def test_models_and_tools_are_rad_stats_json(
    rad_ui: RadUI, rad_exe: str, ui_workspace: Path
) -> None:
    assert get_json(rad_ui, "/api/models") == rad_json(rad_exe, ui_workspace, "model")
    tools = get_json(rad_ui, "/api/tools")
    slowest = tools.pop("slowest")
    assert tools == rad_json(rad_exe, ui_workspace, "tools")
    assert slowest[0] == "run_tests"  # 10 s a call
    window = get_json(rad_ui, "/api/models?since=2025-03-10&until=2025-03-16")
    assert window == rad_json(
        rad_exe, ui_workspace, "model", "--since", "2025-03-10", "--until", "2025-03-16"
    )


def test_session_is_rad_stats_session_json(rad_ui: RadUI, rad_exe: str, ui_workspace: Path) -> None:
    for sid in (CLAUDE, CODEX, OTLP, FAILING):
        data = get_json(rad_ui, f"/api/session/{sid[:8]}")
        assert data["record"] == rad_json(rad_exe, ui_workspace, "session", sid)
        assert data["models"] == rad_json(rad_exe, ui_workspace, "model", sid)
        assert data["tools"] == rad_json(rad_exe, ui_workspace, "tools", sid)
    data = get_json(rad_ui, f"/api/session/{CLAUDE}")
    assert data["record"]["reported_cost_usd"] == 0.0712
    assert "Cost:                       $0.07 ($0.07 reported by claude-code)" in data["summary"]


def test_session_list_rows_are_rad_stats_history_rows(
    rad_ui: RadUI, rad_exe: str, ui_workspace: Path
) -> None:
    listing = get_json(rad_ui, "/api/sessions?per_page=25")
    history = rad_json(rad_exe, ui_workspace, "history", "--limit", "0")
    assert listing["total_sessions"] == history["total_sessions"] == 7
    extra = ("short_id", "source", "models", "tags")
    rows = [{k: v for k, v in r.items() if k not in extra} for r in listing["sessions"]]
    assert rows == history["sessions"]
    sources = {r["id"]: r["source"] for r in listing["sessions"]}
    assert sources[CODEX] == "codex" and sources[FAILING] is None


def test_session_list_filters_and_sorts(rad_ui: RadUI) -> None:
    def ids(query: str) -> list[str]:
        return [r["id"] for r in get_json(rad_ui, "/api/sessions?" + query)["sessions"]]

    assert ids("source=codex") == [CODEX]
    assert set(ids("source=claude-code")) == {CLAUDE, LIVE}
    assert ids("status=failed") == [FAILING]
    assert ids("status=active") == [LIVE]
    assert ids("model=local-llm") == [OTLP]
    assert ids("tag=team=support") == [OTLP]
    assert ids("tag=ticket") == [CLAUDE]
    assert ids("since=2025-03-12&until=2025-03-12") == [OTLP]
    assert ids("since=2025-03-11&until=2025-03-12") == [OTLP, GEMINI]
    costs = [r["cost_usd"] for r in get_json(rad_ui, "/api/sessions?sort=cost")["sessions"]]
    priced = [c for c in costs if c is not None]
    assert priced == sorted(priced, reverse=True) and costs[-1] is None  # unpriced last
    asc = ids("sort=start&order=asc")
    assert asc == ids("sort=start")[::-1]
    page2 = get_json(rad_ui, "/api/sessions?per_page=25&page=2")
    assert page2["sessions"] == [] and page2["pages"] == 1


def test_overview_is_made_of_rad_stats_reports(
    rad_ui: RadUI, rad_exe: str, ui_workspace: Path
) -> None:
    data = get_json(rad_ui, "/api/overview?by=week&until=2025-03-31")
    rollup = rad_json(rad_exe, ui_workspace, "history", "--by", "week", "--limit", "0",
                      "--until", "2025-03-31")  # fmt: skip
    assert data["rollup"] == rollup
    assert [p["period"] for p in data["periods"]] == ["2025-W10", "2025-W11", "2025-W12"]
    keys = ("period", "sessions", "tool_calls", "tokens", "cost_usd", "cost_partial")
    for mine, theirs in zip(data["periods"], rollup["periods"], strict=True):
        assert {k: mine[k] for k in keys} == {k: theirs[k] for k in keys}
        week = rad_json(rad_exe, ui_workspace, "model", "--since", mine["since"][:10],
                        "--until", mine["since"][:10])  # fmt: skip
        assert mine["requests"] >= week["total"]["requests"]  # a day's model report is a part
    models = rad_json(rad_exe, ui_workspace, "model", "--until", "2025-03-31")
    assert data["model_total"] == models["total"]
    tools = rad_json(rad_exe, ui_workspace, "tools", "--until", "2025-03-31")
    assert data["tool_total"] == tools["total"]
    assert data["decisions"] == tools["decisions"]
    assert data["cache"]["hit_rate"] == (
        models["total"]["cache_read_tokens"] / models["total"]["input_tokens"]
    )
    stored = [r for r in records(datetime.now(timezone.utc)) if r.start_time.year == 2025]
    assert data["time"]["api_time_s"] == pytest.approx(sum(r.api_time_s for r in stored))
    assert data["cache"]["savings_usd"] == pytest.approx(
        sum(r.cache_stats.savings_usd or 0 for r in stored)
    )


def test_live_sees_a_session_that_starts_and_one_that_ends(
    rad_ui: RadUI, ui_workspace: Path
) -> None:
    before = get_json(rad_ui, "/api/live")
    assert [s["id"] for s in before["active"]] == [LIVE]
    store = SessionStore(sessions_dir(ui_workspace))
    now = datetime.now(timezone.utc)
    started = next(r for r in records(now) if r.id == LIVE)
    from dataclasses import replace

    new_id = "a7000000-0000-4000-8000-000000000007"
    store.write(replace(started, id=new_id, start_time=now - timedelta(seconds=5)))
    try:
        deadline = time.monotonic() + 10
        while True:
            after = get_json(rad_ui, "/api/live")
            if after["version"] != before["version"]:
                break
            assert time.monotonic() < deadline, "the index never saw the new session"
            time.sleep(0.2)
        assert {s["id"] for s in after["active"]} == {LIVE, new_id}
        store.write(replace(started, id=new_id, status="completed", end_time=now))
        ended = get_json(rad_ui, "/api/live")
        assert [s["id"] for s in ended["active"]] == [LIVE]
    finally:
        (sessions_dir(ui_workspace) / f"{new_id}.json").unlink()
        get_json(rad_ui, "/api/live")  # the index forgets it again


def test_kept_answers_follow_the_index(rad_ui: RadUI, ui_workspace: Path) -> None:
    """The overview and the filter options are kept per index version: a session written or
    removed shows at once, and the answers come back to what they were.
    """
    from dataclasses import replace

    from .conftest import _model

    overview, options = "/api/overview?until=2025-03-31", "/api/options"
    before = get_json(rad_ui, overview), get_json(rad_ui, options)
    assert (get_json(rad_ui, overview), get_json(rad_ui, options)) == before  # kept, same
    store = SessionStore(sessions_dir(ui_workspace))
    claude = next(r for r in records(datetime.now(timezone.utc)) if r.id == CLAUDE)
    new_id = "b8000000-0000-4000-8000-000000000008"
    metadata = {**claude.metadata, "agent": "newcomer", "source": "brand-new-source"}
    usage = [_model("brand-new-model", "acme", 1, 10, 10, 0.5)]
    store.write(replace(claude, id=new_id, metadata=metadata, model_usage=usage, cost_usd=0.5))
    try:
        added = get_json(rad_ui, overview), get_json(rad_ui, options)
        assert added[0]["sessions"] == before[0]["sessions"] + 1
        assert "newcomer" in added[1]["agents"] and "newcomer" not in before[1]["agents"]
        assert "brand-new-source" in added[1]["sources"]
        assert "brand-new-model" in added[1]["models"]
    finally:
        (sessions_dir(ui_workspace) / f"{new_id}.json").unlink()
    assert (get_json(rad_ui, overview), get_json(rad_ui, options)) == before


def test_options_are_the_distinct_values(ui_workspace: Path) -> None:
    """The loose index scans and the day tables give what plain DISTINCT queries give."""
    from radium_otel.ui import views

    with views.open_index(sessions_dir(ui_workspace)) as index:
        conn = index.conn

        def distinct(sql: str) -> list[str]:
            return [str(v) for (v,) in conn.execute(sql) if v is not None]

        options = views.options(index)
        assert options["agents"] == distinct("SELECT DISTINCT agent FROM sessions ORDER BY agent")
        assert options["sources"] == distinct(
            "SELECT DISTINCT source FROM sessions ORDER BY source"
        )
        assert options["models"] == distinct("SELECT DISTINCT model FROM models ORDER BY model")
        assert len(options["agents"]) > 3 and len(options["models"]) > 2


def test_concurrent_requests_are_answered_alike(rad_ui: RadUI) -> None:
    """Requests run in parallel (one thread each) and answer what one at a time answers."""
    from concurrent.futures import ThreadPoolExecutor

    paths = ["/api/overview", "/api/options", "/api/sessions?sort=cost", "/api/tools",
             "/api/models", "/api/overview?by=day", "/api/sessions?agent=codex"]  # fmt: skip
    alone = [get_json(rad_ui, p) for p in paths]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda p: get_json(rad_ui, p), paths * 4))
    assert together == alone * 4


def test_day_sums_are_the_days_of_the_sessions(ui_workspace: Path, tmp_path: Path) -> None:
    """The per-day sums kept one session at a time, and recomputed by a bulk check, equal the
    sums over the sessions (`SessionIndex.days`), with the overview's time and savings sums.
    """
    import shutil

    from radium_otel._internal.index import SessionIndex

    day = (
        f"(CASE WHEN start_us >= 0 THEN start_us / {DAY_US} ELSE (start_us + 1) / {DAY_US} - 1 END)"
    )
    sums = (
        f"SELECT {day} AS d, SUM(api_us), SUM(tool_us), IFNULL(SUM(savings_nusd), 0), "
        "COUNT(savings_nusd) FROM sessions GROUP BY d ORDER BY d"
    )
    copy = tmp_path / "sessions"
    shutil.copytree(sessions_dir(ui_workspace), copy)
    for bulk in (1, 1000):  # recomputed at once, then kept file by file
        (tmp_path / "index.sqlite3").unlink(missing_ok=True)
        with SessionIndex(copy, bulk=bulk) as index:
            index.refresh()
            kept = index.day_sums(None, None)
            assert [t for t, *_ in kept] == index.days(None, None, None)
            assert [(t.day, *rest) for t, *rest in kept] == index.conn.execute(sums).fetchall()
            first, end = kept[1][0].day, kept[-1][0].day
            assert [t for t, *_ in index.day_sums(first, end)] == index.days(
                first * DAY_US, end * DAY_US, None
            )
            # a session gone takes its day's sums back
            name = index.conn.execute("SELECT file FROM sessions ORDER BY start_us").fetchone()[0]
            (copy / name).unlink()
            index.refresh()
            assert [t for t, *_ in index.day_sums(None, None)] == index.days(None, None, None)
            shutil.copy(sessions_dir(ui_workspace) / name, copy / name)
