r"""Code changes of a session, measured from git snapshot trees (SPEC "Code changes").

At session start and end the whole working tree — tracked and untracked files, honouring
``.gitignore`` — is written into a git tree object through a *temporary* index: a copy of
the real index (so git's stat cache spares re-hashing unchanged files), filled by
``git add -A`` and written by ``git write-tree``. ``git diff-tree -r --numstat -z -M`` between
the two trees gives lines added and removed per file. Because trees are compared, not
commits, edits that predate the session are not counted and commits made during it are.

The start snapshot is the tree at the instant the session opens: ``git add -A`` runs in the
thread opening the session, before the agent can touch a file (every file's content is then
stored as a blob, named in the temporary index); only ``git write-tree``, which reads nothing
but that index, is left to a background thread.

What the user owns is left alone: the index is only read (copied), and HEAD, refs, the
stash and the working tree are never written. The only trace is new objects in the object
database (blobs and trees, unreachable, pruned by ``git gc`` like any dangling object).
Every git call runs under a time limit; when it runs out the git process group is killed.

Paths: git reports them as bytes. They are stored as text decoded from UTF-8, with any
byte that is not valid UTF-8 written as a ``\xNN`` escape (``backslashreplace``), so the
record is always valid JSON and UTF-8; such a name cannot be told from one that really
contains a backslash, ``x`` and two hex digits. Paths are relative to the repository's top
level, also when the workspace is a subdirectory (the whole working tree is measured).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from radium_otel._internal.errors import log_internal_error
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.styled import Styled

__all__ = [
    "ERROR_KEY",
    "CodeChangeTracker",
    "Snapshot",
    "SnapshotError",
    "diff_trees",
    "parse_numstat",
    "remove_orphaned_snapshots",
    "render_files",
    "take_snapshot",
]

#: ``record.metadata`` key holding the one-line reason when code changes are not measured.
ERROR_KEY = "code_changes_error"

# Options on every git call: nothing optional is locked or rewritten (no opportunistic
# index refresh), no fsmonitor daemon or hook is started, the copied index is never turned
# into a split index (which would write a new ``sharedindex.*`` into ``.git``), and CRLF
# checks that only warn or refuse are off (content is converted exactly as ``git add``
# would; the snapshot just never fails on them).
_GIT_OPTIONS = (
    "--no-optional-locks",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.splitIndex=false",
    "-c",
    "core.safecrlf=false",
    "-c",
    "advice.addEmbeddedRepo=false",
)
# Variables that would point git at another repository, index or work tree than the
# workspace's own (set, for instance, when an agent runs inside a git hook).
_LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
)
_MAX_REASON = 300


class SnapshotError(Exception):
    """Code changes could not be measured; the message is a one-line reason."""


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """The working tree of the repository at ``toplevel``, written as tree object ``tree``."""

    toplevel: Path
    tree: str


class _Budget:
    """A time limit shared by several git calls."""

    __slots__ = ("deadline", "limit_s")

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.deadline = time.monotonic() + limit_s

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def take_snapshot(workspace: Path, *, git: str = "git", timeout_s: float = 10.0) -> Snapshot:
    """Write the working tree of the repository containing ``workspace`` as a tree object.

    Raises `SnapshotError` (outside a repository, git missing or failing, over time).
    """
    return _snapshot(Path(workspace), git, _Budget(timeout_s))


def diff_trees(
    snapshot_start: Snapshot,
    snapshot_end: Snapshot,
    *,
    git: str = "git",
    timeout_s: float = 10.0,
    max_files: int = 500,
) -> dict[str, Any]:
    """The ``code_changes`` of a session between two snapshots (see `parse_numstat`)."""
    return _diff(snapshot_start, snapshot_end, git, _Budget(timeout_s), max_files)


def parse_numstat(output: bytes, *, max_files: int = 500) -> dict[str, Any]:
    """Parse ``git diff-tree -r --numstat -z -M`` output into totals and per-file rows.

    Each entry is ``added TAB removed TAB path NUL``, or for a rename
    ``added TAB removed TAB NUL old-path NUL new-path NUL``; a binary file has ``-`` for
    both counts (counted as changed, with 0 lines). Totals are exact; ``files`` keeps the
    first ``max_files`` rows in git's order and ``files_truncated`` says whether any were
    left out. Raises `SnapshotError` on output of another shape.
    """
    fields = output.split(b"\0")
    if fields[-1] != b"":
        raise SnapshotError("unexpected git diff-tree output (not NUL-terminated)")
    fields.pop()
    files: list[dict[str, Any]] = []
    added_total = removed_total = changed = 0
    i = 0
    while i < len(fields):
        parts = fields[i].split(b"\t", 2)
        i += 1
        if len(parts) != 3:
            raise SnapshotError("unexpected git diff-tree output (no counts)")
        added_raw, removed_raw, path = parts
        renamed_from: bytes | None = None
        if not path:  # a rename: old and new path follow as their own fields
            if i + 2 > len(fields):
                raise SnapshotError("unexpected git diff-tree output (truncated rename)")
            renamed_from, path = fields[i], fields[i + 1]
            i += 2
        binary = added_raw == b"-" and removed_raw == b"-"
        if binary:
            added = removed = 0
        else:
            try:
                added, removed = int(added_raw), int(removed_raw)
            except ValueError:
                raise SnapshotError("unexpected git diff-tree output (bad counts)") from None
        changed += 1
        added_total += added
        removed_total += removed
        if len(files) < max_files:
            files.append(
                {
                    "path": _path_text(path),
                    "added": added,
                    "removed": removed,
                    "binary": binary,
                    "renamed_from": None if renamed_from is None else _path_text(renamed_from),
                }
            )
    return {
        "lines_added": added_total,
        "lines_removed": removed_total,
        "files_changed": changed,
        "files": files,
        "files_truncated": changed > len(files),
    }


class CodeChangeTracker:
    """A session hook recording the code changes made in ``workspace``'s git repository.

    `session_started` reads the working tree before returning (``git add -A`` into a
    temporary index: only files changed since the real index are hashed) and leaves
    writing the tree to a daemon thread; `session_ended` waits for it, takes the end
    snapshot, diffs and returns the record with ``code_changes`` filled in — or, when that
    is impossible, ``code_changes`` None and the reason in
    ``record.metadata["code_changes_error"]``. Each snapshot, and `session_ended` as a
    whole, is limited to ``timeout_s``; the per-file list to ``max_files`` rows.

    An edit made the instant `session_started` returns counts as made during the session.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        timeout_s: float = 10.0,
        max_files: int = 500,
        git: str = "git",
    ) -> None:
        self.workspace = Path(workspace)
        self.timeout_s = timeout_s
        self.max_files = max_files
        self.git = git
        # Guards `_started` and `_repository`: sessions open and end on any thread.
        self._lock = threading.Lock()
        self._started: dict[str, _StartSnapshot] = {}
        # Found by the first snapshot that succeeds, then reused (one git call less each).
        self._repository: _Repository | None = None

    def session_started(self, session_id: str, *, user_opened: bool = True) -> None:
        """Read the working tree as it is now; write it as a tree in the background.

        A session that spans opened (an agent framework's run) is told inside a span's
        start, on the agent's path: its snapshot is all taken in the background, as soon
        as a thread gets to it.
        """
        pending = _StartSnapshot()
        with self._lock:
            self._started[session_id] = pending
        budget = _Budget(self.timeout_s)
        if user_opened:
            try:
                staged: _Staged | None = _stage(self._locate(budget), self.git, budget)
            except Exception as exc:
                _settle(pending, exc)
                return
        else:
            staged = None
        thread = threading.Thread(
            target=self._write_start,
            args=(pending, staged, budget),
            name=f"radium-snapshot-{session_id[:8]}",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: write the tree here
            self._write_start(pending, staged, budget)

    def session_dropped(self, session_id: str) -> None:
        """Forget the start snapshot of a session that ended with nothing to write."""
        with self._lock:
            self._started.pop(session_id, None)

    def wait_for_start(self, session_id: str, timeout_s: float | None = None) -> bool:
        """Wait until the start snapshot of an open session is taken (or failed).

        True when it finished within ``timeout_s`` (default: the tracker's time limit).
        """
        with self._lock:
            pending = self._started.get(session_id)
        if pending is None:
            return False
        return pending.done.wait(self.timeout_s if timeout_s is None else timeout_s)

    def session_ended(self, record: SessionRecord) -> SessionRecord:
        """The record with ``code_changes`` (or the reason they are missing) filled in."""
        budget = _Budget(self.timeout_s)
        with self._lock:
            pending = self._started.pop(record.id, None)
        if pending is None:
            return _failed(record, "no snapshot was taken when the session started")
        if not pending.done.wait(max(budget.remaining(), 0.0)):
            return _failed(
                record, f"the start snapshot took longer than the {self.timeout_s:g}s limit"
            )
        if pending.snapshot is None:
            return _failed(record, pending.error or "the start snapshot failed")
        try:
            staged = _stage(self._locate(budget), self.git, budget)
            end = _write_tree(staged, self.git, budget)
            changes = _diff(pending.snapshot, end, self.git, budget, self.max_files)
        except SnapshotError as exc:
            return _failed(record, str(exc))
        return dataclasses.replace(record, code_changes=changes)

    def _locate(self, budget: _Budget) -> _Repository:
        with self._lock:
            known = self._repository
        if known is not None:
            return known
        found = _locate(self.workspace, self.git, budget)
        with self._lock:
            self._repository = found
        return found

    def _write_start(
        self, pending: _StartSnapshot, staged: _Staged | None, budget: _Budget
    ) -> None:
        try:
            if staged is None:
                staged = _stage(self._locate(budget), self.git, budget)
            pending.snapshot = _write_tree(staged, self.git, budget)
        except Exception as exc:
            _settle(pending, exc)
        else:
            pending.done.set()


def _settle(pending: _StartSnapshot, exc: Exception) -> None:
    """Record why the start snapshot failed (an unexpected error is also logged)."""
    if isinstance(exc, SnapshotError):
        pending.error = str(exc)
    else:
        pending.error = f"internal error: {type(exc).__name__}"
        log_internal_error("CodeChangeTracker start snapshot", exc)
    pending.done.set()


class _StartSnapshot:
    """The start snapshot of one session, filled in before ``done`` is set."""

    __slots__ = ("done", "error", "snapshot")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.snapshot: Snapshot | None = None
        self.error: str | None = None


def _failed(record: SessionRecord, reason: str) -> SessionRecord:
    return dataclasses.replace(
        record, code_changes=None, metadata={**record.metadata, ERROR_KEY: _one_line(reason)}
    )


# --- git ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class _Staged:
    """The working tree of ``toplevel`` added to the temporary index in ``folder``.

    Every file's content is stored as a blob by then; the tree is not written yet.
    """

    toplevel: Path
    folder: Path

    def env(self) -> dict[str, str]:
        """The environment of a git call on the temporary index."""
        return {**_git_env(), "GIT_INDEX_FILE": str(self.folder / "index")}


@dataclasses.dataclass(frozen=True, slots=True)
class _Repository:
    """Where the work tree containing a workspace is: its top level and its real index."""

    toplevel: Path
    index: Path


def _snapshot(workspace: Path, git: str, budget: _Budget) -> Snapshot:
    return _write_tree(_stage(_locate(workspace, git, budget), git, budget), git, budget)


def _locate(workspace: Path, git: str, budget: _Budget) -> _Repository:
    if not workspace.is_dir():
        raise SnapshotError(f"workspace {workspace} is not a folder")
    try:
        where = _run(
            git,
            ("rev-parse", "--show-toplevel", "--git-path", "index"),
            workspace,
            _git_env(),
            budget,
        )
    except _GitFailed as exc:
        raise SnapshotError(f"not in a git work tree: {workspace} ({exc})") from None
    # Two lines; the top level is split off from the right, as its name may hold a newline.
    top_raw, _, index_raw = where.removesuffix(b"\n").rpartition(b"\n")
    if not top_raw:
        raise SnapshotError(f"not in a git work tree: {workspace}")
    # --git-path is relative to the folder git ran in; kept absolute, as it is reused.
    index = Path(os.path.abspath(workspace / os.fsdecode(index_raw)))
    return _Repository(Path(os.fsdecode(top_raw)), index)


def _stage(repository: _Repository, git: str, budget: _Budget) -> _Staged:
    """Add the working tree to a temporary index (a copy of the real one) as it is now."""
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{_SNAPSHOT_PREFIX}{os.getpid()}-"))
    except OSError as exc:
        raise SnapshotError(f"cannot create a temporary index: {exc}") from None
    staged = _Staged(repository.toplevel, folder)
    try:
        _copy_index(repository.index, folder / "index")
        _run(git, ("add", "-A"), staged.toplevel, staged.env(), budget)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return staged


def _write_tree(staged: _Staged, git: str, budget: _Budget) -> Snapshot:
    """Write the temporary index as a tree object, then remove it."""
    try:
        out = _run(git, ("write-tree",), staged.toplevel, staged.env(), budget)
    finally:
        shutil.rmtree(staged.folder, ignore_errors=True)
    return Snapshot(staged.toplevel, out.strip().decode("ascii"))


_SNAPSHOT_PREFIX = "radium-snapshot-"


def remove_orphaned_snapshots(folder: str | None = None) -> int:
    """Remove temporary index folders of snapshots whose process was killed.

    Each folder is named ``radium-snapshot-<pid>-...``; it is removed only when it is ours
    (same user) and its process is gone, so a live snapshot is never touched. Returns how
    many were removed.
    """
    from radium_otel._internal.store import _pid_alive

    removed = 0
    try:
        entries = list(os.scandir(folder or tempfile.gettempdir()))
    except OSError:
        return 0
    for e in entries:
        if not e.name.startswith(_SNAPSHOT_PREFIX):
            continue
        pid = e.name[len(_SNAPSHOT_PREFIX) :].split("-", 1)[0]
        with contextlib.suppress(OSError):
            if (
                pid.isdigit()
                and e.is_dir(follow_symlinks=False)
                and e.stat(follow_symlinks=False).st_uid == os.getuid()
                and not _pid_alive(int(pid))
            ):
                shutil.rmtree(e.path)
                removed += 1
    return removed


def _copy_index(real: Path, temp: Path) -> None:
    """Copy the index with its modification time, or leave ``temp`` absent if there is none.

    The time matters: git re-checks ("racily clean") entries whose files changed in the
    same instant the index was written by comparing with the index file's own mtime; a copy
    stamped later would make git trust a stale stat cache.
    """
    try:
        source = open(real, "rb")
    except FileNotFoundError:
        return  # no index yet (nothing ever staged): start from an empty one
    except OSError as exc:
        raise SnapshotError(f"cannot read the index {real}: {exc}") from None
    try:
        with source, open(temp, "xb") as target:
            stat = os.fstat(source.fileno())
            shutil.copyfileobj(source, target, 1 << 20)
        os.utime(temp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    except OSError as exc:
        raise SnapshotError(f"cannot copy the index {real}: {exc}") from None


def _diff(
    start: Snapshot, end: Snapshot, git: str, budget: _Budget, max_files: int
) -> dict[str, Any]:
    if start.tree == end.tree:
        output = b""
    else:
        args = ("diff-tree", "-r", "--numstat", "-z", "-M", start.tree, end.tree)
        output = _run(git, args, end.toplevel, _git_env(), budget)
    changes = parse_numstat(output, max_files=max_files)
    changes["start_tree"] = start.tree
    changes["end_tree"] = end.tree
    return changes


class _GitFailed(SnapshotError):
    """Git ran and exited with an error."""


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return env


def _run(
    git: str, args: tuple[str, ...], cwd: Path, env: Mapping[str, str], budget: _Budget
) -> bytes:
    """Stdout of ``git args`` run in ``cwd``, killed when the budget runs out."""
    what = f"git {args[0]}"
    remaining = budget.remaining()
    if remaining <= 0:
        raise SnapshotError(f"{what} not started: over the {budget.limit_s:g}s limit")
    try:
        proc = subprocess.Popen(
            [git, *_GIT_OPTIONS, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=os.name == "posix",  # its own process group, killed as one
        )
    except OSError as exc:
        raise SnapshotError(f"cannot run git ({git}): {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise SnapshotError(
            f"{what} took longer than the {budget.limit_s:g}s limit (repository too large?)"
        ) from None
    if proc.returncode != 0:
        raise _GitFailed(f"{what} failed: {_git_message(err, proc.returncode)}")
    return out


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - not exercised on POSIX
            proc.kill()
    try:
        proc.communicate(timeout=2.0)
    except subprocess.TimeoutExpired:  # pragma: no cover - a child that ignores SIGKILL
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _git_message(stderr: bytes, returncode: int) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit status {returncode}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 3] + "..."


def _path_text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


# --- rendering ------------------------------------------------------------------------------
def render_files(code_changes: Mapping[str, Any] | None) -> Styled:
    r"""Per-file rows of ``rad stats session --files``.

    ``+A -R path`` per file, ``binary`` instead of counts for binary files, ``old -> new``
    for renames, and a last line counting the files not listed when the list was capped.
    Control characters in names are shown escaped (``\n``, ``\t``, ``\x1b``).
    """
    from radium_otel._internal.render import format_count

    text = Styled()
    if not code_changes:
        text.append("No code changes recorded.")
        return text
    raw_rows = code_changes.get("files")
    rows = [r for r in raw_rows if isinstance(r, Mapping)] if isinstance(raw_rows, list) else []
    total = _count(code_changes.get("files_changed"))
    if not rows and total == 0:
        added, removed = code_changes.get("lines_added"), code_changes.get("lines_removed")
        if code_changes.get("files_changed") is None and (added or removed):
            source = code_changes.get("measured_by") or "the source"
            counts = f"+{format_count(_count(added))} -{format_count(_count(removed))}"
            text.append(f"{source} reported {counts} lines without naming the files.")
            return text
        text.append("No files changed.")
        return text
    plus = [f"+{format_count(_count(r.get('added')))}" for r in rows]
    minus = [f"-{format_count(_count(r.get('removed')))}" for r in rows]
    plus_w = max(map(len, plus), default=0)
    minus_w = max(map(len, minus), default=0)
    width = plus_w + 1 + minus_w
    if any(r.get("binary") is True for r in rows):
        width = max(width, len("binary"))
    for row, p, m in zip(rows, plus, minus, strict=True):
        if row.get("binary") is True:
            text.append("binary".rjust(width), style="yellow")
        else:
            text.append(" " * (width - plus_w - 1 - minus_w))
            text.append(p.rjust(plus_w), style="green")
            text.append(" ")
            text.append(m.rjust(minus_w), style="red")
        text.append("  ")
        old = row.get("renamed_from")
        if isinstance(old, str) and old:
            text.append(_display(old))
            text.append(" -> ", style="dim")
        text.append(_display(str(row.get("path", "?"))))
        text.append("\n")
    hidden = total - len(rows)
    if hidden > 0:
        noun = "file" if hidden == 1 else "files"
        text.append(
            f"... {format_count(hidden)} more {noun} not listed "
            f"({format_count(total)} changed in all)",
            style="dim",
        )
    text.rstrip()
    return text


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _display(path: str) -> str:
    """``path`` on one terminal line: control characters escaped."""
    if path.isprintable():
        return path
    out = []
    for ch in path:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable() and ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out)
