"""The scripted LLM server: routes, order, streaming, errors (through a real HTTP client)."""

from __future__ import annotations

import httpx2 as httpx

from .llm_server import LLMServer, json_response, ndjson_response, raw_response, sse_response


def test_routes_answer_in_order_and_record_requests(llm_server: LLMServer) -> None:
    llm_server.add("POST", r"/v1/chat/completions", json_response(429, {"error": "slow"}), times=1)
    llm_server.add("POST", r"/v1/chat/completions", json_response(200, {"ok": True}))
    with httpx.Client(base_url=llm_server.url("/v1")) as client:
        first = client.post("/chat/completions?x=1", json={"model": "m"})
        second = client.post("/chat/completions", json={"model": "n"})
        missing = client.get("/models")
    assert (first.status_code, first.json()) == (429, {"error": "slow"})
    assert (second.status_code, second.json()) == (200, {"ok": True})
    assert missing.status_code == 404
    assert [r.json()["model"] for r in llm_server.requests[:2]] == ["m", "n"]
    assert llm_server.requests[0].query == "x=1"
    assert [r.path for r in llm_server.unmatched] == ["/v1/models"]


def test_streams_are_sent_event_by_event(llm_server: LLMServer) -> None:
    llm_server.add("POST", r"/sse", sse_response([{"a": 1}, ("ping", {"b": 2}), "data: x"]))
    llm_server.add("POST", r"/nd", ndjson_response([{"a": 1}, {"b": 2}]))
    llm_server.add("POST", r"/raw", raw_response(500, "boom"))
    llm_server.add("POST", r"/echo", lambda r: json_response(201, r.json()))
    with httpx.Client(base_url=llm_server.base_url) as client:
        with client.stream("POST", "/sse") as sse:
            assert sse.headers["content-type"] == "text/event-stream"
            body = b"".join(sse.iter_bytes())
        nd = client.post("/nd")
        raw = client.post("/raw")
        echo = client.post("/echo", json={"q": 1})
    assert body == (b'data: {"a": 1}\n\nevent: ping\ndata: {"b": 2}\n\ndata: x\n\ndata: [DONE]\n\n')
    assert nd.text == '{"a": 1}\n{"b": 2}\n'
    assert (raw.status_code, raw.text) == (500, "boom")
    assert (echo.status_code, echo.json()) == (201, {"q": 1})
