"""The benchmarks still run: each one with tiny sizes, in this venv (peers not installed here
are skipped, as the benchmark itself does). Figures are not checked, only that each part runs
and that the totals the benchmarks verify come out exact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench` is not an installed package

from bench import __main__ as suite  # noqa: E402
from bench import cli_speed, collect, importing, memory, overhead, processor_cost, throughput  # noqa: E402
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


def test_collect_parts_run_and_totals_are_exact() -> None:
    # (`collect.run` raises when a collector's totals differ from what was generated.)
    result = collect.run(
        sessions=3, requests=12, batch=16, rounds=1, live=4, live_requests=3,
        rate=100.0, seconds=0.1, small=8, top=3,
    )  # fmt: skip
    assert result.records > 3 * 12 and result.batches > 3
    day = result.rounds[0]
    assert day.server_cpu_s > 0 and day.direct_cpu_s > 0 and day.naive_rss_mb
    assert result.live.sessions == 4 and result.live.after_mb > 0
    assert len(result.latency.latencies_ms) == result.latency.sent == 10
    assert result.small.exports > 0 and len(result.hot) == 3
    text = "\n".join(suite.section_collect(result))
    assert "## 6. `rad collect`" in text and "p99" in text


def test_collect_batches_keep_the_captured_attribute_sets() -> None:
    shapes = collect.Shapes()
    load = collect.workload(2, 4, batch=None, shapes=shapes)
    assert len(load.bodies) == 8  # a body per model request
    names = set()
    for body in load.bodies:
        request = ExportLogsServiceRequest()
        request.ParseFromString(body)
        for record in request.resource_logs[0].scope_logs[0].log_records:
            keys = [kv.key for kv in record.attributes]
            name = record.attributes[keys.index("event.name")].value.string_value
            template = shapes.templates[
                "tool_result_failed" if "error_type" in keys else name
            ].record
            assert keys == [kv.key for kv in template.attributes]
            names.add(name)
    assert names == {"user_prompt", "api_request", "tool_decision", "tool_result",
                     "assistant_response"}  # fmt: skip
    assert load.expected.requests == 8 and load.expected.sessions == 2


def test_import_parts_run_and_totals_are_equal(tmp_path: Path) -> None:
    # 6 transcripts: first import (and ccusage when installed) at 1/2 and the whole,
    # re-imports with nothing new and after 2 files grew; totals checked against the generated.
    result = importing.run(6, tmp_path / "corpus", grow_files=2, rounds=1, fractions=(0.5,),
                           profile_files=3)  # fmt: skip
    assert [s.files for s in result.sizes] == [3, 6]
    assert result.full.sessions == 6 and result.requests > 6
    assert result.again_summary["files_read"] == 0
    assert result.grown_summary["files_read"] == 2 and result.grown_files == 2
    assert all(result.equal.values()), result.figures
    assert result.profile is not None and result.profile.files == 3
    text = "\n".join(importing.markdown(result))
    assert "## 7. `rad import claude-code`" in text and "cProfile" in text
