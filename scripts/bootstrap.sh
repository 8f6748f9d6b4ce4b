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
# GenAI instrumentation packages that cannot share .venv (their pins clash with the dev
# tools' or each other's): each `byo-<name>` extra goes into .venv/byo-<name>, always, since
# tests/byo runs their scenarios there (tests/byo/venvs.py). Add a name here for a new one.
BYO_VENVS="openai-v2"
for name in $BYO_VENVS; do
    venv=".venv/byo-$name"
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
    fi
    stamp="$venv/.radium-installed"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -e ".[byo-$name]"
        echo "$want" > "$stamp"
    fi
done
# Agent frameworks for tests/frameworks, one venv each (their pins clash with each other and
# with the dev tools: Strands pins openai<3): .venv/fw-<name> holds radium-otel (editable) and
# tests/frameworks/requirements/<name>.txt, reinstalled only when either pin file changes.
for req in tests/frameworks/requirements/*.txt; do
    [ -e "$req" ] || continue
    name="$(basename "$req" .txt)"
    venv=".venv/fw-$name"
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
    fi
    stamp="$venv/.radium-installed"
    fw_want="$(cat pyproject.toml "$req" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$fw_want" ]; then
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -e . -r "$req"
        echo "$fw_want" > "$stamp"
    fi
done
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
