"""The weather agent on Pydantic AI (``pydantic-ai-slim[openai]``), as its docs write one.

An `Agent` named ``weather`` on an `OpenAIChatModel` (Chat Completions) pointed at the stub,
with a plain tool. Pydantic AI lets an ordinary exception raised by a tool propagate: the run
is aborted (only `ModelRetry` / `ToolFailed` are reported back to the model), and
``agent.run_sync`` re-raises it, so ``run`` catches `WeatherError` there as a user calling an
agent whose tool can fail would.
"""

from __future__ import annotations

from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from frameworks.agents import WeatherError, get_weather_text

INSTRUMENT = "pydantic-ai"
AGENT = "weather"
PROMPT = "What is the weather in Paris?"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> None:
    """One run of the weather agent against the stub model at ``base_url``."""
    model = OpenAIChatModel(
        "gpt-4o-mini", provider=OpenAIProvider(base_url=base_url, api_key="stub-key")
    )
    agent = Agent(model, name=AGENT, instructions="Answer questions about the weather.")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return get_weather_text(city, fail_tool)

    try:
        if stream:
            with agent.run_stream_sync(PROMPT) as response:
                for _ in response.stream_text(delta=True):
                    pass
        else:
            agent.run_sync(PROMPT)
    except WeatherError:
        pass  # the failing tool aborted the run: pydantic-ai re-raises a tool's exception
