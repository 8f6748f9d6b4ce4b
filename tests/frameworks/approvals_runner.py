"""Run one approval scenario in a fresh process: ``python -m frameworks.approvals_runner FW
DECISION BASE_URL WORKSPACE`` (from ``tests/``, with the Python of the framework's venv).

Like `frameworks.runner`: the framework's instrumentation is turned on with
``rad.instrument(FW)`` (its companions with it) on an isolated radium, the agent of
``frameworks.agents.approvals_<fw>`` runs inside ``rad.session``, is interrupted for the
user's approval of its tool call and resumed with ``DECISION``; radium is shut down and the
finished spans are written to ``WORKSPACE/spans.json`` beside the session records.

``python -m frameworks.approvals_runner FW patches`` instead prints (JSON) which of the
framework's attributes that radium's companions patch were replaced by ``rad.instrument(FW)``
and which were put back by uninstrumenting it.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from byo.runner import write_spans

from frameworks.runner import SESSION_AGENT
from radium_otel.testing import isolated


def main(argv: list[str]) -> int:
    """The script: run the scenario, then write the spans beside the session records."""
    if argv[1:] == ["patches"]:
        return _patches(argv[0])
    framework, decision, base_url, workspace = argv
    agent = importlib.import_module(f"frameworks.agents.approvals_{framework.replace('-', '_')}")
    with isolated(Path(workspace)) as (rad, exporter):
        enabled = rad.instrument(agent.INSTRUMENT)
        if enabled.get(agent.INSTRUMENT) is None:
            raise SystemExit(f"not instrumented: {agent.INSTRUMENT} ({enabled})")
        with rad.session(agent=SESSION_AGENT):
            agent.run(base_url, decision)
    write_spans(Path(workspace), exporter.get_finished_spans())
    return 0


#: framework → the (module, attribute, name) its companion patches: attribute None is a
#: module's own name, else a class's method.
PATCHED: dict[str, list[tuple[str, str | None, str]]] = {
    "openai-agents": [
        ("agents.run_state", "RunState", "approve"),
        ("agents.run_state", "RunState", "reject"),
        ("agents.run_internal.tool_execution", "_FunctionToolBatchExecutor",
         "_maybe_execute_tool_approval"),
        ("agents.tracing.traces", "ReattachedTrace", "finish"),
        ("openinference.instrumentation.openai_agents._processor",
         "OpenInferenceTracingProcessor", "on_span_start"),
    ],
    "langchain": [("langchain.agents.middleware.human_in_the_loop", None, "interrupt")],
}  # fmt: skip


def _patches(framework: str) -> int:
    from radium_otel.integrations import core

    owners: list[tuple[Any, str]] = []
    for module, attribute, name in PATCHED[framework]:
        owner = importlib.import_module(module)
        owners.append((owner if attribute is None else getattr(owner, attribute), name))
    before = [vars(owner)[name] for owner, name in owners]
    with tempfile.TemporaryDirectory() as workspace, isolated(Path(workspace)) as (rad, _):
        rad.instrument(framework)
        patched = [vars(o)[n] is not b for (o, n), b in zip(owners, before, strict=True)]
        core.uninstrument(rad, [framework])
        restored = [vars(o)[n] is b for (o, n), b in zip(owners, before, strict=True)]
    print(json.dumps({"patched": patched, "restored": restored}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
