#!/usr/bin/env bash
# Run every benchmark and write bench/RESULTS.md:  bash bench/run.sh [--quick]
# The peers (bench/requirements.txt) and radium-otel (editable) go into a venv of their own,
# .venv/bench, so that their pins never touch the dev venv. Re-runs skip the install while
# pyproject.toml and bench/requirements.txt are unchanged (as scripts/bootstrap.sh does).
# Parts can be left out: --no-callgrind, --no-cli, --no-collect (`rad collect` under load),
# --no-import (`rad import` beside ccusage on ~2 GB of transcripts).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
venv=.venv/bench
if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv "$venv"
fi
stamp="$venv/.radium-installed"
want="$(cat pyproject.toml bench/requirements.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e . -r bench/requirements.txt
    echo "$want" > "$stamp"
fi
export RADIUM_BENCH_COMMAND="bash bench/run.sh${*:+ $*}"
exec "$venv/bin/python" -m bench "$@"
