"""The weather agent on the OpenAI Agents SDK with a tool that needs the user's approval.

As the SDK's docs show human-in-the-loop: ``function_tool(needs_approval=True)``; the run
stops with ``result.interruptions``; the user approves or rejects each on
``result.to_state()`` and resumes with ``Runner.run(agent, state)``. After a rejection the
model gets the SDK's rejection message as the call's output (a ``function_call_output``),
and answers.
"""

from __future__ import annotations

import asyncio

from agents import Agent, Runner, function_tool, set_default_openai_api, set_default_openai_client
from openai import AsyncOpenAI

from frameworks.agents import get_weather_text

INSTRUMENT = "openai-agents"
AGENT = "weather"
MODEL = "gpt-4o-mini"
PROMPT = "What is the weather in Paris?"
#: The decisions this agent can be run with (the SDK has no edit).
DECISIONS = ("approve", "reject")


def run(base_url: str, decision: str) -> str:
    """One run of the agent, interrupted for approval, then resumed with ``decision``;
    its final answer.
    """
    return asyncio.run(_run(base_url, decision))


async def _run(base_url: str, decision: str) -> str:
    set_default_openai_client(AsyncOpenAI(base_url=base_url, api_key="x"), use_for_tracing=False)
    set_default_openai_api("responses")
    ran: list[str] = []

    @function_tool(needs_approval=True)
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        ran.append(city)
        return get_weather_text(city, False)

    agent = Agent(
        name=AGENT,
        instructions="You answer questions about the weather. Use the get_weather tool.",
        model=MODEL,
        tools=[get_weather],
    )
    result = await Runner.run(agent, PROMPT)
    assert len(result.interruptions) == 1, result.interruptions
    assert not ran  # it waits for the user
    state = result.to_state()
    for item in result.interruptions:
        if decision == "approve":
            state.approve(item)
        else:
            state.reject(item)
    result = await Runner.run(agent, state)
    assert not result.interruptions
    assert ran == (["Paris"] if decision == "approve" else []), ran
    assert result.final_output, result
    return str(result.final_output)
