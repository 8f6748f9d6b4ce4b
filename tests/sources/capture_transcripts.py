"""Save the transcripts the real coding CLIs write for the standard task, for fast tests.

Each CLI (tests/sources/clis.py, installed by ``scripts/bootstrap.sh --tests``) plays the
standard task (`clis.TASK`, `clis.standard_script`) once against the stub, its OTLP export
going to a capture-only endpoint (tests/sources/capture.py) that is thrown away. Saved under
``captures/transcripts/<cli>/``, the folders shaped as ``rad import`` finds them under the
CLI's root (Claude Code's ``projects``, Codex's ``sessions``, Gemini CLI's ``tmp``):

- the transcript, byte for byte as the CLI wrote it but for one rewrite: the run's temporary
  folder (``/tmp/tmpXXXX``, which held the workdir ``work`` and the throwaway home
  ``work-home``) is spelled `ROOT` (``/capture``) wherever it appears, in the file and in its
  path (Claude Code names its project folder after the workdir, ``-tmp-tmpXXXX-work``:
  ``-capture-work``). The content is the stub's scripted text; the CLIs were given no
  secret (the stub's keys are ``stub``, ``sk-ant-stub``);
- ``served.json``: what the stub served each scripted turn (model and usage, as
  `model_stub.Usage`), the oracle for tokens per model;
- ``ccusage.json`` (Claude Code, Codex): ``ccusage <cli> session --json --offline`` run on
  the transcript, the second oracle for tokens.

Regenerate (a minute; the CLIs change what they write from version to version, so tests that
read these say which version wrote them)::

    cd tests && ../.venv/bin/python -m sources.capture_transcripts [claude codex gemini]
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from radium_otel.sources.transcripts.claude_code import _IGNORED as IGNORED

from .capture import Capture
from .clis import BIN, CAPTURE_PROTOCOL, TASK, Cli, CliRun, run_cli, standard_script

__all__ = ["ROOT", "TRANSCRIPTS", "save_transcripts"]

TRANSCRIPTS = Path(__file__).resolve().parent / "captures" / "transcripts"
#: How the run's temporary folder is spelled in the saved transcripts.
ROOT = "/capture"
#: Rows this long or longer, of a type Claude Code's reader ignores, are trimmed.
TRIM_FROM = 2048
#: Each CLI's transcripts' root under its throwaway home (what ``rad import`` is given).
ROOTS: dict[Cli, str] = {
    "claude": ".claude/projects",
    "codex": ".codex/sessions",
    "gemini": ".gemini/tmp",
}
#: ccusage's command and the environment variable naming the CLI's home, per CLI it reads.
CCUSAGE: dict[Cli, tuple[str, str, str]] = {
    "claude": ("claude", "CLAUDE_CONFIG_DIR", ".claude"),
    "codex": ("codex", "CODEX_HOME", ".codex"),
}


def save_transcripts(clis: tuple[Cli, ...] = ("claude", "codex", "gemini")) -> list[Path]:
    """Run each CLI's standard task and save its transcript (see the module docstring)."""
    written: list[Path] = []
    for cli in clis:
        with tempfile.TemporaryDirectory() as tmp, Capture() as capture:
            protocol = CAPTURE_PROTOCOL[cli]
            workdir = Path(tmp) / "work"
            run = run_cli(cli, TASK, standard_script(cli, workdir), capture.endpoint(protocol),
                          protocol, workdir, timeout_s=120)  # fmt: skip
            if run.returncode != 0 or not run.played_out:
                raise RuntimeError(run.describe())
            written += _save(cli, run, tmp)
    return written


def _save(cli: Cli, run: CliRun, tmp: str) -> list[Path]:
    target = TRANSCRIPTS / cli
    if target.exists():
        shutil.rmtree(target)
    root = run.home / ROOTS[cli]
    written = []
    for source in run.transcripts:
        folder = re.sub("[^A-Za-z0-9]", "-", tmp)  # (Claude Code's project folder's spelling)
        relative = str(source.relative_to(root)).replace(folder, "-capture")
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = source.read_bytes().replace(tmp.encode(), ROOT.encode()).splitlines(True)
        path.write_bytes(b"".join(_trimmed(line) for line in lines))
        written.append(path)
    served = [
        {"model": s.model, "usage": dataclasses.asdict(s.usage) if s.usage else None}
        for s in run.turns
    ]
    (target / "served.json").write_text(json.dumps(served, indent=1) + "\n")
    written.append(target / "served.json")
    if cli in CCUSAGE:
        command, variable, home = CCUSAGE[cli]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "CODEX"))}
        env[variable] = str(run.home / home)
        argv = [str(BIN / "ccusage"), command, "session", "--json", "--offline"]
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=True)
        (target / "ccusage.json").write_text(out.stdout.replace(tmp, ROOT))
        written.append(target / "ccusage.json")
    return written


def _trimmed(line: bytes) -> bytes:
    """A Claude Code row of a type the reader ignores (the system prompt, tool lists and
    request shapes: most of the file) with its long strings cut, its keys and their order kept.
    """
    if len(line) < TRIM_FROM:
        return line
    row = json.loads(line)
    if not isinstance(row, dict) or row.get("type") not in IGNORED:
        return line
    text = json.dumps(_cut(row), separators=(",", ":"), ensure_ascii=False)
    return text.encode() + b"\n"


def _cut(value: object) -> object:
    if isinstance(value, str) and len(value) > 200:
        return f"<{len(value)} characters cut>"
    if isinstance(value, dict):
        return {key: _cut(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item) for item in value]
    return value


if __name__ == "__main__":  # cd tests && ../.venv/bin/python -m sources.capture_transcripts
    chosen = tuple(sys.argv[1:]) or ("claude", "codex", "gemini")
    for saved in save_transcripts(chosen):  # type: ignore[arg-type]
        print(f"{saved} ({saved.stat().st_size} bytes)")
