"""Guarantee 5: security. Session ids and CLI arguments never address a path outside the
sessions folder; files are 0600 and folders 0700 whatever the umask; prompts, completions,
tool arguments and results are neither stored nor exported unless ``capture_content=True``;
OTLP headers (API keys) never appear in session records, logs or error messages."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from reliability_support import (
    RawReceiver,
    agent_env,
    every_byte_under,
    modes_under,
    rad,
    run_agent,
    sessions_folder,
    write_script,
)
from typer.testing import CliRunner

from radium_otel import Radium
from radium_otel._internal.processor import _session_id
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import LookupFailed, SessionStore, is_safe_id
from radium_otel.cli import app

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and umask")

ID = "abcd1234-0000-4000-8000-000000000000"


# --- paths ------------------------------------------------------------------------------------
@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A workspace with one session, and valid session files planted outside its folder."""
    workspace = tmp_path / "ws"
    store = SessionStore(sessions_folder(workspace))
    workspace.mkdir()
    record = SessionRecord(
        id=ID, status="completed", start_time=datetime(2026, 1, 1, tzinfo=timezone.utc)
    )
    store.write(record)
    text = json.dumps({**record.to_json(), "id": "outside"})
    for outside in (store.folder.parent / "outside.json", tmp_path / "outside.json"):
        outside.write_text(text)
    return workspace


TRICKS = [
    "../outside",
    "../../../outside",
    "../_internals/outside",
    f"{ID}/../../outside",
    "/etc/passwd",
    str(Path("/tmp") / "outside"),
    "..",
    ".",
    "~",
    "abcd*",
    "abcd?234",
    "-rf",
    "%2e%2e%2foutside",
    "abcd\\..\\outside",
    " abcd1234",
    "abcd1234\n",
    "a" * 129,
]


@pytest.mark.parametrize("command", ["session", "model", "tools", "export"])
def test_cli_arguments_never_address_a_path_outside_the_sessions_folder(
    command: str, planted: Path, no_ambient_config: None
) -> None:
    for trick in TRICKS:
        args = ["--workspace", str(planted), "stats", command, "--", trick]
        done = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
        assert done.exit_code == 1, (trick, done.output)
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(("rad: error: invalid session id", "rad: error: no session"))


def test_the_installed_rad_refuses_path_tricks(
    planted: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    for trick in ("../outside", "/etc/passwd", f"{ID}/../../outside"):
        done = rad(rad_exe, planted, "stats", "session", "--json", trick, env=clean_env)
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == f"rad: error: invalid session id {trick!r}\n"


_ids = st.one_of(
    st.text(max_size=40),
    st.sampled_from([ID, ID[:4], ID[:9], ID[:3], ID + "x"]),
    st.text(alphabet="./\\~-_abc0\x00%", max_size=20),
    st.sampled_from(TRICKS),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ids)
def test_no_id_or_conversation_id_names_a_file_outside_the_folder(text: str) -> None:
    with tempfile.TemporaryDirectory() as workspace:
        folder = sessions_folder(Path(workspace))
        store = SessionStore(folder)
        store.write(
            SessionRecord(
                id=ID, status="completed", start_time=datetime(2026, 1, 1, tzinfo=timezone.utc)
            )
        )
        try:
            path = store.resolve(text)
        except LookupFailed:
            pass
        else:  # only the stored session can be named: "abcd", its full id, ...
            assert path == folder / f"{ID}.json"
            assert ID.startswith(text)
        # Any conversation id from a span maps to a plain file name in the folder.
        sid = _session_id(text) if text else str(uuid.uuid4())
        assert is_safe_id(sid)
        assert (folder / f"{sid}.json").resolve().parent == folder.resolve()


def test_an_unsafe_conversation_id_is_stored_inside_the_folder(tmp_path: Path) -> None:
    provider = TracerProvider()
    inst = Radium(
        workspace=tmp_path, tracer_provider=provider, set_global=False, print_summary=False
    )
    tracer = provider.get_tracer("third-party")
    evil = "../../../../tmp/evil"
    with tracer.start_as_current_span(
        "invoke_agent",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.conversation.id": evil,
        },
    ):
        with tracer.start_as_current_span("chat", attributes={"gen_ai.usage.input_tokens": 3}):
            pass
    inst.shutdown()
    expected = str(uuid.uuid5(uuid.NAMESPACE_URL, "gen_ai.conversation.id:" + evil))
    assert sorted(p.name for p in sessions_folder(tmp_path).iterdir()) == [f"{expected}.json"]
    record = json.loads((sessions_folder(tmp_path) / f"{expected}.json").read_text())
    assert record["metadata"]["conversation_id"] == evil
    assert not Path("/tmp/evil.json").exists()


