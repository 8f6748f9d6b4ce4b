#!/usr/bin/env bash
# Create .venv and install radium-otel (editable) with its dev tools, from nothing.
# Re-runs are cheap: the install is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.radium-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    echo "$want" > "$stamp"
fi
# The backends for the integration tests (the `backends` extra: Arize Phoenix), in a venv of
# their own so that their pins never change the dev tools above. Only in CI or when asked.
if [ "${CI:-}" = "true" ] || [ "${RADIUM_BACKENDS:-0}" = "1" ]; then
    if [ ! -x .venv/backends/bin/python ]; then
        "$PYTHON" -m venv .venv/backends
    fi
    stamp=".venv/backends/.radium-installed"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        .venv/backends/bin/python -m pip install --quiet --upgrade pip
        .venv/backends/bin/python -m pip install --quiet -e '.[backends]'
        echo "$want" > "$stamp"
    fi
fi
