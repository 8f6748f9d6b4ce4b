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

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from radium_otel._internal.record import RecordError, SessionRecord
from radium_otel._internal.render import summary_text
from radium_otel._internal.store import LookupFailed, SessionStore
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

from . import _params

_params.install()  # typer's parameter coercion without pydantic for plain values

if TYPE_CHECKING:
    from radium_otel._internal.reports import Sessions, Window

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
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
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


class _State:
    workspace: Path | None = None


_state = _State()
_R = TypeVar("_R")


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
    _state.workspace = workspace


def _store() -> SessionStore:
    return SessionStore(sessions_dir(resolve_workspace(_state.workspace)))


def _fail(message: str) -> NoReturn:
    """The command cannot be answered: one line on stderr, exit code 1."""
    typer.echo(f"rad: error: {message}", err=True)
    raise typer.Exit(code=1)


def _usage(message: str) -> NoReturn:
    """The command line is wrong: one line on stderr, exit code 2 (as typer's own)."""
    typer.echo(f"rad: error: {message}", err=True)
    raise typer.Exit(code=2)


def _warn(message: str) -> None:
    typer.echo(f"rad: warning: {message}", err=True)


def _load(store: SessionStore, session_id: str | None) -> tuple[Path, SessionRecord]:
    """The session named by ``session_id`` (id or prefix), else the latest one: its file
    and its record.

    The latest is the one the index lists first (refreshed like every report's), so only
    its file is parsed.
    """
    try:
        path = store.resolve(session_id) if session_id is not None else _latest_path(store)
    except LookupFailed as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read session: {exc.strerror or exc}")
    try:
        return path, store.read(path)
    except RecordError as exc:
        _fail(f"cannot read {path.name}: {exc}")
    except OSError as exc:
        _fail(f"cannot read {path.name}: {exc.strerror or exc}")


def _latest_path(store: SessionStore) -> Path:
    """The file of the session that started last (fails when none is stored)."""
    from radium_otel._internal.reports import Window

    latest = _report(lambda source: source.history(Window(), None, 1))
    return store.folder / latest[0].file


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
    _, record = _load(_store(), session_id)
    if reprice:
        record = _reprice([record])[0]
    if as_json:
        typer.echo(json.dumps(record.to_json(), indent=2, ensure_ascii=False))
        return
    console = _console()
    console.print(summary_text(record))
    if files:
        from radium_otel._internal.codechanges import ERROR_KEY, render_files

        console.print()
        if record.code_changes is None:
            reason = record.metadata.get(ERROR_KEY) or "not recorded"
            console.print(f"Code changes unknown: {reason}", highlight=False)
        else:
            console.print(render_files(record.code_changes))


def _reprice(records: list[SessionRecord]) -> list[SessionRecord]:
    """``records`` with costs recomputed from their tokens with today's prices; says so."""
    from radium_otel._internal.pricing import PricingError, load_prices, reprice

    try:
        prices = load_prices(resolve_workspace(_state.workspace))
    except PricingError as exc:
        _fail(str(exc))
    repriced = [reprice(r, prices) for r in records]
    version = next((r.pricing.version for r in repriced if r.pricing is not None), "?")
    typer.echo(
        f"rad: note: costs recomputed from the stored tokens with current prices "
        f"(genai-prices {version})",
        err=True,
    )
    return repriced


# --- reports over many sessions ------------------------------------------------------------------
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


def _window(since: str | None, until: str | None) -> Window:
    from radium_otel._internal.reports import WhenError, Window, parse_when

    now = datetime.now(timezone.utc)
    try:
        window = Window(
            parse_when(since, now) if since else None,
            parse_when(until, now, end=True) if until else None,
        )
    except WhenError as exc:
        _usage(str(exc))
    if window.since and window.until and window.since >= window.until:
        _usage("--since must be before --until")
    return window


