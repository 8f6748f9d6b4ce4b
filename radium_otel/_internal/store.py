"""The local session store: one JSON file per session, written atomically.

Files are written to a temporary name in the same folder, fsynced and renamed over the
target, so a reader (or a process killed mid-write) never sees half a file. Files are 0600
and folders 0700 whatever the umask. Ids are checked against a strict pattern before they
touch the file system, and the store never follows a symlink out of its folder.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from radium_otel._internal.record import RecordError, SessionRecord

__all__ = ["LookupFailed", "SessionStore", "StoredSession", "is_safe_id"]

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
MIN_PREFIX = 4
_SURROGATE = re.compile("[\ud800-\udfff]")
_TMP_PREFIX = ".tmp-"
# An active record whose last checkpoint is older than this is stale even if its pid lives
# (pid reuse, or a record copied from another host).
STALE_AFTER_S = 120.0
# A temp file this old is a leftover whoever wrote it (see `SessionStore.cleanup_temp_files`).
ORPHAN_AFTER_S = 3600.0


class LookupFailed(LookupError):
    """A session id or prefix that does not name exactly one stored session."""


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A record read from disk, with the file it came from."""

    path: Path
    record: SessionRecord


def is_safe_id(session_id: str) -> bool:
    """True when ``session_id`` can name a file in the sessions folder."""
    return _SAFE_ID.fullmatch(session_id) is not None


