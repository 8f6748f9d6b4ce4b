"""``rad stats …`` without typer: a well-formed command line runs the command at once.

`run` reads the few options the ``rad stats`` commands take, exactly as typer reads the
plain forms of them, and calls the same functions as the typer commands (`cli/_stats.py`).
Anything else (``--help``, an unknown or misspelt option, a value typer would refuse or
convert, ``--opt=value``, ``--``, shell completion, other commands) is not run here: `run`
returns False before any output and the typer app answers, with its own help and messages.
A test runs every command both ways and compares output and exit codes.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

__all__ = ["run"]

# Per command: option -> (keyword, kind); kinds: flag, str, int (>= 0), path, or the choices.
_Spec = dict[str, tuple[str, str | tuple[str, ...]]]
_SINCE: _Spec = {"--since": ("since", "str"), "--until": ("until", "str")}
_COMMANDS: dict[str, tuple[_Spec, int]] = {  # command -> (options, positional arguments)
    "session": ({"--json": ("as_json", "flag"), "--files": ("files", "flag"),
                 "--reprice": ("reprice", "flag")}, 1),
    "model": ({**_SINCE, "--json": ("as_json", "flag"), "--reprice": ("reprice", "flag")}, 1),
    "tools": ({**_SINCE, "--json": ("as_json", "flag")}, 1),
    "history": ({**_SINCE, "--limit": ("limit", "int"), "-n": ("limit", "int"),
                 "--agent": ("agent", "str"), "--by": ("by", ("day", "week", "month")),
                 "--json": ("as_json", "flag"), "--reprice": ("reprice", "flag")}, 0),
    "export": ({**_SINCE, "--all": ("export_all", "flag"),
                "--format": ("fmt", ("json", "csv")), "-f": ("fmt", ("json", "csv")),
                "--output": ("output", "path"), "-o": ("output", "path")}, -1),
    "reindex": ({}, 0),
}  # fmt: skip
_DEFAULTS: dict[str, dict[str, Any]] = {
    "session": {"as_json": False, "files": False, "reprice": False},
    "model": {"since": None, "until": None, "as_json": False, "reprice": False},
    "tools": {"since": None, "until": None, "as_json": False},
    "history": {"limit": 20, "since": None, "until": None, "agent": None, "by": None,
                "as_json": False, "reprice": False},
    "export": {"export_all": False, "since": None, "until": None, "fmt": "json", "output": None},
    "reindex": {},
}  # fmt: skip


class _Refused(Exception):
    """Not a command line this module answers: typer does."""


def _path(value: str) -> Path:
    """A path as typer's ``Path`` option takes it (it must be readable if it exists)."""
    if not value:
        raise _Refused
    try:
        os.stat(value)
    except OSError:
        return Path(value)
    if not os.access(value, os.R_OK):
        raise _Refused  # (typer's message)
    return Path(value)


def _value(kind: str | tuple[str, ...], value: str) -> Any:
    if isinstance(kind, tuple):
        if value not in kind:
            raise _Refused
        return value
    if kind == "int":
        if not (value.isascii() and value.isdigit()):
            raise _Refused
        return int(value)
    if kind == "path":
        return _path(value)
    return value


def parse(args: Sequence[str]) -> tuple[Path | None, str, list[str], dict[str, Any]] | None:
    """(workspace, command, positional arguments, keywords) of a plain ``rad stats`` command
    line, or None when typer should read it.
    """
    try:
        return _parse(list(args))
    except _Refused:
        return None


def _parse(args: list[str]) -> tuple[Path | None, str, list[str], dict[str, Any]]:
    workspace: Path | None = None
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] not in ("--workspace", "-w") or i + 1 >= len(args):
            raise _Refused
        if args[i + 1].startswith("-"):
            raise _Refused
        workspace = _path(args[i + 1])
        i += 2
    if args[i : i + 1] != ["stats"] or i + 1 >= len(args) or args[i + 1] not in _COMMANDS:
        raise _Refused
    command = args[i + 1]
    options, most = _COMMANDS[command]
    keywords = dict(_DEFAULTS[command])
    positional: list[str] = []
    rest = args[i + 2 :]
    j = 0
    while j < len(rest):
        token = rest[j]
        if token.startswith("-"):
            if token not in options:
                raise _Refused  # --help, --opt=value, --, -n5, unknown options
            keyword, kind = options[token]
            if kind == "flag":
                keywords[keyword] = True
                j += 1
                continue
            if j + 1 >= len(rest) or rest[j + 1].startswith("-"):
                raise _Refused
            keywords[keyword] = _value(kind, rest[j + 1])
            j += 2
        else:
            positional.append(token)
            j += 1
    if most >= 0 and len(positional) > most:
        raise _Refused
    return workspace, command, positional, keywords


class _Pacified:
    """Standard output or error whose flush ignores a closed pipe (as typer leaves them)."""

    def __init__(self, wrapped: IO[str]) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)


def run(args: Sequence[str]) -> bool:
    """Run ``rad ARGS`` and exit when it is a plain ``rad stats`` command; else False."""
    if sys.platform == "win32" or any(
        k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ
    ):
        return False  # (typer expands Windows wildcards, and answers shell completion)
    parsed = parse(args)
    if parsed is None:
        return False
    from . import _stats

    workspace, command, positional, keywords = parsed
    _stats.state.workspace = workspace
    call: Callable[[], None]
    if command in ("session", "model", "tools"):
        session_id = positional[0] if positional else None
        call = lambda: getattr(_stats, command)(session_id, **keywords)  # noqa: E731
    elif command == "export":
        ids = positional or None
        call = lambda: _stats.export(ids, **keywords)  # noqa: E731
    else:
        call = lambda: getattr(_stats, command)(**keywords)  # noqa: E731
    _exit(call, _stats.CommandExit, _stats.echo)


def _exit(call: Callable[[], None], exits: type[Exception], echo: Callable[..., None]) -> NoReturn:
    """Run ``call`` and exit as typer's ``main`` and ``rad``'s group do."""
    try:
        call()
    except exits as exc:
        sys.exit(getattr(exc, "exit_code", 1))
    except EOFError:
        echo("", err=True)
        echo("Aborted!", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = _Pacified(sys.stdout)
        sys.stderr = _Pacified(sys.stderr)
        sys.exit(1)
    sys.exit(0)
