"""Run one scenario under one instrumentation package; in this process or as a script.

A scenario is agent code (``byo.openai_scenarios:requests``): a function of a `Radium`
instance and the fake server's base URL. `run` instruments the client library with the
package's instrumentor on the instance's own tracer provider, runs the scenario, removes
the instrumentation and shuts radium down, so the session records are in ``workspace``.

As a script (``python -m byo.runner INSTRUMENTOR SCENARIO BASE_URL WORKSPACE``, run from
``tests/`` by `byo.venvs.run_in_venv` with another venv's Python) it writes the finished
spans to ``WORKSPACE/spans.json`` for the pytest side to read.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from radium_otel._internal.record import SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.testing import isolated

SPANS_FILE = "spans.json"


@dataclass(frozen=True)
class SpanInfo:
    """What the tests need of a finished span."""

    name: str
    scope: str  # instrumentation scope: "radium_otel" or the package's
    start_ns: int
    end_ns: int
    operation: str | None  # gen_ai.operation.name, or OpenInference's span kind


@dataclass(frozen=True)
class Outcome:
    """The session records a scenario left in its workspace, and its spans."""

    records: list[SessionRecord]
    spans: list[SpanInfo]
    stderr: str = ""  # what a script run logged


def load(dotted: str) -> Any:
    """``module:attribute`` → the attribute."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def run(instrumentor: str, scenario: str, base_url: str, workspace: Path) -> list[SpanInfo]:
    """Run ``scenario`` with ``instrumentor`` (``module:Class``) enabled; returns its spans.

    ``instrumentor`` ``-``: none, the scenario instruments (``rad.instrument``) itself.
    """
    run_scenario = load(scenario)
    with isolated(workspace) as (rad, exporter):
        if instrumentor == "-":
            run_scenario(rad, base_url)
        else:
            instrumentation = load(instrumentor)()
            instrumentation.instrument(tracer_provider=rad.tracer_provider)
            try:
                run_scenario(rad, base_url)
            finally:
                instrumentation.uninstrument()
    return span_infos(exporter.get_finished_spans())


def span_infos(spans: Iterable[ReadableSpan]) -> list[SpanInfo]:
    """What the tests need of each finished span."""
    return [
        SpanInfo(
            name=span.name,
            scope=span.instrumentation_scope.name if span.instrumentation_scope else "",
            start_ns=span.start_time or 0,
            end_ns=span.end_time or 0,
            operation=_operation(span.attributes or {}),
        )
        for span in spans
    ]


def write_spans(workspace: Path, spans: Iterable[ReadableSpan]) -> None:
    """Write what the tests need of ``spans`` to ``workspace`` (for `read_spans`)."""
    infos = span_infos(spans)
    (workspace / SPANS_FILE).write_text(json.dumps([asdict(s) for s in infos]))


def outcome(workspace: Path, spans: list[SpanInfo], stderr: str = "") -> Outcome:
    """The records stored in ``workspace`` with ``spans``."""
    stored, warnings = SessionStore(sessions_dir(workspace)).load_all()
    assert not warnings, warnings
    return Outcome([s.record for s in stored], spans, stderr)


def read_spans(workspace: Path) -> list[SpanInfo]:
    """The spans a script run wrote."""
    return [SpanInfo(**span) for span in json.loads((workspace / SPANS_FILE).read_text())]


def _operation(attributes: Any) -> str | None:
    value = attributes.get("gen_ai.operation.name") or attributes.get("openinference.span.kind")
    return str(value) if value is not None else None


def main(argv: list[str]) -> int:
    """The script: run, then write the spans beside the session records."""
    instrumentor, scenario, base_url, workspace = argv
    spans = run(instrumentor, scenario, base_url, Path(workspace))
    (Path(workspace) / SPANS_FILE).write_text(json.dumps([asdict(s) for s in spans]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
