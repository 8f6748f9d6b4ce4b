"""The harness: the real coding CLIs play a script against the stub and export OTLP.

One run per CLI and protocol it offers (module-scoped, shared by the tests), each into its
own capture-only endpoint. The stub's wire formats are also checked on their own with the
providers' official Python clients (fast, no CLI).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google import genai

from .capture import GRPC_PATHS, HTTP_PATHS, Capture, Captured, Signal, decode
from .clis import NOTES, PROTOCOLS, TASK, Cli, CliRun, Protocol, available, run_cli
from .clis import standard_script as script_for
from .model_stub import ModelStub, Reply, ToolCall, Turn, Usage

SIGNALS: tuple[Signal, ...] = ("logs", "metrics", "traces")
RUNS = [(cli, protocol) for cli, protocols in PROTOCOLS.items() for protocol in protocols]
CONTENT_TYPES = {
    "http/protobuf": "application/x-protobuf",
    "http/json": "application/json",
    "grpc": "application/grpc",
}
#: The attribute that carries the session id on each CLI's log records.
SESSION_KEY = {"claude": "session.id", "codex": "conversation.id", "gemini": "session.id"}


@dataclass(repr=False)
class Ran:
    cli: Cli
    protocol: Protocol
    run: CliRun
    captured: list[Captured]

    def of(self, signal: Signal) -> list[Captured]:
        return [c for c in self.captured if c.signal == signal]


@pytest.fixture(scope="module", params=RUNS, ids=[f"{c}-{p}" for c, p in RUNS])
def ran(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    cli, protocol = request.param
    if not available(cli):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{cli} is not installed: scripts/bootstrap.sh --tests installs it")
        pytest.skip(f"{cli} is not installed (scripts/bootstrap.sh --tests)")
    workdir = tmp_path_factory.mktemp(f"{cli}-{protocol.replace('/', '-')}") / "work"
    with Capture() as capture:
        run = run_cli(
            cli,
            TASK,
            script_for(cli, workdir),
            capture.endpoint(protocol),
            protocol,
            workdir,
            timeout_s=90,
        )
        for signal in SIGNALS:  # all is flushed before exit; let the last request land
            capture.wait_for(signal, timeout_s=5)
        yield Ran(cli, protocol, run, capture.requests())


def test_the_cli_plays_the_whole_script(ran: Ran) -> None:
    run = ran.run
    assert run.returncode == 0 and not run.timed_out, run.describe()
    assert run.played_out, run.describe()
    assert run.outside == [], run.describe()  # nothing past 127.0.0.1
    assert [s.usage for s in run.turns] == [turn.usage for turn in run.script]
    assert [s.reply for s in run.turns] == run.script
    for served in run.served:
        assert served.finished is not None and served.finished >= served.started
        assert run.started <= served.started <= run.finished
    assert all(s.model for s in run.turns)


def test_the_tools_did_what_the_rules_say(ran: Ran) -> None:
    workdir = ran.run.workdir
    assert (workdir / "notes.txt").read_text() == NOTES
    assert not (workdir / "refused.txt").exists()


def test_the_stub_serves_only_what_the_cli_needs(ran: Ran) -> None:
    kinds = {s.kind for s in ran.run.served}
    expected = {
        "claude": {"turn"},
        "codex": {"turn", "unmatched"},  # POST /v1/analytics/codex/turn-costs -> 404
        "gemini": {"turn", "auxiliary"},  # the router's generateContent
    }[ran.cli]
    assert kinds == expected, ran.run.describe()
    if ran.cli == "codex":
        unmatched = {s.path for s in ran.run.served if s.kind == "unmatched"}
        assert unmatched == {"/v1/analytics/codex/turn-costs"}


def test_every_signal_is_exported_over_the_protocol(ran: Ran) -> None:
    paths = GRPC_PATHS if ran.protocol == "grpc" else HTTP_PATHS
    for signal in SIGNALS:
        requests = ran.of(signal)
        assert requests, f"no {signal} from {ran.cli} over {ran.protocol}"
        for captured in requests:
            assert captured.path == paths[signal]
            assert captured.content_type == CONTENT_TYPES[ran.protocol]
            assert captured.body
        assert sum(_count(decode(c), signal) for c in requests) > 0
    assert {c.signal for c in ran.captured} == set(SIGNALS)


def test_the_session_id_is_on_the_log_records(ran: Ran) -> None:
    assert ran.run.session_id
    ids = {
        attribute.value.string_value
        for captured in ran.of("logs")
        for resource in decode(captured).resource_logs
        for scope in resource.scope_logs
        for record in scope.log_records
        for attribute in record.attributes
        if attribute.key == SESSION_KEY[ran.cli]
    }
    assert ids == {ran.run.session_id}


def test_the_transcript_is_where_the_harness_says(ran: Ran) -> None:
    assert len(ran.run.transcripts) == 1
    transcript = ran.run.transcripts[0]
    assert transcript.is_relative_to(ran.run.home)
    rows = [json.loads(line) for line in transcript.read_text().splitlines() if line.strip()]
    assert rows
    assert ran.run.session_id is not None and ran.run.session_id in transcript.read_text()


def test_the_prompt_is_not_logged(ran: Ran) -> None:
    """Content logging is off; Gemini CLI still puts its argv (``-p TASK``) on the
    resource as ``process.command_args`` (see CLIS.md).
    """
    for captured in ran.captured:
        attributes = json.dumps(_without_command_args(decode(captured)))
        assert TASK not in attributes, f"{ran.cli} {captured.signal}"


# --- the stub with the providers' own clients ------------------------------------------------

USAGE = Usage(1200, 80, cache_read_tokens=3000, cache_creation_tokens=0, reasoning_tokens=16)
ANTHROPIC_USAGE = Usage(1200, 80, cache_read_tokens=3000, cache_creation_tokens=200)


def test_anthropic_stream_carries_tool_use_and_usage() -> None:
    script: list[Turn] = [
        ToolCall("Bash", {"command": "ls"}, ANTHROPIC_USAGE, text="Listing."),
        Reply("Ok"),
    ]
    with ModelStub(script=script) as stub:
        client: Any = anthropic.Anthropic(base_url=stub.base_url, api_key="x", max_retries=0)
        tools = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]
        with client.messages.stream(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            tools=tools,
        ) as stream:
            message = stream.get_final_message()
        answer = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            tools=tools,
        )
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[1].input == {"command": "ls"}
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens == 1200
    assert message.usage.output_tokens == 80
    assert message.usage.cache_read_input_tokens == 3000
    assert message.usage.cache_creation_input_tokens == 200
    assert answer.content[0].text == "Ok"
    assert [s.stream for s in stub.turns()] == [True, False]
    assert stub.played_out


def test_responses_stream_carries_calls_and_usage() -> None:
    patch = "*** Begin Patch\n*** End Patch\n"
    script: list[Turn] = [
        ToolCall("exec_command", {"cmd": "ls"}, USAGE),
        ToolCall("apply_patch", patch, USAGE),
        Reply("Done", USAGE),
    ]
    tools = [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
        {"type": "custom", "name": "apply_patch"},
    ]
    with ModelStub(script=script) as stub:
        client: Any = openai.OpenAI(base_url=stub.url("/v1"), api_key="x", max_retries=0)
        outputs = []
        for _ in script:
            with client.responses.stream(model="gpt-5.5", input="hi", tools=tools) as stream:
                outputs.append(stream.get_final_response())
    assert [r.output[0].type for r in outputs] == ["function_call", "custom_tool_call", "message"]
    assert json.loads(outputs[0].output[0].arguments) == {"cmd": "ls"}
    assert outputs[1].output[0].input == patch
    assert outputs[2].output_text == "Done"
    usage = outputs[0].usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (4200, 80)
    assert usage.input_tokens_details.cached_tokens == 3000
    assert usage.output_tokens_details.reasoning_tokens == 16


def test_gemini_stream_and_side_question() -> None:
    script: list[Turn] = [
        ToolCall("run_shell_command", {"command": "ls"}, USAGE),
        Reply("Done", USAGE),
    ]
    with ModelStub(script=script) as stub:
        client: Any = genai.Client(api_key="x", http_options={"base_url": stub.base_url})
        chunks = list(
            client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        )
        text = "".join(
            chunk.text or ""
            for chunk in client.models.generate_content_stream(
                model="gemini-2.5-flash", contents="hi"
            )
        )
        side = client.models.generate_content(
            model="gemini-2.5-flash-lite",
            contents="route",
            config={
                "response_mime_type": "application/json",
                "response_json_schema": {
                    "type": "object",
                    "properties": {"score": {"type": "integer"}, "why": {"type": "string"}},
                },
            },
        )
    call = chunks[-1].candidates[0].content.parts[0].function_call
    assert (call.name, call.args) == ("run_shell_command", {"command": "ls"})
    meta = chunks[-1].usage_metadata
    assert (meta.prompt_token_count, meta.candidates_token_count) == (4200, 64)
    assert (meta.cached_content_token_count, meta.thoughts_token_count) == (3000, 16)
    assert text == "Done"
    assert json.loads(side.text) == {"score": 1, "why": "stub"}
    assert [s.kind for s in stub.served] == ["turn", "turn", "auxiliary"]
    assert stub.served[2].model == "gemini-2.5-flash-lite"


def test_the_stub_refuses_to_proxy() -> None:
    import http.client

    with ModelStub() as stub:
        connection = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
        connection.request("CONNECT", "example.com:443")
        assert connection.getresponse().status == 403
        connection.close()
    assert [(s.kind, s.path) for s in stub.served] == [("outside", "example.com:443")]


def test_an_overrun_is_recorded() -> None:
    with ModelStub(script=[Reply("One")]) as stub:
        client: Any = openai.OpenAI(base_url=stub.url("/v1"), api_key="x", max_retries=0)
        texts = [client.responses.create(model="m", input="hi").output_text for _ in range(2)]
    assert texts == ["One", "Done."]
    assert [s.kind for s in stub.served] == ["turn", "overrun"]


# --- helpers ------------------------------------------------------------------------------


def _count(message: Any, signal: Signal) -> int:
    if signal == "logs":
        return sum(
            len(scope.log_records)
            for resource in message.resource_logs
            for scope in resource.scope_logs
        )
    if signal == "traces":
        return sum(
            len(scope.spans)
            for resource in message.resource_spans
            for scope in resource.scope_spans
        )
    return sum(
        len(getattr(metric, metric.WhichOneof("data")).data_points)
        for resource in message.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    )


def _without_command_args(message: Any) -> object:
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(message)
    for key in ("resourceLogs", "resourceSpans", "resourceMetrics"):
        for resource in data.get(key, []):
            attributes = resource.get("resource", {}).get("attributes", [])
            attributes[:] = [a for a in attributes if a["key"] != "process.command_args"]
    return data


def test_the_transcripts_are_under_the_throwaway_home(tmp_path: Path) -> None:
    """(`CliRun.home` defaults beside the workdir, never the user's.)"""
    from .clis import _home

    assert _home(None, tmp_path / "work") == tmp_path / "work-home"
    assert (tmp_path / "work").is_dir()
