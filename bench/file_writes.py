"""What creating a session file costs on this machine now: ``python -m bench.file_writes
[--files N]``.

`SessionStore.write` creates a temporary file and renames it into place; a first import does
it once a session, ccusage never. On the shared VM the CPU this takes varied tenfold on one
day (42 to 590 us a file) with what else was happening on the file system: other jobs' file
churn, and in one run thousands of files deleted just before. Prints the CPU and wall time a
file of a create-write-rename loop over ``--files`` files: fresh, again, right after deleting
the two folders just written, and after a sync and 30 s. Run it beside `bench/importing.py`
to tell a slow disk moment from a slower import.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def writes(parent: Path, files: int, label: str) -> Path:
    """``files`` files of 3 KB, each written under a temporary name and renamed."""
    folder = Path(tempfile.mkdtemp(dir=parent))
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(files):
        name = folder / f"{i:05d}.json"
        tmp = folder / f".{i:05d}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"x" * 3000)
        os.close(fd)
        os.rename(tmp, name)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label}: {cpu / files * 1e6:.0f} us CPU, {wall / files * 1e6:.0f} us wall a file")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.file_writes")
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rad-bench-writes-") as name:
        parent = Path(name)
        first = writes(parent, args.files, "fresh")
        second = writes(parent, args.files, "again, nothing deleted")
        shutil.rmtree(first)
        shutil.rmtree(second)
        third = writes(parent, args.files, f"right after deleting {2 * args.files:,} files")
        shutil.rmtree(third)
        os.sync()
        time.sleep(30)
        writes(parent, args.files, f"30 s after deleting {args.files:,} more (synced)")


if __name__ == "__main__":
    main()
