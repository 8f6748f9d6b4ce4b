"""Build a LangChain agent with a system prompt after ``rad.instrument("langchain")`` and print
every attribute value on the spans, as JSON: ``python -m frameworks.factory_content
WORKSPACE CAPTURE`` (run from ``tests/`` with the Python of ``.venv/fw-langchain``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from radium_otel.testing import isolated

SYSTEM_PROMPT = "You are the secret weather oracle of radium's tests."


def main(workspace: str, capture: str) -> int:
    with isolated(Path(workspace), capture_content=capture == "1") as (rad, exporter):
        rad.instrument("langchain")
        from langchain.agents import create_agent
        from langchain_openai import ChatOpenAI

        model = ChatOpenAI(model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="x")
        create_agent(model, tools=[], system_prompt=SYSTEM_PROMPT, name="weather")
    texts = [
        str(value)
        for span in exporter.get_finished_spans()
        for value in (span.attributes or {}).values()
    ]
    print(json.dumps(texts))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
