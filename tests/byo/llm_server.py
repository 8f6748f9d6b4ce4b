"""A scripted LLM HTTP server on 127.0.0.1 for driving the real provider clients.

Tests point ``openai.OpenAI(base_url=server.url("/v1"))`` (or Anthropic, Google GenAI) at it
and script what each route answers::

    with LLMServer() as server:
        server.add("POST", r"/v1/chat/completions", json_response(200, {...}))
        server.add("POST", r"/v1/chat/completions", sse_response([{...}, {...}]), times=1)
        ...
        assert server.requests[0].json()["model"] == "gpt-4o"

Routes are tried in the order they were added; a route with ``times=N`` answers N requests
and is then skipped, so a test can queue "first a 429, then a 200" on one path. A route's
answer is a `Response` or a function of the `Request` that returns one. Unmatched requests
get a 404 and are listed in ``server.unmatched``. Streamed bodies (``sse_response``,
``ndjson_response``) go out with chunked transfer encoding, one flush per event, the way a
provider streams. The server binds port 0 on loopback only and stops on exit.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "LLMServer",
    "Request",
    "Response",
    "json_response",
    "ndjson_response",
    "raw_response",
    "sse_response",
]


@dataclass(frozen=True)
class Request:
    """A request the server received."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Response:
    """What a route answers: status, headers and the body in pieces.

    With ``stream=True`` each piece is sent as its own HTTP chunk and flushed, after
    ``chunk_delay_s``; otherwise the pieces are joined and sent with a Content-Length.
    ``delay_s`` is waited before the status line (a slow model).
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    chunks: tuple[bytes, ...] = ()
    stream: bool = False
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0


Handler = Callable[[Request], Response]


def json_response(
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    delay_s: float = 0.0,
) -> Response:
    """A JSON body (``application/json``)."""
    return Response(
        status,
        (("Content-Type", "application/json"), *(headers or {}).items()),
        (json.dumps(body).encode(),),
        delay_s=delay_s,
    )


def sse_response(
    events: Iterable[Any],
    *,
    done: bool = True,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    delay_s: float = 0.0,
    chunk_delay_s: float = 0.0,
) -> Response:
    """A Server-Sent Events stream, one event a chunk.

    Each event is a JSON-able value (sent as ``data: <json>``), a ``(event_name, value)``
    pair (``event: <name>`` then ``data: <json>``, Anthropic's and the Responses API's
    shape) or a ready ``str`` of SSE lines. ``done`` ends with OpenAI's ``data: [DONE]``.
    """
    chunks = [_sse_event(event) for event in events]
    if done:
        chunks.append(b"data: [DONE]\n\n")
    return Response(
        status,
        (("Content-Type", "text/event-stream"), *(headers or {}).items()),
        tuple(chunks),
        stream=True,
        delay_s=delay_s,
        chunk_delay_s=chunk_delay_s,
    )


def ndjson_response(
    lines: Iterable[Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    delay_s: float = 0.0,
    chunk_delay_s: float = 0.0,
) -> Response:
    """Newline-delimited JSON, one line a chunk."""
    return Response(
        status,
        (("Content-Type", "application/x-ndjson"), *(headers or {}).items()),
        tuple(json.dumps(line).encode() + b"\n" for line in lines),
        stream=True,
        delay_s=delay_s,
        chunk_delay_s=chunk_delay_s,
    )


def raw_response(
    status: int,
    body: bytes | str = b"",
    *,
    content_type: str = "text/plain",
    headers: Mapping[str, str] | None = None,
    delay_s: float = 0.0,
) -> Response:
    """Any body, as given."""
    data = body.encode() if isinstance(body, str) else body
    return Response(
        status,
        (("Content-Type", content_type), *(headers or {}).items()),
        (data,),
        delay_s=delay_s,
    )


def _sse_event(event: Any) -> bytes:
    if isinstance(event, str):
        return event.encode() if event.endswith("\n\n") else (event + "\n\n").encode()
    if isinstance(event, tuple) and len(event) == 2 and isinstance(event[0], str):
        name, data = event
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
    return f"data: {json.dumps(event)}\n\n".encode()


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    answer: Response | Handler
    times: int | None
    served: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method != method or not self.pattern.fullmatch(path):
            return False
        return self.times is None or self.served < self.times


@dataclass
class LLMServer:
    """A `ThreadingHTTPServer` on 127.0.0.1 (port 0) serving scripted routes."""

    host: str = "127.0.0.1"
    requests: list[Request] = field(default_factory=list)
    unmatched: list[Request] = field(default_factory=list)
    _routes: list[_Route] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # --- scripting ---------------------------------------------------------------------
    def add(
        self,
        method: str,
        path_regex: str,
        response: Response | Handler,
        *,
        times: int | None = None,
    ) -> None:
        """Answer ``method`` requests whose path (without query) fully matches ``path_regex``.

        ``times`` limits how many requests this route answers (then later routes are tried).
        """
        route = _Route(method.upper(), re.compile(path_regex), response, times)
        with self._lock:
            self._routes.append(route)

    def reset(self) -> None:
        """Forget every route and every recorded request."""
        with self._lock:
            self._routes.clear()
            self.requests.clear()
            self.unmatched.clear()

    # --- addresses -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "") -> str:
        """The base URL followed by ``path`` (``server.url("/v1")`` for OpenAI)."""
        return self.base_url + path

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> LLMServer:
        """Bind and serve in a daemon thread."""
        server = self

        class _Handler(_RequestHandler):
            owner = server

        self._httpd = ThreadingHTTPServer((self.host, 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- serving -------------------------------------------------------------------------
    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            for route in self._routes:
                if route.matches(request.method, request.path):
                    route.served += 1
                    answer = route.answer
                    break
            else:
                self.unmatched.append(request)
                return json_response(
                    404, {"error": {"message": f"no route for {request.method} {request.path}"}}
                )
        return answer(request) if callable(answer) else answer


class _RequestHandler(BaseHTTPRequestHandler):
    owner: LLMServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        response = self.owner._answer(request)
        if response.delay_s:
            time.sleep(response.delay_s)
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        if response.stream:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in response.chunks:
                if response.chunk_delay_s:
                    time.sleep(response.chunk_delay_s)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            data = b"".join(response.chunks)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``server.requests`` instead."""
