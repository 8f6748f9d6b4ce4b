"""Run the real coding CLIs headless, offline, against `ModelStub`, exporting OTLP.

The CLIs are the pinned ones that ``scripts/bootstrap.sh --tests`` installs into
``.tools/clis`` (tests/sources/clis/package.json). Each ``run_*`` starts a `ModelStub` with
the given script, runs the CLI once on ``task`` in ``workdir`` with a throwaway home (its own
config there, nothing of the user's read), telemetry on for every signal the CLI has, content
logging off, exported to ``otlp_endpoint`` over ``protocol``, and returns a `CliRun`: exit
code, output, the stub's record of what it served, where the CLI wrote its transcript::

    with Capture() as capture:
        run = run_claude(TASK, claude_script(tmp), capture.endpoint("grpc"), "grpc", tmp)
    assert run.returncode == 0 and run.played_out

No run reaches past 127.0.0.1: the model is the stub, the OTLP endpoint is the caller's, and
the proxy variables point at the stub, which refuses (and records, as ``outside``) any
``CONNECT`` a CLI would make to reach anything else (`CliRun.outside`). Every run ends by
itself: after ``timeout_s`` its whole process group is killed (`CliRun.timed_out`).

`standard_script` is the scripted task every CLI plays the same way (`TASK`): a shell
command that succeeds, a file written, a shell command a rule refuses, a shell command
that fails, then a text answer; each request reports its own `Usage`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .model_stub import ModelStub, Reply, Served, ToolCall, Turn, Usage

__all__ = [
    "BIN",
    "PROTOCOLS",
    "TASK",
    "Cli",
    "CliRun",
    "Protocol",
    "available",
    "run_claude",
    "run_cli",
    "run_codex",
    "run_gemini",
    "standard_script",
]

Cli = Literal["claude", "codex", "gemini"]
#: ``OTEL_EXPORTER_OTLP_PROTOCOL`` spellings.
Protocol = Literal["http/protobuf", "http/json", "grpc"]

ROOT = Path(__file__).resolve().parents[2]
#: Where scripts/bootstrap.sh links the installed CLIs.
BIN = ROOT / ".tools" / "clis" / "node_modules" / ".bin"

#: The OTLP protocols each CLI can export over (Gemini CLI's "http" is JSON only).
PROTOCOLS: dict[Cli, tuple[Protocol, ...]] = {
    "claude": ("http/protobuf", "http/json", "grpc"),
    "codex": ("http/protobuf", "http/json", "grpc"),
    "gemini": ("http/json", "grpc"),
}

#: The prompt of the standard task (the stub plays the script whatever the prompt says).
TASK = (
    "Say hello with echo, write notes.txt with two lines, touch refused.txt, "
    "list does-not-exist, then say you are done."
)
NOTES = "one\ntwo\n"  # what the standard task writes to notes.txt
#: The usage each of the standard script's five requests reports. Claude's have cache
#: writes and no reasoning (Anthropic reports none apart); Codex's and Gemini's have
#: reasoning and no cache writes (neither API reports them).
CLAUDE_USAGE = (
    Usage(1000, 50, cache_read_tokens=2000, cache_creation_tokens=300),
    Usage(1100, 60, cache_read_tokens=3000, cache_creation_tokens=100),
    Usage(1200, 70, cache_read_tokens=3100),
    Usage(1300, 80, cache_read_tokens=3200),
    Usage(1400, 20, cache_read_tokens=3300),
)
REASONING_USAGE = (
    Usage(1000, 50, cache_read_tokens=2000, reasoning_tokens=10),
    Usage(1100, 60, cache_read_tokens=3000, reasoning_tokens=20),
    Usage(1200, 70, cache_read_tokens=3100),
    Usage(1300, 80, cache_read_tokens=3200),
    Usage(1400, 20, cache_read_tokens=3300, reasoning_tokens=5),
)
ANSWER = "All done."

# Allow-lists: echo and ls may run, notes.txt may be written, touch may not.
CLAUDE_ALLOWED = "Bash(echo:*),Bash(ls:*),Write"
GEMINI_ALLOWED = "run_shell_command(echo),run_shell_command(ls),write_file"
CODEX_FORBIDDEN = (("touch",),)  # prefix rules with decision "forbidden"
#: Codex features that reach out at start (plugin and app catalogs: github.com,
#: api.github.com, chatgpt.com), turned off.
CODEX_FEATURES_OFF = ("plugins", "remote_plugin", "apps", "plugin_sharing", "tool_suggest")


def standard_script(cli: Cli, workdir: Path) -> list[Turn]:
    """The standard task's turns in ``cli``'s own tools (see the module's docstring)."""
    if cli == "claude":
        usage = CLAUDE_USAGE
        calls: list[Turn] = [
            ToolCall("Bash", {"command": "echo hello", "description": "Say hello"}, usage[0]),
            ToolCall("Write", {"file_path": str(workdir / "notes.txt"), "content": NOTES},
                     usage[1]),
            ToolCall("Bash", {"command": "touch refused.txt", "description": "Touch"}, usage[2]),
            ToolCall("Bash", {"command": "ls does-not-exist", "description": "List"}, usage[3]),
        ]  # fmt: skip
    elif cli == "codex":
        usage = REASONING_USAGE
        patch = "*** Begin Patch\n*** Add File: notes.txt\n+one\n+two\n*** End Patch\n"
        calls = [
            ToolCall("exec_command", {"cmd": "echo hello"}, usage[0]),
            ToolCall("apply_patch", patch, usage[1]),
            ToolCall("exec_command", {"cmd": "touch refused.txt"}, usage[2]),
            ToolCall("exec_command", {"cmd": "ls does-not-exist"}, usage[3]),
        ]
    else:
        usage = REASONING_USAGE
        calls = [
            ToolCall("run_shell_command", {"command": "echo hello", "description": "Say hello"},
                     usage[0]),
            ToolCall("write_file", {"file_path": str(workdir / "notes.txt"), "content": NOTES},
                     usage[1]),
            ToolCall("run_shell_command", {"command": "touch refused.txt"}, usage[2]),
            ToolCall("run_shell_command", {"command": "ls does-not-exist"}, usage[3]),
        ]  # fmt: skip
    return [*calls, Reply(ANSWER, usage[4])]


@dataclass
class CliRun:
    """One finished run of a CLI."""

    cli: Cli
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    started: float  # time.time() before the start
    finished: float  # time.time() after the exit
    timed_out: bool
    served: list[Served]  # the stub's record, every request
    script: list[Turn]
    home: Path  # the throwaway HOME (CODEX_HOME is home/.codex)
    workdir: Path
    transcripts: list[Path] = field(default_factory=list)
    session_id: str | None = None

    @property
    def turns(self) -> list[Served]:
        """The requests that played the script."""
        return [s for s in self.served if s.kind == "turn"]

    @property
    def played_out(self) -> bool:
        """Every turn of the script was served, and no more than that."""
        kinds = [s.kind for s in self.served]
        return kinds.count("turn") == len(self.script) and "overrun" not in kinds

    @property
    def outside(self) -> list[Served]:
        """Attempts to reach past 127.0.0.1 (through the proxy variables)."""
        return [s for s in self.served if s.kind == "outside"]

    def describe(self) -> str:
        """For assertion messages."""
        served = "\n".join(f"  {s.kind} {s.method} {s.path} {s.status}" for s in self.served)
        return (
            f"{self.cli} exited {self.returncode} (timed out: {self.timed_out})\n"
            f"served:\n{served}\nstdout:\n{self.stdout[-3000:]}\nstderr:\n{self.stderr[-3000:]}"
        )


def available(cli: Cli) -> bool:
    """Whether the CLI is installed (scripts/bootstrap.sh --tests)."""
    return (BIN / cli).exists()


def run_cli(
    cli: Cli,
    task: str,
    script: Sequence[Turn],
    otlp_endpoint: str,
    protocol: Protocol,
    workdir: Path,
    **options: object,
) -> CliRun:
    """`run_claude`, `run_codex` or `run_gemini` by name."""
    if cli == "claude":
        return run_claude(task, script, otlp_endpoint, protocol, workdir, **options)  # type: ignore[arg-type]
    if cli == "codex":
        return run_codex(task, script, otlp_endpoint, protocol, workdir, **options)  # type: ignore[arg-type]
    return run_gemini(task, script, otlp_endpoint, protocol, workdir, **options)  # type: ignore[arg-type]


# --- Claude Code ---------------------------------------------------------------------------


def run_claude(
    task: str,
    script: Sequence[Turn],
    otlp_endpoint: str,
    protocol: Protocol,
    workdir: Path,
    *,
    home: Path | None = None,
    model: str = "claude-sonnet-4-5",
    allowed_tools: str = CLAUDE_ALLOWED,
    export_interval_ms: int = 500,
    timeout_s: float = 120.0,
    env: Mapping[str, str] | None = None,
) -> CliRun:
    """``claude -p TASK --output-format json`` with the OpenTelemetry export on.

    Logs, metrics and traces (``CLAUDE_CODE_ENHANCED_TELEMETRY_BETA``) over ``protocol`` to
    ``otlp_endpoint`` (the base URL: Claude adds ``/v1/<signal>`` for HTTP); prompts are
    not logged (``OTEL_LOG_USER_PROMPTS`` and ``OTEL_LOG_TOOL_DETAILS`` unset). Tools run
    when ``allowed_tools`` allows them and are refused otherwise (``-p`` cannot ask). The
    transcript is ``home/.claude/projects/<cwd>/<session id>.jsonl``.
    """
    home = _home(home, workdir)
    argv = [str(BIN / "claude"), "-p", task, "--model", model, "--output-format", "json",
            "--allowedTools", allowed_tools]  # fmt: skip
    with ModelStub(script=script) as stub:
        variables = _base_env(home, stub) | {
            "ANTHROPIC_BASE_URL": stub.base_url,
            "ANTHROPIC_API_KEY": "sk-ant-stub",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
            "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
            "OTEL_METRIC_EXPORT_INTERVAL": str(export_interval_ms),
            "OTEL_LOGS_EXPORT_INTERVAL": str(export_interval_ms),
            "OTEL_TRACES_EXPORT_INTERVAL": str(export_interval_ms),
        }
        run = _run("claude", argv, variables | dict(env or {}), stub, script, home, workdir,
                   timeout_s)  # fmt: skip
    run.transcripts = sorted((home / ".claude" / "projects").glob("*/*.jsonl"))
    try:
        run.session_id = json.loads(run.stdout).get("session_id")
    except ValueError:
        run.session_id = run.transcripts[0].stem if run.transcripts else None
    return run


# --- Codex -----------------------------------------------------------------------------------


def run_codex(
    task: str,
    script: Sequence[Turn],
    otlp_endpoint: str,
    protocol: Protocol,
    workdir: Path,
    *,
    home: Path | None = None,
    model: str = "gpt-5.5",
    forbidden: Sequence[Sequence[str]] = CODEX_FORBIDDEN,
    timeout_s: float = 120.0,
    env: Mapping[str, str] | None = None,
) -> CliRun:
    """``codex exec --skip-git-repo-check TASK`` with ``CODEX_HOME=home/.codex``.

    The config there names the stub as the model provider (Responses API) and exports logs
    (``exporter``), metrics and traces over ``protocol`` to ``otlp_endpoint`` (base URL),
    ``log_user_prompt = false``; the sandbox is off (``danger-full-access``) so commands
    run, and a rules file forbids the command prefixes in ``forbidden`` (Codex exec asks
    nobody: a command a rule forbids is refused). Use a model Codex knows (an unknown one
    gets no ``apply_patch``). The transcript is
    ``home/.codex/sessions/YYYY/MM/DD/rollout-…-<session id>.jsonl``.
    """
    home = _home(home, workdir)
    codex_home = home / ".codex"
    (codex_home / "rules").mkdir(parents=True, exist_ok=True)
    (codex_home / "rules" / "default.rules").write_text(
        "".join(
            f'prefix_rule(pattern={json.dumps(list(prefix))}, decision="forbidden", '
            f'justification="not allowed in this test")\n'
            for prefix in forbidden
        )
    )
    argv = [str(BIN / "codex"), "exec", "--skip-git-repo-check", task]
    with ModelStub(script=script) as stub:
        exporters = "\n".join(
            f"{key} = {_codex_exporter(otlp_endpoint, protocol, signal)}"
            for key, signal in (
                ("exporter", "logs"),
                ("metrics_exporter", "metrics"),
                ("trace_exporter", "traces"),
            )
        )
        (codex_home / "config.toml").write_text(
            f'model = "{model}"\n'
            'model_provider = "stub"\n'
            'approval_policy = "never"\n'
            'sandbox_mode = "danger-full-access"\n'
            "[model_providers.stub]\n"
            'name = "stub"\n'
            f'base_url = "{stub.base_url}/v1"\n'
            'wire_api = "responses"\n'
            'env_key = "STUB_API_KEY"\n'
            "[features]\n"
            + "".join(f"{name} = false\n" for name in CODEX_FEATURES_OFF)
            + "[otel]\n"
            "log_user_prompt = false\n"
            f"{exporters}\n"
        )
        variables = _base_env(home, stub) | {"CODEX_HOME": str(codex_home), "STUB_API_KEY": "stub"}
        run = _run("codex", argv, variables | dict(env or {}), stub, script, home, workdir,
                   timeout_s)  # fmt: skip
    run.transcripts = sorted((codex_home / "sessions").glob("*/*/*/rollout-*.jsonl"))
    if run.transcripts:
        run.session_id = "-".join(run.transcripts[0].stem.split("-")[-5:])
    return run


def _codex_exporter(endpoint: str, protocol: Protocol, signal: str) -> str:
    if protocol == "grpc":
        return f'{{ otlp-grpc = {{ endpoint = "{endpoint}" }} }}'
    wire = "json" if protocol == "http/json" else "binary"
    url = f"{endpoint.rstrip('/')}/v1/{signal}"
    return f'{{ otlp-http = {{ endpoint = "{url}", protocol = "{wire}" }} }}'


# --- Gemini CLI ------------------------------------------------------------------------------


def run_gemini(
    task: str,
    script: Sequence[Turn],
    otlp_endpoint: str,
    protocol: Protocol,
    workdir: Path,
    *,
    home: Path | None = None,
    model: str | None = None,
    allowed_tools: str = GEMINI_ALLOWED,
    timeout_s: float = 120.0,
    env: Mapping[str, str] | None = None,
) -> CliRun:
    """``gemini -p TASK --allowed-tools …`` with ``home/.gemini/settings.json``.

    Telemetry on (``target: local``), to ``otlp_endpoint`` over ``protocol`` (``http/json``
    is its "http", ``grpc`` its "grpc"; it has no HTTP protobuf), ``logPrompts: false``.
    Without ``model`` the CLI routes (a ``generateContent`` side request, answered by the
    stub) and plays the script on the model it picks. The transcript is
    ``home/.gemini/tmp/<project>/chats/session-*.jsonl``.
    """
    if protocol not in PROTOCOLS["gemini"]:
        raise ValueError(f"Gemini CLI exports OTLP over http/json or grpc, not {protocol}")
    home = _home(home, workdir)
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        json.dumps(
            {
                "telemetry": {
                    "enabled": True,
                    "target": "local",
                    "otlpEndpoint": otlp_endpoint,
                    "otlpProtocol": "grpc" if protocol == "grpc" else "http",
                    "logPrompts": False,
                },
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                # Else usage statistics go to play.googleapis.com (Clearcut).
                "privacy": {"usageStatisticsEnabled": False},
            },
            indent=2,
        )
    )
    argv = [str(BIN / "gemini"), "-p", task, "--allowed-tools", allowed_tools]
    if model is not None:
        argv += ["--model", model]
    with ModelStub(script=script) as stub:
        variables = _base_env(home, stub) | {
            "GEMINI_API_KEY": "stub",
            "GOOGLE_GEMINI_BASE_URL": stub.base_url,
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
        }
        run = _run("gemini", argv, variables | dict(env or {}), stub, script, home, workdir,
                   timeout_s)  # fmt: skip
    run.transcripts = sorted((home / ".gemini" / "tmp").glob("*/chats/session-*.jsonl"))
    for transcript in run.transcripts:
        run.session_id = _gemini_session_id(transcript)
        if run.session_id:
            break
    return run