def _warn_skipped(skipped: list[tuple[str, str]]) -> None:
    """One warning line naming the files that were skipped."""
    if len(skipped) == 1:
        name, reason = skipped[0]
        _warn(f"skipped {name}: {reason}")
    elif skipped:
        shown = ", ".join(f"{name} ({reason})" for name, reason in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        _warn(f"skipped {len(skipped)} unreadable session files: {shown}{more}")


def _progress(description: str) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A progress callback drawing a bar on stderr (only on a terminal), and its closer."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(description, total=None)
    started = False

    def update(done: int, total: int) -> None:
        nonlocal started
        if not started and total >= _PROGRESS_MIN:
            bar.start()
            started = True
        bar.update(task, completed=done, total=total)

    return update, bar.stop


_PROGRESS_MIN = 200  # files to parse or export before a progress bar is worth drawing


def _report(build: Callable[[Sessions], _R], *, reprice: bool = False) -> _R:
    """Run ``build`` on the workspace's sessions: through the index, else reading the files
    (always, with ``reprice``: costs recomputed from every record's tokens).

    Fails when the workspace has no readable session; warns once about skipped files.
    """
    if reprice:
        return build(_repriced_all())
    from radium_otel._internal.reports import ask

    store = _store()
    update, stop = _progress("Indexing sessions")
    try:
        answer = ask(store.folder, build, progress=update)
    except OSError as exc:
        _fail(f"cannot read sessions: {exc.strerror or exc}")
    finally:
        stop()
    if answer.index_error is not None:
        _warn(f"session index unavailable ({answer.index_error}); reading every session file")
    _warn_skipped(answer.skipped)
    if answer.empty:
        _fail(f"no sessions stored in {store.folder}")
    return answer.value


def _repriced_all() -> Sessions:
    """Every stored session, read from its file and repriced."""
    from radium_otel._internal.index import facts_from_record
    from radium_otel._internal.reports import ScannedSessions

    store = _store()
    stored, warnings = store.load_all()
    for warning in warnings:
        _warn(warning)
    if not stored:
        _fail(f"no sessions stored in {store.folder}")
    repriced = _reprice([s.record for s in stored])
    return ScannedSessions(
        facts_from_record(r, s.path.name) for s, r in zip(stored, repriced, strict=True)
    )


def _one(session_id: str, *, reprice: bool = False) -> tuple[Sessions, str]:
    """The sessions source of one stored session (repriced if asked), and its full id."""
    from radium_otel._internal.index import facts_from_record
    from radium_otel._internal.reports import ScannedSessions

    path, record = _load(_store(), session_id)
    if reprice:
        record = _reprice([record])[0]
    try:
        facts = facts_from_record(record, path.name)
    except RecordError as exc:
        _fail(f"cannot read {path.name}: {exc}")
    return ScannedSessions([facts]), path.name.removesuffix(".json")


def _only_all(session_id: str | None, since: str | None, until: str | None) -> None:
    if session_id is not None and (since or until):
        _usage("--since/--until select among all sessions; leave them out with a session ID")


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


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
    from radium_otel._internal.reports import Window, model_report
    from radium_otel._internal.tables import render_models

    _only_all(session_id, since, until)
    if session_id is not None:
        source, full_id = _one(session_id, reprice=reprice)
        report = model_report(source, Window(), session_id=full_id)
    else:
        window = _window(since, until)
        report = _report(lambda source: model_report(source, window), reprice=reprice)
    if as_json:
        _print_json(report.to_json())
        return
    _console().print(render_models(report))


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
    from radium_otel._internal.reports import Window, tool_report
    from radium_otel._internal.tables import render_tools

    _only_all(session_id, since, until)
    if session_id is not None:
        source, full_id = _one(session_id)
        report = tool_report(source, Window(), session_id=full_id)
    else:
        window = _window(since, until)
        report = _report(lambda source: tool_report(source, window))
    if as_json:
        _print_json(report.to_json())
        return
    _console().print(render_tools(report))


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
    from radium_otel._internal.reports import history_report, rollup_report
    from radium_otel._internal.tables import render_history, render_rollup

    window = _window(since, until)
    n = limit or None
    if by is not None:
        rollup = _report(
            lambda source: rollup_report(source, window, agent, by.value, n), reprice=reprice
        )
        if as_json:
            _print_json(rollup.to_json())
        else:
            _console().print(render_rollup(rollup))
        return
    now = time.time()
    report = _report(
        lambda source: history_report(source, window, agent, n, now=now), reprice=reprice
    )
    if as_json:
        _print_json(report.to_json())
    else:
        _console().print(render_history(report))


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
    from radium_otel._internal.reports import write_csv, write_json_array

    store = _store()
    if session_ids and (export_all or since or until):
        _usage("give session IDs, or --all / --since / --until, not both")
    if session_ids:
        try:
            paths = list(dict.fromkeys(store.resolve(i) for i in session_ids))
        except LookupFailed as exc:
            _fail(str(exc))
    elif export_all or since or until:
        window = _window(since, until)
        names = _report(lambda source: _files_in(source, window))
        paths = [store.folder / name for name in names]
    else:
        _usage("name the sessions to export: IDs, --all, or --since/--until")
    to_file = output is not None and str(output) != "-"
    update, stop = _progress("Exporting sessions") if to_file else (None, lambda: None)

    def read(path: Path) -> SessionRecord | None:
        try:
            return store.read(path)
        except (RecordError, OSError) as exc:
            reason = str(exc) if isinstance(exc, RecordError) else exc.strerror or str(exc)
            if session_ids:
                _fail(f"cannot read {path.name}: {reason}")
            _warn(f"skipped {path.name}: {reason}")
            return None

    # Sessions named one by one are all read before anything is written (an error leaves no
    # half output); a whole window streams, skipping files that turn out unreadable.
    named = [read(path) for path in paths] if session_ids else None

    def records() -> Iterator[SessionRecord]:
        for done, path in enumerate(paths, 1):
            record = named[done - 1] if named is not None else read(path)
            if record is not None:
                yield record
            if update is not None:
                update(done, len(paths))

    write = write_csv if fmt is Format.csv else write_json_array
    try:
        if to_file:
            assert output is not None
            from radium_otel._internal.reports import atomic_text_file

            try:
                with atomic_text_file(output) as f:
                    n = write(records(), f)
            finally:
                stop()
            _info(f"exported {n} session{'' if n == 1 else 's'} to {output}")
        else:
            write(records(), sys.stdout)
    except OSError as exc:
        _fail(f"cannot write {output or 'stdout'}: {exc.strerror or exc}")


def _files_in(source: Sessions, window: Window) -> list[str]:
    """Session files in ``window``, oldest first."""
    from radium_otel._internal.reports import IndexedSessions, ScannedSessions

    if isinstance(source, IndexedSessions):
        return source.index.files_in(window.since_us, window.until_us)
    assert isinstance(source, ScannedSessions)
    return [f.file for f in source.facts if window.contains(f.start_us)]


@stats_app.command("reindex")
def stats_reindex() -> None:
    """Rebuild the session index from the session files (it also rebuilds itself when needed)."""
    from radium_otel._internal.index import IndexUnavailable, SessionIndex

    store = _store()
    started = time.perf_counter()
    update, stop = _progress("Indexing sessions")
    with SessionIndex(store.folder) as index:
        try:
            try:
                index.refresh(force=True, progress=update)
            finally:
                stop()
            sessions, skipped = index.count(None, None), index.unreadable()
        except IndexUnavailable as exc:
            _fail(f"cannot build the session index: {exc}")
        except OSError as exc:
            _fail(f"cannot read sessions: {exc.strerror or exc}")
    _warn_skipped(skipped)
    elapsed = time.perf_counter() - started
    typer.echo(
        f"Indexed {sessions:,} session{'' if sessions == 1 else 's'}"
        + (f" ({len(skipped):,} unreadable file{'' if len(skipped) == 1 else 's'} skipped)"
           if skipped else "")
        + f" in {elapsed:.1f}s: {index.path}"
    )  # fmt: skip


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
    workspace = resolve_workspace(_state.workspace)

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
) -> None:
    """Import coding CLIs' sessions from their transcripts (read-only; incremental: a second
    run reads only what is new).
    """
    from radium_otel.sources.importer import Importer
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
    workspace = resolve_workspace(_state.workspace)
    summaries = []
    for name in names:
        reader = known[name]
        roots = [path] if path is not None else reader.default_roots()
        if path is not None and not path.exists():
            _fail(f"no such file or folder: {path}")
        update, stop = _progress(f"Importing {name} transcripts")
        try:
            summary = Importer(workspace, reader, progress=update).run(roots)
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
            workspace=resolve_workspace(_state.workspace),
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


def _info(message: str) -> None:
    typer.echo(f"rad: {message}", err=True)


def _console() -> Console:
    """Standard output: colour only on a terminal without ``NO_COLOR``; lines never wrapped."""
    # rich's own NO_COLOR handling drops colours but keeps bold; no-color.org asks for none.
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(highlight=False, soft_wrap=True, color_system=None if plain else "auto")


def main() -> None:
    """Entry point of the ``rad`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