class SessionStore:
    """Reads and writes the session files of one workspace."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._unindexed: list[tuple[SessionRecord, Path, os.stat_result]] = []  # (bulk)

    # --- writing -------------------------------------------------------------------------
    def write(self, record: SessionRecord, *, exclusive: bool = False, bulk: bool = False) -> Path:
        """Atomically write ``record``; raises `OSError` when the disk refuses.

        ``bulk`` (`rad import`, thousands of records in a row): no fsync, and the index
        is updated for many records at once (`index_bulk`); the writer syncs once
        (``os.sync``) at the end.

        With ``exclusive`` the file must not exist yet (`FileExistsError` otherwise): the
        check and the creation are one atomic step, so of several processes claiming the
        same id exactly one succeeds.
        """
        if not is_safe_id(record.id):
            raise ValueError(f"unsafe session id {record.id!r}")
        self._ensure_folder()
        target = self.folder / f"{record.id}.json"
        if target.is_symlink():
            raise OSError(errno.ELOOP, f"refusing to write through a symlink: {target}")
        # (indented for people; in bulk, compact: the C encoder is ~5x faster than indent's)
        indent = None if bulk else 2
        text = json.dumps(record.to_json(), indent=indent, ensure_ascii=False) + "\n"
        try:
            data = text.encode()
        except UnicodeEncodeError:
            # A lone surrogate (a tool or agent name from a file name decoded with
            # ``surrogateescape``, say) has no UTF-8 form and would cost the whole record:
            # it is stored as U+FFFD, and the index gets the record as stored.
            data = _SURROGATE.sub("\ufffd", text).encode()
            record = SessionRecord.from_json(json.loads(data))
        # The name says who writes it (pid, host), so that `cleanup_temp_files` can tell a
        # dead writer's leftover from a live writer's file in progress.
        tmp = self.folder / (
            f"{_TMP_PREFIX}{record.id}.{os.getpid()}.{time.monotonic_ns()}.{_host_tag()}"
        )
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if not bulk:
                os.fsync(fd)
            written = os.fstat(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.close(fd)
        try:
            if exclusive:
                _link_new(tmp, target)
            else:
                os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if bulk:
            self._unindexed.append((record, target, written))
        else:
            self._fsync_folder()
            self._index([(record, target, written)])
        return target

    def index_bulk(self) -> None:
        """Index the records written in bulk since the last call (never fails)."""
        written, self._unindexed = self._unindexed, []
        self._index(written)

    def _index(self, written: list[tuple[SessionRecord, Path, os.stat_result]]) -> None:
        """Keep the session index in step with files just written (never fails the write)."""
        from radium_otel._internal.index import FileStat, index_many  # sqlite3 on first write

        index_many(self.folder, [(r, target, FileStat.of(st)) for r, target, st in written])

    def _ensure_folder(self) -> None:
        for folder in (self.folder.parent.parent, self.folder.parent, self.folder):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                pass
            else:
                os.chmod(folder, 0o700)
                if folder == self.folder.parent:
                    # Keep the store out of `git status` and of code-change snapshots.
                    ignore = folder / ".gitignore"
                    ignore.write_text("# radium-otel's local session store\n*\n")
                    os.chmod(ignore, 0o600)
        if self.folder.is_symlink():
            raise OSError(errno.ELOOP, f"sessions folder is a symlink: {self.folder}")

    def _fsync_folder(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # --- reading -------------------------------------------------------------------------
    def paths(self, prefix: str = "") -> list[Path]:
        """Session files in the folder (regular files only, no temp files, no symlinks)
        whose name starts with ``prefix``.
        """
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return []
        return sorted(
            Path(e.path)
            for e in entries
            if e.name.startswith(prefix)
            and e.name.endswith(".json")
            and not e.name.startswith(".")
            and e.is_file(follow_symlinks=False)
        )

    def read(self, path: Path, now: float | None = None) -> SessionRecord:
        """Read one file; a stale ``active`` record reads as ``interrupted``.

        Raises `RecordError` for files that are not session records and `OSError` for
        files that cannot be read.
        """
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            raw = f.read()
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            # ValueError: bad UTF-8, bad JSON, or an integer too long to convert;
            # RecursionError: nesting deeper than the parser's stack.
            raise RecordError(f"not valid JSON ({exc})") from None
        record = SessionRecord.from_json(data)
        if record.status == "active" and _is_stale(record, time.time() if now is None else now):
            record = replace(record, status="interrupted")
        return record

    def load_all(self) -> tuple[list[StoredSession], list[str]]:
        """Every readable session, oldest first, and one warning per unreadable file."""
        sessions: list[StoredSession] = []
        warnings: list[str] = []
        now = time.time()
        for path in self.paths():
            try:
                sessions.append(StoredSession(path, self.read(path, now)))
            except (RecordError, OSError) as exc:
                warnings.append(f"skipped {path.name}: {exc}")
        sessions.sort(key=lambda s: (s.record.start_time, s.record.id))
        return sessions, warnings

    def resolve(self, id_or_prefix: str) -> Path:
        """The file of the session named by a full id or a unique prefix of >= 4 characters."""
        if not is_safe_id(id_or_prefix):
            raise LookupFailed(f"invalid session id {id_or_prefix!r}")
        exact = self.folder / f"{id_or_prefix}.json"
        if exact.is_symlink():
            raise LookupFailed(
                f"{exact.name} is a symbolic link; radium-otel reads only regular files in "
                f"{self.folder}"
            )
        if exact.is_file():
            return exact
        if len(id_or_prefix) < MIN_PREFIX:
            raise LookupFailed(
                f"no session {id_or_prefix!r} (a prefix needs at least {MIN_PREFIX} characters)"
            )
        matches = self.paths(id_or_prefix)
        if not matches:
            raise LookupFailed(f"no session matches {id_or_prefix!r}")
        if len(matches) > 1:
            raise LookupFailed(
                f"session prefix {id_or_prefix!r} is ambiguous ({len(matches)} sessions match)"
            )
        return matches[0]

    def cleanup_temp_files(self, older_than_s: float = ORPHAN_AFTER_S) -> int:
        """Remove temp files left by killed writers; returns how many were removed.

        A temp file is a leftover when the process that was writing it (the pid and host in
        its name) is gone, or, whoever wrote it, when it is older than ``older_than_s`` (a
        write takes milliseconds; this covers writers on other hosts and pid reuse). A live
        writer's file in progress is never removed: its pid runs and it is young. Symlinks
        are left alone.
        """
        removed = 0
        cutoff = time.time() - older_than_s
        try:
            entries = list(os.scandir(self.folder))
        except (FileNotFoundError, NotADirectoryError):
            return 0
        here = _host_tag()
        for e in entries:
            if not e.name.startswith(_TMP_PREFIX):
                continue
            with contextlib.suppress(OSError):
                if not e.is_file(follow_symlinks=False):
                    continue
                parts = e.name[len(_TMP_PREFIX) :].split(".")
                writer_gone = (
                    len(parts) == 4
                    and parts[3] == here
                    and parts[1].isdigit()
                    and not _pid_alive(int(parts[1]))
                )
                if writer_gone or e.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(e.path)
                    removed += 1
        return removed


def host_name() -> str:
    """The name of this host (`socket` imported when first needed: ~4 ms of a ``rad stats``
    start-up that seldom needs it).
    """
    import socket

    return socket.gethostname()


def _host_tag() -> str:
    """A short tag of this host's name, for temp file names."""
    return format(zlib.crc32(host_name().encode()), "08x")


def _link_new(tmp: Path, target: Path) -> None:
    """Put ``tmp`` at ``target`` only if nothing is there (`FileExistsError` otherwise)."""
    try:
        os.link(tmp, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links: check, then rename (not atomic, still safe
        # against everything but a claim in the same instant).
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "session file exists", str(target)) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _is_stale(record: SessionRecord, now: float) -> bool:
    meta = record.metadata
    pid, host = meta.get("pid"), meta.get("host")
    if isinstance(pid, int) and host == host_name() and not _pid_alive(pid):
        return True
    updated = record.updated_time or record.start_time
    return now - updated.timestamp() > stale_after_s(meta)


def stale_after_s(metadata: Mapping[str, object]) -> float:
    """How long an ``active`` record may go without a checkpoint before it reads as stale.

    `STALE_AFTER_S`, or three checkpoint intervals for a writer that checkpoints less often
    than usual (it says so in its records' ``metadata.checkpoint_interval_s``).
    """
    interval = metadata.get("checkpoint_interval_s")
    if isinstance(interval, (int, float)) and not isinstance(interval, bool):
        if math.isfinite(interval):
            return max(STALE_AFTER_S, 3 * float(interval))
    return STALE_AFTER_S


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False  # 0 and negative pids name process groups, not a process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True