def _gemini_session_id(transcript: Path) -> str | None:
    for line in transcript.read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("sessionId"), str):
            return str(row["sessionId"])
    return None


# --- shared ----------------------------------------------------------------------------------


def _home(home: Path | None, workdir: Path) -> Path:
    """A throwaway HOME beside ``workdir`` unless one is given."""
    workdir.mkdir(parents=True, exist_ok=True)
    if home is None:
        home = workdir.parent / f"{workdir.name}-home"
    home.mkdir(parents=True, exist_ok=True)
    return home


def _base_env(home: Path, stub: ModelStub) -> dict[str, str]:
    """A clean environment: nothing of the caller's but PATH; proxies at the stub."""
    proxy = stub.base_url
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "CI": "true",
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def _run(
    cli: Cli,
    argv: list[str],
    env: dict[str, str],
    stub: ModelStub,
    script: Sequence[Turn],
    home: Path,
    workdir: Path,
    timeout_s: float,
) -> CliRun:
    started = time.time()
    process = subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, killed whole on a timeout
    )
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    _end_group(process.pid)
    return CliRun(
        cli=cli,
        argv=argv,
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        started=started,
        finished=time.time(),
        timed_out=timed_out,
        served=list(stub.served),
        script=list(script),
        home=home,
        workdir=workdir,
    )


