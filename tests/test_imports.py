"""What ``import radium_otel`` and each ``rad`` command load: the read side never needs the
OpenTelemetry SDK, an exporter or the price data, so ``rad stats`` does not pay for them."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import radium_otel
from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir

HEAVY = ("opentelemetry.sdk", "opentelemetry.exporter", "genai_prices", "radium_otel.exporters")

# Runs `rad ARGS...` in this process, then prints the heavy modules it loaded as the last line
# of stderr.
RUN_RAD = f"""
import json, runpy, sys
sys.argv = ["rad", *sys.argv[1:]]
try:
    runpy.run_module("radium_otel", run_name="__main__")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))
print(json.dumps([code, heavy]), file=sys.stderr)
"""


def loaded_by(code: str, args: list[str], env: dict[str, str]) -> tuple[object, list[str]]:
    """(exit code, heavy modules loaded) of ``code`` run with ``args``."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    *_, last = proc.stderr.splitlines() or [""]
    try:
        exit_code, heavy = json.loads(last)
    except ValueError:
        pytest.fail(proc.stderr)
    return exit_code, heavy


@pytest.fixture
def small(workspace: Path, make_record: Callable[[], SessionRecord]) -> Path:
    """A workspace with one stored session."""
    SessionStore(sessions_dir(workspace)).write(make_record())
    return workspace


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["stats", "--help"],
        ["stats", "history", "--json"],
        ["stats", "history", "--by", "day"],
        ["stats", "session"],
        ["stats", "session", "3c6d", "--json"],
        ["stats", "model"],
        ["stats", "tools", "--json"],
        ["stats", "export", "--all", "-f", "csv"],
        ["stats", "history", "--since", "garbage"],
    ],
)
def test_rad_commands_load_no_sdk_exporter_or_price_data(
    small: Path, clean_env: dict[str, str], args: list[str]
) -> None:
    code, heavy = loaded_by(RUN_RAD, ["--workspace", str(small), *args], clean_env)

    assert heavy == []
    assert code == (2 if "garbage" in args else 0)  # 2: the bad --since, a usage error


def test_reprice_loads_the_price_data_it_needs(small: Path, clean_env: dict[str, str]) -> None:
    code, heavy = loaded_by(
        RUN_RAD, ["--workspace", str(small), "stats", "model", "--reprice"], clean_env
    )

    assert code == 0
    assert [m for m in heavy if m == "genai_prices"] == ["genai_prices"]
    assert not [m for m in heavy if m.startswith("opentelemetry")]


READ_WITH_THE_SERVICE = f"""
import json, sys
import radium_otel as rad
service = rad.AnalyticsService(sys.argv[1])
history = service.get_history()
stats = service.get_model_stats("claude-sonnet-4-5")
heavy = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))
print(json.dumps([len(history) * 10 + stats.sessions, heavy]), file=sys.stderr)
"""


def test_reading_with_the_service_loads_no_sdk(small: Path, clean_env: dict[str, str]) -> None:
    assert loaded_by(READ_WITH_THE_SERVICE, [str(small)], clean_env) == (11, [])


# --- the lazy public names -------------------------------------------------------------------
def test_every_public_name_resolves_to_the_object_of_its_module() -> None:
    lazy = radium_otel._LAZY

    assert set(lazy) <= set(radium_otel.__all__)
    for name in radium_otel.__all__:
        value = getattr(radium_otel, name)
        if name in lazy:
            assert value is getattr(importlib.import_module(lazy[name]), name)
        assert name in dir(radium_otel)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'radium_otel' has no attribute 'nope'"):
        radium_otel.nope  # type: ignore[attr-defined]  # noqa: B018


def test_star_import_gives_every_public_name(clean_env: dict[str, str]) -> None:
    code = (
        "import radium_otel\n"
        "from radium_otel import *\n"
        "missing = [n for n in radium_otel.__all__ if n not in globals()]\n"
        "print(missing)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=60,
        check=True,
    )
    assert proc.stdout == "[]\n"
