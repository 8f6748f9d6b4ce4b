"""The weather agent on the OpenAI Agents SDK (``openai-agents``), as its docs show it.

The SDK's default model path is used: an ``OpenAIResponsesModel`` (Responses API) on the
default client, set with ``set_default_openai_client``. The SDK has no OpenTelemetry of its
own; its traces go to its registered ``TracingProcessor``s, and OpenInference's
instrumentor replaces them (the default one exports to OpenAI's servers) with its own. The
stub's key is not made the trace export key (``use_for_tracing=False``), so even with the
default processor still registered nothing is exported (no ``OPENAI_API_KEY``: the SDK logs
"skipping trace export").
"""

from __future__ import annotations

import asyncio

from agents import (
    Agent,
    Runner,
    function_tool,
    set_default_openai_api,
    set_default_openai_client,
)
from openai import AsyncOpenAI

from frameworks.agents import get_weather_text

INSTRUMENT = "openai-agents"
AGENT = "weather"
MODEL = "gpt-4o-mini"
PROMPT = "What is the weather in Paris?"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> None:
    """One run of the weather agent against the stub model at ``base_url``."""
    asyncio.run(_run(base_url, stream=stream, fail_tool=fail_tool))


async def _run(base_url: str, *, stream: bool, fail_tool: bool) -> None:
    set_default_openai_client(AsyncOpenAI(base_url=base_url, api_key="x"), use_for_tracing=False)
    set_default_openai_api("responses")  # the default, said explicitly

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return get_weather_text(city, fail_tool)

    agent = Agent(
        name=AGENT,
        instructions="You answer questions about the weather. Use the get_weather tool.",
        model=MODEL,
        tools=[get_weather],
    )
    if stream:
        result = Runner.run_streamed(agent, PROMPT)
        async for _event in result.stream_events():
            pass
    else:
        result = await Runner.run(agent, PROMPT)
    assert result.final_output, result