# --- modes ------------------------------------------------------------------------------------
UMASK_AGENT = """
    import os
    import sys

    os.umask(int(sys.argv[2], 8))
    import radium_otel as rad

    rad.configure(workspace=sys.argv[1], print_summary=False, checkpoint_interval_s=0.05)

    @rad.tool
    def step():
        return 1

    with rad.session(agent="modes"):
        step()
    with rad.session(agent="modes-again"):
        step()
"""


@pytest.mark.parametrize("umask", ["000", "077", "022"])
def test_files_are_0600_and_folders_0700_whatever_the_umask(
    umask: str, tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    script = write_script(tmp_path, "agent.py", UMASK_AGENT)
    env = agent_env(clean_env)
    done = run_agent(script, str(workspace), umask, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The CLI, under the same umask, builds the index: it too keeps to the modes.
    shown = subprocess.run(
        ["sh", "-c", f'umask {umask} && exec "$0" "$@"', rad_exe, "--workspace",
         str(workspace), "stats", "reindex"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr

    modes = modes_under(workspace / ".radium")
    assert len([m for m in modes if m.endswith(".json")]) == 2
    assert "_internals/index.sqlite3" in modes
    wrong = {
        path: oct(mode)
        for path, mode in modes.items()
        if mode != (0o700 if (workspace / ".radium" / path).is_dir() else 0o600)
    }
    assert wrong == {}


# --- content ----------------------------------------------------------------------------------
SECRET_PROMPT = "prompt-secret-7f3a9c"
SECRET_COMPLETION = "completion-secret-52e1"
SECRET_ARGUMENT = "argument-secret-b0d4"
SECRET_RESULT = "result-secret-11aa"
SECRETS = (SECRET_PROMPT, SECRET_COMPLETION, SECRET_ARGUMENT, SECRET_RESULT)

CONTENT_AGENT = """
    import json
    import sys

    import radium_otel as rad

    workspace, endpoint, jsonl, capture = sys.argv[1:5]
    rad.configure(workspace=workspace, service_name="secretive", otlp_endpoint=endpoint,
                  otlp_json_file=jsonl, capture_content=capture == "capture", print_summary=True,
                  checkpoint_interval_s=0.05)

    @rad.model_call(provider="anthropic", model="claude-sonnet-4-5")
    def ask(messages):
        return {"type": "message", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "PROMPT_COMPLETION"}],
                "usage": {"input_tokens": 50, "output_tokens": 5}}

    @rad.tool
    def read_file(path):
        return "the file says RESULT"

    with rad.session(agent="secretive") as s:
        ask([{"role": "user", "content": "my password is PROMPT"}])
        read_file(f"/home/ARGUMENT/notes.txt")
        rad.record_decision("accept", tool="read_file")
    print(s.id)
""".replace("PROMPT_COMPLETION", SECRET_COMPLETION).replace("PROMPT", SECRET_PROMPT)
CONTENT_AGENT = CONTENT_AGENT.replace("ARGUMENT", SECRET_ARGUMENT).replace("RESULT", SECRET_RESULT)


def leaks(data: bytes | str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [s for s in secrets if s.encode() in raw]


@pytest.mark.parametrize("capture", ["default", "capture"])
def test_content_is_neither_stored_nor_exported_unless_captured(
    capture: str, tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    jsonl = tmp_path / "otlp.jsonl"
    script = write_script(tmp_path, "agent.py", CONTENT_AGENT)
    env = agent_env(clean_env, RADIUM_SUMMARY="1")
    with RawReceiver() as receiver:
        done = run_agent(
            script, str(workspace), receiver.url, str(jsonl), capture, env=env, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        sent = receiver.received()
    session_id = done.stdout.strip()
    assert session_id.encode() in sent  # spans did reach the receiver
    assert "Interaction Summary" in done.stderr

    stored = every_byte_under(workspace)
    assert sessions_folder(workspace) / f"{session_id}.json" in stored
    cli = rad(rad_exe, workspace, "stats", "export", "--all", env=clean_env)
    assert cli.returncode == 0, cli.stderr
    outputs: dict[str, bytes | str] = {str(path): data for path, data in stored.items()}
    outputs.update(stdout=done.stdout, stderr=done.stderr, export=cli.stdout)
    for where, data in outputs.items():
        assert leaks(data) == [], where
    if capture == "default":
        assert leaks(sent) == []
        assert leaks(jsonl.read_bytes()) == []
    else:  # the check can see a leak: captured tool content is on the exported spans
        assert leaks(sent) == [SECRET_ARGUMENT, SECRET_RESULT]
        assert leaks(jsonl.read_bytes()) == [SECRET_ARGUMENT, SECRET_RESULT]


# --- headers ----------------------------------------------------------------------------------
ENV_KEY = "env-api-key-9d8c7b"
CODE_KEY = "code-api-key-3e4f5a"

HEADER_AGENT = """
    import sys

    import radium_otel as rad

    workspace, endpoint, from_code = sys.argv[1], sys.argv[2], sys.argv[3] == "code"
    rad.configure(workspace=workspace, otlp_endpoint=endpoint, print_summary=False,
                  otlp_headers={"x-api-key": "CODE_KEY"} if from_code else None,
                  checkpoint_interval_s=0.05)

    @rad.tool
    def step():
        return 1

    with rad.session(agent="keyed") as s:
        step()
    print(s.id)
""".replace("CODE_KEY", CODE_KEY)


def dead_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("source", ["env", "code"])
@pytest.mark.parametrize("collector", ["401", "down"])
def test_otlp_headers_never_reach_records_logs_or_errors(
    source: str, collector: str, tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = write_script(tmp_path, "agent.py", HEADER_AGENT)
    env = agent_env(clean_env, OTEL_EXPORTER_OTLP_TIMEOUT="2")
    if source == "env":
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization=Bearer%20{ENV_KEY}"
    with RawReceiver(status=401) as receiver:
        endpoint = receiver.url if collector == "401" else dead_endpoint()
        done = run_agent(script, str(workspace), endpoint, source, env=env, cwd=tmp_path)
        headers = list(receiver.headers)
    assert done.returncode == 0, done.stderr
    keys = (ENV_KEY, CODE_KEY)
    if collector == "401":  # the key was sent, and refused
        sent = {h.get("authorization", h.get("x-api-key")) for h in headers}
        assert sent == ({f"Bearer {ENV_KEY}"} if source == "env" else {CODE_KEY})
        assert "401" in done.stderr  # the exporter's complaint is there ...
    else:
        assert "Connection refused" in done.stderr
    assert leaks(done.stderr, keys) == []  # ... without the key
    assert leaks(done.stdout, keys) == []
    for path, data in every_byte_under(workspace).items():
        assert leaks(data, keys) == [], path
    shown = rad(rad_exe, workspace, "stats", "session", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert leaks(shown.stdout + shown.stderr, keys) == []


def test_otlp_headers_never_reach_log_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
    no_ambient_config: None,
) -> None:  # fmt: skip
    with RawReceiver(status=401) as receiver, caplog.at_level(logging.DEBUG):
        inst = Radium(
            workspace=tmp_path,
            tracer_provider=TracerProvider(),
            set_global=False,
            print_summary=False,
            otlp_endpoint=receiver.url,
            otlp_headers={"authorization": f"Bearer {CODE_KEY}"},
            otlp_timeout_s=5.0,
        )

        @inst.tool
        def step() -> int:
            return 1

        with inst.session(agent="keyed"):
            step()
        inst.shutdown()
        assert receiver.headers  # the export was tried, and refused
    records: list[Any] = caplog.records
    assert any("401" in r.getMessage() for r in records)
    text = "\n".join(
        [r.getMessage() for r in records] + [str(r.args) for r in records] + [caplog.text]
    )
    assert leaks(text, (CODE_KEY,)) == []
    out, err = capsys.readouterr()
    assert leaks(out + err, (CODE_KEY,)) == []