def _end_group(pgid: int) -> None:
    """Kill what the CLI left behind in its process group (a shell it started, say)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- saved captures (tests/sources/captures) -------------------------------------------------

CAPTURES = Path(__file__).resolve().parent / "captures"
#: The protocol each saved capture was taken over (decoded, the protocols carry the same).
CAPTURE_PROTOCOL: dict[Cli, Protocol] = {
    "claude": "http/protobuf",
    "codex": "http/protobuf",
    "gemini": "http/json",
}
#: Attributes whose values are content (prompts, answers, tool input and output, system
#: prompts, the command line with the prompt): "<redacted>" in the saved captures.
CONTENT_KEYS = frozenset(
    {
        "prompt",
        "prompt_text",
        "user_prompt",
        "response",
        "arguments",
        "output",
        "tool_input",
        "process.command_args",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.tool.description",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.agent.description",
    }
)
#: Codex's traces hold ~900 internal spans a run (~1 MB as JSON); the saved capture keeps
#: these (the agent loop, model requests, tools, the end).
CODEX_SPANS = frozenset(
    {
        "codex.exec",
        "thread/start",
        "turn/start",
        "session_init",
        "session_loop",
        "session_task.run",
        "session_task.turn",
        "run_turn",
        "codex.turn_input",
        "codex.sampling",
        "run_sampling_request",
        "model_client.stream_responses_api",
        "responses.stream_request",
        "handle_responses",
        "codex.tool_blocking",
        "handle_tool_call",
        "dispatch_tool_call_with_state",
        "exec_command",
        "apply_patch",
        "unified_exec.exec_command",
        "op.dispatch.shutdown",
        "run_session_end_hooks",
    }
)

#: Codex exports ~60 metrics (startup, sqlite, skills, ...; ~500 KB as JSON); the saved
#: capture keeps those about requests, tools and turns.
CODEX_METRICS = (
    "codex.api_request",
    "codex.sse_event",
    "codex.tool.",
    "codex.turn.",
    "codex.conversation.",
    "codex.thread.started",
)


def save_captures(clis: Sequence[Cli] = ("claude", "codex", "gemini")) -> list[Path]:
    """Run each CLI's standard task once and save what it exported, decoded, per signal:
    ``captures/<cli>-<signal>.json`` (all its export requests of that signal merged into
    one ``Export*ServiceRequest``, as protobuf's JSON mapping, content redacted).
    """
    import tempfile

    from google.protobuf.json_format import MessageToDict

    from .capture import Capture, decode

    CAPTURES.mkdir(exist_ok=True)
    written = []
    for cli in clis:
        protocol = CAPTURE_PROTOCOL[cli]
        with tempfile.TemporaryDirectory() as tmp, Capture() as capture:
            workdir = Path(tmp) / "work"
            run = run_cli(cli, TASK, standard_script(cli, workdir), capture.endpoint(protocol),
                          protocol, workdir)  # fmt: skip
            if run.returncode != 0 or not run.played_out:
                raise RuntimeError(run.describe())
            for signal, top in (
                ("logs", "resourceLogs"),
                ("metrics", "resourceMetrics"),
                ("traces", "resourceSpans"),
            ):
                merged: dict[str, list[object]] = {top: []}
                for captured in capture.wait_for(signal, timeout_s=5):  # type: ignore[arg-type]
                    merged[top] += MessageToDict(decode(captured)).get(top, [])
                if cli == "codex" and signal == "traces":
                    _keep_spans(merged, CODEX_SPANS)
                if cli == "codex" and signal == "metrics":
                    _keep_metrics(merged, CODEX_METRICS)
                path = CAPTURES / f"{cli}-{signal}.json"
                path.write_text(json.dumps(_redact(merged), indent=1) + "\n")
                written.append(path)
    return written


def _redact(value: object) -> object:
    if isinstance(value, dict):
        if value.get("key") in CONTENT_KEYS and isinstance(value.get("value"), dict):
            kind = next(iter(value["value"]), "stringValue")
            redacted: dict[str, object] = (
                {"arrayValue": {"values": [{"stringValue": "<redacted>"}]}}
                if kind == "arrayValue"
                else {"stringValue": "<redacted>"}
            )
            return {"key": value["key"], "value": redacted}
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def _keep_metrics(request: dict[str, list[object]], prefixes: tuple[str, ...]) -> None:
    for resource in request["resourceMetrics"]:
        assert isinstance(resource, dict)
        for scope in resource.get("scopeMetrics", []):
            scope["metrics"] = [
                m for m in scope.get("metrics", []) if str(m.get("name")).startswith(prefixes)
            ]


def _keep_spans(request: dict[str, list[object]], names: frozenset[str]) -> None:
    for resource in request["resourceSpans"]:
        assert isinstance(resource, dict)
        for scope in resource.get("scopeSpans", []):
            scope["spans"] = [s for s in scope.get("spans", []) if s.get("name") in names]


if __name__ == "__main__":  # cd tests && ../.venv/bin/python -m sources.clis
    for saved in save_captures():
        print(f"{saved} ({saved.stat().st_size // 1024} KB)")
