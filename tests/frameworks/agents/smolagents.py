"""The weather agent on smolagents: a `ToolCallingAgent` over `OpenAIServerModel`.

Traced by OpenInference's smolagents instrumentation: ``weather.run`` (AGENT) → ``Step N``
(CHAIN) → ``OpenAIServerModel.generate`` (LLM) and the tool spans (TOOL), one of them
smolagents' own ``final_answer``. A failing tool is reported to the model as an
observation (``AgentToolExecutionError``) and the run goes on.
"""

from __future__ import annotations

from smolagents import OpenAIServerModel, ToolCallingAgent, tool

from frameworks.agents import get_weather_text

INSTRUMENT = "smolagents"
AGENT = "weather"  # the AGENT span is named "weather.run"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> None:
    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city.

        Args:
            city: The name of the city.
        """
        return get_weather_text(city, fail_tool)

    model = OpenAIServerModel(model_id="gpt-4o-mini", api_base=base_url, api_key="x")
    agent = ToolCallingAgent(
        tools=[get_weather],
        model=model,
        name=AGENT,
        max_steps=3,
        stream_outputs=stream,
        verbosity_level=0,
    )
    task = "What is the weather in Paris?"
    if stream:
        for _ in agent.run(task, stream=True):
            pass
    else:
        agent.run(task)
