"""The weather agent on LangChain 1.x (``create_agent``, which runs on LangGraph).

A failing tool is handled as the LangChain docs suggest: `ToolErrorMiddleware` turns the
tool's exception into an error `ToolMessage` the model sees (LangGraph's `ToolNode` would
otherwise re-raise it and end the run), so the run still makes its second request.
"""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ToolErrorMiddleware
from langchain.tools import tool
from langchain_openai import ChatOpenAI

from frameworks.agents import get_weather_text

INSTRUMENT = "langchain"
AGENT = "weather"
PROMPT = "What is the weather in Paris?"


def run(base_url: str, *, stream: bool, fail_tool: bool) -> str:
    """One run of the weather agent; its final answer."""

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return get_weather_text(city, fail_tool)

    def on_error(exc: Exception, request: Any) -> str:
        return f"{request.tool_call['name']} failed: {type(exc).__name__}: {exc}"

    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=base_url,
        api_key="x",
        streaming=stream,
        stream_usage=True,
    )
    agent = create_agent(
        model,
        tools=[get_weather],
        system_prompt="You are a weather assistant.",
        middleware=[ToolErrorMiddleware(on_error)],
        name=AGENT,
    )
    inputs = {"messages": [{"role": "user", "content": PROMPT}]}
    if not stream:
        result = agent.invoke(inputs)
        return str(result["messages"][-1].content)
    answer = ""
    for chunk in agent.stream(inputs, stream_mode="updates"):
        for update in chunk.values():
            for message in (update or {}).get("messages", []):
                if message.type == "ai" and message.content:
                    answer = str(message.content)
    return answer
