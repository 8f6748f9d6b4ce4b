#!/usr/bin/env bash
# Mutation testing of the modules that compute figures:  bash bench/mutation.sh [MODULE...]
# (--again: only the mutants the last run left alive, after adding tests)
# (default: aggregate usage pricing reports intervals codechanges events claude_code codex
# gemini_cli transcripts/claude_code transcripts/codex transcripts/gemini_cli).
# mutmut and its test runners (bench/mutation-requirements.txt) and radium-otel (editable) go
# into a venv of their own, .venv/mutation (bench/venv.sh); not part of CI. One mutant at a
# time: one worker process.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh
bench_venv .venv/mutation bench/mutation-requirements.txt
exec .venv/mutation/bin/python -m bench.mutation "$@"
