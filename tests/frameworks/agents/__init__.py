"""One module per agent framework: the same weather agent, written as its docs show.

Each module has ``INSTRUMENT`` (its name for ``rad.instrument``), ``AGENT`` (the agent name
its spans report) and ``run(base_url, *, stream, fail_tool)``: one agent run against the
stub model at ``base_url`` (``http://127.0.0.1:PORT/v1``) whose tool ``get_weather(city)``
returns `SUNNY` or, with ``fail_tool``, raises `WeatherError`.
"""

from __future__ import annotations

PROMPT = "What is the weather in Paris?"  # what every agent is asked
SUNNY = "sunny, 21 °C"


class WeatherError(RuntimeError):
    """What the failing tool raises."""


def get_weather_text(city: str, fail: bool) -> str:
    """The tool's body, shared by every framework's tool."""
    if fail:
        raise WeatherError(f"no weather for {city}")
    return SUNNY
