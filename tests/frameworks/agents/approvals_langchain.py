"""The weather agent on LangChain 1.x with human-in-the-loop review of its tool call.

As LangChain's docs show it: ``create_agent`` with ``HumanInTheLoopMiddleware(interrupt_on=
{"get_weather": True})`` and a checkpointer (``InMemorySaver``); a run on a ``thread_id``
stops with an ``__interrupt__`` asking to review the call, and the user resumes the thread
with ``Command(resume={"decisions": [...]})``: ``approve``, ``edit`` (other arguments) or
``reject`` (the model is told the tool did not run, as a tool message, and answers).
"""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from frameworks.agents import get_weather_text

INSTRUMENT = "langchain"
AGENT = "weather"
PROMPT = "What is the weather in Paris?"
EDITED_CITY = "Lyon"  # what an edit changes the call's city to
#: The decisions this agent can be run with.
DECISIONS = ("approve", "edit", "reject")


def run(base_url: str, decision: str) -> str:
    """One run of the agent, interrupted for review, then resumed with ``decision``; its
    final answer.
    """
    ran: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        ran.append(city)
        return get_weather_text(city, False)

    model = ChatOpenAI(model="gpt-4o-mini", base_url=base_url, api_key="x")
    agent = create_agent(
        model,
        tools=[get_weather],
        system_prompt="You are a weather assistant.",
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"get_weather": True})],
        checkpointer=InMemorySaver(),
        name=AGENT,
    )
    config: Any = {"configurable": {"thread_id": f"approvals-{decision}"}}
    result = agent.invoke({"messages": [{"role": "user", "content": PROMPT}]}, config)
    (interrupt,) = result["__interrupt__"]
    (request,) = interrupt.value["action_requests"]
    assert request["name"] == "get_weather" and not ran, (request, ran)
    answer: dict[str, Any] = {"type": decision}
    if decision == "edit":
        answer["edited_action"] = {"name": "get_weather", "args": {"city": EDITED_CITY}}
    result = agent.invoke(Command(resume={"decisions": [answer]}), config)
    assert "__interrupt__" not in result, result
    expected = {"approve": [request["args"]["city"]], "edit": [EDITED_CITY], "reject": []}
    assert ran == expected[decision], ran
    return str(result["messages"][-1].content)
