"""``rad ui``: a read-only local web server over the session index.

Standard library only (`http.server.ThreadingHTTPServer`). It listens on 127.0.0.1, answers
GET and nothing else (405), refuses any ``Host`` but ``127.0.0.1:<port>`` / ``localhost:<port>``
(a page on another site that rebinds its DNS name to 127.0.0.1 gets 421), serves its own files
from a fixed list (no file-system path is ever built from a URL), and sends a Content Security
Policy that allows only its own scripts, styles and requests. There is nothing to write: the
JSON endpoints read the index, which each request refreshes from the session files, so a
session that `rad collect` or an agent is writing shows up within the page's next poll.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from radium_otel._internal.reports import Granularity, Window
from radium_otel.ui import views

__all__ = ["CSP", "STATIC", "UIServer", "make_server"]

HOST = "127.0.0.1"

#: The files the server (and the HTML report) serves, by URL path: (package file, type).
STATIC: Mapping[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
    "/static/vendor/uplot/uPlot.iife.min.js": (
        "vendor/uplot/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
    ),
    "/static/vendor/uplot/uPlot.min.css": ("vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"),
    "/static/favicon.svg": ("favicon.svg", "image/svg+xml"),
}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

_SESSION_PATH = re.compile(r"/api/session/([0-9A-Za-z_.-]{1,128})")
_MAX_QUERY = 4096


def static_bytes(name: str) -> bytes:
    """A file of ``radium_otel/ui/static`` (from the installed package)."""
    return resources.files("radium_otel.ui").joinpath("static", *name.split("/")).read_bytes()


def _one(params: Mapping[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise views.UIError(f"{key} given more than once")
    return values[0].strip() or None


def _int(params: Mapping[str, list[str]], key: str, default: int) -> int:
    value = _one(params, key)
    if value is None:
        return default
    if not value.isdigit() or len(value) > 9:
        raise views.UIError(f"{key} must be a whole number")
    return int(value)


_BY: Mapping[str, Granularity] = {"day": "day", "week": "week", "month": "month"}


def _by(params: Mapping[str, list[str]]) -> Granularity | None:
    by = _one(params, "by")
    if by in (None, "auto"):
        return None
    if by not in _BY:
        raise views.UIError("by must be day, week, month or auto")
    return _BY[by]


def query_from(params: Mapping[str, list[str]]) -> views.SessionQuery:
    """The session list's query from URL parameters."""
    per_page = _int(params, "per_page", 50)
    if per_page not in views.PAGE_SIZES:
        raise views.UIError(f"per_page must be one of {', '.join(map(str, views.PAGE_SIZES))}")
    order = _one(params, "order") or "desc"
    if order not in ("asc", "desc"):
        raise views.UIError("order must be asc or desc")
    return views.SessionQuery(
        window=views.parse_window(_one(params, "since"), _one(params, "until")),
        agent=_one(params, "agent"),
        source=_one(params, "source"),
        tag=_one(params, "tag"),
        model=_one(params, "model"),
        status=_one(params, "status"),
        sort=_one(params, "sort") or "start",
        descending=order == "desc",
        page=_int(params, "page", 1),
        per_page=per_page,
    )


class UIServer(ThreadingHTTPServer):
    """The server of one sessions folder; one request at a time reads the index."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, folder: Path, port: int = 0, *, quiet: bool = True) -> None:
        self.folder = folder
        self.quiet = quiet
        # One reader at a time: the index is refreshed then queried, and concurrent refreshes
        # would only compete for SQLite's write lock on two cores.
        self.lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    @property
    def port(self) -> int:
        """The port listened on (the free one picked for port 0)."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """The address to open."""
        return f"http://{HOST}:{self.port}/"

    def allowed_hosts(self) -> set[str]:
        """``Host`` values accepted: this server's address by IP or as localhost."""
        return {f"{HOST}:{self.port}", f"localhost:{self.port}"}

    def api(self, path: str, params: Mapping[str, list[str]]) -> Any:
        """The JSON answer of an ``/api/...`` path (raises `views.UIError`)."""
        if path.startswith("/api/session/"):
            m = _SESSION_PATH.fullmatch(path)
            if m is None:
                raise views.UIError("invalid session id", 404)
            return views.session_view(self.folder, m[1])
        handler = _ENDPOINTS.get(path)
        if handler is None:
            raise views.UIError("not found", 404)
        with self.lock, views.open_index(self.folder) as index:
            return handler(index, params)


_Endpoint = Callable[[Any, Mapping[str, list[str]]], Any]


def _window(params: Mapping[str, list[str]]) -> Window:
    return views.parse_window(_one(params, "since"), _one(params, "until"))


_ENDPOINTS: Mapping[str, _Endpoint] = {
    "/api/overview": lambda index, p: views.overview(index, _window(p), _by(p)),
    "/api/sessions": lambda index, p: views.session_list(index, query_from(p)),
    "/api/tools": lambda index, p: views.tool_view(index, _window(p)),
    "/api/models": lambda index, p: views.model_view(index, _window(p)),
    "/api/options": lambda index, p: views.options(index),
    "/api/live": lambda index, p: views.live(index),
}


class _Handler(BaseHTTPRequestHandler):
    server: UIServer
    server_version = "radium-ui"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    # --- every method but GET ------------------------------------------------------------------
    def _refuse_method(self) -> None:
        self._send_text(HTTPStatus.METHOD_NOT_ALLOWED, "only GET is allowed", {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = (
        _refuse_method
    )

    def do_GET(self) -> None:
        """Answer a static file or an API call."""
        host = self.headers.get("Host", "")
        if host not in self.server.allowed_hosts():
            self._send_text(HTTPStatus.MISDIRECTED_REQUEST, "unknown host")
            return
        if self.headers.get("Content-Length") not in (None, "0") or self.headers.get(
            "Transfer-Encoding"
        ):
            self._send_text(HTTPStatus.BAD_REQUEST, "a GET request has no body")
            return
        target = self.path
        if not target.startswith("/") or len(target) > _MAX_QUERY:
            self._send_text(HTTPStatus.BAD_REQUEST, "bad request target")
            return
        parts = urlsplit(target)
        path = parts.path
        if path in STATIC:
            name, ctype = STATIC[path]
            self._send(HTTPStatus.OK, static_bytes(name), ctype)
            return
        if not path.startswith("/api/"):
            self._send_text(HTTPStatus.NOT_FOUND, "not found")
            return
        try:
            params = parse_qs(parts.query, keep_blank_values=False, strict_parsing=False)
            data = self.server.api(path, params)
        except views.UIError as exc:
            self._send_json(exc.status, {"error": str(exc)})
            return
        except Exception as exc:  # a bug: an answer, a line on stderr, the server goes on
            print(f"rad ui: internal error on {path}: {exc!r}", file=sys.stderr)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
            return
        self._send_json(HTTPStatus.OK, data)

    # --- answers -------------------------------------------------------------------------------
    def _send_json(self, status: int, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _send_text(self, status: int, text: str, extra: Mapping[str, str] | None = None) -> None:
        self._send(status, (text + "\n").encode(), "text/plain; charset=utf-8", extra)

    def _send(
        self, status: int, body: bytes, ctype: str, extra: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the page went away before its answer came

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged only when asked (``rad ui --verbose``)."""
        if not self.server.quiet:
            super().log_message(format, *args)


def make_server(folder: Path, port: int = 0, *, quiet: bool = True) -> UIServer:
    """A server bound to 127.0.0.1:``port`` (0: a free one), not yet serving."""
    return UIServer(folder, port, quiet=quiet)
