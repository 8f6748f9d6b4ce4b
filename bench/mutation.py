"""Mutation testing of the modules that compute figures: ``bash bench/mutation.sh [MODULE...]``.

Run in ``.venv/mutation`` (mutmut and the test runners pinned in bench/mutation-requirements.txt,
radium-otel editable), which bench/mutation.sh makes. Each run starts afresh in ``.mutation/``
(ignored by git, ruff, mypy and pytest): a copy of ``radium_otel`` with ``cli`` and
``exporters`` copied in place of their links, the tests, and a ``setup.cfg`` that tells mutmut
which modules to mutate and which fast test files to run. mutmut first runs those tests once to
learn which tests call each function, then runs only those tests against each mutant, one mutant
at a time (``--max-children 1``). Prints the score per module and the surviving mutants, and
writes both to ``.mutation/scores.md`` and ``.mutation/survivors.txt``
(``.venv/mutation/bin/mutmut show NAME``, run in ``.mutation/``, shows a mutant's diff).
``--again`` (after adding tests) runs only the mutants the last run let survive, in a fresh
copy, and merges the verdicts: the same score as a whole run in a fraction of its time.
A run stopped early (Ctrl-C twice, or ``kill`` of mutmut) leaves the rest "not checked";
``--again`` keeps them so, and the score is over the mutants checked.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Module:
    path: str  # under radium_otel/
    tests: tuple[str, ...]  # fast test files that exercise it (no real CLIs, no browsers)


_PROCESSOR_TESTS = (
    "tests/test_processor.py",
    "tests/test_time_accounting.py",
    "tests/test_model_rows.py",
    "tests/test_export_figures.py",
    "tests/test_service.py",
    "tests/test_framework_rules.py",
)
_SOURCE_TESTS = (
    "tests/sources/test_mappings.py",
    "tests/sources/test_mapping_figures.py",
    "tests/sources/test_live_session_figures.py",
    "tests/sources/test_genai_spans.py",
    "tests/sources/test_receiver.py",
)
# The transcript readers: the real CLIs' transcripts saved once
# (tests/sources/captures/transcripts, made by tests/sources/capture_transcripts.py) and
# hand-made lines; the slow tests that run the CLIs themselves are left out.
_TRANSCRIPT_TESTS = ("tests/sources/test_transcript_figures.py",)

MODULES: dict[str, Module] = {
    "aggregate": Module(
        "_internal/aggregate.py",
        (
            *_PROCESSOR_TESTS,
            "tests/test_aggregate_figures.py",
            "tests/test_session_state_figures.py",
            "tests/test_price_tiers.py",
            "tests/test_metrics.py",
            "tests/test_usage.py",
            "tests/sources/test_live_session_figures.py",
        ),
    ),
    "usage": Module(
        "_internal/usage.py",
        ("tests/test_usage.py", "tests/test_usage_figures.py", *_PROCESSOR_TESTS),
    ),
    "pricing": Module(
        "_internal/pricing.py",
        (
            "tests/test_pricing.py",
            "tests/test_pricing_figures.py",
            "tests/test_pricing_file.py",
            "tests/test_price_tiers.py",
            "tests/test_model_rows.py",
            "tests/test_cli_reprice_files.py",
            "tests/test_export_figures.py",
            "tests/test_stats_commands.py",
        ),
    ),
    "reports": Module(
        "_internal/reports.py",
        (
            "tests/test_export_figures.py",
            "tests/test_reports_figures.py",
            "tests/test_stats_commands.py",
            "tests/test_service.py",
            "tests/test_model_rows.py",
            "tests/test_index.py",
            "tests/test_cli.py",
        ),
    ),
    "intervals": Module(
        "_internal/intervals.py",
        (
            "tests/test_intervals.py",
            "tests/test_intervals_figures.py",
            "tests/test_time_accounting.py",
            "tests/test_processor.py",
        ),
    ),
    "codechanges": Module(
        "_internal/codechanges.py",
        (
            "tests/test_code_changes.py",
            "tests/test_code_changes_figures.py",
            "tests/test_code_changes_mutants.py",
            "tests/test_code_changes_start.py",
            "tests/test_cli_reprice_files.py",
            "tests/test_render.py",
        ),
    ),
    "events": Module("sources/events.py", _SOURCE_TESTS),
    "claude_code": Module("sources/claude_code.py", _SOURCE_TESTS),
    "codex": Module("sources/codex.py", _SOURCE_TESTS),
    "gemini_cli": Module("sources/gemini_cli.py", _SOURCE_TESTS),
    "transcripts/claude_code": Module("sources/transcripts/claude_code.py", _TRANSCRIPT_TESTS),
    "transcripts/codex": Module("sources/transcripts/codex.py", _TRANSCRIPT_TESTS),
    "transcripts/gemini_cli": Module("sources/transcripts/gemini_cli.py", _TRANSCRIPT_TESTS),
}
FIGURES = ("aggregate", "usage", "pricing", "reports", "intervals", "codechanges")
MAPPINGS = ("events", "claude_code", "codex", "gemini_cli")
READERS = ("transcripts/claude_code", "transcripts/codex", "transcripts/gemini_cli")
DEFAULT = (*FIGURES, *MAPPINGS, *READERS)


def module_of(mutant: str, chosen: list[str]) -> str:
    """``radium_otel._internal.usage.x_f__mutmut_3`` -> ``usage``."""
    for name in chosen:
        dotted = "radium_otel." + MODULES[name].path.removesuffix(".py").replace("/", ".") + "."
        if mutant.startswith(dotted):
            return name
    raise ValueError(f"mutant {mutant} is in none of {chosen}")


def prepare(chosen: list[str], work: Path = WORK) -> None:
    """Lay out ``work`` afresh for a mutmut run over the ``chosen`` modules."""
    if work.exists():
        shutil.rmtree(work)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    # symlinks=False copies what radium_otel/cli and radium_otel/exporters point to.
    shutil.copytree(ROOT / "radium_otel", work / "radium_otel", ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")  # pytest's settings
    shutil.copy2(ROOT / "bench" / "mutation_conftest.py", work / "conftest.py")
    tests = sorted({t for name in chosen for t in MODULES[name].tests})
    only = [f"radium_otel/{MODULES[name].path}" for name in chosen]
    lines = [
        "[mutmut]",
        "source_paths=radium_otel",
        "only_mutate=",
        *(f"    {path}" for path in only),
        "also_copy=",
        "    conftest.py",
        "pytest_add_cli_args_test_selection=",
        *(f"    {path}" for path in tests),
        "pytest_add_cli_args=",
        "    -p",
        "    no:cacheprovider",
        "",
    ]
    (work / "setup.cfg").write_text("\n".join(lines))


def results() -> dict[str, str]:
    """Each mutant's verdict in .mutation/: mutmut's, or those an ``--again`` run merged."""
    merged = WORK / "statuses.txt"
    if merged.exists():
        return dict(line.rsplit(": ", 1) for line in merged.read_text().splitlines())
    done = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=WORK,
        capture_output=True,
        text=True,
        check=True,
    )
    statuses: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("radium_otel."):
            statuses[name] = status
    return statuses


def summarise(chosen: list[str], statuses: dict[str, str]) -> tuple[str, list[str]]:
    """The table of scores per module, and the mutants not caught. The score is over the
    mutants checked: a run stopped early leaves the rest "not checked" (their own column).
    """
    counts: dict[str, Counter[str]] = {name: Counter() for name in chosen}
    survivors = []
    for mutant, status in sorted(statuses.items()):
        counts[module_of(mutant, chosen)][status] += 1
        if status not in ("killed", "timeout", "not checked"):
            survivors.append(f"{mutant}: {status}")
    rows = [
        "| module | mutants | killed | survived | no tests | timeout | not checked | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in chosen:
        c = counts[name]
        total = sum(c.values())
        checked = total - c["not checked"]
        caught = c["killed"] + c["timeout"]
        score = f"{100 * caught / checked:.1f}%" if checked else "-"
        rows.append(
            f"| {name} | {total} | {c['killed']} | {c['survived']} | {c['no tests']} "
            f"| {c['timeout']} | {c['not checked']} | {score} |"
        )
    return "\n".join(rows), survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bash bench/mutation.sh",
        description="Mutation testing (mutmut) of the modules that compute figures.",
    )
    parser.add_argument(
        "modules",
        nargs="*",
        metavar="MODULE",
        help=f"any of {', '.join(MODULES)} (default: {' '.join(DEFAULT)})",
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="run again only the mutants the last run did not catch (after adding tests)",
    )
    args = parser.parse_args(argv)
    chosen: list[str] = list(dict.fromkeys(args.modules)) or list(DEFAULT)
    unknown = [name for name in chosen if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; known: {', '.join(MODULES)}")
    before: dict[str, str] = {}
    if args.again:
        if not (WORK / "mutants").is_dir():
            parser.error("--again needs an earlier run in .mutation/")
        before = {m: s for m, s in results().items() if _in(m, chosen)}
        missing = [n for n in chosen if not any(module_of(m, chosen) == n for m in before)]
        if missing:
            parser.error(f"the last run did not mutate {', '.join(missing)}")
    again = sorted(m for m, status in before.items() if status in ("survived", "no tests"))
    prepare(chosen)
    started = time.monotonic()
    with open(WORK / "mutmut.log", "w") as log:
        run = subprocess.run(
            [str(MUTMUT), "run", "--max-children", "1", *again],
            cwd=WORK,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    minutes = (time.monotonic() - started) / 60
    if run.returncode != 0:
        print(f"mutmut run failed ({run.returncode}); see {WORK / 'mutmut.log'}", file=sys.stderr)
        return 1
    now = results()
    gone = [m for m in again if m not in now]
    if gone:
        print(
            f"{len(gone)} mutants of the last run are gone (the source changed since): "
            "run without --again",
            file=sys.stderr,
        )
        return 1
    statuses = {**before, **{m: now[m] for m in again}} if args.again else now
    table, survivors = summarise(chosen, statuses)
    (WORK / "scores.md").write_text(table + "\n")
    (WORK / "survivors.txt").write_text("".join(f"{line}\n" for line in survivors))
    if args.again:  # what --again reads next time: the merged verdicts, not this run's alone
        (WORK / "statuses.txt").write_text("".join(f"{m}: {s}\n" for m, s in statuses.items()))
    print(table)
    print(f"\n{len(survivors)} not caught (listed in .mutation/survivors.txt); {minutes:.1f} min")
    return 0


def _in(mutant: str, chosen: list[str]) -> bool:
    try:
        module_of(mutant, chosen)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
