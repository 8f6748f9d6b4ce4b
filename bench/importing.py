"""`rad import claude-code` on a generated corpus, beside one ``ccusage claude session`` run.

The corpus: ``--files`` Claude Code transcripts (``<dir>/projects/<project>/<session>.jsonl``,
one session a file, ~200 KB a file on average: 10,000 files are about 2 GB), written row by
row in the shape of the real CLI's transcript of the scripted task
(``tests/sources/test_import_claude.py``, Claude Code 2.1.x): ``queue-operation``, the user's
prompt, ``attachment`` rows (environment, skills, prompt snapshots: a few bytes to 100+ KB),
``atis-latch``, per model request an ``api-request-shape`` now and then (the request's
system prompt and tools, tens of KB), ``api-request-blob``, ``api-request``, ``tools-used``,
the ``assistant`` message written once per content block (thinking, text, one or more
``tool_use``; the same ``message.id``, ``requestId`` and usage on each row), ``last-prompt``,
then a ``user`` row per tool call with its ``tool_result`` and ``toolUseResult`` (Bash output,
Read content, Edit's ``structuredPatch``, Write's created file, errors, refusals); side-chain
(sub-agent) requests, ``<synthetic>`` error messages, ``system`` and ``summary`` rows; a
``cost-state`` row at the end. Sessions, models, token counts, timestamps (a year of work)
and sizes vary from a fixed seed; each file's mtime is its last row's time (old sessions,
not live ones). The generated totals are kept to check both tools against.

Parts, in one run (each a whole process: wall clock and peak RSS from ``wait4``, i.e. the
largest of the process and the children it waited for):

1. **first import**: ``rad import claude-code DIR/projects`` into an empty workspace, and
   ``ccusage claude session --json --offline`` with ``CLAUDE_CONFIG_DIR=DIR`` (its launcher
   and the native binary it runs), on the same corpus, page cache warm for both.
2. **nothing new**: ``rad import`` again (``--rounds`` times, median).
3. **grown**: ``--grow`` files get new requests appended (whole rows, as Claude Code writes
   them), then ``rad import`` again: only what was appended is read.
4. **memory in the corpus size**: the first import (and ccusage) on 1/4 and 1/2 of the files
   (hard links to the same files, another folder), beside the full corpus.
5. **equal totals**: input (with cache reads and writes), output, cache read and cache write
   tokens of the workspace's sessions (the store, and ``rad stats history --by month
   --json`` for input and output) against ccusage's totals (its input leaves the cache out)
   and against the generated totals, after the first import and after the growth.

``--corpus DIR`` keeps the corpus (it is reused when its manifest matches ``--files`` and
the seed; the grown files are cut back to their first size afterwards).

    .venv/bench/bin/python -m bench.importing [--quick] [--files N] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.collect import HotRow

ROOT = Path(__file__).resolve().parent.parent
RAD = str(Path(sys.executable).with_name("rad"))
CCUSAGE = ROOT / ".tools" / "clis" / "node_modules" / ".bin" / "ccusage"
SEED = 20251204
VERSION = "2.1.332"  # the Claude Code version the shapes were read from
#: (model, weight): the mix of a heavy user's year
MODELS = (("claude-sonnet-4-5", 6), ("claude-opus-4-1", 2), ("claude-haiku-4-5", 2),
          ("claude-sonnet-4-20250514", 1), ("claude-opus-4-5", 1))  # fmt: skip
TOOLS = (("Bash", 5), ("Read", 6), ("Edit", 4), ("Write", 1), ("Grep", 2), ("Glob", 1),
         ("TodoWrite", 1), ("MultiEdit", 1))  # fmt: skip
YEAR_START_MS = 1_764_547_200_000  # 2025-12-01T00:00:00Z
_FORMAT = 1  # manifest format


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class Totals:
    """Token totals over unique model requests (one per ``requestId``)."""

    requests: int = 0
    input_tokens: int = 0  # without cache reads and writes (Anthropic's and ccusage's input)
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    def add(self, other: Totals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def normalised(self) -> dict[str, int]:
        """radium's spelling: input includes cache reads and writes."""
        return {
            "input_tokens": self.input_tokens + self.cache_read_tokens
            + self.cache_creation_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
        }  # fmt: skip


# --- text the rows carry ------------------------------------------------------------------------
_WORDS = (
    "self return def import from class if else for in while with as None True False try "
    "except raise yield lambda assert async await value items result path config session "
    "request token model tool cache usage record store index offset error count total"
).split()


class Texts:
    """Pools of code-like text, built once from ``build``; rows pick from them with ``rng``."""

    def __init__(self, build: random.Random, rng: random.Random) -> None:
        def block(n_bytes: int) -> str:
            lines: list[str] = []
            size = 0
            while size < n_bytes:
                indent = " " * (4 * build.randint(0, 3))
                line = indent + " ".join(build.choices(_WORDS, k=build.randint(2, 12)))
                lines.append(line)
                size += len(line) + 1
            return "\n".join(lines)

        self.small = [block(build.randint(40, 400)) for _ in range(64)]
        self.medium = [block(build.randint(1_000, 8_000)) for _ in range(64)]
        self.large = [block(build.randint(15_000, 60_000)) for _ in range(32)]
        self.huge = [block(build.randint(60_000, 120_000)) for _ in range(8)]
        self.system = block(16_000)
        self.tools_schema = [
            {"name": name, "description": block(build.randint(300, 3_000)),
             "input_schema": {"type": "object", "properties": {
                 w: {"type": "string", "description": block(80)} for w in _WORDS[:6]}}}
            for name, _ in TOOLS
        ]  # fmt: skip
        self.rng = rng

    def pick(self, pool: list[str]) -> str:
        return pool[self.rng.randrange(len(pool))]

    def output(self) -> str:
        """A tool's output: mostly small, sometimes a whole file."""
        r = self.rng.random()
        if r < 0.8:
            return self.pick(self.small)
        if r < 0.985:
            return self.pick(self.medium)
        if r < 0.999:
            return self.pick(self.large)
        return self.pick(self.huge)


