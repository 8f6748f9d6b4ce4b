"""``rad``: read the local session reports.

Commands only parse arguments, call the library and hand the result to a renderer; every
domain error becomes one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from radium_otel._internal.record import RecordError, SessionRecord
from radium_otel._internal.render import summary_text
from radium_otel._internal.store import LookupFailed, SessionStore
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

__all__ = ["app", "main"]

app = typer.Typer(
    name="rad",
    help="Session analytics for AI agents, built on OpenTelemetry.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stats_app = typer.Typer(help="Summaries of the sessions stored in this workspace.")
app.add_typer(stats_app, name="stats")


class _State:
    workspace: Path | None = None


_state = _State()


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
    typer.echo(f"rad: error: {message}", err=True)
    raise typer.Exit(code=1)


def _warn(message: str) -> None:
    typer.echo(f"rad: warning: {message}", err=True)


def _load(store: SessionStore, session_id: str | None) -> SessionRecord:
    """The session named by ``session_id`` (id or prefix), else the latest one."""
    try:
        if session_id is not None:
            path = store.resolve(session_id)
            try:
                return store.read(path)
            except RecordError as exc:
                _fail(f"cannot read {path.name}: {exc}")
        sessions, warnings = store.load_all()
    except LookupFailed as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read session: {exc.strerror or exc}")
    for warning in warnings:
        _warn(warning)
    if not sessions:
        _fail(f"no sessions stored in {store.folder}")
    return sessions[-1].record


@stats_app.command("session")
def stats_session(
    session_id: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="Session id or unique prefix (default: latest)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored record.")] = False,
) -> None:
    """The session summary: tool calls, success rate, time split."""
    record = _load(_store(), session_id)
    if as_json:
        typer.echo(json.dumps(record.to_json(), indent=2, ensure_ascii=False))
        return
    _console().print(summary_text(record))


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
