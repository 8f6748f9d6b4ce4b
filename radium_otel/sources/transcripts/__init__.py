"""Readers of the transcripts coding CLIs keep on disk (`rad import`), one module per format.

A reader turns one parsed JSON line into the same `events.Item`s the OTLP mappings make
(`radium_otel.sources.claude_code`, ...), keyed by the ids the CLI gives a request or a tool
call where it has them, so that a session seen live by `rad collect` and imported later is one
session, each request counted once. A reader keeps a little state per file (the request being
answered, the tool calls waiting for their results): it is saved with the file's offset, so a
file that grew is read from where the last import stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

from radium_otel.sources.events import Item

__all__ = ["FORMATS", "Format", "Skip", "walk"]


class Skip(Exception):
    """A line that is read but not used: its reason is counted in the import's summary."""


class Format(Protocol):
    """One CLI's transcript format."""

    name: ClassVar[str]  # the source's name: claude-code, codex, gemini-cli
    lines_known: ClassVar[bool]  # its edits' line counts are in it (else code changes null)

    def default_roots(self) -> list[Path]:
        """Where the CLI keeps its transcripts by default (environment variables first)."""

    def files(self, root: Path) -> Iterator[str]:
        """The transcript files under ``root`` (or ``root`` itself, a file), as `walk`
        gives them.
        """

    def group(self, name: str) -> str:
        """What the files that may hold the same session as file ``name`` share (one
        process reads them, in a parallel import: a session in two groups is read again).
        """

    #: Raw lines starting with one of these are, without parsing them, of a record type the
    #: reader ignores.
    skip_prefixes: ClassVar[tuple[bytes, ...]]

    def read(self, row: Any, path: Path, state: dict[str, Any], out: list[Item]) -> None:
        """Add the items of one parsed line to ``out``; `Skip` with a reason for a line that
        is not used. ``state`` is the file's reader state (JSON-able, saved between runs).
        """


def walk(root: Path, wanted: Callable[[str, str], bool]) -> Iterator[str]:
    """The files under ``root`` for which ``wanted(folder, name)``, folders in name order,
    not following links to folders; ``root`` itself when it is not a folder. Paths are
    strings: an import looks at tens of thousands of them and opens few.
    """
    if not root.is_dir():
        yield str(root)
        return
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if wanted(folder, name):
                yield os.path.join(folder, name)


def formats() -> dict[str, Format]:
    """The formats `rad import` reads, by source name."""
    from radium_otel.sources.transcripts import claude_code, codex, gemini_cli

    return {f.name: f for f in (claude_code.FORMAT, codex.FORMAT, gemini_cli.FORMAT)}


FORMATS = ("claude-code", "codex", "gemini-cli")
