#!/usr/bin/env bash
# Run every benchmark and write bench/RESULTS.md:  bash bench/run.sh [--quick]
# The peers (bench/requirements.txt) and radium-otel (editable) go into a venv of their own,
# .venv/bench (bench/venv.sh).
# Parts can be left out: --no-callgrind, --no-cli, --no-collect (`rad collect` under load),
# --no-import (`rad import` beside ccusage on ~2 GB of transcripts).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh
bench_venv .venv/bench bench/requirements.txt
export RADIUM_BENCH_COMMAND="bash bench/run.sh${*:+ $*}"
exec .venv/bench/bin/python -m bench "$@"
