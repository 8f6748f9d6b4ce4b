"""`rad import`: sessions from the transcripts coding CLIs keep on disk, incrementally.

Per file the importer remembers (``.radium/_internals/import/<format>.json``) its identity
(device, inode, a digest of its first KiB), its size and mtime, the offset of the first line
not read yet and its reader's state. A file that did not change is not opened; one that grew
is read from that offset; one rewritten (another inode, or another first KiB) is read again
from the start — its items carry the same keys, so nothing counts twice. Only whole lines
are read: a last line still being written is left for the next run.

Items go through the collector's journal and live sessions (`Collector.add`): a session
`rad collect` saw live is joined, not duplicated. Sessions whose files changed in the last
``active_after_s`` stay ``active``; the others are stored ``completed``, priced. Transcripts
are only ever read.

The journal keeps a session for `Collector.retention_s` (two days) after it was last added
to; reading a file on from an offset relies on it for what came before. So: sessions whose
transcripts have been quiet for longer than that are not journaled at all (they would be
forgotten unread, and `rad collect` would store a resumed one beside them as ``<id>-2``
anyway), and a session the journal does not hold is always read whole — a grown file of
it from its start, and every other file of it too (a sub-agent's), in the same batch —
so that the record stored in its place holds all of it.

When much changed (`PARALLEL_FROM_BYTES`, a first import), worker processes read it: the
files are dealt out by the format's group (the files that may hold one session), each worker
stores and indexes what it read, and a session two workers saw is read again here, whole. A
worker that dies leaves what it had not finished to this process.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from radium_otel._internal.errors import warn_once
from radium_otel._internal.pricing import CostHook
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.sources.collector import Collector
from radium_otel.sources.events import Item
from radium_otel.sources.journal import journal_dir
from radium_otel.sources.transcripts import Format, Skip, formats

__all__ = ["ACTIVE_AFTER_S", "PARALLEL_FROM_BYTES", "ImportSummary", "Importer"]

ACTIVE_AFTER_S: Final = 30 * 60.0  # a transcript written to this recently is a live session
HEAD_BYTES: Final = 1024
BATCH_ITEMS: Final = 20_000  # items journaled at a time (memory stays flat in the corpus)
# Transcripts changed since the last run from which an import reads them in several processes
# (each costs ~0.3 s to start; 10,000 files, 2 GB, take ~25 s in one).
PARALLEL_FROM_BYTES: Final = 64 << 20
_BLANK: Final = frozenset(b" \t\r\x0b\x0c")  # (a line starting with one may be blank)
_VERSION: Final = 1


@dataclass
class ImportSummary:
    """What one import did."""

    format: str
    files: int = 0  # transcript files found
    files_read: int = 0  # ... of which had something new
    lines: int = 0  # whole lines read
    sessions_new: int = 0
    sessions_updated: int = 0
    sessions_active: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> lines
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` lines skipped for ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "format": self.format,
            "files": self.files,
            "files_read": self.files_read,
            "lines": self.lines,
            "sessions_new": self.sessions_new,
            "sessions_updated": self.sessions_updated,
            "sessions_active": self.sessions_active,
            "skipped": dict(sorted(self.skipped.items())),
            "problems": [{"file": f, "reason": r} for f, r in self.problems],
            "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        """The one-line summary."""
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(self.skipped.items()))
        text = (
            f"{self.format}: {self.files:,} files ({self.files_read:,} with new lines), "
            f"{self.sessions_new:,} sessions new, {self.sessions_updated:,} updated"
            + (f" ({self.sessions_active:,} still active)" if self.sessions_active else "")
            + f", {self.lines:,} lines read"
            + (f", {skipped:,} skipped ({reasons})" if skipped else "")
            + (f", {len(self.problems):,} files unreadable" if self.problems else "")
            + f" in {self.seconds:.1f}s"
        )
        return text


class Importer:
    """Imports one format's transcripts into ``workspace``'s store."""

    def __init__(
        self,
        workspace: Path,
        fmt: Format,
        *,
        active_after_s: float = ACTIVE_AFTER_S,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
        parallel_from_bytes: int = PARALLEL_FROM_BYTES,
    ) -> None:
        self.workspace = workspace
        self.format = fmt
        self.active_after_s = active_after_s
        self.progress = progress
        # Processes reading at once (None: one per CPU this process may use), when at least
        # `parallel_from_bytes` of transcripts changed (below, a process costs more than it
        # saves).
        self.workers = workers if workers is not None else _cpus()
        self.parallel_from_bytes = parallel_from_bytes
        self.store = SessionStore(sessions_dir(workspace))
        self.state_path = sessions_dir(workspace).parent / "import" / f"{fmt.name}.json"

    def run(self, roots: Iterable[Path]) -> ImportSummary:
        """Read what is new under ``roots``; store the sessions it touched."""
        started = time.perf_counter()
        summary = ImportSummary(self.format.name)
        state = self._load_state()
        files: dict[str, Any] = state["files"]
        paths = self._paths(roots, summary)
        summary.files = len(paths)
        batch = _Batch(self, files, summary)
        # Sessions stored active by an earlier run whose transcripts have gone quiet since
        # (unchanged, so not read again): closed now, from the journal.
        was_active: dict[str, str] = state.get("active") or {}
        quiet = [sid for sid, where in was_active.items() if not self._recent(where, batch.now)]
        batch.collector.revive(quiet)
        changed, size = self._changed(paths, files, summary)
        if self.workers > 1 and changed and size >= self.parallel_from_bytes:
            self._in_parallel(changed, batch)
        else:
            for n, (name, st) in enumerate(changed):
                if self.progress is not None:
                    self.progress(n, len(changed))
                batch.take(name, files.get(name), st)
                if len(batch.pending) >= BATCH_ITEMS:
                    batch.settle()
        batch.settle()
        summary.sessions_active = len(batch.stored_active)
        summary.files_read = len(batch.read)
        if self.progress is not None:
            self.progress(len(changed), len(changed))
        summary.sessions_new = sum(1 for v in batch.counted.values() if v == "new")
        summary.sessions_updated = len(batch.counted) - summary.sessions_new
        if summary.files_read or quiet or not self.state_path.exists():
            os.sync()  # the journal and the records on disk before the progress relying on them
            _refresh_index(self.store.folder)
            was_active.update(batch.was_active)
            state["active"] = {s: f for s, f in was_active.items() if s in batch.active}
            self._save_state(state)
        summary.seconds = time.perf_counter() - started
        return summary

    def collector(self) -> Collector:
        """A collector storing into this workspace, in bulk (`rad import`'s)."""
        return Collector(
            self.store,
            journal_dir(self.workspace),
            finish=CostHook(self.workspace).session_ended,
            received_by="rad import",
            bulk=True,
            lines_known={self.format.name: self.format.lines_known},
        )

    def _changed(
        self, paths: list[str], files: dict[str, Any], summary: ImportSummary
    ) -> tuple[list[tuple[str, os.stat_result]], int]:
        """The files that changed since the last run, and their bytes."""
        changed: list[tuple[str, os.stat_result]] = []
        size = 0
        for name in paths:
            try:
                st = os.stat(name)
            except OSError as exc:
                summary.problems.append((name, _reason(exc)))
                continue
            if not _unchanged(files.get(name), st):
                changed.append((name, st))
                size += st.st_size
        return changed, size

    def _in_parallel(self, changed: list[tuple[str, os.stat_result]], batch: _Batch) -> None:
        """Read ``changed`` in worker processes, a group of files (those that may hold the
        same session) never split between two; then read again here, whole, the sessions
        two of them saw (a session whose files fell in two groups).
        """
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        groups: dict[str, list[str]] = {}
        sizes: dict[str, int] = {}
        for name, st in changed:
            group = self.format.group(name)
            groups.setdefault(group, []).append(name)
            sizes[group] = sizes.get(group, 0) + st.st_size
        parts = _deal(groups, sizes, self.workers * 8)
        try:
            batch.stored_before = set(os.listdir(self.store.folder))
        except FileNotFoundError:
            batch.stored_before = set()
        left = dict(enumerate(parts))  # parts not read yet
        seen_by: dict[str, int] = {}  # session id -> parts that read it
        done = 0
        try:
            with ProcessPoolExecutor(
                max_workers=min(self.workers, len(parts)),
                mp_context=_spawn(),
                initializer=_start_worker,
                initargs=(self.workspace, self.format.name, self.active_after_s, batch.files),
            ) as pool:
                futures = {pool.submit(_read_part, part): i for i, part in enumerate(parts)}
                for future in as_completed(futures):
                    part = future.result()
                    del left[futures[future]]
                    batch.merge(part)
                    for sid in part.touched:
                        seen_by[sid] = seen_by.get(sid, 0) + 1
                    done += part.files
                    if self.progress is not None:
                        self.progress(done, len(changed))
        except (BrokenProcessPool, OSError, NotImplementedError) as exc:
            # A worker died (killed, out of memory) or none can be started here: what is left
            # is read in this process. What a dead worker stored is stored again: its
            # sessions are read as any session is (on from the journal, or whole).
            warn_once(
                "import-workers",
                "radium-otel: reading in several processes stopped (%s); reading on in one",
                exc or type(exc).__name__,
            )
            for names in left.values():
                for name in names:
                    batch.take(name, batch.files.get(name))
                    if len(batch.pending) >= BATCH_ITEMS:
                        batch.settle()
        for sid in sorted(s for s, n in seen_by.items() if n > 1):
            for name in sorted(batch.files_of(sid) - batch.whole):
                batch.take(name, None)

    def _recent(self, path: str, now: float) -> bool:
        """Whether ``path`` changed within ``active_after_s`` (a gone file is quiet)."""
        try:
            return now - os.stat(path).st_mtime < self.active_after_s
        except OSError:
            return False

    # --- files ---------------------------------------------------------------------------------
    def _paths(self, roots: Iterable[Path], summary: ImportSummary) -> list[str]:
        found: list[str] = []
        for root in roots:
            try:
                if not root.exists():
                    continue
                found.extend(self.format.files(root))
            except OSError as exc:
                summary.problems.append((str(root), _reason(exc)))
        return sorted(dict.fromkeys(found))

    def _read_file(
        self,
        name: str,
        known: Any,
        out: list[Item],
        summary: ImportSummary,
        resume: Callable[[list[str]], bool],
        st: os.stat_result | None = None,
    ) -> tuple[dict[str, Any], int] | None:
        """Read file ``name``'s new whole lines into ``out``; its new entry and the offset
        read from (None: nothing new). ``known`` is its entry from the last run (anything:
        checked here). A file that grew is read on from where the last run stopped if
        ``resume(its sessions)`` says so, else from its start.
        """
        if st is None:
            try:
                st = os.stat(name)
            except OSError as exc:
                summary.problems.append((name, _reason(exc)))
                return None
        if _unchanged(known, st):
            return None  # not even opened
        if not _valid(known):
            known = None
        try:
            with open(name, "rb") as f:
                head = hashlib.sha256(f.read(HEAD_BYTES)).hexdigest()
                offset = 0
                reader_state: dict[str, Any] = {}
                sessions: list[str] = []
                if (
                    known is not None
                    and known["ino"] == st.st_ino
                    and known["head"] == head
                    and known["offset"] <= st.st_size
                    and resume(known["sessions"])
                ):
                    offset = known["offset"]  # it grew: read on from there
                    reader_state = known["state"]
                    sessions = known["sessions"]
                f.seek(offset)
                data = f.read(st.st_size - offset)
        except OSError as exc:
            summary.problems.append((name, _reason(exc)))
            return None
        path = Path(name)
        end = data.rfind(b"\n") + 1  # only whole lines: a line being written waits
        if end < len(data):
            summary.skip("incomplete last line (still being written)")
        seen = dict.fromkeys(sessions)
        prefixes = self.format.skip_prefixes
        read = self.format.read
        items: list[Item] = []
        lines = data.split(b"\n")
        lines.pop()  # (what follows the last newline: nothing, or a line being written)
        for line in lines:
            if not line or (line[0] in _BLANK and line.isspace()):
                continue
            summary.lines += 1
            if prefixes and line.startswith(prefixes):
                continue
            try:
                row = _parse(line)
            except ValueError:
                summary.skip("not JSON")
                continue
            try:
                read(row, path, reader_state, items)
            except Skip as skip:
                summary.skip(str(skip))
        for item in items:
            seen.setdefault(item.session_id)
        out.extend(items)
        return {
            "ino": st.st_ino,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "head": head,
            "offset": offset + end,
            "state": reader_state,
            "sessions": list(seen),
        }, offset

    # --- state ---------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        try:
            data = _parse(self.state_path.read_bytes())
        except (OSError, ValueError):
            return {"version": _VERSION, "files": {}}
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return {"version": _VERSION, "files": {}}
        if not isinstance(data.get("files"), dict):
            data["files"] = {}
        return data

    def _save_state(self, state: dict[str, Any]) -> None:
        folder = self.state_path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = folder / f".{self.state_path.name}.{os.getpid()}"
        try:
            data = orjson.dumps(state)
        except TypeError:  # (a path that is not UTF-8: a lone surrogate, escaped by json)
            data = json.dumps(state, separators=(",", ":")).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.state_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


@dataclass
class _Part:
    """What a worker process read of some files (`Importer._in_parallel`)."""

    files: int  # files it was given
    entries: dict[str, Any]  # file -> its new entry
    read: set[str]
    counted: dict[str, str]
    active: set[str]
    was_active: dict[str, str]
    stored_active: set[str]
    touched: set[str]  # sessions it read
    lines: int
    skipped: dict[str, int]
    problems: list[tuple[str, str]]


class _Batch:
    """The items of one import read so far and not yet stored, and what it has counted.

    A session the journal does not hold is read whole: a grown file of it from its start,
    and every other file of it in the same batch (see the module docstring).
    """

    def __init__(self, importer: Importer, files: dict[str, Any], summary: ImportSummary) -> None:
        self.importer = importer
        self.collector = importer.collector()
        self.files = files  # file -> its entry, from the last run and updated by this one
        self.summary = summary
        self.now = time.time()
        self.old_before = self.now - self.collector.retention_s
        self.pending: list[Item] = []
        self.counted: dict[str, str] = {}  # session id -> "new" | "updated" (first seen)
        self.active: set[str] = set()  # sessions whose files changed a moment ago
        self.was_active: dict[str, str] = {}  # ... -> one of those files
        self.stored_active: set[str] = set()  # sessions stored active
        self.read: set[str] = set()  # files with new lines
        self.taken: set[str] = set()  # files whose entry changed
        self.touched: set[str] = set()  # sessions read
        self.whole: set[str] = set()  # files read from their start into `pending`
        self.old: set[str] = set()  # sessions of `pending` from transcripts quiet for...
        self.recent: set[str] = set()  # ... longer than the journal keeps one, and others
        self._files_of: dict[str, set[str]] | None = None
        # The session files there were before the run, when other processes may have stored
        # some since (None: look at the folder).
        self.stored_before: set[str] | None = None

    def files_of(self, sid: str) -> set[str]:
        """The files known to hold session ``sid``."""
        if self._files_of is None:  # (made when first needed: a re-import seldom does)
            self._files_of = {}
            for name, entry in self.files.items():
                for s in entry["sessions"] if _valid(entry) else ():
                    self._files_of.setdefault(s, set()).add(name)
        return self._files_of.get(sid, set())

    def _holds(self, sessions: Iterable[str]) -> bool:
        return all(self.collector.journaled(sid) for sid in sessions)

    def take(self, name: str, known: Any, st: os.stat_result | None = None) -> None:
        """Read what is new in file ``name`` (``known``: its entry from the last run; ``st``:
        its status, if just taken) into `pending`, and every other file of a session the
        journal does not hold.
        """
        before = len(self.pending)
        got = self.importer._read_file(name, known, self.pending, self.summary, self._holds, st)
        if got is None:
            return
        entry, start = got
        self._note(name, entry)
        if entry["offset"] > start:
            self.read.add(name)
        if start == 0:
            self.whole.add(name)
        mtime = entry["mtime_ns"] / 1e9
        sessions = {item.session_id for item in self.pending[before:]}
        self.touched |= sessions
        (self.old if mtime < self.old_before else self.recent).update(sessions)
        if self.now - mtime < self.importer.active_after_s:
            self.active.update(entry["sessions"])
            self.was_active.update(dict.fromkeys(entry["sessions"], name))
        for sid in sorted(sessions):  # (those new in a file read on: all in what was new)
            if not self.collector.journaled(sid):
                for other in sorted(self.files_of(sid) - self.whole - {name}):
                    self.take(other, None)

    def _note(self, name: str, entry: dict[str, Any]) -> None:
        self.files[name] = entry
        self.taken.add(name)
        if self._files_of is not None:
            for sid in entry["sessions"]:
                self._files_of.setdefault(sid, set()).add(name)

    def settle(self) -> None:
        """Journal what is pending and store every session but the active ones, so that
        memory holds one batch, not the corpus (a session seen again later is reopened from
        the journal, or read whole again).
        """
        if self.pending:
            for sid in {item.session_id for item in self.pending} - self.counted.keys():
                name = f"{sid}.json"
                if self.stored_before is not None:
                    stored = name in self.stored_before
                else:
                    stored = (self.importer.store.folder / name).exists()
                self.counted[sid] = "updated" if stored else "new"
            self.collector.add(self.pending, unjournaled=self.old - self.recent)
            self.pending = []
        self.whole.clear()
        self.old.clear()
        self.recent.clear()
        # (active sessions stay live, written again at each settle: active to the end)
        records = self.collector.settle(self.active)
        self.importer.store.index_bulk()
        self.stored_active |= {r.id for r in records if r.status == "active"}

    def part(self, files: int) -> _Part:
        """What this batch did, for the process that gave it ``files`` files."""
        s = self.summary
        return _Part(
            files, {n: self.files[n] for n in self.taken}, self.read, self.counted,
            self.active, self.was_active, self.stored_active, self.touched, s.lines,
            s.skipped, s.problems,
        )  # fmt: skip

    def merge(self, part: _Part) -> None:
        """Add what a worker process did."""
        for name, entry in part.entries.items():
            self._note(name, entry)
        self.read |= part.read
        for sid, how in part.counted.items():  # (new to one part and updated to another: new)
            if self.counted.get(sid) != "new":
                self.counted[sid] = how
        self.active |= part.active
        self.was_active.update(part.was_active)
        self.stored_active |= part.stored_active
        s = self.summary
        s.lines += part.lines
        for reason, n in part.skipped.items():
            s.skip(reason, n)
        s.problems.extend(part.problems)


# --- worker processes --------------------------------------------------------------------------
_worker: tuple[Importer, dict[str, Any]] | None = None


def _start_worker(workspace: Path, fmt: str, active_after_s: float, files: dict[str, Any]) -> None:
    global _worker
    importer = Importer(workspace, formats()[fmt], active_after_s=active_after_s, workers=1)
    _worker = (importer, files)


def _read_part(names: list[str]) -> _Part:
    """Read and store what is new in ``names`` (in a worker process)."""
    assert _worker is not None
    importer, files = _worker
    batch = _Batch(importer, files, ImportSummary(importer.format.name))
    for name in names:
        batch.take(name, files.get(name))
        if len(batch.pending) >= BATCH_ITEMS:
            batch.settle()
    batch.settle()
    return batch.part(len(names))


def _deal(groups: dict[str, list[str]], sizes: dict[str, int], parts: int) -> list[list[str]]:
    """``groups`` dealt into at most ``parts`` lists of files of about equal bytes, largest
    group first (a group is never split).
    """
    order = sorted(groups, key=lambda g: (-sizes[g], g))
    out: list[list[str]] = [[] for _ in range(min(parts, len(order)))]
    load = [0] * len(out)
    for group in order:
        i = load.index(min(load))
        out[i].extend(groups[group])
        load[i] += sizes[group]
    return [sorted(part) for part in out if part]


def _spawn() -> Any:
    """Fresh worker processes (not forked: the CLI's progress bar runs a thread)."""
    import multiprocessing

    return multiprocessing.get_context("spawn")


def _cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _parse(line: bytes) -> Any:
    """One JSON line: orjson (~3x the standard library's speed on transcripts), and the
    standard library for what orjson refuses and it reads (a lone surrogate escaped in a
    string, an integer beyond 64 bits, NaN); `ValueError` when neither reads it.
    """
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def _refresh_index(folder: Path) -> None:
    """Bring the session index up to date with the records just written (written in bulk,
    without an index update each: one pass here instead).
    """
    from radium_otel._internal.index import IndexUnavailable, SessionIndex

    try:
        with SessionIndex(folder) as index:
            index.refresh()
    except (IndexUnavailable, OSError):
        pass  # (`rad stats` rebuilds or reads the files itself)


def _unchanged(entry: Any, st: os.stat_result) -> bool:
    """Whether a remembered file entry says the file is as it was (same inode, size, mtime)."""
    try:
        return bool(
            entry["size"] == st.st_size
            and entry["mtime_ns"] == st.st_mtime_ns
            and entry["ino"] == st.st_ino
        )
    except (TypeError, KeyError, IndexError):
        return False


def _valid(entry: Any) -> bool:
    """Whether a remembered file entry has every field, of the right type."""
    if not isinstance(entry, dict):
        return False
    ints = ("ino", "size", "mtime_ns", "offset")
    return (
        all(isinstance(entry.get(k), int) for k in ints)
        and isinstance(entry.get("head"), str)
        and isinstance(entry.get("state"), dict)
        and isinstance(entry.get("sessions"), list)
    )


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return exc.strerror or str(exc)
