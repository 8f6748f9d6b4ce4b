"""An example coding agent, instrumented with radium-otel.

The model is scripted (no network, no API key): each turn returns what the Anthropic
Messages API returns, usage included, after a realistic delay. The tools are real: they
read and write files in a scratch git repository and run its tests. One tool call fails
(the first test run) and one proposed call is rejected by the "user".

    python examples/coding_agent.py --workspace /tmp/demo
    rad --workspace /tmp/demo stats session
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import radium_otel as rad

MODEL = "claude-sonnet-4-5"

BUGGY = """def mean(values):
    return sum(values) / len(values) + 1
"""
FIXED = """def mean(values):
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)
"""
TEST = """from stats import mean

assert mean([1, 2, 3]) == 2, mean([1, 2, 3])
print("ok")
"""

# What the scripted model "decides" on each turn: (tool name, arguments) pairs.
SCRIPT: list[list[tuple[str, dict[str, str]]]] = [
    [("list_files", {})],
    [("read_file", {"path": "stats.py"}), ("read_file", {"path": "test_stats.py"})],
    [("run_tests", {})],
    [("delete_file", {"path": "test_stats.py"})],  # the user rejects this one
    [("write_file", {"path": "stats.py", "content": FIXED})],
    [("run_tests", {})],
    [],
]


class TestsFailed(RuntimeError):
    """The repository's tests did not pass."""


class ScriptedAnthropic:
    """Answers like ``anthropic.Anthropic().messages.create`` would, from a script."""

    def __init__(self) -> None:
        self.turn = 0

    def create(self, **request: Any) -> dict[str, Any]:
        turn = self.turn
        self.turn += 1
        time.sleep(0.12 + 0.04 * (turn % 3))  # network + generation time
        calls = SCRIPT[turn]
        content: list[dict[str, Any]] = [{"type": "text", "text": f"Step {turn + 1}."}]
        content += [
            {"type": "tool_use", "id": f"toolu_{turn}_{i}", "name": name, "input": args}
            for i, (name, args) in enumerate(calls)
        ]
        return {
            "id": f"msg_{turn:03d}",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": content,
            "stop_reason": "tool_use" if calls else "end_turn",
            "usage": {
                # Anthropic counts input without the cache; radium-otel normalises.
                "input_tokens": 350 + 120 * turn,
                "cache_creation_input_tokens": 2_048 if turn == 0 else 0,
                "cache_read_input_tokens": 0 if turn == 0 else 2_048,
                "output_tokens": 90 + 35 * len(calls),
            },
        }


class Agent:
    """A tiny tool-using loop over a scratch repository."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.client = ScriptedAnthropic()
        self.tools: dict[str, Callable[..., object]] = {
            "list_files": self.list_files,
            "read_file": self.read_file,
            "write_file": self.write_file,
            "delete_file": self.delete_file,
            "run_tests": self.run_tests,
        }

    @rad.model_call(provider="anthropic", model=MODEL)
    def ask_model(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return self.client.create(model=MODEL, max_tokens=1024, messages=messages)

    @rad.tool
    def list_files(self) -> list[str]:
        return sorted(p.name for p in self.repo.iterdir() if p.is_file())

    @rad.tool
    def read_file(self, path: str) -> str:
        return (self.repo / path).read_text()

    @rad.tool
    def write_file(self, path: str, content: str) -> int:
        rad.record_decision("accept", tool="write_file")
        return (self.repo / path).write_text(content)

    @rad.tool
    def delete_file(self, path: str) -> None:
        (self.repo / path).unlink()

    @rad.tool
    def run_tests(self) -> str:
        proc = subprocess.run(
            [sys.executable, "test_stats.py"], cwd=self.repo, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise TestsFailed(proc.stderr.strip().splitlines()[-1])
        return proc.stdout

    def run(self, task: str) -> None:
        messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
        while True:
            reply = self.ask_model(messages)
            messages.append({"role": "assistant", "content": reply["content"]})
            uses = [b for b in reply["content"] if b["type"] == "tool_use"]
            if not uses:
                return
            results = []
            for use in uses:
                if use["name"] == "delete_file":
                    rad.record_decision("reject", tool="delete_file")
                    output = "The user rejected this call."
                else:
                    try:
                        output = str(self.tools[use["name"]](**use["input"]))
                    except Exception as exc:
                        output = f"error: {exc}"
                results.append({"type": "tool_result", "tool_use_id": use["id"], "content": output})
            messages.append({"role": "user", "content": results})


def make_repo(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "stats.py").write_text(BUGGY)
    (repo / "test_stats.py").write_text(TEST)
    git = ["git", "-C", str(repo), "-c", "user.name=demo", "-c", "user.email=demo@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    staged = subprocess.run([*git, "diff", "--cached", "--quiet"], check=False)
    if staged.returncode:  # (run again on the same folder: the buggy files are committed)
        subprocess.run([*git, "commit", "-qm", "Initial commit"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="scratch folder to use")
    args = parser.parse_args()
    try:
        make_repo(args.workspace)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"coding_agent: cannot set up the scratch git repository: {exc}")
    rad.configure(
        workspace=args.workspace, service_name="example-coding-agent", print_summary=False
    )
    with rad.session(agent="coder", tags={"ticket": "DEMO-1"}) as session:
        Agent(args.workspace).run("Fix the failing test in stats.py.")
    print(f"session {session.id} recorded in {args.workspace / '.radium'}")


if __name__ == "__main__":
    main()
