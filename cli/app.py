"""``rad``: read the local session reports.

Commands only parse arguments, call the library and hand the result to a renderer. Every
error is one line on stderr, ``rad: error: ...``, never a traceback: exit code 2 when the
command line is wrong (an unknown option, a bad value, options that do not go together), 1
when it is right but cannot be answered (no such session, nothing stored, a file that cannot
be read or written). ``--help`` stays rich.

Only the read side is imported here (store, index, reports, renderers): never the
OpenTelemetry SDK, the exporters or the price data unless a command needs them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from radium_otel._internal.workspace import resolve_workspace, sessions_dir

from . import _params, _stats

_params.install()  # typer's parameter coercion without pydantic for plain values

__all__ = ["app", "main"]


class _Rad(TyperGroup):
    """The ``rad`` group: a usage error is one line on stderr (exit 2), not a boxed panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; in standalone mode, exit with its code."""
        if not standalone_mode:
            try:
                return super().main(
                    args, prog_name, complete_var, False, windows_expand_args, **extra
                )
            except _stats.CommandExit as exc:  # (what typer returns for its Exit)
                return exc.exit_code
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _stats.CommandExit as exc:  # a command's error, printed already
            sys.exit(exc.exit_code)
        except typer.TyperException as exc:  # typer's usage errors and the like
            # `rad` alone has printed its help already (no_args_is_help).
            if type(exc).__name__ != "NoArgsIsHelpError":
                typer.echo(f"rad: error: {_sentence(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _sentence(message: str) -> str:
    """A typer usage message in the style of ours: one line, lower-case start, no final full
    stop, without the ``Value error, `` that typer puts before a bad choice's message.
    """
    message = " ".join(message.split()).replace(": Value error, ", ": ")
    return (message[:1].lower() + message[1:]).removesuffix(".")


app = typer.Typer(
    name="rad",
    cls=_Rad,
    help="Session analytics for AI agents, built on OpenTelemetry.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stats_app = typer.Typer(
    help="Summaries of the sessions stored in this workspace.", no_args_is_help=True
)
app.add_typer(stats_app, name="stats")


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: nearest folder with .radium/, else the git top "
            "level, else the current directory; or $RADIUM_WORKSPACE).",
        ),
    ] = None,
) -> None:
    _stats.state.workspace = workspace


_store = _stats.session_store
_fail = _stats.fail
_usage = _stats.usage
_warn = _stats.warn
_info = _stats.info
_progress = _stats.progress
_window = _stats.window
_print_json = _stats.print_json
_console = _stats.console


RepriceOption = Annotated[
    bool,
    typer.Option(
        "--reprice",
        help="Recompute costs from the stored token counts with the current prices "
        "(genai-prices data and .radium/pricing.toml) instead of the stored costs.",
    ),
]


@stats_app.command("session")
def stats_session(
    session_id: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="Session id or unique prefix (default: latest)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored record.")] = False,
    files: Annotated[
        bool, typer.Option("--files", help="List the files the session changed.")
    ] = False,
    reprice: RepriceOption = False,
) -> None:
    """The session summary: tool calls, success rate, code changes, cost, time split."""
    _stats.session(session_id, as_json=as_json, files=files, reprice=reprice)


SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help="Only sessions that started on or after DATE: YYYY-MM-DD, YYYYMMDD (UTC days) or "
        "a relative 7d, 12h, 2w.",
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        metavar="DATE",
        help="Only sessions that started before the end of DATE (same forms as --since).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
OneSession = Annotated[
    str | None,
    typer.Argument(metavar="[ID]", help="One session (id or unique prefix); default: all."),
]


@stats_app.command("model")
def stats_model(
    session_id: OneSession = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    reprice: RepriceOption = False,
) -> None:
    """Model usage: requests, tokens, cache reads, reasoning, errors, latency and cost.

    [dim]JSON: {session_id, since, until, sessions, models: [{model, provider, sessions,
    requests, errors, error_rate, input_tokens, output_tokens, cache_read_tokens,
    cache_creation_tokens, reasoning_tokens, latency_s, avg_latency_s, cost_usd,
    cost_partial}], total: {the same without model and provider}}[/dim]
    """
    _stats.model(session_id, since=since, until=until, as_json=as_json, reprice=reprice)


@stats_app.command("tools")
def stats_tools(
    session_id: OneSession = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tool usage: calls, success rate, failures by error type, time; the user's decisions.

    [dim]JSON: {session_id, since, until, sessions, tools: [{tool, sessions, calls,
    successes, failures, success_rate, error_types, duration_s, avg_duration_s}],
    total: {the same without tool}, decisions: {reviewed, accept, reject, modify,
    auto_accept, agreement_rate}}[/dim]
    """
    _stats.tools(session_id, since=since, until=until, as_json=as_json)


class RollupBy(str, Enum):
    """Roll-up periods of ``rad stats history --by``."""

    day = "day"
    week = "week"
    month = "month"


