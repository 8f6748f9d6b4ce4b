"""Run one framework scenario in a fresh process: ``python -m frameworks.runner FW VARIANT
BASE_URL WORKSPACE`` (from ``tests/``, with the Python of the framework's venv).

The scenario turns the framework's instrumentation on with ``rad.instrument(FW)`` on an
isolated radium (its own tracer provider), runs the agent of ``frameworks.agents.<fw>`` as
the variant says, shuts radium down and writes the finished spans to
``WORKSPACE/spans.json`` beside the session records (read back by `byo.runner.outcome`),
and every attribute value of the spans and their events to ``WORKSPACE/span-texts.json``.

Variants: ``plain``, ``failing_tool`` and ``streaming`` run once inside ``rad.session``;
``no_session`` runs once and ``two_runs`` twice without one; ``with_client`` runs once inside
``rad.session`` with the model's client library instrumented too (``rad.instrument(FW,
CLIENT)``: the agent module's ``CLIENT``, ``"openai"`` when it has none).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from byo.runner import write_spans

from radium_otel.testing import isolated

VARIANTS = ("plain", "failing_tool", "streaming", "no_session", "two_runs", "with_client")
SESSION_AGENT = "weather-session"  # the agent name the user's rad.session gives
TEXTS_FILE = "span-texts.json"  # every attribute value on the spans, as text


def main(argv: list[str]) -> int:
    framework, variant, base_url, workspace = argv
    agent = importlib.import_module(f"frameworks.agents.{framework.replace('-', '_')}")
    client = getattr(agent, "CLIENT", "openai")
    names = [agent.INSTRUMENT] + ([client] if variant == "with_client" else [])
    with isolated(Path(workspace)) as (rad, exporter):
        enabled = rad.instrument(*names)
        missing = [name for name, dist in enabled.items() if dist is None and name in names]
        if missing:
            raise SystemExit(f"not instrumented: {missing} ({enabled})")
        runs = 2 if variant == "two_runs" else 1
        for _ in range(runs):
            options = {"stream": variant == "streaming", "fail_tool": variant == "failing_tool"}
            if variant in ("no_session", "two_runs"):
                agent.run(base_url, **options)
            else:
                with rad.session(agent=SESSION_AGENT):
                    agent.run(base_url, **options)
    write_spans(Path(workspace), exporter.get_finished_spans())
    texts = sorted(
        {
            str(value)
            for span in exporter.get_finished_spans()
            for attributes in (span.attributes, *(event.attributes for event in span.events))
            for value in (attributes or {}).values()
        }
    )
    (Path(workspace) / TEXTS_FILE).write_text(json.dumps(texts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
