"""How fast ``rad stats`` answers on large histories, timed as whole processes.

For each size: generate realistic synthetic sessions (JSON files written directly, as an old
writer or a copy from another machine would leave them: the index does not know them yet),
then time, as separate ``rad`` processes (interpreter start-up included):

- ``cold``: no index — the command builds it from every file first;
- ``warm``: the index is fresh and the folder unchanged (the usual case);
- ``after write``: one session was written since the last command (the folder changed, so
  the command lists it and compares every file's stat with the index, parsing one file).

Also the time to the first line of ``rad --help`` (import cost).

    .venv/bin/python bench/cli_speed.py --sessions 10000 100000 --runs 5

``--paired WORKSPACE [--claude-dir DIR]``: the ``rad stats`` commands and ``rad --help`` as
whole processes through ``rad`` and through the typer app alone (``rad`` before its fast
path), with ``ccusage claude session`` on ``DIR`` (the transcripts the workspace imported),
interleaved round by round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from radium_otel import __version__
from radium_otel._internal.record import CacheStats, ModelUsage, SessionRecord, ToolStats
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

RAD = str(Path(sys.executable).with_name("rad"))
COMMANDS: list[list[str]] = [
    ["stats", "history", "--limit", "20"],
    ["stats", "model"],
    ["stats", "tools"],
    ["stats", "session"],  # the latest session
]
# (model, provider, price of a million input and output tokens; None: unpriced)
MODELS = [
    ("claude-sonnet-4-5", "anthropic", (3.0, 15.0)),
    ("claude-opus-4-1", "anthropic", (15.0, 75.0)),
    ("claude-haiku-4-5", "anthropic", (1.0, 5.0)),
    ("gpt-5", "openai", (1.25, 10.0)),
    ("gpt-5-mini", "openai", (0.25, 2.0)),
    ("gemini-2.5-pro", "google", (1.25, 10.0)),
    ("gemini-2.5-flash", "google", (0.30, 2.5)),
    ("local-llama-3.3-70b", "ollama", None),
]
TOOLS = [
    "read_file", "write_file", "edit_file", "list_dir", "grep", "glob", "run_shell",
    "run_tests", "web_fetch", "web_search", "git_diff", "git_commit",
]  # fmt: skip
ERRORS = ["TimeoutError", "FileNotFoundError", "PermissionError", "CalledProcessError", "HTTPError"]
AGENTS = ["coder", "reviewer", "planner", "tester"]


def synthetic_record(rng: random.Random, now: datetime) -> SessionRecord:
    """One plausible session of the last two years."""
    start = now - timedelta(seconds=rng.uniform(0, 2 * 365 * 86400))
    wall = min(6 * 3600.0, rng.lognormvariate(7, 1.1))
    models = []
    cost = 0.0
    unpriced = False
    for model, provider, price in rng.sample(MODELS, rng.choice([1, 1, 2, 2, 3])):
        requests = rng.randint(1, 300)
        input_tokens = requests * rng.randint(2_000, 60_000)
        cache_read = int(input_tokens * rng.uniform(0, 0.9))
        output = requests * rng.randint(100, 3_000)
        m_cost = None
        if price is not None:
            m_cost = round((input_tokens * price[0] + output * price[1]) / 1e6, 6)
            cost += m_cost
        else:
            unpriced = True
        models.append(
            ModelUsage(
                model=model,
                provider=provider,
                requests=requests,
                errors=rng.choice([0, 0, 0, 1, 2]),
                input_tokens=input_tokens,
                output_tokens=output,
                cache_read_tokens=cache_read,
                cache_creation_tokens=int(input_tokens * rng.uniform(0, 0.05)),
                reasoning_tokens=int(output * rng.uniform(0, 0.5)),
                latency_s=round(requests * rng.uniform(0.5, 20), 3),
                cost_usd=m_cost,
            )
        )
    tools = {}
    for name in rng.sample(TOOLS, rng.randint(2, 8)):
        calls = rng.randint(1, 60)
        failures = min(calls, int(rng.expovariate(1.5)))
        errors: dict[str, int] = {}
        for _ in range(failures):
            kind = rng.choice(ERRORS)
            errors[kind] = errors.get(kind, 0) + 1
        tools[name] = ToolStats(
            calls=calls,
            successes=calls - failures,
            failures=failures,
            duration_s=round(calls * rng.uniform(0.01, 30), 3),
            error_types=errors,
        )
    calls = sum(t.calls for t in tools.values())
    failures = sum(t.failures for t in tools.values())
    api = wall * rng.uniform(0.2, 0.6)
    tool_time = wall * rng.uniform(0.1, 0.35)
    status = rng.choices(["completed", "failed", "interrupted"], [90, 5, 5])[0]
    return SessionRecord(
        id=f"{rng.getrandbits(128):032x}",
        status=status,
        start_time=start,
        end_time=start + timedelta(seconds=wall),
        updated_time=start + timedelta(seconds=wall),
        metadata={
            "agent": rng.choice(AGENTS),
            "service.name": "bench",
            "host": "bench-host",
            "pid": rng.randint(1000, 60000),
            "cwd": "/work/project",
            "git.branch": "main",
            "radium_otel_version": __version__,
        },
        wall_time_s=round(wall, 3),
        agent_active_time_s=round(api + tool_time, 3),
        api_time_s=round(api, 3),
        tool_time_s=round(tool_time, 3),
        tool_calls=calls,
        tool_successes=calls - failures,
        tool_failures=failures,
        tools=tools,
        decisions={
            "accept": rng.randint(0, 20),
            "reject": rng.randint(0, 3),
            "modify": rng.randint(0, 3),
            "auto_accept": rng.randint(0, 40),
        },
        code_changes={
            "lines_added": rng.randint(0, 800),
            "lines_removed": rng.randint(0, 300),
            "files_changed": rng.randint(0, 25),
        },
        model_usage=models,
        cache_stats=CacheStats(
            cache_read_tokens=sum(m.cache_read_tokens for m in models),
            cache_creation_tokens=sum(m.cache_creation_tokens for m in models),
            hit_rate=sum(m.cache_read_tokens for m in models)
            / max(1, sum(m.input_tokens for m in models)),
        ),
        cost_usd=round(cost, 6) if cost or not unpriced else None,
    )


def generate(workspace: Path, n: int, seed: int) -> float:
    """Write ``n`` session files the way the store lays them out; returns seconds taken."""
    folder = sessions_dir(workspace)
    folder.mkdir(parents=True, mode=0o700)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    for _ in range(n):
        record = synthetic_record(rng, now)
        data = json.dumps(record.to_json(), indent=2, ensure_ascii=False).encode() + b"\n"
        fd = os.open(folder / f"{record.id}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return time.perf_counter() - started


PYCACHE = Path(tempfile.gettempdir()) / "rad-cli-speed-pycache"


def clean_env() -> dict[str, str]:
    """No radium/OTel settings; byte-code cached as in an installed package.

    An editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise recompile every
    radium_otel module on every run; the cache goes to its own folder, not into the tree.
    """
    drop = ("RADIUM_", "OTEL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("NO_COLOR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def run(workspace: Path, args: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [RAD, "--workspace", str(workspace), *args],
        capture_output=True,
        env=clean_env(),
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed: {proc.stderr.decode()}")
    return elapsed


def first_line_of_help() -> float:
    started = time.perf_counter()
    proc = subprocess.Popen([RAD, "--help"], stdout=subprocess.PIPE, env=clean_env())
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.communicate()
    return elapsed


def drop_index(workspace: Path) -> None:
    internals = sessions_dir(workspace).parent
    for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm", "index.stale"):
        (internals / name).unlink(missing_ok=True)


def settle(workspace: Path) -> None:
    """Wait until the folder's last change is old enough for its mtime to be trusted."""
    folder = sessions_dir(workspace)
    age = time.time() - folder.stat().st_mtime
    if age < 2.5:
        time.sleep(2.5 - age)
    run(workspace, COMMANDS[0])  # records the (now trustworthy) folder mtime


