"""A Node.js agent's GenAI spans (the OpenTelemetry JS SDK, over each OTLP protocol it
exports) reach `rad collect` and make the record an in-process Python run of the same spans
makes (issue 15): genai_agent.mjs plays test_genai_spans.PLAN, as `_emit` does in Python.

One Node run per protocol (module-scoped, shared by the tests), into its own collector. The
SDK is the one scripts/bootstrap.sh --tests installs into .tools/clis.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from radium_otel.sources.genai import span_row
from sources.clis import ROOT, Protocol
from sources.collecting import Clock, running
from sources.test_genai_spans import (
    PLAN,
    _agent_spans,
    _collected,
    _expected,
    _in_process_records,
)

AGENT = Path(__file__).with_name("genai_agent.mjs")
#: Where scripts/bootstrap.sh links the installed npm packages (the JS SDK among them).
NODE_MODULES = ROOT / ".tools" / "clis" / "node_modules"
SDK = NODE_MODULES / "@opentelemetry" / "sdk-trace-base"
PROTOCOLS: tuple[Protocol, ...] = ("http/protobuf", "http/json", "grpc")


@dataclass(repr=False)
class NodeRun:
    protocol: Protocol
    process: subprocess.CompletedProcess[str]
    collected: list[dict[str, Any]]
    journaled: bytes
    stored: bytes

    def rows(self) -> list[list[Any]]:
        """The journal's rows (the process's header, its resource, its spans)."""
        return [json.loads(line) for line in self.journaled.decode().splitlines()]


def _node_env() -> dict[str, str]:
    """This environment without OTEL_* (the JS SDK reads them) and with the SDK on NODE_PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {**env, "NODE_PATH": str(NODE_MODULES)}


@pytest.fixture(scope="module", params=PROTOCOLS)
def node_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> NodeRun:
    protocol: Protocol = request.param
    if shutil.which("node") is None or not SDK.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node or the JS SDK is not installed: scripts/bootstrap.sh --tests")
        pytest.skip("node or the JS SDK is not installed (scripts/bootstrap.sh --tests)")
    tmp_path = tmp_path_factory.mktemp(protocol.replace("/", "-"))
    clock = Clock()
    with running(tmp_path, clock=clock) as run:
        if protocol == "grpc":
            endpoint = f"http://127.0.0.1:{run.receiver.grpc_port}"
        else:
            endpoint = f"{run.http}/v1/traces"
        process = subprocess.run(
            ["node", str(AGENT), protocol, endpoint],
            input=json.dumps(PLAN),
            capture_output=True,
            text=True,
            env=_node_env(),
            cwd=tmp_path,
            timeout=60,
        )
        journaled = b"".join(p.read_bytes() for p in (tmp_path / "journal").glob("*.jsonl"))
        run.collector.tick()
        collected = _collected(run, clock)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "sessions").glob("*.json"))
    return NodeRun(protocol, process, collected, journaled, stored)


@pytest.fixture(scope="module")
def in_process() -> list[dict[str, Any]]:
    return _expected(_in_process_records())


def test_the_agent_exports_and_exits(node_run: NodeRun) -> None:
    assert (node_run.process.returncode, node_run.process.stderr) == (0, "")


def test_the_spans_came_from_the_js_sdk(node_run: NodeRun) -> None:
    resources = [row[1] for row in node_run.rows() if row[0] == "res"]
    assert resources == [
        {
            "service.name": "ts-agent",
            "telemetry.sdk.language": "nodejs",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": resources[0]["telemetry.sdk.version"],
        }
    ]


def test_the_spans_are_the_python_ones_to_the_nanosecond(node_run: NodeRun) -> None:
    python = encode_spans(_agent_spans()[0])
    assert _without_ids((row[1], row[2]) for row in node_run.rows() if row[0] == "span") == (
        _without_ids(
            ([scope_spans.scope.name, scope_spans.scope.version], span_row(span))
            for resource_spans in python.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        )
    )


def _without_ids(spans: Iterable[tuple[list[str], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Journaled spans (scope, row) without their ids, each naming its parent, by start."""
    spans = list(spans)
    names = {row["s"]: row["n"] for _, row in spans}
    out = [
        {k: v for k, v in row.items() if k not in ("t", "s", "p")}
        | {"scope": scope, "parent": names.get(row["p"])}
        for scope, row in spans
    ]
    return sorted(out, key=lambda row: (row["b"], row["n"]))


def test_node_spans_make_the_in_process_records(
    node_run: NodeRun, in_process: list[dict[str, Any]]
) -> None:
    assert len(in_process) == 2  # the agent run and the default session (lone + web request)
    assert node_run.collected == in_process
    agent = next(r for r in node_run.collected if r["tool_calls"])
    assert agent["tools"]["edit"]["error_types"] == {"FileNotFoundError": 1}
    assert agent["decisions"] == {"reject": 1}


def test_no_content_reaches_the_journal_or_the_store(node_run: NodeRun) -> None:
    assert b"gen_ai.usage.input_tokens" in node_run.journaled  # (the journal holds the spans)
    assert node_run.stored
    for secret in (b"secret", b"gen_ai.input.messages", b"gen_ai.tool.call.arguments"):
        assert secret not in node_run.journaled
        assert secret not in node_run.stored
