"""One request through a package that ``rad.instrument`` enables, with planted secrets.

Used by ``test_content.py``, in its process or, for Traceloop's packages (which cannot take
their patches off again), as a script in a fresh one::

    python -m byo.content_run CLIENT DIST CAPTURE BASE_URL WORKSPACE

The client's preference list is narrowed to ``DIST``; the request's system instruction,
prompt and (scripted) reply carry the secrets. Prints a JSON `Seen`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan

from radium_otel.integrations import core as autoinstrument
from radium_otel.integrations.base import Target
from radium_otel.integrations.core import GENAI_CAPTURE_CONTENT, TRACELOOP_TRACE_CONTENT
from radium_otel.testing import isolated

from . import anthropic_api, gemini_api
from . import openai_scenarios as scenarios
from .llm_server import LLMServer, json_response

SYSTEM = "system-secret-41c2"
PROMPT = "prompt-secret-7d9e"
REPLY = "reply-secret-c0a5"
PREDICTION = "prediction-secret-88f1"
SECRETS = (SYSTEM, PROMPT, REPLY, PREDICTION)
TRACELOOP = ("opentelemetry-instrumentation-openai", "opentelemetry-instrumentation-anthropic")
SWITCHES = (TRACELOOP_TRACE_CONTENT, GENAI_CAPTURE_CONTENT)


def switches() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in SWITCHES}


@dataclass(frozen=True)
class Seen:
    """What one run showed."""

    found: list[str]  # secrets anywhere in the spans
    requests: int  # requests the session counted
    switches: dict[str, str | None]  # the content switches while instrumented
    switches_after: dict[str, str | None]  # ... after radium shut down
    said: list[str]  # radium's warnings


def narrow(client: str, dist: str) -> None:
    """Leave only ``dist`` (installed here) in ``client``'s preference list."""
    entry = autoinstrument.SUPPORTED[client]
    package = next(p for p in entry.packages if p.dist == dist)
    autoinstrument.SUPPORTED[client] = Target(entry.library, entry.dist, (package,))


def leaks(spans: Sequence[ReadableSpan]) -> list[str]:
    """The planted secrets found anywhere in the spans."""
    text = repr(
        [
            (
                s.name,
                dict(s.attributes or {}),
                [(e.name, dict(e.attributes or {})) for e in s.events],
                s.status.description,
            )
            for s in spans
        ]
    )
    return [secret for secret in SECRETS if secret in text]


# --- the scripted replies (in the test's process) and the requests ----------------------


def script(client: str, server: LLMServer) -> None:
    """The reply to ``client``'s request, carrying the REPLY secret."""
    if client == "openai":
        body = scenarios.chat_completion("gpt-4o-2024-08-06", scenarios.chat_usage(40, 5, 0, 0))
        body["choices"][0]["message"]["content"] = REPLY
        server.add("POST", scenarios.CHAT_PATH, json_response(200, body), times=1)
    elif client == "anthropic":
        reply = anthropic_api.message("claude-sonnet-4-6", anthropic_api.usage(40, 5), text=REPLY)
        server.add("POST", anthropic_api.MESSAGES_PATH, reply, times=1)
    else:
        reply = gemini_api.response("gemini-2.5-flash", gemini_api.usage(40, 5), text=REPLY)
        server.add("POST", gemini_api.GENERATE_PATH, reply, times=1)


def ask_openai(base_url: str) -> None:
    import openai

    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="test-key", max_retries=0) as client:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": PROMPT},
            ],
            prediction={"type": "content", "content": PREDICTION},
            temperature=0.2,
        )


def ask_anthropic(base_url: str) -> None:
    import anthropic

    with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as client:
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            system=SYSTEM,
            messages=[{"role": "user", "content": PROMPT}],
        )


def ask_gemini(base_url: str) -> None:
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=base_url)
    with genai.Client(api_key="test-key", http_options=options) as client:
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents=PROMPT,
            config=types.GenerateContentConfig(system_instruction=SYSTEM),
        )


ASK: dict[str, Callable[[str], None]] = {
    "openai": ask_openai,
    "anthropic": ask_anthropic,
    "google-genai": ask_gemini,
}


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run(client: str, dist: str, capture: bool, base_url: str, workspace: Path) -> Seen:
    """Enable ``dist`` through ``instrument`` and send ``client``'s request in a session."""
    narrow(client, dist)
    said = _Said()
    logger = logging.getLogger("radium_otel")
    logger.addHandler(said)
    try:
        with isolated(workspace, capture_content=capture) as (instance, spans):
            enabled = instance.instrument(client)
            assert enabled == {client: dist}, enabled
            during = switches()
            with instance.session(agent="content") as scope:
                ASK[client](base_url)
            finished = spans.get_finished_spans()
        assert scope.record is not None
        return Seen(
            leaks(finished),
            scope.record.requests,
            during,
            switches(),
            said.messages,
        )
    finally:
        logger.removeHandler(said)


def main(argv: list[str]) -> int:
    client, dist, capture, base_url, workspace = argv
    seen = run(client, dist, capture == "capture", base_url, Path(workspace))
    print(json.dumps(asdict(seen)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
