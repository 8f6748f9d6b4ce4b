"""One stub model server for the real coding CLIs: scripted turns, three wire formats.

A script is a list of turns, each a `Reply` (text) or a `ToolCall` (a tool's name and its
arguments), each with the `Usage` its answer reports. The CLI's agent loop asks the model
once per turn; the stub answers its requests with the script's turns in order, whatever
the requests say, in the CLI's own API:

- Anthropic Messages (Claude Code): ``POST /v1/messages`` (``?beta=true`` or not), streamed
  (SSE: ``message_start`` with the input side of the usage, one content block per text or
  ``tool_use``, ``message_delta`` with the cumulative usage, ``message_stop``) or as one JSON
  message; ``POST /v1/messages/count_tokens`` is answered with a count.
- OpenAI Responses (Codex): ``POST /v1/responses``, SSE from ``response.created`` to
  ``response.completed`` (a tool the request declares as ``custom``, like Codex's
  ``apply_patch``, is called with a ``custom_tool_call``, any other with a ``function_call``).
  Anything else under the base URL (``/v1/analytics/…``) is a 404.
- Gemini (Gemini CLI): ``:streamGenerateContent?alt=sse`` plays the script;
  ``:generateContent`` (the CLI's side questions: which model to route to, who speaks next)
  is answered on the side, with JSON that fits the ``responseJsonSchema`` asked for.

Requests that are not the agent loop's are *auxiliary*: answered with a short text (JSON
where JSON is asked for) and `AUX_USAGE`, and recorded like the others: Claude Code's requests
without tools (a title, a quota probe), Gemini's ``generateContent``. Once the script is
played out, any further turn request gets ``"Done."`` with `AUX_USAGE`, recorded as an
``overrun`` (a test asserts there is none).

A request meant for elsewhere (``CONNECT``, or an absolute URL: the harness points the proxy
variables here) is refused with a 403 and recorded as ``outside``.

Every request served is recorded as `Served`: which API, the model asked for, what the stub
answered (the turn) and the usage it reported, in the neutral `Usage` and as the wire
object, and when it started and finished (wall clock: from the request read to the last byte
written). Tests hold the stored session to exactly these::

    with ModelStub([ToolCall("Bash", {"command": "echo hi"}, Usage(...)), Reply("ok")]) as stub:
        run_claude(..., base_url=stub.base_url)
    assert [s.usage for s in stub.turns()] == [...]
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from byo.anthropic_api import usage as anthropic_usage
from byo.gemini_api import GENERATE_PATH, STREAM_PATH
from byo.gemini_api import body as gemini_body
from byo.gemini_api import usage as gemini_usage
from byo.llm_server import (
    LLMServer,
    Request,
    Response,
    _RequestHandler,
    json_response,
    sse_response,
)

__all__ = [
    "AUX_USAGE",
    "Api",
    "ModelStub",
    "Reply",
    "Served",
    "ToolCall",
    "Turn",
    "Usage",
]

Api = Literal["anthropic", "openai", "gemini"]
Kind = Literal["turn", "auxiliary", "overrun", "count_tokens", "unmatched", "outside"]


@dataclass(frozen=True)
class Usage:
    """The tokens one answer reports, in one neutral form that each API spells its own way.

    ``input_tokens`` is the fresh input only (neither read from nor written to the cache, as
    Anthropic counts it); ``output_tokens`` is all the output, ``reasoning_tokens`` included
    (as OpenAI counts it).
    """

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        """All the input: fresh, read from and written to the cache (OpenAI's, Gemini's)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_creation_tokens

    def anthropic(self) -> dict[str, Any]:
        """A Messages ``usage`` (cache writes are 5-minute ones)."""
        return anthropic_usage(
            self.input_tokens,
            self.output_tokens,
            cache_read=self.cache_read_tokens,
            cache_write_5m=self.cache_creation_tokens,
        )

    def openai(self) -> dict[str, Any]:
        """A Responses ``usage``."""
        return {
            "input_tokens": self.prompt_tokens,
            "input_tokens_details": {"cached_tokens": self.cache_read_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.prompt_tokens + self.output_tokens,
        }

    def gemini(self, *, final: bool = True) -> dict[str, Any]:
        """A ``usageMetadata`` (candidates exclude the thoughts); not ``final``: the prompt
        only, as a stream's first chunks report it.
        """
        return gemini_usage(
            self.prompt_tokens,
            self.output_tokens - self.reasoning_tokens if final else None,
            cached=self.cache_read_tokens,
            thoughts=self.reasoning_tokens if final else 0,
        )


#: What auxiliary requests (and overruns) report.
AUX_USAGE = Usage(input_tokens=50, output_tokens=5)
_DEFAULT_USAGE = Usage(input_tokens=100, output_tokens=10)


@dataclass(frozen=True)
class Reply:
    """A turn that answers with text (and so ends the agent's loop)."""

    text: str
    usage: Usage = _DEFAULT_USAGE


@dataclass(frozen=True)
class ToolCall:
    """A turn that calls one tool: JSON ``arguments``, or the raw input of a custom
    (freeform) tool such as Codex's ``apply_patch``; ``text`` is said before the call
    (Anthropic only).
    """

    name: str
    arguments: Mapping[str, Any] | str
    usage: Usage = _DEFAULT_USAGE
    text: str | None = None


Turn = Reply | ToolCall


@dataclass
class Served:
    """One request the stub answered."""

    index: int  # in arrival order, from 0
    api: Api | None
    kind: Kind
    method: str
    path: str
    query: str
    model: str | None  # what the request asked for (the answer names the same)
    stream: bool
    turn: int | None  # the script's index, for kind "turn"
    reply: Turn | None
    usage: Usage | None  # what the answer reported
    wire_usage: dict[str, Any] | None  # the same, as the answer spelled it
    response_id: str | None  # Anthropic: the message id; OpenAI: the response id
    started: float  # time.time() when the request had been read
    finished: float | None = None  # time.time() after its last byte was written
    status: int = 200
    request: Request | None = field(default=None, repr=False)

    @property
    def duration_s(self) -> float | None:
        """From the request read to the answer written."""
        return None if self.finished is None else self.finished - self.started


_current = threading.local()


class _TimedHandler(_RequestHandler):
    """Marks when a request's answer has been written; refuses proxying (``outside``)."""

    def _serve(self) -> None:
        _current.served = None
        try:
            if self.command == "CONNECT" or self.path.startswith(("http://", "https://")):
                self._refuse()
            else:
                super()._serve()
        finally:
            served: Served | None = getattr(_current, "served", None)
            if served is not None:
                served.finished = time.time()

    def _refuse(self) -> None:
        """A request meant for somewhere else (the proxy variables point here): 403."""
        owner = self.owner
        assert isinstance(owner, ModelStub)
        request = Request(
            method=self.command,
            path=self.path,
            query="",
            headers={key.lower(): value for key, value in self.headers.items()},
            body=b"",
        )
        with owner._lock:
            owner.requests.append(request)
            owner._record(request, None, "outside", None, None, status=403)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_CONNECT = _serve


@dataclass
class ModelStub(LLMServer):
    """An `LLMServer` that plays ``script`` in all three APIs; a context manager."""

    script: Sequence[Turn] = ()
    #: Every request, answered or not, as `Served`.
    served: list[Served] = field(default_factory=list)
    #: Seconds the "model" thinks before each answer.
    delay_s: float = 0.01
    _next_turn: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.add("POST", r"/v1/messages/count_tokens", self._count_tokens)
        self.add("POST", r"/v1/messages", self._anthropic)
        self.add("POST", r"/v1/responses", self._openai)
        self.add("POST", STREAM_PATH, self._gemini_stream)
        self.add("POST", GENERATE_PATH, self._gemini_generate)

    # --- reading -------------------------------------------------------------------------
    def turns(self) -> list[Served]:
        """The requests that played the script's turns, in order."""
        return [s for s in self.served if s.kind == "turn"]

    def of_kind(self, *kinds: Kind) -> list[Served]:
        """The requests served of these kinds."""
        return [s for s in self.served if s.kind in kinds]

    @property
    def played_out(self) -> bool:
        """Every turn of the script has been served."""
        return self._next_turn >= len(self.script)

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> ModelStub:
        """Bind and serve (see `LLMServer.start`), timing each answer."""
        super().start()
        assert self._httpd is not None
        owner = self

        class _Handler(_TimedHandler):
            pass

        _Handler.owner = owner
        self._httpd.RequestHandlerClass = _Handler
        return self

    def __enter__(self) -> ModelStub:
        return self.start()

    # --- bookkeeping ---------------------------------------------------------------------
    def _answer(self, request: Request) -> Response:
        response = super()._answer(request)
        with self._lock:
            if any(r is request for r in self.unmatched):
                self._record(request, None, "unmatched", None, None, status=response.status)
        return response

    def _record(
        self,
        request: Request,
        api: Api | None,
        kind: Kind,
        model: str | None,
        reply: Turn | None,
        *,
        turn: int | None = None,
        stream: bool = False,
        wire_usage: dict[str, Any] | None = None,
        response_id: str | None = None,
        status: int = 200,
    ) -> Served:
        served = Served(
            index=len(self.served),
            api=api,
            kind=kind,
            method=request.method,
            path=request.path,
            query=request.query,
            model=model,
            stream=stream,
            turn=turn,
            reply=reply,
            usage=None if reply is None else reply.usage,
            wire_usage=wire_usage,
            response_id=response_id,
            started=time.time(),
            status=status,
            request=request,
        )
        self.served.append(served)
        _current.served = served
        return served

    def _take_turn(self, main: bool) -> tuple[Kind, int | None, Turn]:
        """The next turn of the script for a turn request (else an auxiliary answer)."""
        if not main:
            return "auxiliary", None, Reply("OK.", AUX_USAGE)
        with self._lock:
            index = self._next_turn
            self._next_turn += 1
        if index < len(self.script):
            return "turn", index, self.script[index]
        return "overrun", None, Reply("Done.", AUX_USAGE)

    # --- Anthropic Messages --------------------------------------------------------------
    def _count_tokens(self, request: Request) -> Response:
        body = _json(request)
        tokens = max(1, len(json.dumps(body)) // 4)
        with self._lock:
            self._record(request, "anthropic", "count_tokens", body.get("model"), None)
        return json_response(200, {"input_tokens": tokens})

    def _anthropic(self, request: Request) -> Response:
        body = _json(request)
        model = str(body.get("model") or "")
        kind, turn, reply = self._take_turn(main=bool(body.get("tools")))
        n = next(self._ids)
        message_id = f"msg_stub{n:04d}"
        usage = reply.usage.anthropic()
        stream = bool(body.get("stream"))
        with self._lock:
            self._record(
                request,
                "anthropic",
                kind,
                model,
                reply,
                turn=turn,
                stream=stream,
                wire_usage=usage,
                response_id=message_id,
            )
        blocks: list[dict[str, Any]] = []
        if isinstance(reply, Reply):
            blocks.append({"type": "text", "text": reply.text})
            stop = "end_turn"
        else:
            if reply.text:
                blocks.append({"type": "text", "text": reply.text})
            arguments = reply.arguments
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_stub{n:04d}",
                    "name": reply.name,
                    "input": dict(arguments) if isinstance(arguments, Mapping) else arguments,
                }
            )
            stop = "tool_use"
        headers = {"request-id": f"req_stub{n:04d}"}
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        if not stream:
            return json_response(200, message, headers=headers, delay_s=self.delay_s)
        start = message | {
            "content": [],
            "stop_reason": None,
            "usage": usage | {"output_tokens": 1},
        }
        events: list[tuple[str, Any]] = [
            ("message_start", {"type": "message_start", "message": start}),
            ("ping", {"type": "ping"}),
        ]
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                empty: dict[str, Any] = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": block["text"]}
            else:
                empty = block | {"input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events += [
                ("content_block_start", {"type": "content_block_start", "index": index,
                                         "content_block": empty}),
                ("content_block_delta", {"type": "content_block_delta", "index": index,
                                         "delta": delta}),
                ("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]  # fmt: skip
        events += [
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": stop, "stop_sequence": None},
                               "usage": usage}),
            ("message_stop", {"type": "message_stop"}),
        ]  # fmt: skip
        return sse_response(events, done=False, headers=headers, delay_s=self.delay_s)

    # --- OpenAI Responses ------------------------------------------------------------------
    def _openai(self, request: Request) -> Response:
        body = _json(request)
        model = str(body.get("model") or "")
        kind, turn, reply = self._take_turn(main=True)
        n = next(self._ids)
        response_id = f"resp_stub{n:04d}"
        usage = reply.usage.openai()
        stream = bool(body.get("stream"))
        with self._lock:
            self._record(
                request,
                "openai",
                kind,
                model,
                reply,
                turn=turn,
                stream=stream,
                wire_usage=usage,
                response_id=response_id,
            )
        if isinstance(reply, Reply):
            item: dict[str, Any] = {
                "type": "message",
                "id": f"msg_stub{n:04d}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
        else:
            custom = any(
                isinstance(t, dict) and t.get("type") == "custom" and t.get("name") == reply.name
                for t in body.get("tools") or []
            )
            arguments = reply.arguments
            if custom:
                item = {
                    "type": "custom_tool_call",
                    "id": f"ctc_stub{n:04d}",
                    "status": "completed",
                    "call_id": f"call_stub{n:04d}",
                    "name": reply.name,
                    "input": arguments if isinstance(arguments, str) else json.dumps(arguments),
                }
            else:
                item = {
                    "type": "function_call",
                    "id": f"fc_stub{n:04d}",
                    "status": "completed",
                    "call_id": f"call_stub{n:04d}",
                    "name": reply.name,
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else json.dumps(dict(arguments)),
                }
        response = {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": model,
            "output": [item],
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage,
        }
        if not stream:
            return json_response(200, response, delay_s=self.delay_s)
        started = response | {"status": "in_progress", "output": [], "usage": None}
        pending = item | {"status": "in_progress"}
        events: list[tuple[str, Any]] = [
            ("response.created", {"type": "response.created", "response": started}),
            ("response.in_progress", {"type": "response.in_progress", "response": started}),
            ("response.output_item.added", {"type": "response.output_item.added",
                                            "output_index": 0, "item": pending}),
        ]  # fmt: skip
        if item["type"] == "message":
            text = item["content"][0]["text"]
            events.append(
                ("response.output_text.delta", {"type": "response.output_text.delta",
                                                "item_id": item["id"], "output_index": 0,
                                                "content_index": 0, "delta": text})
            )  # fmt: skip
        events += [
            ("response.output_item.done", {"type": "response.output_item.done",
                                           "output_index": 0, "item": item}),
            ("response.completed", {"type": "response.completed", "response": response}),
        ]  # fmt: skip
        for number, (_, event) in enumerate(events):
            event["sequence_number"] = number
        return sse_response(events, done=False, delay_s=self.delay_s)

    # --- Gemini ------------------------------------------------------------------------------
    def _gemini_stream(self, request: Request) -> Response:
        model = _gemini_model(request.path)
        kind, turn, reply = self._take_turn(main=True)
        usage = reply.usage.gemini()
        with self._lock:
            self._record(
                request,
                "gemini",
                kind,
                model,
                reply,
                turn=turn,
                stream=True,
                wire_usage=usage,
            )
        if isinstance(reply, ToolCall):
            arguments = reply.arguments
            call = {
                "name": reply.name,
                "args": dict(arguments) if isinstance(arguments, Mapping) else arguments,
            }
            chunks = [gemini_body(model, [{"functionCall": call}], usage, final=True)]
        else:
            head, tail = reply.text[: len(reply.text) // 2], reply.text[len(reply.text) // 2 :]
            chunks = [
                gemini_body(model, [{"text": head}], reply.usage.gemini(final=False), final=False),
                gemini_body(model, [{"text": tail}], usage, final=True),
            ]
        return sse_response(chunks, done=False, delay_s=self.delay_s)

    def _gemini_generate(self, request: Request) -> Response:
        model = _gemini_model(request.path)
        body = _json(request)
        config = body.get("generationConfig") or {}
        kind, turn, reply = self._take_turn(main=False)
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        if config.get("responseMimeType") == "application/json" or schema:
            reply = Reply(json.dumps(_fit(schema or {})), reply.usage)
        usage = reply.usage.gemini()
        with self._lock:
            self._record(request, "gemini", kind, model, reply, turn=turn, wire_usage=usage)
        answer = gemini_body(model, [{"text": reply.text if isinstance(reply, Reply) else ""}],
                             usage, final=True)  # fmt: skip
        return json_response(200, answer, delay_s=self.delay_s)


def _json(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _gemini_model(path: str) -> str:
    return path.rsplit("/", 1)[-1].split(":", 1)[0]


def _fit(schema: Mapping[str, Any]) -> Any:
    """A value that fits a JSON schema (the first of an enum, a short string, ...)."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type") or "object").lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: _fit(sub) for name, sub in properties.items() if isinstance(sub, dict)}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)  # (Gemini CLI's router wants a score in 1-100)
    if kind == "boolean":
        return False
    return "stub"