@dataclass
class Row:
    sessions: int
    command: str
    cold: list[float]
    warm: list[float]
    after_write: list[float]


def fmt(samples: list[float]) -> str:
    if not samples:
        return "-"
    return f"{statistics.median(samples):.2f} s (min {min(samples):.2f})"


def bench(base: Path, n: int, runs: int, cold_runs: int, seed: int) -> tuple[list[Row], str]:
    workspace = base / f"ws-{n}"
    if workspace.exists():
        shutil.rmtree(workspace)
    gen = generate(workspace, n, seed)
    notes = [f"generated {n:,} sessions in {gen:.1f} s"]
    drop_index(workspace)
    notes.append(f"`rad stats reindex` (cold build): {run(workspace, ['stats', 'reindex']):.2f} s")
    size = (sessions_dir(workspace).parent / "index.sqlite3").stat().st_size
    notes.append(f"index size {size / 1e6:.1f} MB")
    store = SessionStore(sessions_dir(workspace))
    rng = random.Random(seed + 1)
    rows = []
    for args in COMMANDS:
        cold = []
        for _ in range(cold_runs):
            drop_index(workspace)
            cold.append(run(workspace, args))
        settle(workspace)
        warm = [run(workspace, args) for _ in range(runs)]
        after = []
        for _ in range(runs):
            record = synthetic_record(rng, datetime.now(timezone.utc))
            store.write(record)  # through the store: its index row is written too
            after.append(run(workspace, args))
        rows.append(Row(n, " ".join(args[1:]), cold, warm, after))
    return rows, "; ".join(notes)


