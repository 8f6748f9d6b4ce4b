"""``rad report --html FILE``: the pages of ``rad ui`` as one self-contained file.

The file holds the stylesheets, uPlot and the page script inline, and the views' JSON in a
``<script type="application/json">`` element, so it opens from disk with no network and no
server. Its Content Security Policy allows only those inline scripts and styles (by hash)
and no request at all (``default-src 'none'``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from radium_otel._internal.index import Progress
from radium_otel._internal.record import format_time
from radium_otel._internal.reports import Granularity, Window
from radium_otel.ui import views
from radium_otel.ui.server import static_bytes

__all__ = ["DETAILS", "SESSIONS", "build_report", "report_data", "report_html"]

#: Sessions listed in a report (the newest), and how many of them get a page of their own.
SESSIONS = 5000
DETAILS = 200

_LINK = re.compile(r'<link rel="stylesheet" href="/static/([^"]+)">')
_SCRIPT = re.compile(r'<script src="/static/([^"]+)" defer></script>')
_ICON = re.compile(r'<link rel="icon" href="/static/favicon.svg" type="image/svg\+xml">')


def report_data(
    folder: Path,
    window: Window,
    *,
    by: Granularity | None = None,
    sessions: int = SESSIONS,
    details: int = DETAILS,
    workspace: Path | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Everything the report's pages show, as the server's endpoints would answer it."""
    from radium_otel import __version__

    now = now or datetime.now(timezone.utc)
    with views.open_index(folder, progress=progress) as index:
        query = views.SessionQuery(window=window, per_page=max(sessions, 1))
        listing = views.session_list(index, query, now=now.timestamp())
        data: dict[str, Any] = {
            "version": __version__,
            "generated_at": format_time(now),
            "workspace": str(workspace or folder.parent.parent.parent),
            "overview": views.overview(index, window, by),
            "tools": views.tool_view(index, window),
            "models": views.model_view(index, window),
            "options": views.options(index),
            "sessions": listing["sessions"],
            "sessions_truncated": listing["total_sessions"] > len(listing["sessions"]),
            "total_sessions": listing["total_sessions"],
        }
    detail: dict[str, Any] = {}
    for row in listing["sessions"][:details]:
        try:
            detail[row["id"]] = views.session_view(folder, row["id"])
        except views.UIError:
            continue  # removed or unreadable since it was listed
    data["details"] = detail
    return data


def _inline_json(data: Any) -> str:
    # No "<" in the element's text: it can never close the element or open a comment.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def report_html(data: dict[str, Any]) -> str:
    """The report page holding ``data`` (see `report_data`)."""
    page = static_bytes("index.html").decode()
    styles: list[str] = []
    scripts: list[str] = []

    def style(m: re.Match[str]) -> str:
        css = static_bytes(m[1]).decode()
        styles.append(css)
        return f"<style>{css}</style>"

    def script(m: re.Match[str]) -> str:
        js = static_bytes(m[1]).decode()
        if "</script" in js.lower():
            raise ValueError(f"{m[1]} cannot be inlined")
        scripts.append(js)
        return f"<script>{js}</script>"

    page = _LINK.sub(style, page)
    page = _SCRIPT.sub(script, page)
    icon = base64.b64encode(static_bytes("favicon.svg")).decode()
    page = _ICON.sub(f'<link rel="icon" href="data:image/svg+xml;base64,{icon}">', page)
    csp = (
        "default-src 'none'; "
        f"script-src {' '.join(_hash(s) for s in scripts)}; "
        f"style-src {' '.join(_hash(s) for s in styles)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        f'<script type="application/json" id="radium-data">{_inline_json(data)}</script>\n'
    )
    # The policy first (it must precede what it governs), the data before the scripts.
    page = page.replace('<meta charset="utf-8">\n', '<meta charset="utf-8">\n' + head, 1)
    return page.replace("<title>radium · sessions</title>", "<title>radium · report</title>", 1)


def build_report(folder: Path, out: Path, window: Window, **options: Any) -> dict[str, Any]:
    """Write the report of ``folder``'s sessions in ``window`` to ``out``; returns its data."""
    from radium_otel._internal.reports import atomic_text_file

    data = report_data(folder, window, **options)
    with atomic_text_file(out) as f:
        f.write(report_html(data))
    return data
