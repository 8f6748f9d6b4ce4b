"""``rad … --help`` answered from what typer printed for it before, in the same setting.

Typer builds its help with rich: ~0.15 s of a process whose text never changes between two
runs in the same terminal. The first ``rad [COMMAND…] --help`` runs typer as always and keeps
a copy of the bytes it wrote (only when it exits 0); the next one in the same setting writes
that copy and exits, without importing typer. The setting is everything the help's bytes
depend on: the command line and the program's name, the code (the CLI's own files, typer's,
click's and rich's, the interpreter), and what typer and rich read to lay it out (whether
standard output is a terminal, its size and encoding, and the environment variables they
read: width, colour, ``TERM``, locale, ``RADIUM_*`` defaults). Any change in any of them is a
new entry, so a cached help is always the one typer would print. Copies live in the user's
cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, ``radium-otel/help``), at most `KEEP`;
a cache that cannot be read or written only means typer answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["KEEP", "cache_folder", "recording", "replay", "setting_key"]

KEEP = 64  # cached helps; the oldest go beyond this
_WORD = re.compile(r"[a-z][a-z0-9-]*")
# The environment variables typer (0.29) and rich (14) read when they lay out help, the
# locale (encodings), and radium's own (defaults shown in help).
_NAMES = frozenset({
    "COLUMNS", "LINES", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE",
    "TTY_INTERACTIVE", "TERMINAL_WIDTH", "GITHUB_ACTIONS", "PY_COLORS", "JUPYTER_COLUMNS",
    "JUPYTER_LINES", "DATABRICKS_RUNTIME_VERSION", "LANG", "LANGUAGE", "PYTHONIOENCODING",
    "PYTHONUTF8",
})  # fmt: skip
_PREFIXES = ("LC_", "TYPER_", "_TYPER_", "RADIUM_", "RICH_", "CLICOLOR")
_LIBRARIES = ("typer", "click", "rich")


def setting_key(args: Sequence[str]) -> str | None:
    """The cache key of ``rad ARGS`` here and now; None when it is not a plain help request
    (``[COMMAND…] --help``) or cannot be answered from a cache.
    """
    if (
        sys.platform == "win32"
        or not args
        or args[-1] != "--help"
        or len(args) > 4
        or not all(_WORD.fullmatch(a) for a in args[:-1])
        or sys.stdout is None
        or hasattr(sys.stdout, "rich_proxied_file")
        or "idlelib" in sys.modules
    ):
        return None
    stdout = sys.stdout
    if not isinstance(getattr(stdout, "encoding", None), str) or not hasattr(stdout, "buffer"):
        return None  # (not a file this module can copy and write bytes to: a test's StringIO)
    try:
        tty = stdout.isatty()
    except ValueError:
        return None
    size: tuple[int, int] | None = None
    for fd in (0, 1, 2):  # (where rich looks for the terminal's size)
        try:
            size = tuple(os.get_terminal_size(fd))  # type: ignore[assignment]
            break
        except (OSError, ValueError):
            continue
    env = sorted((k, v) for k, v in os.environ.items() if k in _NAMES or k.startswith(_PREFIXES))
    parts: list[object] = [
        list(args),
        os.path.basename(sys.argv[0]),
        sys.version,
        sys.prefix,
        tty,
        size,
        getattr(stdout, "encoding", None),
        getattr(stdout, "errors", None),
        env,
        _code(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _code() -> list[tuple[str, int, int]]:
    """Size and modification time of the files that make the help: the CLI's own and the
    libraries' (an upgrade rewrites them).
    """
    out: list[tuple[str, int, int]] = []
    here = Path(__file__).resolve().parent
    files = [here / name for name in sorted(os.listdir(here)) if name.endswith(".py")]
    files.append(here.parent / "__init__.py")  # (radium's version)
    for library in _LIBRARIES:
        for entry in sys.path:
            candidate = Path(entry or ".") / library / "__init__.py"
            if candidate.is_file():
                files.append(candidate)
                break
    for file in files:
        try:
            st = file.stat()
        except OSError:
            continue
        out.append((str(file), st.st_size, st.st_mtime_ns))
    return out


def cache_folder() -> Path | None:
    """Where cached helps live (None without a home folder)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.environ.get("HOME")
        if not home:
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "radium-otel" / "help"


def replay(key: str) -> bool:
    """Write the help cached under ``key``; False when there is none."""
    folder = cache_folder()
    if folder is None:
        return False
    try:
        data = (folder / key).read_bytes()
    except OSError:
        return False
    stdout = sys.stdout
    try:
        stdout.flush()
        stdout.buffer.write(data)
        stdout.buffer.flush()
    except BrokenPipeError:  # (as typer's own help under a closed pipe)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        raise SystemExit(1) from None
    return True


class _Tee:
    """Standard output that keeps a copy of what is written through it."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.copy: list[bytes] = []

    def write(self, text: str) -> int:
        self.copy.append(text.encode(self.wrapped.encoding, self.wrapped.errors))
        return int(self.wrapped.write(text))

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)


@contextlib.contextmanager
def recording(key: str) -> Iterator[None]:
    """Run typer with standard output copied; keep the copy when it exits 0."""
    real = sys.stdout
    tee = _Tee(real)
    sys.stdout = tee
    try:
        yield
    except SystemExit as done:
        sys.stdout = real
        if done.code in (0, None):
            _keep(key, b"".join(tee.copy))
        raise
    finally:
        sys.stdout = real


def _keep(key: str, data: bytes) -> None:
    folder = cache_folder()
    if folder is None or not data:
        return
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = folder / f".{key}.{os.getpid()}"
        tmp.write_bytes(data)
        os.replace(tmp, folder / key)
        kept = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        for old in kept[:-KEEP]:
            old.unlink()
