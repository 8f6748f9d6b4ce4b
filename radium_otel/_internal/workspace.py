"""Where a workspace's ``.radium/`` folder lives (SPEC "Session record")."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["resolve_workspace", "sessions_dir"]

WORKSPACE_ENV = "RADIUM_WORKSPACE"


def resolve_workspace(
    explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None
) -> Path:
    """The workspace folder: explicit, else ``$RADIUM_WORKSPACE``, else the nearest ancestor
    with a ``.radium/`` folder, else the git top level, else the current directory.
    """
    if explicit is not None:
        return Path(explicit).expanduser().absolute()
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env).expanduser().absolute()
    start = (cwd or Path.cwd()).absolute()
    for folder in (start, *start.parents):
        if (folder / ".radium").is_dir():
            return folder
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def sessions_dir(workspace: Path) -> Path:
    """The folder that holds one JSON file per session."""
    return workspace / ".radium" / "_internals" / "sessions"
