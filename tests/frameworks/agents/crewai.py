"""The weather agent on CrewAI: one `Agent` with one tool in a one-task `Crew`.

Traced by OpenInference's CrewAI instrumentation: ``Crew_<id>.kickoff`` (CHAIN) →
``weather._execute_core`` (AGENT, the agent's role in ``graph.node.id``) → the tool's span
``get_weather.run`` (TOOL); it has no model spans: the requests are the OpenAI client's
spans, children of the AGENT span. A failing tool is reported to the model as the tool's
result and the run goes on.

CrewAI's own telemetry (usage spans to its servers) and its run tracing (to CrewAI AMP) are
turned off before crewai is imported: ``CREWAI_DISABLE_TELEMETRY`` and
``CREWAI_TRACING_ENABLED=false`` (and ``tracing=False`` on the crew). Not
``OTEL_SDK_DISABLED``, CrewAI's other opt-out: it turns off every OpenTelemetry SDK provider
of the process, radium's included.
"""

from __future__ import annotations

import os

os.environ["CREWAI_DISABLE_TELEMETRY"] = "true"
os.environ["CREWAI_TRACING_ENABLED"] = "false"

from crewai import LLM, Agent, Crew, Task
from crewai.tools import tool

from frameworks.agents import get_weather_text

INSTRUMENT = "crewai"
AGENT = "weather"  # the agent's role
PROMPT = "What is the weather in Paris?"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> str:
    """One run of the weather crew; its final answer."""

    @tool("get_weather")
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return get_weather_text(city, fail_tool)

    llm = LLM(model="openai/gpt-4o-mini", base_url=base_url, api_key="x", stream=stream)
    agent = Agent(
        role=AGENT,
        goal="Tell the user the weather.",
        backstory="You are a weather assistant.",
        tools=[get_weather],
        llm=llm,
        max_iter=3,
        verbose=False,
    )
    task = Task(description=PROMPT, expected_output="The weather.", agent=agent)
    crew = Crew(agents=[agent], tasks=[task], tracing=False, verbose=False)
    return str(crew.kickoff())
