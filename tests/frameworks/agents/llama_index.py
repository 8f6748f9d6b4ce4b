"""The weather agent on LlamaIndex: a workflow `FunctionAgent` over its `OpenAI` LLM.

Streamed, the agent's events (``handler.stream_events()``) are read to the end, and the LLM
asks for the usage chunk (``stream_options.include_usage``): LlamaIndex's `OpenAI` does not
by default, and OpenAI sends usage only when asked. A failing tool is reported to the model
as an error result (the agent's ``_call_tool`` catches the exception) and the run goes on.
"""

from __future__ import annotations

import asyncio

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAI

from frameworks.agents import get_weather_text

INSTRUMENT = "llama-index"
AGENT = "weather"
PROMPT = "What is the weather in Paris?"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> str:
    """One run of the weather agent; its final answer."""

    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return get_weather_text(city, fail_tool)

    llm = OpenAI(
        model="gpt-4o-mini",
        api_base=base_url,
        api_key="x",
        additional_kwargs={"stream_options": {"include_usage": True}} if stream else {},
    )
    agent = FunctionAgent(
        name=AGENT,
        description="Answers questions about the weather.",
        tools=[FunctionTool.from_defaults(get_weather)],
        llm=llm,
        system_prompt="You are a weather assistant.",
        streaming=stream,
    )

    async def main() -> str:
        handler = agent.run(user_msg=PROMPT)
        if stream:
            async for _ in handler.stream_events():
                pass
        return str(await handler)

    return asyncio.run(main())
