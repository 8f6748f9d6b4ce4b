"""The OTLP receiver under bad input: clear answers (OTLP semantics), nothing counted twice,
nothing stored that a client sent as content, and the receiver alive afterwards.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from radium_otel.sources.collector import Collector
from radium_otel.sources.receiver import Receiver, ReceiverError

from .capture import Capture
from .collecting import Running, as_otlp_json, post, running
from .test_mappings import capture

PROTOBUF = "application/x-protobuf"


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Running]:
    with running(tmp_path) as r:
        yield r


def claude_logs() -> ExportLogsServiceRequest:
    request = capture("claude", "logs")
    assert isinstance(request, ExportLogsServiceRequest)
    return request


def _alive(run: Running) -> None:
    """A good batch is still accepted."""
    status, body, _ = post(f"{run.http}/v1/logs", claude_logs().SerializeToString())
    assert status == 200
    assert ExportLogsServiceResponse.FromString(body).partial_success.rejected_log_records == 0


def _status(body: bytes, content_type: str) -> Status:
    if content_type == "application/json":
        return json_format.Parse(body, Status())
    return Status.FromString(body)


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "code", "says"),
    [
        (b"\xff\xff\xff\xff\x0f garbage", PROTOBUF, None, 400, "malformed protobuf logs request"),
        (b'{"resourceLogs": [', "application/json", None, 400, "malformed JSON logs request"),
        (b"[1, 2]", "application/json", None, 400, "not an object"),
        (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "xyz"}]}]}]}',
         "application/json", None, 400, "OTLP/JSON ids are hex"),
        (b'{"resourceLogs": 5}', "application/json", None, 400, "malformed JSON logs request"),
        (b"hello", "text/plain", None, 415, "unsupported content type"),
        (b"hello", PROTOBUF, "br", 415, "unsupported content encoding"),
        (b"\x1f\x8b\x08\x00 not gzip", PROTOBUF, "gzip", 400, "malformed gzip body"),
        (gzip.compress(b"x")[:-6], PROTOBUF, "gzip", 400, "malformed gzip body"),
    ],
    ids=["garbage-protobuf", "truncated-json", "json-array", "json-bad-id", "json-wrong-type",
         "text", "brotli", "not-gzip", "truncated-gzip"],
)  # fmt: skip
def test_a_malformed_body_gets_a_one_line_reason(
    run: Running, body: bytes, content_type: str, encoding: str | None, code: int, says: str
) -> None:
    headers = {"Content-Encoding": encoding} if encoding else {}
    status, answer, answer_type = post(f"{run.http}/v1/logs", body, content_type, headers=headers)

    assert status == code
    reason = _status(answer, answer_type).message
    assert says in reason
    assert "\n" not in reason
    assert run.records() == {}
    _alive(run)


def test_truncated_protobuf_is_refused_not_half_counted(run: Running) -> None:
    data = claude_logs().SerializeToString()
    status, _, _ = post(f"{run.http}/v1/logs", data[: len(data) // 2])

    assert status == 400
    assert run.collector.accepted == 0


def test_bodies_over_the_limit_are_413_before_or_after_gzip(tmp_path: Path) -> None:
    with running(tmp_path, max_body=64 * 1024) as small:
        status, answer, _ = post(f"{small.http}/v1/logs", b"\0" * (65 * 1024))
        assert status == 413
        assert "larger than 65536 bytes" in Status.FromString(answer).message
        bomb = gzip.compress(b"\0" * (10 * 1024 * 1024))  # 10 MiB of zeros in ~10 KB
        assert len(bomb) < 64 * 1024
        status, answer, _ = post(
            f"{small.http}/v1/logs", bomb, headers={"Content-Encoding": "gzip"}
        )
        assert status == 413
        assert "once decompressed" in Status.FromString(answer).message
        _alive(small)


def test_gzip_and_json_bodies_count_like_protobuf(tmp_path: Path) -> None:
    request = claude_logs()
    with running(tmp_path / "a") as a, running(tmp_path / "b") as b:
        data = gzip.compress(request.SerializeToString())
        assert post(f"{a.http}/v1/logs", data, headers={"Content-Encoding": "gzip"})[0] == 200
        text = as_otlp_json(request)
        status, answer, answer_type = post(f"{b.http}/v1/logs", text, "application/json")
        assert (status, answer_type) == (200, "application/json")
        assert json.loads(answer) == {}  # an empty ExportLogsServiceResponse
        assert a.collector.accepted == b.collector.accepted > 0


def test_unknown_paths_methods_and_missing_length(run: Running) -> None:
    status, answer, _ = post(f"{run.http}/v1/profiles", b"")
    assert status == 404
    assert "/v1/traces, /v1/logs or /v1/metrics" in Status.FromString(answer).message
    with socket.create_connection(("127.0.0.1", run.receiver.http_port or 0)) as sock:
        sock.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf"
                     b"\r\n\r\n")  # fmt: skip
        assert sock.recv(100).startswith(b"HTTP/1.1 411")
    _alive(run)


def test_unknown_events_are_accepted_and_ignored(run: Running) -> None:
    request = claude_logs()
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for record in sl.log_records:
                for kv in record.attributes:
                    if kv.key == "event.name":
                        kv.value.string_value = "a_future_event"
    status, body, _ = post(f"{run.http}/v1/logs", request.SerializeToString())

    assert status == 200
    assert ExportLogsServiceResponse.FromString(body).partial_success.rejected_log_records == 0
    assert run.collector.accepted == 0


def test_records_without_a_session_are_rejected_as_partial_success(run: Running) -> None:
    request = claude_logs()
    records = request.resource_logs[0].scope_logs[0].log_records
    dropped = 0
    for record in records:
        names = [kv.value.string_value for kv in record.attributes if kv.key == "event.name"]
        if names == ["api_request"]:
            kept = [kv for kv in record.attributes if kv.key != "session.id"]
            del record.attributes[:]
            record.attributes.extend(kept)
            dropped += 1
    status, body, _ = post(f"{run.http}/v1/logs", request.SerializeToString())

    assert status == 200
    partial = ExportLogsServiceResponse.FromString(body).partial_success
    assert partial.rejected_log_records == dropped > 0
    assert "rejected" in partial.error_message


def test_events_out_of_order_make_the_same_session(tmp_path: Path) -> None:
    request = claude_logs()
    shuffled = ExportLogsServiceRequest()
    shuffled.CopyFrom(request)
    records = list(shuffled.resource_logs[0].scope_logs[0].log_records)
    records.reverse()
    del shuffled.resource_logs[0].scope_logs[0].log_records[:]
    shuffled.resource_logs[0].scope_logs[0].log_records.extend(records)
    results = []
    for name, batches in (("ordered", [request]), ("reversed", [shuffled])):
        collector = _collector_for(tmp_path / name)
        for batch in batches:
            collector.ingest("logs", batch)
        results.append(
            {r.id: (r.to_json()["model_usage"], r.tools, r.decisions) for r in collector.snapshot()}
        )
    assert results[0] == results[1]


def _collector_for(folder: Path) -> Collector:
    from radium_otel._internal.store import SessionStore

    return Collector(SessionStore(folder / "sessions"), folder / "journal")


def test_slow_clients_are_dropped_and_do_not_block_others(tmp_path: Path) -> None:
    import radium_otel.sources.receiver as receiver_module

    old = receiver_module._Handler.timeout
    receiver_module._Handler.timeout = 0.5
    try:
        with running(tmp_path) as run:
            slow = socket.create_connection(("127.0.0.1", run.receiver.http_port or 0))
            slow.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/x-protobuf\r\nContent-Length: 1000\r\n\r\nabc")  # fmt: skip
            _alive(run)  # while the slow one is stuck mid-body
            slow.settimeout(5)
            assert slow.recv(100) == b""  # dropped once its read timed out
            slow.close()
    finally:
        receiver_module._Handler.timeout = old


def test_a_thousand_concurrent_connections(run: Running) -> None:
    body = claude_logs().SerializeToString()
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            status = post(f"{run.http}/v1/logs", body)[0]
        except OSError:
            status = -1
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send) for _ in range(1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert len(statuses) == 1000
    assert set(statuses) <= {200, 503}  # busy: retry later, as OTLP clients do
    ok = statuses.count(200)
    assert ok > 0
    per_batch = run.collector.accepted  # the first batch's events; the others repeat them
    assert run.collector.duplicates == (ok - 1) * per_batch
    assert len(run.collector.snapshot()) == 1  # one session, counted once
    _alive(run)


def test_grpc_logs_and_bad_token(tmp_path: Path) -> None:
    with running(tmp_path, token="s3cret") as run:
        channel = grpc.insecure_channel(f"127.0.0.1:{run.receiver.grpc_port}")
        stub = LogsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(claude_logs(), timeout=10)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        stub.Export(claude_logs(), metadata=(("authorization", "Bearer s3cret"),), timeout=10)
        channel.close()
        status, _, _ = post(f"{run.http}/v1/logs", claude_logs().SerializeToString())
        assert status == 401
        status, _, _ = post(f"{run.http}/v1/logs", claude_logs().SerializeToString(),
                            headers={"Authorization": "Bearer s3cret"})  # fmt: skip
        assert status == 200
        assert len(run.collector.snapshot()) == 1


def test_listening_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    from radium_otel._internal.store import SessionStore

    collector = Collector(SessionStore(tmp_path / "s"), tmp_path / "j")
    with pytest.raises(ReceiverError, match="needs a bearer token"):
        Receiver(collector, host="0.0.0.0")


def test_forward_sends_what_arrived_unchanged(tmp_path: Path) -> None:
    from radium_otel.sources.forward import Forwarder

    with Capture() as upstream:
        forwarder = Forwarder(upstream.http_endpoint)
        with running(tmp_path, forwarder=forwarder) as run:
            data = gzip.compress(claude_logs().SerializeToString())
            assert post(f"{run.http}/v1/logs", data, headers={"Content-Encoding": "gzip"})[0] == 200
            forwarder.stop()
        got = upstream.wait_for("logs", timeout_s=10)
    # (the capture keeps the body decompressed, and says how it came)
    assert [(g.body, g.content_encoding) for g in got] == [(gzip.decompress(data), "gzip")]
    assert forwarder.sent == 1


def test_forward_to_a_dead_upstream_never_blocks_intake(tmp_path: Path) -> None:
    from radium_otel.sources.forward import Forwarder

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    forwarder = Forwarder(f"http://127.0.0.1:{dead}")
    with running(tmp_path, forwarder=forwarder) as run:
        for _ in range(5):  # each answered at once, whatever the upstream does
            assert post(f"{run.http}/v1/logs", claude_logs().SerializeToString())[0] == 200
        assert len(run.collector.snapshot()) == 1
        forwarder.stop(timeout_s=5)
    assert forwarder.sent == 0
    assert forwarder.failed >= 1
