"""Guarantee 1: many agent processes, each with threads and asyncio tasks, writing to one
workspace at once lose no session, and ``rad stats`` counts exactly what was emitted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from reliability_support import (
    HANG_S,
    PYTHON,
    agent_env,
    rad,
    rad_json,
    sessions_folder,
    wait_until,
    write_script,
)

from radium_otel._internal.record import SessionRecord

PROCESSES = 8
SESSIONS = 50  # per process: 20 in 4 threads, 20 asyncio tasks, 10 in the main thread

AGENT = """
    import asyncio
    import json
    import os
    import sys
    import threading
    import time

    import radium_otel as rad

    workspace, proc, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rad.configure(workspace=workspace, service_name=f"worker-{proc}", print_summary=False,
                  checkpoint_interval_s=0.05)
    emitted = {}
    lock = threading.Lock()

    def plan(i):
        # What session i of this process emits (the test recomputes nothing: it is printed).
        return {"requests": 1 + i % 3, "input": 100 * proc + i + 1, "output": 7 + i % 2,
                "tools": i % 4, "failures": 1 if i % 5 == 0 and i % 4 else 0}

    class Broken(Exception):
        pass

    @rad.model_call(provider="openai", model=("gpt-4o", "gpt-4o-mini")[proc % 2])
    def ask(n_in, n_out):
        return {"object": "chat.completion", "model": ("gpt-4o", "gpt-4o-mini")[proc % 2],
                "usage": {"prompt_tokens": n_in, "completion_tokens": n_out}}

    @rad.tool
    def step(k, fail):
        if fail:
            raise Broken(str(k))
        return k

    @rad.model_call(provider="openai", model=("gpt-4o", "gpt-4o-mini")[proc % 2])
    async def ask_async(n_in, n_out):
        await asyncio.sleep(0)
        return {"object": "chat.completion", "model": ("gpt-4o", "gpt-4o-mini")[proc % 2],
                "usage": {"prompt_tokens": n_in, "completion_tokens": n_out}}

    @rad.tool
    async def step_async(k, fail):
        await asyncio.sleep(0)
        if fail:
            raise Broken(str(k))
        return k

    def remember(session, p):
        with lock:
            emitted[session.id] = p

    def run_sync(i):
        p = plan(i)
        with rad.session(agent="sync", tags={"proc": str(proc)}) as s:
            for _ in range(p["requests"]):
                ask(p["input"], p["output"])
            for k in range(p["tools"]):
                try:
                    step(k, fail=p["failures"] and k == 0)
                except Broken:
                    pass
        remember(s, p)

    async def run_async(i):
        p = plan(i)
        async with rad.session(agent="async", tags={"proc": str(proc)}) as s:
            await asyncio.gather(*(ask_async(p["input"], p["output"])
                                   for _ in range(p["requests"])))
            for k in range(p["tools"]):
                try:
                    await step_async(k, fail=p["failures"] and k == 0)
                except Broken:
                    pass
        remember(s, p)

    while not os.path.exists(go):  # all processes start writing at once
        time.sleep(0.005)

    threads = [threading.Thread(target=lambda t=t: [run_sync(t * 5 + j) for j in range(5)])
               for t in range(4)]
    for t in threads:
        t.start()

    async def tasks():
        await asyncio.gather(*(run_async(20 + j) for j in range(20)))

    asyncio.run(tasks())
    for i in range(40, 50):
        run_sync(i)
    for t in threads:
        t.join()
    print(json.dumps(emitted))
"""


def test_eight_processes_with_threads_and_tasks_lose_no_session(
    tmp_path: Path, rad_exe: str, clean_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = write_script(tmp_path, "agent.py", AGENT)
    go = tmp_path / "go"
    env = agent_env(clean_env, RADIUM_RAISE_INTERNAL_ERRORS="1")
    procs = [
        subprocess.Popen(
            [PYTHON, str(script), str(workspace), str(p), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for p in range(PROCESSES)
    ]
    try:
        go.touch()
        folder = sessions_folder(workspace)
        # Read while they write: the CLI never sees half a file.
        wait_until(lambda: folder.is_dir() and any(folder.glob("*.json")), "a first session")
        during = rad(rad_exe, workspace, "stats", "history", "--json", "--limit", "0", env=env)
        assert during.returncode == 0, during.stderr
        assert during.stderr == ""
        outputs = [proc.communicate(timeout=HANG_S) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    emitted: dict[str, dict[str, int]] = {}
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert err == ""  # no warning, no internal error
        emitted.update(json.loads(out))
    assert len(emitted) == PROCESSES * SESSIONS

    # Every file is whole and valid, every session is there and finished.
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{sid}.json" for sid in emitted)  # no temp file left either
    for sid, plan in emitted.items():
        record = SessionRecord.from_json(json.loads((folder / f"{sid}.json").read_bytes()))
        assert record.status == "completed"
        assert (record.requests, record.input_tokens, record.output_tokens) == (
            plan["requests"],
            plan["requests"] * plan["input"],
            plan["requests"] * plan["output"],
        )
        assert (record.tool_calls, record.tool_failures) == (plan["tools"], plan["failures"])

    # The real CLI, through the index, counts exactly what was emitted.
    history = rad_json(rad_exe, workspace, "stats", "history", "--limit", "0", env=env)
    assert history["total_sessions"] == PROCESSES * SESSIONS
    rows: dict[str, dict[str, Any]] = {row["id"]: row for row in history["sessions"]}
    assert set(rows) == set(emitted)
    for sid, plan in emitted.items():
        row = rows[sid]
        assert (row["status"], row["tool_calls"], row["tool_failures"]) == (
            "completed",
            plan["tools"],
            plan["failures"],
        )
        assert (row["input_tokens"], row["output_tokens"]) == (
            plan["requests"] * plan["input"],
            plan["requests"] * plan["output"],
        )
    models = rad_json(rad_exe, workspace, "stats", "model", env=env)
    total = models["total"]
    assert total["sessions"] == PROCESSES * SESSIONS
    assert total["requests"] == sum(p["requests"] for p in emitted.values())
    assert total["input_tokens"] == sum(p["requests"] * p["input"] for p in emitted.values())
    assert total["output_tokens"] == sum(p["requests"] * p["output"] for p in emitted.values())
    tools = rad_json(rad_exe, workspace, "stats", "tools", env=env)
    assert tools["total"]["calls"] == sum(p["tools"] for p in emitted.values())
    assert tools["total"]["failures"] == sum(p["failures"] for p in emitted.values())
