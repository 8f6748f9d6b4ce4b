"""Session start + end code-change snapshots on a generated repository.

Generates a committed repository of ``--files`` text files totalling ``--mb`` MB, then for
each round: a session opens (the tracker's start snapshot), ``--changed`` files are edited,
the session ends (end snapshot + diff). Two figures, measured through `CodeChangeTracker`
exactly as a session runs them, medians over rounds: the cost *at session open* (how long
`session_started` holds the thread opening the session, before the agent can touch a file),
and the whole work of a session (start snapshot until `wait_for_start` returns, plus end
snapshot and diff).

    .venv/bin/python bench/snapshot.py [--files 5000] [--mb 50] [--changed 20] [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from radium_otel._internal.codechanges import CodeChangeTracker
from radium_otel._internal.record import SessionRecord

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=600
    )
    return done.stdout


def generate(repo: Path, files: int, total_bytes: int, rng: random.Random) -> list[Path]:
    """``files`` text files of about ``total_bytes`` together, 100 to a folder, committed."""
    words = [f"{w}{i}" for i, w in enumerate(["alpha", "beta", "gamma", "delta"] * 64)]
    per_file = total_bytes // files
    paths = []
    for i in range(files):
        path = repo / f"pkg{i // 100:03d}" / f"module_{i:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        out, size = [], 0
        while size < per_file:
            line = " ".join(rng.choices(words, k=8)) + "\n"
            out.append(line)
            size += len(line)
        path.write_text("".join(out))
        paths.append(path)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated")
    # A repository at rest: let the clock move past the index's own timestamp and refresh,
    # so no entry is "racily clean" (a fresh checkout or any `git status` later does this).
    time.sleep(1.1)
    git(repo, "update-index", "-q", "--refresh")
    return paths


def edit(paths: list[Path], rng: random.Random, tag: int) -> None:
    for path in paths:
        lines = path.read_text().splitlines(keepends=True)
        at = rng.randrange(len(lines))
        lines[at : at + 2] = [f"# edited in round {tag}\n", f"value_{tag} = {at}\n", "\n"]
        path.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.update(GIT_ENV)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="radium-bench-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        began = time.perf_counter()
        paths = generate(repo, args.files, int(args.mb * 1_000_000), rng)
        size = sum(p.stat().st_size for p in paths)
        setup_s = time.perf_counter() - began

        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, {platform.python_version()}")
        print(f"git: {git(repo, '--version').strip()}")
        print(
            f"repository: {len(paths):,} files, {size / 1e6:.1f} MB committed "
            f"(generated in {setup_s:.1f}s); {args.changed} files changed per session"
        )
        tracker = CodeChangeTracker(repo, timeout_s=60.0)
        totals, opens, starts, ends = [], [], [], []
        for n in range(args.rounds):
            session_id = f"bench-{n}"
            t0 = time.perf_counter()
            tracker.session_started(session_id)
            open_s = time.perf_counter() - t0
            if not tracker.wait_for_start(session_id):
                raise SystemExit("start snapshot did not finish")
            start_s = time.perf_counter() - t0

            edit(rng.sample(paths, args.changed), rng, n)

            record = SessionRecord(
                id=session_id, status="completed", start_time=datetime.now(timezone.utc)
            )
            t1 = time.perf_counter()
            record = tracker.session_ended(record)
            end_s = time.perf_counter() - t1
            changes = record.code_changes
            if changes is None:
                raise SystemExit(f"not measured: {record.metadata.get('code_changes_error')}")
            if changes["files_changed"] != args.changed:
                raise SystemExit(f"expected {args.changed} files, got {changes['files_changed']}")
            opens.append(open_s)
            starts.append(start_s)
            ends.append(end_s)
            totals.append(start_s + end_s)
            print(
                f"  round {n + 1}: at open {open_s * 1000:.1f} ms; "
                f"start {start_s * 1000:.0f} ms + end and diff "
                f"{end_s * 1000:.0f} ms = {(start_s + end_s) * 1000:.0f} ms "
                f"(+{changes['lines_added']} -{changes['lines_removed']})"
            )

    print(
        f"at session open, median over {args.rounds} rounds: "
        f"{statistics.median(opens) * 1000:.1f} ms "
        f"(min {min(opens) * 1000:.1f} ms, max {max(opens) * 1000:.1f} ms)"
    )
    print(
        f"start + end snapshots, median over {args.rounds} rounds: "
        f"{statistics.median(totals) * 1000:.0f} ms "
        f"(start {statistics.median(starts) * 1000:.0f} ms, "
        f"end + diff {statistics.median(ends) * 1000:.0f} ms; "
        f"min {min(totals) * 1000:.0f} ms, max {max(totals) * 1000:.0f} ms); target <= 1000 ms"
    )


if __name__ == "__main__":
    main()
