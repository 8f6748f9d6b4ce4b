"""The weather agent on Google ADK: an `LlmAgent` with a function tool, on `InMemoryRunner`.

The model is Gemini through google-genai, pointed at the stub's Gemini API (the base URL
without ``/v1``). ``stream`` runs the agent in ADK's SSE streaming mode (the model answers
``streamGenerateContent?alt=sse``). ADK lets an exception raised by a tool propagate (unless
an ``on_tool_error_callback`` answers it, and then its spans record no failure): the run
ends after the first request with the failed tool call, and this module catches the error as
an agent whose tool can fail would.
"""

from __future__ import annotations

import asyncio

from google.adk.agents import LlmAgent, RunConfig
from google.adk.agents.run_config import StreamingMode
from google.adk.models import Gemini
from google.adk.runners import InMemoryRunner
from google.genai import types

from frameworks.agents import WeatherError, get_weather_text

INSTRUMENT = "google-adk"
CLIENT = "google-genai"  # the model's client library (the runner's with_client variant)
AGENT = "weather"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> None:
    """One run of the weather agent against the stub model at ``base_url``."""

    def get_weather(city: str) -> str:
        """Get the current weather in a city.

        Args:
            city: The city to get the weather for.
        """
        return get_weather_text(city, fail_tool)

    model = Gemini(
        model="gemini-2.5-flash",
        base_url=base_url.removesuffix("/v1"),
        client_kwargs={"api_key": "x"},
    )
    agent = LlmAgent(
        name=AGENT,
        model=model,
        instruction="You answer questions about the weather.",
        tools=[get_weather],
    )
    runner = InMemoryRunner(agent=agent, app_name="weather-app")
    config = RunConfig(streaming_mode=StreamingMode.SSE if stream else StreamingMode.NONE)
    prompt = types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")])

    async def main() -> None:
        session = await runner.session_service.create_session(
            app_name="weather-app", user_id="user"
        )
        async for _event in runner.run_async(
            user_id="user", session_id=session.id, new_message=prompt, run_config=config
        ):
            pass
        await runner.close()

    try:
        asyncio.run(main())
    except WeatherError:
        pass  # the failing tool aborted the run: ADK re-raises a tool's exception
