"""Agent frameworks, real and pinned, each in a venv of its own (see `test_frameworks`)."""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]

#: ``PYTHONPATH`` for a framework venv's Python: these tests, and this checkout's
#: radium_otel (radium-otel is not installed in the framework venvs: scripts/bootstrap.sh).
FRAMEWORK_PATH = os.pathsep.join([str(_ROOT / "tests"), str(_ROOT)])
