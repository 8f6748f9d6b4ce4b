#!/usr/bin/env bash
# Mutation testing of the modules that compute figures:  bash bench/mutation.sh [MODULE...]
# (--again: only the mutants the last run left alive, after adding tests)
# (default: aggregate usage pricing reports intervals codechanges events claude_code codex
# gemini_cli; transcripts/claude_code, transcripts/codex and transcripts/gemini_cli when named).
# mutmut and its test runners (bench/mutation-requirements.txt) and radium-otel (editable) go
# into a venv of their own, .venv/mutation, so that their pins never touch the dev venv; not
# part of CI. Re-runs skip the install while pyproject.toml and the requirements are unchanged
# (as scripts/bootstrap.sh does). One mutant at a time: one worker process.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
venv=.venv/mutation
if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv "$venv"
fi
stamp="$venv/.radium-installed"
want="$(cat pyproject.toml bench/mutation-requirements.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e . -r bench/mutation-requirements.txt
    echo "$want" > "$stamp"
fi
exec "$venv/bin/python" -m bench.mutation "$@"
