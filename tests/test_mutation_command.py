"""`bash bench/mutation.sh` stays runnable: its modules and test files exist, the folder it
lays out for mutmut is what mutmut reads, and its score table adds up. mutmut itself lives in
.venv/mutation and is not run here (a run takes many minutes).
"""

from __future__ import annotations

import configparser
from pathlib import Path

from bench.mutation import DEFAULT, FIGURES, MODULES, ROOT, module_of, prepare, summarise

SLOW = ("tests/sources/test_real_clis.py", "tests/byo", "tests/frameworks", "tests/ui")


def test_every_module_and_test_file_named_exists_and_none_is_slow() -> None:
    for name, module in MODULES.items():
        assert (ROOT / "radium_otel" / module.path).is_file(), name
        for test in module.tests:
            assert (ROOT / test).is_file(), (name, test)
            assert not test.startswith(SLOW) and "phoenix" not in test, (name, test)
    assert set(FIGURES) <= set(DEFAULT)


def test_the_work_folder_is_laid_out_for_mutmut(tmp_path: Path) -> None:
    work = tmp_path / "work"
    prepare(["intervals", "codex"], work)

    cfg = configparser.ConfigParser()
    cfg.read(work / "setup.cfg")
    section = dict(cfg["mutmut"])
    assert section["source_paths"] == "radium_otel"
    assert section["only_mutate"].split() == [
        "radium_otel/_internal/intervals.py",
        "radium_otel/sources/codex.py",
    ]
    assert section["pytest_add_cli_args_test_selection"].split() == [
        "tests/sources/test_genai_spans.py",
        "tests/sources/test_live_session_figures.py",
        "tests/sources/test_mapping_figures.py",
        "tests/sources/test_mappings.py",
        "tests/sources/test_receiver.py",
        "tests/test_intervals.py",
        "tests/test_intervals_figures.py",
        "tests/test_processor.py",
        "tests/test_time_accounting.py",
    ]
    # The linked folders are copied as files: mutmut walks no links.
    for linked in ("cli", "exporters"):
        assert (ROOT / "radium_otel" / linked).is_symlink()
        copied = work / "radium_otel" / linked
        assert copied.is_dir() and not copied.is_symlink()
        assert (copied / "__init__.py").read_bytes() == (ROOT / linked / "__init__.py").read_bytes()
    assert (work / "conftest.py").read_bytes() == (
        ROOT / "bench" / "mutation_conftest.py"
    ).read_bytes()
    assert not list(work.rglob("__pycache__"))


def test_scores_per_module() -> None:
    statuses = {
        "radium_otel._internal.intervals.x_a__mutmut_1": "killed",
        "radium_otel._internal.intervals.x_a__mutmut_2": "survived",
        "radium_otel._internal.intervals.x_a__mutmut_3": "timeout",
        "radium_otel._internal.intervals.x_a__mutmut_4": "killed",
        "radium_otel.sources.codex.x_b__mutmut_1": "no tests",
        "radium_otel.sources.codex.x_b__mutmut_2": "not checked",
    }
    table, survivors = summarise(["intervals", "codex"], statuses)
    assert table.splitlines()[2:] == [
        "| intervals | 4 | 2 | 1 | 0 | 1 | 0 | 75.0% |",
        "| codex | 2 | 0 | 0 | 1 | 0 | 1 | 0.0% |",
    ]
    assert survivors == [
        "radium_otel._internal.intervals.x_a__mutmut_2: survived",
        "radium_otel.sources.codex.x_b__mutmut_1: no tests",
    ]
    assert module_of("radium_otel.sources.transcripts.codex.x_c__mutmut_9", list(MODULES)) == (
        "transcripts/codex"
    )