SUITE: list[list[str]] = [["--help"], ["stats", "session"], ["stats", "history"]]


def suite(base: Path, n: int, runs: int, seed: int) -> tuple[dict[str, list[float]], list[str]]:
    """`SUITE` as whole processes on ``n`` generated sessions, warm index, interleaved rounds.

    Returns the seconds of each command (keyed by its arguments) and notes on the set-up.
    """
    workspace = base / f"ws-{n}"
    if workspace.exists():
        shutil.rmtree(workspace)
    gen = generate(workspace, n, seed)
    drop_index(workspace)
    reindex = run(workspace, ["stats", "reindex"])
    notes = [f"{n:,} sessions generated in {gen:.1f} s", f"cold index build {reindex:.2f} s"]
    first_line_of_help()  # fills the byte-code cache
    settle(workspace)
    times: dict[str, list[float]] = {" ".join(args): [] for args in SUITE}
    for _ in range(runs):
        for args in SUITE:
            times[" ".join(args)].append(run(workspace, args))
    return times, notes


# `rad` as it ran before the fast path of `rad stats` (cli/_fast.py): the typer app alone.
TYPER_ONLY = [sys.executable, "-c", "from radium_otel.cli.app import main; main()"]
CCUSAGE = Path(__file__).resolve().parent.parent / ".tools/clis/node_modules/.bin/ccusage"
PAIRED: list[list[str]] = [
    ["stats", "history"], ["stats", "model"], ["stats", "tools"], ["stats", "session"],
    ["stats", "history", "--by", "month"], ["--help"],
]  # fmt: skip


def from_tree(tree: Path) -> list[str]:
    """``rad`` as the radium_otel of ``tree`` (an exported commit: ``git archive C radium_otel
    cli exporters | tar -x -C TREE``) runs it, first on ``sys.path``.
    """
    code = f"import sys; sys.path.insert(0, {str(tree)!r}); sys.argv[0] = 'rad'; "
    return [sys.executable, "-c", code + "from radium_otel.cli import main; main()"]