@stats_app.command("history")
def stats_history(
    limit: Annotated[
        int,
        typer.Option(
            "--limit", "-n", min=0, help="Sessions (or periods with --by) to show; 0: all."
        ),
    ] = 20,
    since: SinceOption = None,
    until: UntilOption = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Only sessions of this agent.")
    ] = None,
    by: Annotated[
        RollupBy | None,
        typer.Option("--by", help="Roll sessions up per UTC day, ISO week or month, with a chart."),
    ] = None,
    as_json: JsonOption = False,
    reprice: RepriceOption = False,
) -> None:
    """Past sessions, newest first; or per-period totals with a bar chart (--by).

    [dim]JSON: {since, until, agent, limit, total_sessions, sessions: [{id, start_time,
    end_time, status, agent, wall_time_s, tool_calls, tool_successes, tool_failures,
    success_rate, input_tokens, output_tokens, tokens, cost_usd, cost_partial, lines_added,
    lines_removed}]}; with --by: {since, until, agent, by, limit, periods: [{period, start,
    sessions, tool_calls, tool_successes, success_rate, input_tokens, output_tokens, tokens,
    cost_usd, cost_partial}]}[/dim]
    """
    _stats.history(
        limit=limit,
        since=since,
        until=until,
        agent=agent,
        by=None if by is None else by.value,
        as_json=as_json,
        reprice=reprice,
    )


class Format(str, Enum):
    """Formats of ``rad stats export``."""

    json = "json"
    csv = "csv"


@stats_app.command("export")
def stats_export(
    session_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Sessions to export (ids or unique prefixes)."),
    ] = None,
    export_all: Annotated[bool, typer.Option("--all", help="Export every session.")] = False,
    since: SinceOption = None,
    until: UntilOption = None,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="json: the stored records as one array; csv: one row a session.",
        ),
    ] = Format.json,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to FILE (atomically); default: stdout."
        ),
    ] = None,
) -> None:
    """Export sessions as JSON or CSV, oldest first (or in the order of the IDs given)."""
    _stats.export(
        session_ids,
        export_all=export_all,
        since=since,
        until=until,
        fmt=fmt.value,
        output=output,
    )


@stats_app.command("reindex")
def stats_reindex() -> None:
    """Rebuild the session index from the session files (it also rebuilds itself when needed)."""
    _stats.reindex()


class _Cli(str, Enum):
    claude_code = "claude-code"
    codex = "codex"
    gemini_cli = "gemini-cli"


