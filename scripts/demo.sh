#!/usr/bin/env bash
# The main job: run the example agent in a scratch git repo, then show its session.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
scratch="$(mktemp -d "${TMPDIR:-/tmp}/radium-demo.XXXXXX")"
.venv/bin/python examples/coding_agent.py --workspace "$scratch"
.venv/bin/rad --workspace "$scratch" stats session
echo
echo "Workspace: $scratch   (try: .venv/bin/rad --workspace $scratch stats session --json)"
