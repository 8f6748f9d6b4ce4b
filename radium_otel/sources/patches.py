"""The lines a Codex ``apply_patch`` call adds and removes, per file: for its OTLP events
(`radium_otel.sources.codex`) and its transcripts (`radium_otel.sources.transcripts.codex`)
alike. Only counts leave here; the patch itself is never kept.
"""

from __future__ import annotations

import json
from typing import Final

__all__ = ["patch_lines"]

_FILE_TAGS: Final = ("Add File: ", "Update File: ", "Delete File: ")
_MOVE: Final = "Move to: "


def patch_lines(arguments: str) -> list[tuple[str, int, int]]:
    """(path, lines added, lines removed) per file of an ``apply_patch`` patch.

    The patch may come bare or as ``{"input": patch}``. ``*** Add File`` counts its ``+``
    lines, ``*** Update File`` its ``+``/``-`` lines (a ``*** Move to`` renames the row),
    ``*** Delete File`` a changed file whose removed lines the patch does not hold (0).
    """
    text = arguments
    if arguments.lstrip().startswith("{"):
        try:
            data = json.loads(arguments)
        except ValueError:
            data = None
        if isinstance(data, dict):
            found = data.get("input") or data.get("patch")
            text = found if isinstance(found, str) else ""
    counts: dict[str, list[int]] = {}  # path -> [added, removed], in patch order
    path: str | None = None
    for line in text.splitlines():
        if line.startswith("*** "):
            header = line[4:]
            tag = next((t for t in _FILE_TAGS if header.startswith(t)), None)
            if tag is not None:
                path = header[len(tag) :].strip()
                counts.setdefault(path, [0, 0])
            elif header.startswith(_MOVE) and path is not None:
                moved = header[len(_MOVE) :].strip()
                counts[moved] = counts.pop(path)
                path = moved
            elif header.startswith(("End Patch", "Begin Patch")):
                path = None
        elif path is not None and line.startswith("+"):
            counts[path][0] += 1
        elif path is not None and line.startswith("-"):
            counts[path][1] += 1
    return [(p, added, removed) for p, (added, removed) in counts.items()]
