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
# with the dev tools: Strands pins openai<3). Kept outside the clone, in $RADIUM_VENV_CACHE
# (default ~/.cache/radium-otel/venvs), named by a hash of what they hold (the pins of
# tests/frameworks/requirements/<name>.txt, radium-otel's own dependencies, the Python), so
# a fresh clone and CI reuse them; .venv/fw-<name> links to the one this checkout needs.
# radium-otel itself is not installed there: the tests put this checkout on PYTHONPATH.
# Missing venvs are made in parallel. Only for the tests (`--tests`, as scripts/test.sh asks,
# or CI=true): the demo needs none of them.
with_tests=0
for arg in "$@"; do
    [ "$arg" = "--tests" ] && with_tests=1
done
[ "${CI:-}" = "true" ] && with_tests=1
fw_cache="${RADIUM_VENV_CACHE:-$HOME/.cache/radium-otel/venvs}"
mkdir -p "$fw_cache"
mapfile -t radium_deps < <(.venv/bin/python -c '
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))')
fw_pids=()
fw_logs=()
for req in tests/frameworks/requirements/*.txt; do
    [ "$with_tests" = 1 ] && [ -e "$req" ] || continue
    name="$(basename "$req" .txt)"
    hash="$( { printf '%s\n' "${radium_deps[@]}"; cat "$req"; "$PYTHON" --version; } \
        | sha256sum | cut -c1-16)"
    target="$fw_cache/fw-$name-$hash"
    link=".venv/fw-$name"
    if [ -d "$link" ] && [ ! -L "$link" ]; then
        rm -rf "$link"  # a venv of an older bootstrap, inside the clone
    fi
    ln -sfn "$target" "$link"
    if [ ! -f "$target/.radium-installed" ]; then
        log="$fw_cache/fw-$name-$hash.log"
        (
            rm -rf "$target"
            "$PYTHON" -m venv "$target"
            "$target/bin/python" -m pip install --quiet --upgrade pip
            "$target/bin/python" -m pip install --quiet -r "$req" "${radium_deps[@]}"
            touch "$target/.radium-installed"
        ) > "$log" 2>&1 &
        fw_pids+=("$!")
        fw_logs+=("$log")
    fi
done
# The coding CLIs that tests/sources runs (Claude Code, Codex, Gemini CLI, and ccusage), pinned
# in tests/sources/clis/package.json with its package-lock.json, installed by `npm ci` beside
# the framework venvs, into a folder named by a hash of the lock and the Node version (native
# addons are built for it), alongside the venvs above; .tools/clis links to it. Only for the
# tests, like the venvs; no TTY, no update notifier, no audit, no funding messages.
if [ "$with_tests" = 1 ]; then
    if ! command -v npm > /dev/null; then
        echo "bootstrap: npm (Node.js >= 20) is needed for the tests' coding CLIs" >&2
        exit 1
    fi
    clis="tests/sources/clis"
    hash="$( { cat "$clis/package.json" "$clis/package-lock.json"; node --version; } \
        | sha256sum | cut -c1-16)"
    target="$fw_cache/clis-$hash"
    mkdir -p .tools
    ln -sfn "$target" .tools/clis
    if [ ! -f "$target/.radium-installed" ]; then
        log="$fw_cache/clis-$hash.log"
        (
            rm -rf "$target"
            mkdir -p "$target"
            cp "$clis/package.json" "$clis/package-lock.json" "$target/"
            cd "$target"
            npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
                npm ci --no-audit --no-fund --no-progress --loglevel=warn < /dev/null
            touch "$target/.radium-installed"
        ) > "$log" 2>&1 &
        fw_pids+=("$!")
        fw_logs+=("$log")
    fi
fi
for i in "${!fw_pids[@]}"; do
    if ! wait "${fw_pids[$i]}"; then
        echo "bootstrap: installing a framework venv or the coding CLIs failed; its log:" >&2
        tail -n 30 "${fw_logs[$i]}" >&2
        exit 1
    fi
done
# A browser for tests/ui (rad ui, rad report --html): Debian's chromium from apt, driven by
# Playwright for Python (the dev extra) through executable_path=/usr/bin/chromium — never
# `playwright install`, no browser download. Only for the tests, and only when missing.
if [ "$with_tests" = 1 ] && ! command -v chromium > /dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq > /dev/null
        apt-get install -y -qq chromium > /dev/null
    else
        echo "bootstrap: tests/ui need chromium (apt-get install chromium); they skip without it" >&2
    fi
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