# --- one session --------------------------------------------------------------------------------
class Session:
    """Writes one session's rows, Claude Code's shapes; remembers what it takes to grow it."""

    def __init__(self, rng: random.Random, texts: Texts, project: str, start_ms: int) -> None:
        self.rng = rng
        self.texts = texts
        self.sid = self._uuid()
        self.cwd = "/home/dev/" + project
        self.now_ms = start_ms
        self.model = rng.choices([m for m, _ in MODELS], [w for _, w in MODELS])[0]
        self.parent: str | None = None
        self.prompt_id = self._uuid()
        self.shape_hash = self._hex()
        self.cache_read = rng.randint(8_000, 30_000)  # the context so far, read from cache
        self.totals = Totals()
        self.refused = 0

    # helpers
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _hex(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def _tick(self, lo_ms: int, hi_ms: int) -> str:
        self.now_ms += self.rng.randint(lo_ms, hi_ms)
        return _iso(self.now_ms)

    def _common(self) -> dict[str, Any]:
        return {"userType": "external", "entrypoint": "cli", "cwd": self.cwd,
                "sessionId": self.sid, "version": VERSION, "gitBranch": "main"}  # fmt: skip

    def _linked(self, kind: str, sidechain: bool = False) -> dict[str, Any]:
        row_id = self._uuid()
        row = {"parentUuid": self.parent, "isSidechain": sidechain, "type": kind,
               "uuid": row_id}  # fmt: skip
        if not sidechain:
            self.parent = row_id
        return row

    # rows
    def opening(self) -> Iterator[dict[str, Any]]:
        """The rows before the first request: the prompt, attachments."""
        yield from self.prompt()
        rng, texts = self.rng, self.texts
        env = {"type": "environment", "snapshot": {"workingDirectory": self.cwd,
               "isWorktree": False, "isGitRepo": True, "additionalWorkingDirectories": [],
               "platform": "linux", "shell": "bash", "osVersion": "Linux 6.8.0"}}  # fmt: skip
        attachments: list[dict[str, Any]] = [env, {"type": "session_context", "context": {}}]
        attachments += [{"type": "skill_listing", "content": texts.pick(texts.medium)}
                        for _ in range(rng.randint(1, 3))]  # fmt: skip
        if rng.random() < 0.3:
            attachments.append({"type": "prompt_snapshot", "systemPrompt": [texts.system]})
        for attachment in attachments:
            ts = self._tick(0, 5)
            yield self._linked("attachment") | {
                "attachment": attachment, "timestamp": ts,
                "rendered": [{"content": "<system-reminder>\n" + json.dumps(attachment)[:2000]
                              + "\n</system-reminder>"}],
                "renderedRole": "system",
            } | self._common()  # fmt: skip
        yield {"type": "atis-latch", "atis": "", "sessionId": self.sid}
        if rng.random() < 0.3:
            yield {"type": "file-history-snapshot", "messageId": self._uuid(),
                   "snapshot": {"messageId": self._uuid(), "trackedFileBackups": {},
                                "timestamp": _iso(self.now_ms)},
                   "isSnapshotUpdate": False}  # fmt: skip

    def prompt(self) -> Iterator[dict[str, Any]]:
        """A new user prompt (a turn)."""
        text = self.texts.pick(self.texts.small)
        self.prompt_id = self._uuid()
        yield {"type": "queue-operation", "operation": "enqueue",
               "timestamp": self._tick(2_000, 120_000), "sessionId": self.sid,
               "content": text}  # fmt: skip
        yield {"type": "queue-operation", "operation": "dequeue",
               "timestamp": self._tick(1, 5), "sessionId": self.sid}  # fmt: skip
        yield self._linked("user") | {
            "promptId": self.prompt_id, "message": {"role": "user", "content": text},
            "timestamp": self._tick(1, 50), "permissionMode": "default",
            "promptSource": "cli", "sentAtMs": self.now_ms, "rowSource": "local",
            "turnOrigin": "cli", "turnPosition": {"promptIndex": 0, "turnIndex": 1},
        } | self._common()  # fmt: skip

    def request(self, sidechain: bool = False) -> Iterator[dict[str, Any]]:
        """One model request: the api rows, the assistant rows, the tool results."""
        rng, texts = self.rng, self.texts
        if rng.random() < 0.04:
            self.model = rng.choices([m for m, _ in MODELS], [w for _, w in MODELS])[0]
        ts = self._tick(20, 2_000)
        if rng.random() < 0.03 or self.totals.requests == 0:
            self.shape_hash = self._hex()
            yield {"type": "api-request-shape", "sessionId": self.sid,
                   "shapeHash": self.shape_hash, "timestamp": ts, "version": VERSION,
                   "shape": {"system": [{"type": "text", "text": texts.system}],
                             "tools": texts.tools_schema}}  # fmt: skip
        blob = self._hex()
        yield {"type": "api-request-blob", "sessionId": self.sid, "hash": blob,
               "message": {"role": "user", "content": [
                   {"type": "text", "text": texts.pick(texts.small if rng.random() < 0.8
                                                       else texts.medium)}]}}  # fmt: skip
        request_ref = self._uuid()
        yield {"type": "api-request", "sessionId": self.sid, "id": request_ref,
               "timestamp": ts, "version": VERSION, "querySource": "repl_main_thread",
               "shapeHash": self.shape_hash,
               "params": {"model": self.model, "betas": ["claude-code-20250219",
                          "interleaved-thinking-2025-05-14", "context-management-2025-06-27"],
                          "max_tokens": 32000, "thinking": {"budget_tokens": 31999,
                          "type": "enabled", "display": "omitted"}},
               "thread": {"type": "none"}, "echoWireToolInputs": False,
               "keep": rng.randint(0, 40), "tail": [blob],
               "cacheControl": [{"path": ["system", 0], "value": {"type": "ephemeral"}}],
               "requestDigest": self._hex()}  # fmt: skip
        synthetic = rng.random() < 0.01
        n_tools = 0 if synthetic else rng.choices((0, 1, 2, 3), (12, 70, 13, 5))[0]
        tools = [rng.choices([t for t, _ in TOOLS], [w for _, w in TOOLS])[0]
                 for _ in range(n_tools)]  # fmt: skip
        if n_tools:
            yield {"type": "tools-used", "tools": sorted(set(tools)), "sessionId": self.sid}
        # the response
        ts = self._tick(800, 40_000)
        message_id = f"msg_{rng.getrandbits(96):024x}"
        request_id = f"req_{rng.getrandbits(96):024x}"
        if synthetic:
            usage: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0,
                                     "cache_creation_input_tokens": 0,
                                     "cache_read_input_tokens": 0}  # fmt: skip
            model = "<synthetic>"
            blocks: list[dict[str, Any]] = [{"type": "text", "text": "API Error: 529 Overloaded"}]
        else:
            model = self.model
            fresh = rng.randint(1, 6) if rng.random() < 0.7 else rng.randint(100, 6_000)
            write = rng.randint(200, 12_000) if rng.random() < 0.6 else 0
            write_1h = write if rng.random() < 0.1 else 0
            read = self.cache_read if rng.random() < 0.95 else 0
            out = int(rng.lognormvariate(5.5, 1.2)) + 1
            self.cache_read = min(180_000, self.cache_read + write)
            usage = {"input_tokens": fresh, "cache_creation_input_tokens": write,
                     "cache_read_input_tokens": read, "output_tokens": out,
                     "output_tokens_details": {"thinking_tokens": 0},
                     "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                     "service_tier": "standard",
                     "cache_creation": {"ephemeral_1h_input_tokens": write_1h,
                                        "ephemeral_5m_input_tokens": write - write_1h},
                     "inference_geo": "", "iterations": [], "speed": "standard",
                     "fallback_credit": None}  # fmt: skip
            t = self.totals
            t.requests += 1
            t.input_tokens += fresh
            t.output_tokens += out
            t.cache_read_tokens += read
            t.cache_creation_tokens += write
            blocks = []
            if rng.random() < 0.4:
                blocks.append({"type": "thinking", "thinking": "",
                               "signature": f"{rng.getrandbits(512):0128x}" * 4})  # fmt: skip
            if rng.random() < 0.6 or not tools:
                blocks.append({"type": "text", "text": texts.pick(texts.small)})
        uses = []
        for name in tools:
            use_id = f"toolu_{rng.getrandbits(96):024x}"
            uses.append((use_id, name))
            blocks.append({"type": "tool_use", "id": use_id, "name": name,
                           "input": self._tool_input(name)})  # fmt: skip
        stop = "tool_use" if tools else "end_turn"
        # one row per content block, each with the whole message's usage
        for index, block in enumerate(blocks):
            yield self._linked("assistant", sidechain) | {
                "message": {"id": message_id, "type": "message", "role": "assistant",
                            "model": model, "content": [block], "stop_reason": stop,
                            "stop_sequence": None, "usage": usage, "stop_details": None},
                "toolInputStreamMs": rng.randint(0, 40), "apiBlockIndex": index,
                "requestId": request_id, "requestRef": request_ref,
                "requestedModel": self.model, "promptCacheRequested": "5m",
                "timestamp": ts, "perTurnEffort": None, "madeBy": "model",
            } | self._common()  # fmt: skip
        if not sidechain:
            yield {"type": "last-prompt", "lastPrompt": "continue", "leafUuid": self.parent,
                   "sessionId": self.sid}  # fmt: skip
        for use_id, name in uses:
            yield from self._result(use_id, name, sidechain)

    def _tool_input(self, name: str) -> dict[str, Any]:
        texts, path = self.texts, f"{self.cwd}/src/mod_{self.rng.randrange(400)}.py"
        if name == "Bash":
            return {"command": "pytest -q tests/", "description": "Run the tests"}
        if name in ("Read", "Glob", "Grep"):
            return {"file_path": path, "pattern": "def "}
        if name == "Write":
            return {"file_path": path, "content": texts.pick(texts.medium)}
        if name == "TodoWrite":
            return {"todos": [{"content": texts.pick(texts.small), "status": "pending"}]}
        return {"file_path": path, "old_string": texts.pick(texts.small),
                "new_string": texts.pick(texts.small)}  # fmt: skip

    def _result(self, use_id: str, name: str, sidechain: bool) -> Iterator[dict[str, Any]]:
        rng, texts = self.rng, self.texts
        ts = self._tick(30, 30_000)
        path = f"{self.cwd}/src/mod_{rng.randrange(400)}.py"
        failed = rng.random() < 0.06
        refused = not failed and rng.random() < 0.02
        decision = {"decision": "accept", "source": "config", "reasonType": "rule"}
        if refused:
            self.refused += 1
            text = (f"{name} in '{path}' needs approval. Claude Code asks before a shell "
                    "command creates, changes or removes files there.")  # fmt: skip
            block = {"type": "tool_result", "content": text, "is_error": True,
                     "tool_use_id": use_id}  # fmt: skip
            result: Any = "Error: " + text
            decision = {"decision": "reject", "source": "config", "reasonCode": "unknown"}
        elif failed:
            text = "Exit code 1\n" + texts.pick(texts.small)
            block = {"type": "tool_result", "content": text, "is_error": True,
                     "tool_use_id": use_id}  # fmt: skip
            result = "Error: " + text
        else:
            content = texts.output()
            result = self._tool_result(name, path, content)
            block = {"tool_use_id": use_id, "type": "tool_result", "content": content,
                     "is_error": False}  # fmt: skip
        yield self._linked("user", sidechain) | {
            "promptId": self.prompt_id, "message": {"role": "user", "content": [block]},
            "timestamp": ts, "toolUseResult": result, "sourceToolAssistantUUID": self.parent,
            "permissionDecision": decision,
        } | self._common()  # fmt: skip
        if rng.random() < 0.5:
            yield self._linked("attachment", sidechain) | {
                "attachment": {"type": "todo_reminder", "content": [], "itemCount": 0},
                "timestamp": ts, "rendered": [{"content": texts.pick(texts.small)}],
                "renderedRole": "system",
            } | self._common()  # fmt: skip

    def _tool_result(self, name: str, path: str, content: str) -> Any:
        rng = self.rng
        if name == "Bash":
            return {"stdout": content, "stderr": "", "interrupted": False, "isImage": False,
                    "noOutputExpected": False}  # fmt: skip
        if name == "Read":
            n = content.count("\n") + 1
            return {"type": "text", "file": {"filePath": path, "content": content,
                    "numLines": n, "startLine": 1, "totalLines": n}}  # fmt: skip
        if name == "Write":
            return {"type": "create", "filePath": path, "content": content,
                    "structuredPatch": [], "originalFile": None, "userModified": False}  # fmt: skip
        if name in ("Edit", "MultiEdit"):
            old = content.splitlines()[: rng.randint(3, 30)]
            hunks = []
            start = rng.randint(1, 400)
            for _ in range(rng.randint(1, 3)):
                removed = [" " + x for x in old[:3]] + ["-" + x for x in old[3:6]]
                added = ["+" + x.upper() for x in old[3 : 3 + rng.randint(0, 8)]]
                lines = removed + added + [" " + x for x in old[6:9]]
                hunks.append({"oldStart": start, "oldLines": len(removed) + 3,
                              "newStart": start, "newLines": len(lines) - len(removed) + 3,
                              "lines": lines})  # fmt: skip
                start += 40
            return {"filePath": path, "oldString": "\n".join(old[3:6]),
                    "newString": "\n".join(old[3:6]).upper(), "originalFile": content,
                    "structuredPatch": hunks, "userModified": False,
                    "replaceAll": False}  # fmt: skip
        if name in ("Grep", "Glob"):
            return {"mode": "files_with_matches", "filenames": [path] * rng.randint(1, 20),
                    "numFiles": 1}  # fmt: skip
        return {"oldTodos": [], "newTodos": [{"content": content[:200], "status": "pending"}]}

    def body(self, requests: int) -> Iterator[dict[str, Any]]:
        """``requests`` requests in turns, with the rows Claude Code writes between them."""
        rng = self.rng
        for i in range(requests):
            if i and rng.random() < 0.12:
                yield from self.prompt()
            if rng.random() < 0.03:
                # a sub-agent (Task) at work: side-chain requests, same session
                for _ in range(rng.randint(1, 4)):
                    yield from self.request(sidechain=True)
            yield from self.request()
            if rng.random() < 0.02:
                yield self._linked("system") | {
                    "subtype": "turn_duration", "durationMs": rng.randint(1_000, 900_000),
                    "timestamp": self._tick(1, 10), "isMeta": False,
                } | self._common()  # fmt: skip
            if rng.random() < 0.005:
                yield {"type": "summary", "summary": "Refactor the session store",
                       "leafUuid": self.parent}  # fmt: skip

    def closing(self) -> Iterator[dict[str, Any]]:
        t = self.totals
        yield {"type": "cost-state", "sessionId": self.sid, "totalCostUSD": 0.0,
               "totalAPIDuration": 0, "totalToolDuration": 0, "totalLinesAdded": 0,
               "totalLinesRemoved": 0, "totalDuration": 0, "startTime": 0,
               "modelUsage": {self.model: {"inputTokens": t.input_tokens,
                              "outputTokens": t.output_tokens}},
               "hasUnknownModelCost": False}  # fmt: skip


