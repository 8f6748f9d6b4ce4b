"""``rad ui``: a read-only local web server over the session index.

Standard library only (`http.server.ThreadingHTTPServer`). It listens on 127.0.0.1, answers
GET and nothing else (405), refuses any ``Host`` but ``127.0.0.1:<port>`` / ``localhost:<port>``
(a page on another site that rebinds its DNS name to 127.0.0.1 gets 421), serves its own files
from a fixed list (no file-system path is ever built from a URL), and sends a Content Security
Policy that allows only its own scripts, styles and requests. There is nothing to write: the
JSON endpoints read the index, which each request refreshes from the session files, so a
session that `rad collect` or an agent is writing shows up within the page's next poll.

Requests are answered concurrently (one thread each; only the refresh is one at a time), and
what depends on the index alone (the overview, the filter options, the tools and models pages)
is kept per index version (`SessionIndex.version`, read in the same read transaction as the
figures), so a page drawn again over an unchanged index reads nothing but that number.
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
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from radium_otel._internal.index import SessionIndex
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


#: Answers kept per index version (overviews of relative windows differ by the second).
CACHE_SIZE = 64


class UIServer(ThreadingHTTPServer):
    """The server of one sessions folder; requests are answered concurrently."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, folder: Path, port: int = 0, *, quiet: bool = True) -> None:
        self.folder = folder
        self.quiet = quiet
        # One refresh at a time: concurrent ones would only compete for SQLite's write lock
        # and list the folder twice. Queries run in parallel (each on its own connection).
        self.lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache_version: int | None = None
        self._cache: dict[tuple[Any, ...], Any] = {}
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
        endpoint = _ENDPOINTS.get(path)
        if endpoint is None:
            raise views.UIError("not found", 404)
        args = endpoint.parse(params)
        with views.open_index(self.folder, lock=self.lock) as index:
            if not endpoint.cached:
                return endpoint.answer(index, *args)
            return self._cached(index, (path, *args), lambda: endpoint.answer(index, *args))

    def _cached(self, index: SessionIndex, key: tuple[Any, ...], answer: Callable[[], Any]) -> Any:
        """``answer()``, or what it gave before at this index version."""
        conn = index.conn
        conn.execute("BEGIN")  # one snapshot: the version and the figures read agree
        try:
            version = index.version()
            if version is not None:
                with self._cache_lock:
                    if version == self._cache_version and key in self._cache:
                        return self._cache[key]
            data = answer()
        finally:
            conn.execute("COMMIT")
        if version is not None:
            with self._cache_lock:
                if version != self._cache_version:
                    self._cache_version = version
                    self._cache.clear()
                elif len(self._cache) >= CACHE_SIZE:
                    del self._cache[next(iter(self._cache))]
                self._cache[key] = data
        return data


class _Endpoint(NamedTuple):
    parse: Callable[[Mapping[str, list[str]]], tuple[Any, ...]]
    answer: Callable[..., Any]
    cached: bool  # a function of the index alone (not of the clock)


def _window(params: Mapping[str, list[str]]) -> Window:
    return views.parse_window(_one(params, "since"), _one(params, "until"))


def _nothing(params: Mapping[str, list[str]]) -> tuple[()]:
    return ()


_ENDPOINTS: Mapping[str, _Endpoint] = {
    "/api/overview": _Endpoint(lambda p: (_window(p), _by(p)), views.overview, True),
    "/api/sessions": _Endpoint(lambda p: (query_from(p),), views.session_list, False),
    "/api/tools": _Endpoint(lambda p: (_window(p),), views.tool_view, True),
    "/api/models": _Endpoint(lambda p: (_window(p),), views.model_view, True),
    "/api/options": _Endpoint(_nothing, views.options, True),
    "/api/live": _Endpoint(_nothing, views.live, False),
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
