"""``rad ui`` on a large workspace: how long the overview and the session list take.

Writes ``--sessions`` synthetic session files (`bench.cli_speed.generate`), builds the index
once, then serves them with the real server (in a thread, on 127.0.0.1) and times

* each JSON endpoint over HTTP (the overview of all time and of 30 days, the first and the
  100th page of the session list, sorted by cost, filtered by agent), median of ``--runs``;
* with ``--browser`` (Debian's chromium through Playwright), the whole page: from navigation
  until the view is drawn (``main[aria-busy=false]``), for the overview and the session list,
  on a second server (its first pages have nothing kept from the endpoint timings).

``first`` is the first request or page (the server keeps the overview and the filter options
per index version, so the first one computes them and the next ones read them back).

``python -m bench.ui --sessions 100000``. Figures are printed, never asserted. With
``--workspace DIR`` the sessions are written there once and reused by the next run given the
same folder (writing and indexing 100,000 takes ~3 minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.cli_speed import generate
from radium_otel._internal.index import SessionIndex
from radium_otel._internal.workspace import sessions_dir
from radium_otel.ui.server import UIServer, make_server

ENDPOINTS = [
    ("overview, all time", "/api/overview"),
    ("overview, 30 days", "/api/overview?since=30d"),
    ("sessions, page 1", "/api/sessions"),
    ("sessions, page 100", "/api/sessions?page=100"),
    ("sessions by cost", "/api/sessions?sort=cost"),
    ("sessions of one agent", "/api/sessions?agent=coder"),
    ("filter options", "/api/options"),
    ("live poll", "/api/live"),
]
PAGES = [("overview page", "#/overview"), ("session list page", "#/sessions")]


def _get(port: int, path: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    res = conn.getresponse()
    res.read()
    took = time.perf_counter() - started
    conn.close()
    if res.status != 200:
        raise RuntimeError(f"{path}: HTTP {res.status}")
    return took


def _browser(url: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {name: [] for name, _ in PAGES}
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        for _ in range(runs):
            for name, hash_ in PAGES:
                page.goto("about:blank")
                started = time.perf_counter()
                page.goto(url + hash_)
                page.wait_for_selector("main[aria-busy=false]")
                out[name].append(time.perf_counter() - started)
        b.close()
    return out


@contextlib.contextmanager
def _serving(folder: Path) -> Iterator[UIServer]:
    server = make_server(folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def bench(ws: Path, n: int, runs: int, browser: bool, seed: int = 1) -> dict[str, Any]:
    """Generate (unless ``ws`` holds sessions already), index and time; returns the figures
    (seconds).
    """
    folder = sessions_dir(ws)
    if folder.is_dir():
        found = sum(1 for name in os.listdir(folder) if name.endswith(".json"))
        if found != n:
            raise SystemExit(f"{ws} holds {found:,} sessions, not {n:,}: give another folder")
        written = None
    else:
        ws.mkdir(parents=True, exist_ok=True)
        written = generate(ws, n, seed)
    started = time.perf_counter()
    with SessionIndex(folder) as index:
        index.refresh()
    indexed = time.perf_counter() - started
    with _serving(folder) as server:
        times = {name: [_get(server.port, path) for _ in range(runs)] for name, path in ENDPOINTS}
    pages: dict[str, list[float]] = {}
    if browser:
        with _serving(folder) as server:  # a new server: its first page has nothing kept
            pages = _browser(server.url, runs)
    return {"sessions": n, "write_s": written, "index_s": indexed, "api": times, "pages": pages}


def report(result: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    written = result["write_s"]
    wrote = "files reused" if written is None else f"files written in {written:.1f} s"
    lines = [
        f"{result['sessions']:,} sessions ({wrote}, index built or checked in "
        f"{result['index_s']:.1f} s)",
        "",
        "| what | first | median | min | max |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, samples in [*result["api"].items(), *result["pages"].items()]:
        ms = [s * 1000 for s in samples]
        lines.append(
            f"| {name} | {ms[0]:.0f} ms | {statistics.median(ms):.0f} ms | {min(ms):.0f} ms "
            f"| {max(ms):.0f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    """``python -m bench.ui [--sessions N] [--runs R] [--browser]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="time the pages in chromium too")
    parser.add_argument(
        "--workspace",
        type=Path,
        help="write the sessions here, or reuse the ones a run with the same --sessions left",
    )
    args = parser.parse_args()
    if args.workspace is not None:
        print(report(bench(args.workspace, args.sessions, args.runs, args.browser)))
        return
    with tempfile.TemporaryDirectory(prefix="rad-ui-bench-") as tmp:
        print(report(bench(Path(tmp) / "ws", args.sessions, args.runs, args.browser)))


if __name__ == "__main__":
    main()