def _write(path: Path, rows: Iterator[dict[str, Any]], mode: str = "w") -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with open(path, mode, encoding="utf-8") as f:
        f.writelines(dumps(row) + "\n" for row in rows)


# --- the corpus ---------------------------------------------------------------------------------
@dataclass
class Corpus:
    """A generated corpus: ``folder/projects/...``, its files and what they hold."""

    folder: Path
    files: list[str]  # relative to folder/projects, sorted
    bytes: int
    totals: Totals
    growable: list[dict[str, Any]]  # per file: sid, model, end_ms, cache_read (for growing)
    seed: int

    @property
    def projects(self) -> Path:
        return self.folder / "projects"


def _requests(rng: random.Random) -> int:
    """Requests in a session: many short sessions, some very long ones (~12 on average)."""
    return max(1, min(1_500, int(rng.lognormvariate(2.0, 1.0))))


def generate(
    folder: Path, files: int, seed: int = SEED, log: Callable[[str], None] = print
) -> Corpus:
    """Write ``files`` transcripts under ``folder/projects`` (see the module docstring)."""
    manifest = folder / "manifest.json"
    if manifest.exists():
        kept = json.loads(manifest.read_text())
        if kept.get("format") == _FORMAT and kept["files_n"] == files and kept["seed"] == seed:
            log(f"import: reusing the corpus in {folder}")
            return Corpus(folder, kept["files"], kept["bytes"], Totals(**kept["totals"]),
                          kept["growable"], seed)  # fmt: skip
    shutil.rmtree(folder / "projects", ignore_errors=True)
    rng = random.Random(seed)
    texts = Texts(random.Random(seed + 1), rng)
    projects = [f"-home-dev-{rng.choice(_WORDS)}-{i:02d}" for i in range(max(1, files // 250))]
    totals = Totals()
    names: list[str] = []
    growable: list[dict[str, Any]] = []
    size = 0
    began = time.perf_counter()
    for n in range(files):
        project = projects[rng.randrange(len(projects))]
        start_ms = YEAR_START_MS + rng.randrange(365 * 86_400_000)
        s = Session(rng, texts, project, start_ms)
        path = folder / "projects" / project / f"{s.sid}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        requests = _requests(rng)
        _write(path, _chain(s.opening(), s.body(requests), s.closing()))
        os.utime(path, ns=(s.now_ms * 1_000_000, s.now_ms * 1_000_000))
        totals.add(s.totals)
        size += path.stat().st_size
        rel = str(path.relative_to(folder / "projects"))
        names.append(rel)
        growable.append({"file": rel, "sid": s.sid, "model": s.model, "end_ms": s.now_ms,
                         "cwd": s.cwd, "cache_read": s.cache_read})  # fmt: skip
        if (n + 1) % 1000 == 0:
            log(f"import: generated {n + 1:,} files, {size / 1e9:.2f} GB "
                f"({time.perf_counter() - began:.0f} s)")  # fmt: skip
    order = sorted(range(files), key=lambda i: names[i])
    corpus = Corpus(folder, [names[i] for i in order], size, totals,
                    [growable[i] for i in order], seed)  # fmt: skip
    manifest.write_text(json.dumps({
        "format": _FORMAT, "files_n": files, "seed": seed, "files": corpus.files,
        "bytes": size, "totals": totals.__dict__, "growable": corpus.growable,
    }))  # fmt: skip
    return corpus


def _chain(*parts: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for part in parts:
        yield from part


def subset(corpus: Corpus, fraction: float, into: Path) -> tuple[Path, int]:
    """Hard links to the first ``fraction`` of the files under ``into/projects``; its bytes."""
    shutil.rmtree(into, ignore_errors=True)
    chosen = corpus.files[: round(len(corpus.files) * fraction)]
    size = 0
    for rel in chosen:
        target = into / "projects" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(corpus.projects / rel, target)
        size += target.stat().st_size
    return into, size


def grow(corpus: Corpus, count: int, seed: int) -> tuple[Totals, list[tuple[Path, int, int]]]:
    """Append a few requests to ``count`` files spread over the corpus (as a resumed session
    writes them); the new totals and each file's (path, size, mtime_ns) before.
    """
    rng = random.Random(seed)
    texts = Texts(random.Random(seed + 1), rng)
    added = Totals()
    before: list[tuple[Path, int, int]] = []
    step = max(1, len(corpus.files) // max(1, count))
    for meta in corpus.growable[::step][:count]:
        path = corpus.projects / meta["file"]
        st = path.stat()
        before.append((path, st.st_size, st.st_mtime_ns))
        s = Session(rng, texts, "", meta["end_ms"])
        s.sid, s.cwd, s.model, s.cache_read = meta["sid"], meta["cwd"], meta["model"], \
            meta["cache_read"]  # fmt: skip
        s.totals.requests = 1  # (no new api-request-shape row)
        _write(path, _chain(s.prompt(), s.body(rng.randint(2, 12))), mode="a")
        s.totals.requests -= 1
        added.add(s.totals)
    return added, before


def restore(before: list[tuple[Path, int, int]]) -> None:
    """Cut grown files back to their first size and mtime (a kept corpus stays as made)."""
    for path, size, mtime_ns in before:
        os.truncate(path, size)
        os.utime(path, ns=(mtime_ns, mtime_ns))


# --- whole processes ----------------------------------------------------------------------------
@dataclass
class Timed:
    """One child process: wall clock, peak RSS (its own or a waited-for child's), stdout."""

    wall_s: float
    rss_mb: float
    cpu_s: float
    stdout: str


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Timed:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problems = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {child.returncode}: {problems[-2000:]}")
    return Timed(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, text)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADIUM_", "CLAUDE"))}
    env.update(NO_COLOR="1", **extra)
    return env


def rad_import(
    workspace: Path, projects: Path, jobs: int | None = None
) -> tuple[Timed, dict[str, Any]]:
    extra = ["--jobs", str(jobs)] if jobs is not None else []
    t = timed([RAD, "import", "claude-code", str(projects), "--json", *extra],
              _env(RADIUM_WORKSPACE=str(workspace)))  # fmt: skip
    return t, json.loads(t.stdout)


def ccusage(config: Path) -> tuple[Timed, dict[str, Any]]:
    t = timed([str(CCUSAGE), "claude", "session", "--json", "--offline"],
              _env(CLAUDE_CONFIG_DIR=str(config)))  # fmt: skip
    return t, json.loads(t.stdout)


def warm(folder: Path) -> None:
    """Read every file once, so that both tools find the corpus in the page cache."""
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as f:
                while f.read(1 << 22):
                    pass


# --- totals -------------------------------------------------------------------------------------
_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")


def store_totals(workspace: Path) -> dict[str, int]:
    """Token totals over every session of ``workspace``'s store, radium's spelling."""
    from radium_otel._internal.store import SessionStore
    from radium_otel._internal.workspace import sessions_dir

    store = SessionStore(sessions_dir(workspace))
    out = dict.fromkeys(_KEYS, 0)
    for path in store.paths():
        r = store.read(path)
        out["input_tokens"] += r.input_tokens
        out["output_tokens"] += r.output_tokens
        out["cache_read_tokens"] += r.cache_stats.cache_read_tokens
        out["cache_creation_tokens"] += r.cache_stats.cache_creation_tokens
    return out


def cli_totals(workspace: Path) -> dict[str, int]:
    """Input and output tokens as ``rad stats history --by month --limit 0 --json`` shows them."""
    t = timed([RAD, "stats", "history", "--by", "month", "--limit", "0", "--json"],
              _env(RADIUM_WORKSPACE=str(workspace)))  # fmt: skip
    periods = json.loads(t.stdout)["periods"]
    return {k: sum(p[k] for p in periods) for k in ("input_tokens", "output_tokens")}


def ccusage_totals(report: dict[str, Any]) -> dict[str, int]:
    """ccusage's totals in radium's spelling (its input leaves cache reads and writes out)."""
    t = report["totals"]
    return {
        "input_tokens": t["inputTokens"] + t["cacheReadTokens"] + t["cacheCreationTokens"],
        "output_tokens": t["outputTokens"],
        "cache_read_tokens": t["cacheReadTokens"],
        "cache_creation_tokens": t["cacheCreationTokens"],
    }


# --- where the time goes -----------------------------------------------------------------------
@dataclass
class Profile:
    """cProfile of a first import in this process (wall time: fsync waits show)."""

    files: int
    seconds: float
    own: list[HotRow]
    inclusive: list[HotRow]


def profile_import(corpus: Corpus, files: int, tmp: Path, top: int = 15) -> Profile:
    """The first import of ``files`` of the corpus's files under cProfile: the functions with
    the most own time, and radium's with the most time inclusive of what they call.
    """
    from radium_otel.sources.importer import Importer
    from radium_otel.sources.transcripts.claude_code import FORMAT

    config, _ = subset(corpus, min(1.0, files / len(corpus.files)), tmp / "profiled")
    prof = cProfile.Profile()
    prof.enable()
    Importer(tmp / "ws-profiled", FORMAT, workers=1).run([config / "projects"])
    prof.disable()
    shutil.rmtree(config)
    shutil.rmtree(tmp / "ws-profiled")
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(own for (_cc, _n, own, _cum, _callers) in raw.values())
    own_rows, cum_rows = [], []
    for (filename, line, name), (_cc, ncalls, own, cum, _callers) in raw.items():
        short = filename.rsplit("site-packages/", 1)[-1].rsplit(str(ROOT) + "/", 1)[-1]
        label = f"{short}:{line}({name})" if line else name
        own_rows.append(HotRow(label, ncalls, own, own / total if total else 0.0))
        if short.startswith("radium_otel/"):
            cum_rows.append(HotRow(label, ncalls, cum, cum / total if total else 0.0))
    own_rows.sort(key=lambda r: r.seconds, reverse=True)
    cum_rows.sort(key=lambda r: r.seconds, reverse=True)
    return Profile(round(len(corpus.files) * min(1.0, files / len(corpus.files))), total,
                   own_rows[:top], cum_rows[:top])  # fmt: skip


# --- the run ------------------------------------------------------------------------------------
@dataclass
class Size:
    """The first import and ccusage on part of the corpus."""

    fraction: float
    files: int
    bytes: int
    rad: Timed
    ccusage: Timed | None
    sessions: int
    one_process: Timed | None = None  # `rad import --jobs 1` (the whole corpus only)


@dataclass
class ImportResult:
    files: int
    bytes: int
    requests: int
    lines: int
    sizes: list[Size]
    again: list[Timed]
    again_summary: dict[str, Any]
    grown_files: int
    grown_requests: int
    grown: Timed
    grown_summary: dict[str, Any]
    equal: dict[str, bool] = field(default_factory=dict)
    figures: dict[str, dict[str, int]] = field(default_factory=dict)
    profile: Profile | None = None

    @property
    def full(self) -> Size:
        return self.sizes[-1]

    def equality_line(self) -> str:
        parts = []
        for name, ok in self.equal.items():
            parts.append(f"{name}: {'equal' if ok else 'NOT EQUAL'}")
        return "; ".join(parts)


def run(
    files: int,
    corpus_dir: Path | None = None,
    grow_files: int = 100,
    rounds: int = 3,
    fractions: tuple[float, ...] = (0.25, 0.5),
    seed: int = SEED,
    profile_files: int = 0,
    log: Callable[[str], None] | None = None,
) -> ImportResult:
    say = log or (lambda text: None)
    have_ccusage = CCUSAGE.exists()
    if not have_ccusage:
        say(f"import: {CCUSAGE} is missing (scripts/bootstrap.sh --tests): ccusage skipped")
    with tempfile.TemporaryDirectory(prefix="rad-bench-import-") as name:
        tmp = Path(name)
        folder = corpus_dir or tmp / "corpus"
        folder.mkdir(parents=True, exist_ok=True)
        say(f"import: corpus of {files:,} files in {folder}")
        corpus = generate(folder, files, seed, log=say)
        say(f"import: {len(corpus.files):,} files, {corpus.bytes / 1e9:.2f} GB, "
            f"{corpus.totals.requests:,} requests")  # fmt: skip
        sizes: list[Size] = []
        for fraction in (*fractions, 1.0):
            if fraction < 1.0:
                config, size = subset(corpus, fraction, tmp / f"part-{fraction:g}")
            else:
                config, size = folder, corpus.bytes
            n = round(len(corpus.files) * fraction)
            warm(config / "projects")
            peer = None
            if have_ccusage:
                say(f"import: ccusage on {fraction:g} of the corpus")
                peer, report = ccusage(config)
                peer_figures = ccusage_totals(report)
            say(f"import: first rad import of {fraction:g} of the corpus ({n:,} files)")
            workspace = tmp / f"ws-{fraction:g}"
            first, summary = rad_import(workspace, config / "projects")
            one = None
            if fraction == 1.0:
                say("import: first rad import --jobs 1 of the corpus")
                one, _ = rad_import(tmp / "ws-one", config / "projects", jobs=1)
            sizes.append(Size(fraction, n, size, first, peer, summary["sessions_new"], one))
            # (Workspaces and subsets stay until the end: deleting thousands of files just
            # before a timed import can slow the files it creates, which ccusage, writing
            # nothing, would not feel; see bench/file_writes.py.)
        lines = summary["lines"]
        expected = corpus.totals.normalised()
        figures = {"generated": expected, "rad (store)": store_totals(workspace)}
        figures["rad stats history"] = cli_totals(workspace)
        if have_ccusage:
            figures["ccusage"] = peer_figures
        again: list[Timed] = []
        for i in range(rounds):
            say(f"import: again, nothing new ({i + 1} of {rounds})")
            t, again_summary = rad_import(workspace, folder / "projects")
            again.append(t)
        if again_summary["files_read"] or again_summary["lines"]:
            raise RuntimeError(f"a second import read something: {again_summary}")
        added, before = grow(corpus, grow_files, seed + 7)
        try:
            say(f"import: {len(before)} files grew by {added.requests:,} requests; again")
            grown, grown_summary = rad_import(workspace, folder / "projects")
            after = corpus.totals.normalised()
            for k, v in added.normalised().items():
                after[k] += v
            figures["generated, grown"] = after
            figures["rad (store), grown"] = store_totals(workspace)
        finally:
            restore(before)
        profiled = None
        if profile_files:
            say(f"import: first import of {profile_files:,} files under cProfile")
            profiled = profile_import(corpus, profile_files, tmp)
    equal = {
        "rad store = generated": figures["rad (store)"] == expected,
        "rad stats history = generated (input, output)": figures["rad stats history"]
        == {k: expected[k] for k in ("input_tokens", "output_tokens")},
        "after growth, rad store = generated": figures["rad (store), grown"] == after,
    }
    if have_ccusage:
        equal["rad store = ccusage"] = figures["rad (store)"] == figures["ccusage"]
        equal["ccusage = generated"] = figures["ccusage"] == expected
    return ImportResult(
        files=len(corpus.files),
        bytes=corpus.bytes,
        requests=corpus.totals.requests,
        lines=lines,
        sizes=sizes,
        again=again,
        again_summary=again_summary,
        grown_files=len(before),
        grown_requests=added.requests,
        grown=grown,
        grown_summary=grown_summary,
        equal=equal,
        figures=figures,
        profile=profiled,
    )


def _med(values: list[float]) -> float:
    return statistics.median(values)


def summary(r: ImportResult) -> str:
    """Plain-text figures (what ``main`` prints)."""
    full = r.full
    again = _med([t.wall_s for t in r.again])
    lines = [
        f"corpus: {r.files:,} files, {r.bytes / 1e9:.2f} GB, {r.lines:,} lines, "
        f"{r.requests:,} model requests",
    ]
    for s in r.sizes:
        peer = (f"; ccusage {s.ccusage.wall_s:.1f} s ({s.ccusage.cpu_s:.1f} CPU s), "
                f"{s.ccusage.rss_mb:.0f} MB" if s.ccusage else "")  # fmt: skip
        lines.append(
            f"  first import of {s.fraction:g} ({s.files:,} files, {s.bytes / 1e9:.2f} GB): "
            f"rad {s.rad.wall_s:.1f} s ({s.rad.cpu_s:.1f} CPU s), {s.rad.rss_mb:.0f} MB peak RSS, "
            f"{s.sessions:,} sessions{peer}"
        )
    if full.one_process:
        o = full.one_process
        lines.append(f"  first import in one process (--jobs 1): {o.wall_s:.1f} s "
                     f"({o.cpu_s:.1f} CPU s), {o.rss_mb:.0f} MB peak RSS")  # fmt: skip
    if full.ccusage:
        c = full.ccusage
        lines.append(
            f"  first import / ccusage: {full.rad.wall_s / c.wall_s:.2f}x wall "
            f"({'no slower' if full.rad.wall_s <= c.wall_s else 'SLOWER'}), "
            f"{full.rad.rss_mb / c.rss_mb:.2f}x RSS"
        )
    lines.append(
        f"  again, nothing new: {again:.2f} s, "
        f"{_med([t.cpu_s for t in r.again]):.2f} CPU s, {r.again_summary['seconds']:.2f} s in "
        f"Importer.run (median of {len(r.again)}: "
        + ", ".join(f"{t.wall_s:.2f}" for t in r.again) + ")"
        + (f"; ccusage / re-import {full.ccusage.wall_s / again:.1f}x (goal >= 10x)"
           if full.ccusage else "")
    )  # fmt: skip
    lines.append(
        f"  after {r.grown_files} files grew ({r.grown_requests} requests): "
        f"{r.grown.wall_s:.2f} s ({r.grown.cpu_s:.2f} CPU s), "
        f"{r.grown_summary['lines']:,} lines read, "
        f"{r.grown_summary['files_read']} files read"
    )
    lines.append("  totals: " + r.equality_line())
    for name, fig in r.figures.items():
        lines.append(f"    {name}: " + ", ".join(f"{k} {v:,}" for k, v in fig.items()))
    if r.profile:
        lines += profile_lines(r.profile)
    return "\n".join(lines)


def profile_lines(p: Profile) -> list[str]:
    """The profile as plain text."""
    lines = [f"profile of a first import of {p.files:,} files ({p.seconds:.1f} s under "
             "cProfile), own time:"]  # fmt: skip
    lines += [f"  {h.share:6.1%}  {h.calls:9,}  {h.function}" for h in p.own]
    lines.append("  radium's functions, time inclusive of what they call:")
    lines += [f"  {h.share:6.1%}  {h.calls:9,}  {h.function}" for h in p.inclusive]
    return lines


def profile_markdown(p: Profile) -> list[str]:
    """The profile as RESULTS.md tables."""
    out = [
        f"Where a first import's time goes: cProfile of the import of {p.files:,} of the files "
        f"in this process ({p.seconds:.1f} s under the profiler, wall: fsync waits show as "
        "`posix.fsync`), own time:",
        "",
        "| share | calls | function |",
        "| ---: | ---: | --- |",
    ]
    out += [f"| {h.share:.1%} | {h.calls:,} | `{h.function}` |" for h in p.own]
    out += ["", "radium's functions, time inclusive of what they call:", "",
            "| share | calls | function |", "| ---: | ---: | --- |"]  # fmt: skip
    out += [f"| {h.share:.1%} | {h.calls:,} | `{h.function}` |" for h in p.inclusive]
    return out


def markdown(r: ImportResult, command: str | None = None) -> list[str]:
    """The RESULTS.md section (``command``: the one that ran it, when not the suite's)."""
    full = r.full
    again = _med([t.wall_s for t in r.again])
    out = [
        "## 7. `rad import claude-code` beside ccusage",
        "",
        (f"`{command}`: " if command else "") + f"{r.files:,} generated Claude Code transcripts "
        f"({r.bytes / 1e9:.2f} GB, {r.lines:,} lines, {r.requests:,} model requests; the "
        "real CLI's row types and shapes, see `bench/importing.py`), whole processes, page "
        "cache warm; peak RSS from `wait4` (ccusage: its node launcher or the native binary "
        "it runs, whichever is larger).",
        "",
        "| corpus | files | GB | rad import: wall (s), CPU (s) | rad peak RSS (MB) "
        "| ccusage session: wall (s), CPU (s) | ccusage peak RSS (MB) | rad / ccusage wall |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in r.sizes:
        c = s.ccusage
        out.append(
            f"| {s.fraction:g} | {s.files:,} | {s.bytes / 1e9:.2f} | {s.rad.wall_s:.1f}, "
            f"{s.rad.cpu_s:.1f} | {s.rad.rss_mb:.0f} | {c.wall_s:.1f}, {c.cpu_s:.1f} | "
            f"{c.rss_mb:.0f} | "
            f"{s.rad.wall_s / c.wall_s:.2f}x |"
            if c
            else f"| {s.fraction:g} | {s.files:,} | {s.bytes / 1e9:.2f} | {s.rad.wall_s:.1f}, "
            f"{s.rad.cpu_s:.1f} | {s.rad.rss_mb:.0f} | — | — | — |"
        )
    peer = full.ccusage.wall_s if full.ccusage else None
    if full.one_process:
        o = full.one_process
        out += ["", f"The whole corpus in one process (`--jobs 1`; the row above: one per CPU): "
                f"{o.wall_s:.1f} s wall, {o.cpu_s:.1f} s CPU, {o.rss_mb:.0f} MB peak RSS"
                + (f", {o.wall_s / peer:.2f}x ccusage's wall." if peer else ".")]  # fmt: skip
    out += [
        "",
        "| re-import | wall (s) | CPU (s) | ccusage run / this (wall) |",
        "| --- | ---: | ---: | ---: |",
        f"| nothing new (median of {len(r.again)}; the import itself, without the "
        f"interpreter's start: {r.again_summary['seconds']:.2f} s) | {again:.2f} | "
        f"{_med([t.cpu_s for t in r.again]):.2f} | "
        + (f"{peer / again:.1f}x |" if peer else "— |"),
        f"| {r.grown_files} files grew ({r.grown_requests} requests, "
        f"{r.grown_summary['lines']:,} lines) | {r.grown.wall_s:.2f} | {r.grown.cpu_s:.2f} | "
        + (f"{peer / r.grown.wall_s:.1f}x |" if peer else "— |"),
        "",
        "Totals (input with cache reads and writes, output, cache read, cache write): "
        + r.equality_line()
        + ".",
        "",
        "| source | input | output | cache read | cache write |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, fig in r.figures.items():
        cells = " | ".join(f"{fig[k]:,}" if k in fig else "—" for k in _KEYS)
        out.append(f"| {name} | {cells} |")
    if r.profile:
        out += ["", *profile_markdown(r.profile)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 files (~80 MB)")
    parser.add_argument("--files", type=int, help="transcripts (default 10,000: ~2 GB)")
    parser.add_argument("--corpus", type=Path, help="keep (and reuse) the corpus here")
    parser.add_argument("--grow", type=int, default=100, help="files that grow")
    parser.add_argument("--rounds", type=int, default=3, help="re-imports with nothing new")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile a first import of N files (cProfile)",
    )
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="only generate (or reuse) the corpus and profile",
    )
    parser.add_argument("--markdown", action="store_true", help="print the RESULTS.md section")
    args = parser.parse_args()
    files = args.files or (400 if args.quick else 10_000)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    if args.profile_only:
        with tempfile.TemporaryDirectory(prefix="rad-bench-import-") as name:
            folder = args.corpus or Path(name) / "corpus"
            corpus = generate(folder, files, args.seed, log=say)
            profiled = profile_import(corpus, args.profile or files, Path(name))
        print("\n".join(profile_lines(profiled)))
        if args.markdown:
            print("\n".join(["", *profile_markdown(profiled)]))
        return
    result = run(files, args.corpus, grow_files=args.grow, rounds=args.rounds, seed=args.seed,
                 profile_files=args.profile, log=say)  # fmt: skip
    print(summary(result))
    if args.markdown:
        command = "python -m bench.importing " + " ".join(sys.argv[1:])
        print("\n".join(["", *markdown(result, command.strip())]))


if __name__ == "__main__":
    main()