@app.command("collect")
def collect(
    setup: Annotated[
        _Cli | None,
        typer.Option(
            "--setup", help="Print the settings that point this CLI at the collector, and exit."
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (anything but loopback needs --token)."),
    ] = "127.0.0.1",
    http_port: Annotated[
        int, typer.Option("--http-port", help="OTLP/HTTP port (0: any free one).")
    ] = 4318,
    grpc_port: Annotated[
        int, typer.Option("--grpc-port", help="OTLP/gRPC port (0: any free one).")
    ] = 4317,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="RADIUM_COLLECT_TOKEN",
            help="Bearer token every request must carry ($RADIUM_COLLECT_TOKEN).",
        ),
    ] = None,
    idle_timeout: Annotated[
        str,
        typer.Option(
            "--idle-timeout", help="Close a session after this long without events (90s, 30m, 1h)."
        ),
    ] = "30m",
    forward: Annotated[
        str | None,
        typer.Option(
            "--forward",
            help="Also send everything received, unchanged, to this OTLP/HTTP endpoint.",
        ),
    ] = None,
) -> None:
    """Receive OTLP from Claude Code, Codex CLI, Gemini CLI or any GenAI-instrumented agent,
    as live sessions in this workspace.
    """
    from radium_otel.sources import serve

    if setup is not None:
        typer.echo(
            serve.setup_text(setup.value, host=host, http_port=http_port, grpc_port=grpc_port,
                             token=token)
        )  # fmt: skip
        return
    try:
        idle_s = serve.parse_duration(idle_timeout)
    except ValueError as exc:
        _usage(f"--idle-timeout: {exc}")
    if idle_s <= 0:
        _usage("--idle-timeout must be positive")
    workspace = resolve_workspace(_stats.state.workspace)

    def ready(receiver: Any, recovered: int) -> None:
        where = []
        if receiver.http_port is not None:
            where.append(f"http://{host}:{receiver.http_port} (OTLP/HTTP)")
        if receiver.grpc_port is not None:
            where.append(f"{host}:{receiver.grpc_port} (OTLP/gRPC)")
        resumed = f"; {recovered} live session(s) resumed" if recovered else ""
        _info(f"collecting on {' and '.join(where)} into {sessions_dir(workspace)}{resumed}")

    from radium_otel.sources.receiver import ReceiverError

    try:
        collector = serve.serve(
            workspace,
            host=host,
            http_port=http_port,
            grpc_port=grpc_port,
            token=token,
            idle_timeout_s=idle_s,
            forward=forward,
            ready=ready,
        )
    except (serve.CollectorBusy, ReceiverError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot collect into {workspace}: {exc.strerror or exc}")
    _info(f"stopped: {collector.accepted:,} events accepted, {collector.duplicates:,} repeated")


class _Format(str, Enum):
    claude_code = "claude-code"
    codex = "codex"
    gemini_cli = "gemini-cli"


@app.command("import")
def import_transcripts(
    fmt: Annotated[
        _Format | None,
        typer.Argument(
            metavar="[CLI]", help="Whose transcripts: claude-code, codex or gemini-cli."
        ),
    ] = None,
    path: Annotated[
        Path | None,
        typer.Argument(help="A transcript file or folder (default: where the CLI keeps them)."),
    ] = None,
    every: Annotated[
        bool,
        typer.Option("--all", help="Import every CLI's transcripts from their default places."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes reading transcripts at once (default: one per CPU when 64 MB or "
            "more changed, else one).",
        ),
    ] = None,
) -> None:
    """Import coding CLIs' sessions from their transcripts (read-only; incremental: a second
    run reads only what is new).
    """
    from radium_otel.sources.importer import PARALLEL_FROM_BYTES, Importer
    from radium_otel.sources.transcripts import formats

    known = formats()
    if every == (fmt is not None):
        _usage("name a CLI (claude-code, codex, gemini-cli) or give --all")
    if every and path is not None:
        _usage("--all reads the default places: give no PATH")
    names = list(known) if every else [fmt.value] if fmt is not None else []
    missing = [n for n in names if n not in known]
    if missing:
        _fail(f"reading {missing[0]} transcripts is not supported yet")
    workspace = resolve_workspace(_stats.state.workspace)
    summaries = []
    for name in names:
        reader = known[name]
        roots = [path] if path is not None else reader.default_roots()
        if path is not None and not path.exists():
            _fail(f"no such file or folder: {path}")
        update, stop = _progress(f"Importing {name} transcripts")
        try:
            summary = Importer(
                workspace,
                reader,
                progress=update,
                workers=jobs,
                parallel_from_bytes=PARALLEL_FROM_BYTES if jobs is None else 0,
            ).run(roots)
        except OSError as exc:
            _fail(f"cannot import into {workspace}: {exc.strerror or exc}")
        finally:
            stop()
        summaries.append(summary)
    if as_json:
        _print_json([s.to_json() for s in summaries] if every else summaries[0].to_json())
        return
    for summary in summaries:
        typer.echo(summary.line())
        for file, reason in summary.problems[:10]:
            _warn(f"{file}: {reason}")


# --- rad ui and rad report (issue 18): everything imported inside the commands -------------------
@app.command("ui")
def ui(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: a free one).")
    ] = 0,
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Do not open the browser; print the address.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every request.")] = False,
) -> None:
    """A local, read-only dashboard of this workspace's sessions, live while agents run.

    Listens on 127.0.0.1 only; stop it with Ctrl-C.
    """
    from radium_otel.ui import views
    from radium_otel.ui.server import make_server

    folder = _store().folder
    update, stop = _progress("Indexing sessions")
    try:
        with views.open_index(folder, progress=update):
            pass
    except views.UIError as exc:
        _fail(str(exc))
    finally:
        stop()
    try:
        server = make_server(folder, port, quiet=not verbose)
    except OSError as exc:
        _fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
    _info(f"serving the sessions of {folder} on {server.url} (read-only; Ctrl-C stops)")
    if not no_open:
        import webbrowser

        if not webbrowser.open(server.url):
            _info(f"open {server.url} in a browser")
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    _info("stopped")


@app.command("report")
def report(
    html: Annotated[
        Path,
        typer.Option(
            "--html", metavar="FILE", help="Write the report to FILE: one self-contained page."
        ),
    ],
    since: SinceOption = None,
    until: UntilOption = None,
    details: Annotated[
        int,
        typer.Option("--details", min=0, help="Newest sessions given a page of their own."),
    ] = 200,
) -> None:
    """The views of `rad ui` as one HTML file that opens from disk with no network."""
    from radium_otel.ui import report as html_report
    from radium_otel.ui import views

    window = _window(since, until)
    folder = _store().folder
    update, stop = _progress("Indexing sessions")
    try:
        data = html_report.build_report(
            folder, html, window, details=details, progress=update,
            workspace=resolve_workspace(_stats.state.workspace),
        )  # fmt: skip
    except views.UIError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {html}: {exc.strerror or exc}")
    finally:
        stop()
    if not data["total_sessions"]:
        _warn("no sessions in this window; the report is empty")
    _info(f"wrote {html} ({data['total_sessions']:,} sessions)")


def main() -> None:
    """Entry point of the ``rad`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
