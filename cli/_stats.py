"""The ``rad stats`` commands and the helpers every command shares, without typer.

`cli/app.py` declares the commands to typer and calls these; `cli/_fast.py` calls them
straight from a well-formed command line, so a report costs neither typer's import nor its
command building. Output goes through `echo` (what ``typer.echo`` writes) and `show` (what a
rich ``Console(highlight=False, soft_wrap=True)`` prints), each writing the plain text itself
when that is exactly what typer or rich would write, else handing over to them.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

from radium_otel._internal.record import RecordError, SessionRecord
from radium_otel._internal.render import summary_text
from radium_otel._internal.store import LookupFailed, SessionStore
from radium_otel._internal.styled import Styled
from radium_otel._internal.workspace import resolve_workspace, sessions_dir

if TYPE_CHECKING:
    from rich.console import Console

    from radium_otel._internal.reports import Sessions, Window

__all__ = [
    "CommandExit",
    "echo",
    "export",
    "fail",
    "history",
    "info",
    "model",
    "print_json",
    "progress",
    "reindex",
    "session",
    "session_store",
    "show",
    "state",
    "tools",
    "usage",
    "warn",
    "window",
]

_R = TypeVar("_R")


class CommandExit(RuntimeError):
    """The command ends with ``exit_code`` (its message is printed already): typer's ``Exit``
    for code that does not import typer (a ``RuntimeError`` as that is).
    """

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


class _State:
    workspace: Path | None = None


state = _State()


# --- output -----------------------------------------------------------------------------------
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what typer's echo strips off a non-terminal


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except Exception:
        return False


def _plain_stream(stream: Any) -> bool:
    """Whether typer's ``echo`` writes to ``stream`` as it is: a text stream with a non-ASCII
    encoding (else it re-wraps the stream), off Windows, outside Jupyter.
    """
    if sys.platform == "win32" or stream is None or isinstance(stream, (bytes, bytearray)):
        return False
    encoding, errors = getattr(stream, "encoding", None), getattr(stream, "errors", None)
    if not isinstance(encoding, str) or errors is None:
        return False
    try:
        import codecs

        if codecs.lookup(encoding).name == "ascii":
            return False
    except LookupError:
        return False
    return not type(stream).__module__.startswith(("ipykernel.", "typer."))


def echo(message: str, *, err: bool = False) -> None:
    """``typer.echo(message, err=err)``: the line, ANSI codes stripped off a non-terminal."""
    stream = sys.stderr if err else sys.stdout
    if not _plain_stream(stream):
        import typer

        typer.echo(message, err=err)
        return
    out = message + "\n"
    if not _isatty(stream):
        out = _ANSI.sub("", out)
    stream.write(out)
    stream.flush()


def console() -> Console:
    """Standard output: colour only on a terminal without ``NO_COLOR``; lines never wrapped."""
    from rich.console import Console

    # rich's own NO_COLOR handling drops colours but keeps bold; no-color.org asks for none.
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(highlight=False, soft_wrap=True, color_system=None if plain else "auto")


def _plain_console() -> bool:
    """Whether `console` would print `Styled` text as its plain characters: no colour system (no
    terminal, or ``NO_COLOR``), nothing in the environment that changes how rich writes.
    """
    stdout = sys.stdout
    if sys.platform == "win32" or stdout is None or hasattr(stdout, "rich_proxied_file"):
        return False
    if hasattr(builtins, "get_ipython"):  # rich's Jupyter check
        return False
    if os.environ.get("NO_COLOR"):
        return True
    env = os.environ
    if "TTY_COMPATIBLE" in env or "FORCE_COLOR" in env:
        return False
    if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return False
    isatty = getattr(stdout, "isatty", None)
    try:
        return isatty is not None and not isatty()
    except ValueError:
        return True  # (rich: a closed file is no terminal)


def show(text: Styled | None = None) -> None:
    """Print ``text`` (a blank line for None) as `console` does."""
    plain = "" if text is None else text.plain
    if "\t" in plain or not _plain_console():  # (rich expands tabs)
        if text is None:
            console().print()
        else:
            console().print(text.to_rich())
        return
    stdout = sys.stdout
    try:
        stdout.write(plain + "\n")
        stdout.flush()
    except UnicodeEncodeError as error:  # (as rich words it)
        hint = "*** You may need to add PYTHONIOENCODING=utf-8 to your environment ***"
        error.reason = f"{error.reason}\n{hint}"
        raise
    except BrokenPipeError:  # (as rich handles it)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        raise SystemExit(1) from None


def print_json(data: object) -> None:
    echo(json.dumps(data, indent=2, ensure_ascii=False))


# --- errors -----------------------------------------------------------------------------------
def fail(message: str) -> NoReturn:
    """The command cannot be answered: one line on stderr, exit code 1."""
    echo(f"rad: error: {message}", err=True)
    raise CommandExit(1)


def usage(message: str) -> NoReturn:
    """The command line is wrong: one line on stderr, exit code 2 (as typer's own)."""
    echo(f"rad: error: {message}", err=True)
    raise CommandExit(2)


def warn(message: str) -> None:
    echo(f"rad: warning: {message}", err=True)


def info(message: str) -> None:
    echo(f"rad: {message}", err=True)


# --- the workspace's sessions -----------------------------------------------------------------
def session_store() -> SessionStore:
    return SessionStore(sessions_dir(resolve_workspace(state.workspace)))


def _load(store: SessionStore, session_id: str | None) -> tuple[Path, SessionRecord]:
    """The session named by ``session_id`` (id or prefix), else the latest one: its file
    and its record.

    The latest is the one the index lists first (refreshed like every report's), so only
    its file is parsed.
    """
    try:
        path = store.resolve(session_id) if session_id is not None else _latest_path(store)
    except LookupFailed as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot read session: {exc.strerror or exc}")
    try:
        return path, store.read(path)
    except RecordError as exc:
        fail(f"cannot read {path.name}: {exc}")
    except OSError as exc:
        fail(f"cannot read {path.name}: {exc.strerror or exc}")


def _latest_path(store: SessionStore) -> Path:
    """The file of the session that started last (fails when none is stored)."""
    from radium_otel._internal.reports import Window

    latest = _report(lambda source: source.history(Window(), None, 1))
    return store.folder / latest[0].file


def _reprice(records: list[SessionRecord]) -> list[SessionRecord]:
    """``records`` with costs recomputed from their tokens with today's prices; says so."""
    from radium_otel._internal.pricing import PricingError, load_prices, reprice

    try:
        prices = load_prices(resolve_workspace(state.workspace))
    except PricingError as exc:
        fail(str(exc))
    repriced = [reprice(r, prices) for r in records]
    version = next((r.pricing.version for r in repriced if r.pricing is not None), "?")
    echo(
        f"rad: note: costs recomputed from the stored tokens with current prices "
        f"(genai-prices {version})",
        err=True,
    )
    return repriced


# --- reports over many sessions ------------------------------------------------------------------


def window(since: str | None, until: str | None) -> Window:
    from radium_otel._internal.reports import WhenError, Window, parse_when

    now = datetime.now(timezone.utc)
    try:
        window = Window(
            parse_when(since, now) if since else None,
            parse_when(until, now, end=True) if until else None,
        )
    except WhenError as exc:
        usage(str(exc))
    if window.since and window.until and window.since >= window.until:
        usage("--since must be before --until")
    return window


def _warn_skipped(skipped: list[tuple[str, str]]) -> None:
    """One warning line naming the files that were skipped."""
    if len(skipped) == 1:
        name, reason = skipped[0]
        warn(f"skipped {name}: {reason}")
    elif skipped:
        shown = ", ".join(f"{name} ({reason})" for name, reason in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warn(f"skipped {len(skipped)} unreadable session files: {shown}{more}")


def progress(description: str) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A progress callback drawing a bar on stderr (only on a terminal), and its closer."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.console import Console
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

    store = session_store()
    update, stop = progress("Indexing sessions")
    try:
        answer = ask(store.folder, build, progress=update)
    except OSError as exc:
        fail(f"cannot read sessions: {exc.strerror or exc}")
    finally:
        stop()
    if answer.index_error is not None:
        warn(f"session index unavailable ({answer.index_error}); reading every session file")
    _warn_skipped(answer.skipped)
    if answer.empty:
        fail(f"no sessions stored in {store.folder}")
    return answer.value


def _repriced_all() -> Sessions:
    """Every stored session, read from its file and repriced."""
    from radium_otel._internal.index import facts_from_record
    from radium_otel._internal.reports import ScannedSessions

    store = session_store()
    stored, warnings = store.load_all()
    for warning in warnings:
        warn(warning)
    if not stored:
        fail(f"no sessions stored in {store.folder}")
    repriced = _reprice([s.record for s in stored])
    return ScannedSessions(
        facts_from_record(r, s.path.name) for s, r in zip(stored, repriced, strict=True)
    )


def _one(session_id: str, *, reprice: bool = False) -> tuple[Sessions, str]:
    """The sessions source of one stored session (repriced if asked), and its full id."""
    from radium_otel._internal.index import facts_from_record
    from radium_otel._internal.reports import ScannedSessions

    path, record = _load(session_store(), session_id)
    if reprice:
        record = _reprice([record])[0]
    try:
        facts = facts_from_record(record, path.name)
    except RecordError as exc:
        fail(f"cannot read {path.name}: {exc}")
    return ScannedSessions([facts]), path.name.removesuffix(".json")


def _only_all(session_id: str | None, since: str | None, until: str | None) -> None:
    if session_id is not None and (since or until):
        usage("--since/--until select among all sessions; leave them out with a session ID")


# --- the commands (their options and help are in cli/app.py) --------------------------------------
def session(session_id: str | None, *, as_json: bool, files: bool, reprice: bool) -> None:
    """``rad stats session``."""
    _, record = _load(session_store(), session_id)
    if reprice:
        record = _reprice([record])[0]
    if as_json:
        echo(json.dumps(record.to_json(), indent=2, ensure_ascii=False))
        return
    show(summary_text(record))
    if files:
        from radium_otel._internal.codechanges import ERROR_KEY, render_files

        show()
        if record.code_changes is None:
            reason = record.metadata.get(ERROR_KEY) or "not recorded"
            console().print(f"Code changes unknown: {reason}", highlight=False)
        else:
            show(render_files(record.code_changes))


def model(
    session_id: str | None, *, since: str | None, until: str | None, as_json: bool, reprice: bool
) -> None:
    """``rad stats model``."""
    from radium_otel._internal.reports import Window, model_report
    from radium_otel._internal.tables import render_models

    _only_all(session_id, since, until)
    if session_id is not None:
        source, full_id = _one(session_id, reprice=reprice)
        report = model_report(source, Window(), session_id=full_id)
    else:
        selected = window(since, until)
        report = _report(lambda source: model_report(source, selected), reprice=reprice)
    if as_json:
        print_json(report.to_json())
        return
    show(render_models(report))


def tools(session_id: str | None, *, since: str | None, until: str | None, as_json: bool) -> None:
    """``rad stats tools``."""
    from radium_otel._internal.reports import Window, tool_report
    from radium_otel._internal.tables import render_tools

    _only_all(session_id, since, until)
    if session_id is not None:
        source, full_id = _one(session_id)
        report = tool_report(source, Window(), session_id=full_id)
    else:
        selected = window(since, until)
        report = _report(lambda source: tool_report(source, selected))
    if as_json:
        print_json(report.to_json())
        return
    show(render_tools(report))


def history(
    *,
    limit: int,
    since: str | None,
    until: str | None,
    agent: str | None,
    by: Literal["day", "week", "month"] | None,
    as_json: bool,
    reprice: bool,
) -> None:
    """``rad stats history`` (``by``: day, week or month)."""
    from radium_otel._internal.reports import history_report, rollup_report
    from radium_otel._internal.tables import render_history, render_rollup

    selected = window(since, until)
    n = limit or None
    if by is not None:
        period = by
        rollup = _report(
            lambda source: rollup_report(source, selected, agent, period, n), reprice=reprice
        )
        if as_json:
            print_json(rollup.to_json())
        else:
            show(render_rollup(rollup))
        return
    now = time.time()
    report = _report(
        lambda source: history_report(source, selected, agent, n, now=now), reprice=reprice
    )
    if as_json:
        print_json(report.to_json())
    else:
        show(render_history(report))


def export(
    session_ids: list[str] | None,
    *,
    export_all: bool,
    since: str | None,
    until: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """``rad stats export`` (``fmt``: json or csv)."""
    from radium_otel._internal.reports import write_csv, write_json_array

    store = session_store()
    if session_ids and (export_all or since or until):
        usage("give session IDs, or --all / --since / --until, not both")
    if session_ids:
        try:
            paths = list(dict.fromkeys(store.resolve(i) for i in session_ids))
        except LookupFailed as exc:
            fail(str(exc))
    elif export_all or since or until:
        selected = window(since, until)
        names = _report(lambda source: _files_in(source, selected))
        paths = [store.folder / name for name in names]
    else:
        usage("name the sessions to export: IDs, --all, or --since/--until")
    to_file = output is not None and str(output) != "-"
    update, stop = progress("Exporting sessions") if to_file else (None, lambda: None)

    def read(path: Path) -> SessionRecord | None:
        try:
            return store.read(path)
        except (RecordError, OSError) as exc:
            reason = str(exc) if isinstance(exc, RecordError) else exc.strerror or str(exc)
            if session_ids:
                fail(f"cannot read {path.name}: {reason}")
            warn(f"skipped {path.name}: {reason}")
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

    write = write_csv if fmt == "csv" else write_json_array
    try:
        if to_file:
            assert output is not None
            from radium_otel._internal.reports import atomic_text_file

            try:
                with atomic_text_file(output) as f:
                    n = write(records(), f)
            finally:
                stop()
            info(f"exported {n} session{'' if n == 1 else 's'} to {output}")
        else:
            write(records(), sys.stdout)
    except OSError as exc:
        fail(f"cannot write {output or 'stdout'}: {exc.strerror or exc}")


def _files_in(source: Sessions, window: Window) -> list[str]:
    """Session files in ``window``, oldest first."""
    from radium_otel._internal.reports import IndexedSessions, ScannedSessions

    if isinstance(source, IndexedSessions):
        return source.index.files_in(window.since_us, window.until_us)
    assert isinstance(source, ScannedSessions)
    return [f.file for f in source.facts if window.contains(f.start_us)]


def reindex() -> None:
    """``rad stats reindex``."""
    from radium_otel._internal.index import IndexUnavailable, SessionIndex

    store = session_store()
    started = time.perf_counter()
    update, stop = progress("Indexing sessions")
    with SessionIndex(store.folder) as index:
        try:
            try:
                index.refresh(force=True, progress=update)
            finally:
                stop()
            sessions, skipped = index.count(None, None), index.unreadable()
        except IndexUnavailable as exc:
            fail(f"cannot build the session index: {exc}")
        except OSError as exc:
            fail(f"cannot read sessions: {exc.strerror or exc}")
    _warn_skipped(skipped)
    elapsed = time.perf_counter() - started
    echo(
        f"Indexed {sessions:,} session{'' if sessions == 1 else 's'}"
        + (f" ({len(skipped):,} unreadable file{'' if len(skipped) == 1 else 's'} skipped)"
           if skipped else "")
        + f" in {elapsed:.1f}s: {index.path}"
    )  # fmt: skip
