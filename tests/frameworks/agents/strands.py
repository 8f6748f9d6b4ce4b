"""The weather agent on Strands Agents, as its docs show (an `Agent` with an `OpenAIModel`).

Strands traces itself (``invoke_agent`` / ``execute_event_loop_cycle`` / ``chat`` /
``execute_tool`` spans); radium's native instrumentor points that tracer at radium's provider.
Strands' `OpenAIModel` streams its requests whatever the agent API (its ``stream`` setting
defaults to True); ``stream`` here picks the agent's async streaming API over a plain call.
A failing tool becomes an error tool result that the model then answers (the run succeeds).
"""

from __future__ import annotations

import asyncio

from strands import Agent, tool
from strands.models.openai import OpenAIModel

from frameworks.agents import get_weather_text

INSTRUMENT = "strands"
AGENT = "weather"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> None:
    """One run of the weather agent against the stub model at ``base_url``."""

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city.

        Args:
            city: The city to get the weather for.
        """
        return get_weather_text(city, fail_tool)

    model = OpenAIModel(
        client_args={"base_url": base_url, "api_key": "x"},
        model_id="gpt-4o-mini",
    )
    agent = Agent(
        name=AGENT,
        model=model,
        tools=[get_weather],
        system_prompt="You answer questions about the weather.",
        callback_handler=None,
    )
    prompt = "What is the weather in Paris?"
    if stream:

        async def consume() -> None:
            async for _event in agent.stream_async(prompt):
                pass

        asyncio.run(consume())
    else:
        agent(prompt)
