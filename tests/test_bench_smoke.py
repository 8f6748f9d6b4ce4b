"""The benchmarks still run: each one with tiny sizes, in this venv (peers not installed here
are skipped, as the benchmark itself does). Figures are not checked, only that each part runs
and that the totals the benchmarks verify come out exact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench` is not an installed package

from bench import __main__ as suite  # noqa: E402
from bench import cli_speed, memory, overhead, processor_cost, throughput  # noqa: E402
from bench.common import version  # noqa: E402


def test_overhead_runs_every_installed_setup() -> None:
    result = overhead.measure(list(overhead.SETUPS), calls=20, rounds=2, warmup=10)
    for setup in ("plain", "bare", "radium"):
        for kind in overhead.KINDS:
            values = result.us[(setup, kind)]
            assert len(values) == 2 and all(v > 0 for v in values)
    for setup, dist in overhead.PEER_DIST.items():
        if version(dist) is None:
            assert "not installed" in result.errors[setup]
        else:
            assert (setup, "tool") in result.us, result.errors.get(setup)
    assert len(result.ratios("radium", "tool")) == 2
    assert "## 1. Overhead per call" in "\n".join(suite.section_overhead(result, {}))


def test_memory_counts_every_span() -> None:
    row = memory.run(200)
    assert row.errors == []
    assert row.peak_rss_mb > 0 and row.state_kb > 0 and row.traced_kb > 0
    assert "| 200 |" in "\n".join(suite.section_memory([row]))


def test_throughput_totals_are_exact() -> None:
    result = throughput.run(threads=8, spans=100, rounds=1, metrics=True)
    assert result.errors == []
    assert result.rates[0] > 0
    assert "exact" in "\n".join(suite.section_throughput([result]))


def test_cli_suite(tmp_path: Path) -> None:
    times, notes = cli_speed.suite(tmp_path, n=5, runs=1, seed=1)
    assert set(times) == {"--help", "stats session", "stats history"}
    assert "`rad stats session`" in "\n".join(suite.section_cli(times, notes, 5))


def test_hot_path_profile() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.hotpath", "--calls", "200", "--top", "3"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert done.stdout.count("µs per decorated call") == 2


def test_callgrind_summary_is_parsed() -> None:
    # (Running valgrind takes too long for a smoke test: `python -m bench --quick` does.)
    found = overhead._IREFS.search("==4242== \n==4242== I   refs:      1,234,567\n")
    assert found is not None and found.group(1) == "1,234,567"


def test_processor_cost_workloads_count_exactly() -> None:
    [session] = processor_cost.run("session", 60)
    assert (session.requests, session.tool_calls) == (30, 30)
    runs = processor_cost.run("framework", 60)
    assert len(runs) == 10  # a session per agent run
    for record in runs:  # each request recorded by two layers, counted once
        assert (record.requests, record.tool_calls) == (2, 1)
        assert record.cache_stats.cache_read_tokens == 2000
