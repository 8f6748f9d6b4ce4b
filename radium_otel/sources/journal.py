"""The collector's write-ahead journal: what was acknowledged survives a killed collector.

One append-only file per live unit (a session a source reports, or a remote process whose
spans are replayed), named by a hash of its key, under ``<workspace>/.radium/_internals/
collector/``. A batch's rows are appended and fsynced before the receiver answers 200 (as the
OpenTelemetry Collector's persistent queue does); a unit's file is removed once its sessions
are stored. At start, `Journal.replay` hands every row back, in order. A row cut short by a
crash mid-append (never acknowledged) is skipped; so is a damaged one, with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radium_otel._internal.workspace import sessions_dir

__all__ = ["Journal", "journal_dir"]

logger = logging.getLogger("radium_otel")
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def journal_dir(workspace: Path) -> Path:
    """Where the collector of ``workspace`` keeps its journal."""
    return sessions_dir(workspace).parent / "collector"


class Journal:
    """Append-only row files, one per key, in ``folder`` (0700, files 0600)."""

    def __init__(self, folder: Path, *, sync: bool = True) -> None:
        self.folder = folder
        # fsync each append (the receiver's "on disk before the 200"); `rad import` syncs
        # once at the end instead (its progress is saved only after that).
        self.sync = sync
        self._lock = threading.Lock()  # appends and rewrites, one at a time

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.jsonl"

    def append(self, batches: dict[str, list[list[Any]]]) -> None:
        """Append each key's rows and fsync them; raises `OSError` when the disk refuses
        (the receiver then answers 503: nothing is acknowledged that is not on disk).
        """
        with self._lock:
            self._append(batches)

    def _append(self, batches: dict[str, list[list[Any]]]) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for key, rows in batches.items():
            fd = os.open(
                self._path(key), os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600
            )
            try:
                size = os.fstat(fd).st_size
                if size == 0:  # the first row names the key: the file name is a hash
                    rows = [["#", key], *rows]
                    prefix = b""
                else:  # a row cut short by a crash is ended, not continued
                    prefix = b"" if os.pread(fd, 1, size - 1) == b"\n" else b"\n"
                data = (
                    prefix
                    + "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()
                )
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.sync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def rewrite(self, key: str, rows: list[list[Any]]) -> None:
        """Replace ``key``'s rows with ``rows`` at once (a temp file, fsynced, renamed)."""
        with self._lock:
            self._rewrite(key, rows)

    def _rewrite(self, key: str, rows: list[list[Any]]) -> None:
        path = self._path(key)
        tmp = path.with_suffix(".tmp")
        data = "".join(
            json.dumps(r, separators=(",", ":")) + "\n" for r in [["#", key], *rows]
        ).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def remove(self, key: str) -> None:
        """Forget ``key``'s rows (its sessions are stored)."""
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def forget_older_than(self, age_s: float) -> int:
        """Remove files untouched for ``age_s`` seconds; returns how many."""
        cutoff = time.time() - age_s
        removed = 0
        for path in self._paths():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def _paths(self) -> list[Path]:
        try:
            return sorted(self.folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
        except OSError:
            return []

    def holds(self, key: str) -> bool:
        """Whether ``key`` has rows on disk (not forgotten)."""
        return self._path(key).exists()

    def replay_one(self, key: str) -> Iterator[tuple[str, list[Any]]]:
        """(key, row) for the rows of ``key`` alone."""
        path = self._path(key)
        return self._read(path) if path.exists() else iter(())

    def replay(self) -> Iterator[tuple[str, list[Any]]]:
        """(key, row) for every row on disk, file by file in the order rows were written."""
        for path in self._paths():
            yield from self._read(path)

    def _read(self, path: Path) -> Iterator[tuple[str, list[Any]]]:
        try:
            lines = path.read_bytes().split(b"\n")
        except OSError as exc:
            logger.warning("radium-otel: cannot read journal %s: %s", path, exc)
            return
        key: str | None = None
        damaged = 0
        for n, line in enumerate(lines):
            if not line:
                continue
            try:
                row = json.loads(line)
            except ValueError:
                if n < len(lines) - 1:  # (the last line, cut short by a crash, is normal)
                    damaged += 1
                continue
            if not isinstance(row, list):
                damaged += 1
            elif key is None:
                if row[:1] == ["#"] and len(row) == 2 and isinstance(row[1], str):
                    key = row[1]
                else:
                    damaged += 1
                    break
            else:
                yield key, row
        if damaged:
            logger.warning("radium-otel: skipped %d damaged rows of journal %s", damaged, path)