def paired(
    workspace: Path, runs: int, claude_dir: Path | None, before: Path | None = None
) -> dict[str, list[float]]:
    """`PAIRED` through `rad` (fast path, help cache) and the typer app alone, interleaved
    round by round on ``workspace`` (index warm, help cached by the first round), with
    ``ccusage --help`` and ``ccusage claude session --offline`` on ``claude_dir``.
    """
    cache = Path(tempfile.mkdtemp(prefix="rad-help-cache-"))  # (rad's help cache: its own)
    env = {**clean_env(), "RADIUM_WORKSPACE": str(workspace), "XDG_CACHE_HOME": str(cache)}
    cmds: dict[str, tuple[list[str], dict[str, str]]] = {}
    for args in PAIRED:
        if before is not None:
            cmds[f"before: rad {' '.join(args)}"] = ([*from_tree(before), *args], env)
        cmds[f"rad {' '.join(args)}"] = ([RAD, *args], env)
        cmds[f"typer only: rad {' '.join(args)}"] = ([*TYPER_ONLY, *args], env)
    if CCUSAGE.exists():
        cmds["ccusage --help"] = ([str(CCUSAGE), "--help"], env)
    if claude_dir is not None:
        cmds["ccusage claude session --offline"] = (
            [str(CCUSAGE), "claude", "session", "--offline"],
            {**env, "CLAUDE_CONFIG_DIR": str(claude_dir)},
        )
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for argv, e in cmds.values():  # byte code, page cache, the index's freshness
        subprocess.run(argv, capture_output=True, env=e, check=False)
    for _ in range(runs):
        for key, (argv, e) in cmds.items():
            started = time.perf_counter()
            subprocess.run(argv, capture_output=True, env=e, check=False)
            times[key].append(time.perf_counter() - started)
    shutil.rmtree(cache, ignore_errors=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--paired", type=Path, metavar="WORKSPACE", help="only `paired` on this workspace"
    )
    parser.add_argument("--claude-dir", type=Path, help="with --paired: CLAUDE_CONFIG_DIR")
    parser.add_argument(
        "--before", type=Path, metavar="TREE", help="with --paired: also rad from this tree"
    )
    parser.add_argument("--sessions", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: tmp)")
    args = parser.parse_args()
    if args.paired is not None:
        load = os.getloadavg()[0]
        print(f"# paired, {args.runs} rounds, load average {load:.1f}: median (min)")
        for key, samples in paired(args.paired, args.runs, args.claude_dir, args.before).items():
            print(f"| `{key}` | {fmt(samples)} |", flush=True)
        return

    base = args.dir or Path(tempfile.mkdtemp(prefix="rad-cli-speed-"))
    base.mkdir(parents=True, exist_ok=True)
    print(
        f"# {datetime.now(timezone.utc):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, radium-otel {__version__}, "
        f"SQLite {__import__('sqlite3').sqlite_version}; runs={args.runs} "
        f"cold-runs={args.cold_runs} seed={args.seed}; byte-code cached in {PYCACHE}"
    )
    first_line_of_help()  # fills the byte-code cache
    help_times = [first_line_of_help() for _ in range(args.runs)]
    print(f"\nfirst line of `rad --help`: {fmt(help_times)}\n")
    print("| sessions | command | cold index | warm index | after one write |")
    print("| ---: | --- | --- | --- | --- |")
    all_notes = []
    for n in args.sessions:
        rows, notes = bench(base, n, args.runs, args.cold_runs, args.seed)
        all_notes.append(notes)
        for r in rows:
            print(
                f"| {r.sessions:,} | `{r.command}` | {fmt(r.cold)} | {fmt(r.warm)} | "
                f"{fmt(r.after_write)} |",
                flush=True,
            )
    print()
    for notes in all_notes:
        print(f"- {notes}")
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
