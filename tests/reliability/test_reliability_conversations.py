"""A conversation id used again by a later (or a concurrent) process never overwrites the
session file an earlier run wrote: each run of the conversation is a session of its own,
``<id>.json``, ``<id>-2.json``, ..., the later ones naming the first in
``metadata.continues_session_id``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from reliability_support import (
    HANG_S,
    PYTHON,
    agent_env,
    rad_json,
    run_agent,
    sessions_folder,
    write_script,
)

CONVERSATION = "support-ticket-42"

AGENT = """
    import os
    import sys
    import time

    from opentelemetry import trace

    import radium_otel as rad

    workspace, calls, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rad.configure(workspace=workspace, print_summary=False, checkpoint_interval_s=0.05)
    tracer = trace.get_tracer("third-party-instrumentation")
    while not os.path.exists(go):
        time.sleep(0.005)
    with tracer.start_as_current_span(
        "invoke_agent support",
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support",
                    "gen_ai.conversation.id": "CONVERSATION"},
    ):
        for k in range(calls):
            with tracer.start_as_current_span(
                "execute_tool lookup",
                attributes={"gen_ai.operation.name": "execute_tool",
                            "gen_ai.tool.name": "lookup"},
            ):
                pass
""".replace("CONVERSATION", CONVERSATION)


def test_a_later_run_of_the_same_conversation_keeps_the_earlier_file(
    tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = write_script(tmp_path, "agent.py", AGENT)
    go = tmp_path / "go"
    go.touch()
    env = agent_env(clean_env, RADIUM_RAISE_INTERNAL_ERRORS="1")
    folder = sessions_folder(workspace)

    first = run_agent(script, str(workspace), "1", str(go), env=env, cwd=tmp_path)
    assert (first.returncode, first.stderr) == (0, "")
    before = (folder / f"{CONVERSATION}.json").read_bytes()
    second = run_agent(script, str(workspace), "2", str(go), env=env, cwd=tmp_path)
    assert (second.returncode, second.stderr) == (0, "")

    assert (folder / f"{CONVERSATION}.json").read_bytes() == before  # untouched
    later = json.loads((folder / f"{CONVERSATION}-2.json").read_bytes())
    assert (later["id"], later["status"], later["tool_calls"]) == (
        f"{CONVERSATION}-2",
        "completed",
        2,
    )
    assert later["metadata"]["continues_session_id"] == CONVERSATION
    assert "continues_session_id" not in json.loads(before)["metadata"]
    history = rad_json(rad_exe, workspace, "stats", "history", env=env)
    assert sorted((row["id"], row["tool_calls"]) for row in history["sessions"]) == [
        (CONVERSATION, 1),
        (f"{CONVERSATION}-2", 2),
    ]


def test_concurrent_runs_of_one_conversation_each_keep_their_own_file(
    tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = write_script(tmp_path, "agent.py", AGENT)
    go = tmp_path / "go"
    env = agent_env(clean_env, RADIUM_RAISE_INTERNAL_ERRORS="1")
    procs = [
        subprocess.Popen(
            [PYTHON, str(script), str(workspace), str(calls), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for calls in (1, 2, 3, 4)
    ]
    try:
        go.touch()
        outputs = [proc.communicate(timeout=HANG_S) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert [(p.returncode, err) for p, (_, err) in zip(procs, outputs, strict=True)] == [
        (0, "")
    ] * 4

    ids = [CONVERSATION, *(f"{CONVERSATION}-{n}" for n in (2, 3, 4))]
    assert sorted(p.name for p in sessions_folder(workspace).iterdir()) == sorted(
        f"{i}.json" for i in ids
    )
    history = rad_json(rad_exe, workspace, "stats", "history", env=env)
    # Which run got which file depends on who came first; every run's calls are there.
    assert sorted(row["tool_calls"] for row in history["sessions"]) == [1, 2, 3, 4]
    assert {row["id"] for row in history["sessions"]} == set(ids)
