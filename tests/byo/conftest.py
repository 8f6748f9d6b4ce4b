"""Fixtures for the bring-your-own-instrumentation tests: a scripted LLM server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A fresh `LLMServer` on 127.0.0.1 (port 0), stopped after the test."""
    with LLMServer() as server:
        yield server
