"""Agent frameworks and the instrumentations radium turns on for them.

A framework that emits OpenTelemetry spans itself is turned on by a small instrumentor of
radium's (family ``"native"``, a module of this package each); the others are traced by an
OpenInference or Traceloop package. A package's ``clients`` are the client libraries
instrumented with it because its spans lack usage theirs carry (cached and reasoning tokens,
the model that answered); only where the client's spans land in the same trace (tested in
tests/frameworks), never for a package whose spans are not the current context.
"""

from __future__ import annotations

from radium_otel.integrations.base import Package, Target

__all__ = ["FRAMEWORKS"]

_ALL_CLIENTS = ("openai", "anthropic", "google-genai")


def _radium(module: str, instrumentor: str, *, clients: tuple[str, ...] = ()) -> Package:
    """One of radium's own instrumentors, ``radium_otel.integrations.<module>``."""
    return Package(
        "radium-otel", f"radium_otel.integrations.{module}", instrumentor, "native", clients
    )


FRAMEWORKS: dict[str, Target] = {
    "pydantic-ai": Target(
        "pydantic_ai",
        "pydantic-ai-slim",
        (_radium("pydantic_ai", "PydanticAIInstrumentor"),),
        # (Its chat spans carry all the usage: reasoning as gen_ai.usage.details.*.)
    ),
    "openai-agents": Target(
        "agents",
        "openai-agents",
        (
            # (Its spans drop a run resumed after a tool approval, and carry no cached
            # tokens for Chat Completions models: the client's spans have both.)
            Package(
                "openinference-instrumentation-openai-agents",
                "openinference.instrumentation.openai_agents",
                "OpenAIAgentsInstrumentor",
                "openinference",
                clients=("openai",),
                companions=(_radium("openai_agents", "ApprovalRecorder"),),
            ),
            Package(
                "opentelemetry-instrumentation-openai-agents",
                "opentelemetry.instrumentation.openai_agents",
                "OpenAIAgentsInstrumentor",
                "traceloop",
            ),
        ),
    ),
    "langchain": Target(
        "langchain_core",
        "langchain-core",
        (
            # Traceloop's first: its spans are the current context, so a client's span is
            # a sibling of the LLM span in the same trace (counted once, in the run's
            # session), and they carry gen_ai.agent.name / gen_ai.tool.name / error.type.
            # OpenInference never makes its spans current: a client span escapes the run
            # (a trace root without rad.session), and its agent name is only a span name.
            # (Traceloop's chat spans lack reasoning tokens, and the model that answered
            # when streamed: the client's spans have both.)
            Package(
                "opentelemetry-instrumentation-langchain",
                "opentelemetry.instrumentation.langchain",
                "LangchainInstrumentor",
                "traceloop",
                clients=_ALL_CLIENTS,
                companions=(
                    _radium("langchain", "HITLDecisionRecorder"),
                    _radium("langchain", "TraceloopAgentFactoryGuard"),
                ),
            ),
            Package(
                "openinference-instrumentation-langchain",
                "openinference.instrumentation.langchain",
                "LangChainInstrumentor",
                "openinference",
                companions=(_radium("langchain", "HITLDecisionRecorder"),),
            ),
        ),
    ),
    "crewai": Target(
        "crewai",
        "crewai",
        (
            # (Its spans are the current context but carry no model calls at all: the
            # client's spans are the requests, children of its AGENT span. Traceloop's
            # opentelemetry-instrumentation-crewai is not used: no tool spans, no model
            # spans for CrewAI's native providers, and task text and answers on its spans
            # whatever the content switch says.)
            Package(
                "openinference-instrumentation-crewai",
                "openinference.instrumentation.crewai",
                "CrewAIInstrumentor",
                "openinference",
                clients=_ALL_CLIENTS,
            ),
        ),
    ),
    "smolagents": Target(
        "smolagents",
        "smolagents",
        (
            # (Its LLM spans carry no cached or reasoning tokens and the requested model.)
            Package(
                "openinference-instrumentation-smolagents",
                "openinference.instrumentation.smolagents",
                "SmolagentsInstrumentor",
                "openinference",
                clients=_ALL_CLIENTS,
            ),
        ),
    ),
    "strands": Target(
        "strands",
        "strands-agents",
        (
            # (Its chat spans carry no reasoning tokens, no answering model, and the
            # framework's name as the provider.)
            _radium("strands", "StrandsInstrumentor", clients=_ALL_CLIENTS),
        ),
    ),
    "google-adk": Target(
        "google.adk",
        "google-adk",
        (
            # (Its generate_content spans carry all the usage: cached and thoughts tokens.
            # OpenInference's instrumentation (1.0.5) suppresses them and records no LLM
            # span in their place with google-adk 2.13: no usage at all.)
            _radium("google_adk", "GoogleADKInstrumentor"),
        ),
    ),
    "llama-index": Target(
        "llama_index.core",
        "llama-index-core",
        (
            # (Its LLM spans carry cached and reasoning tokens but only the requested model:
            # the client's spans have the model that answered, nested in its LLM span, or
            # beside it when streamed. Traceloop's package makes no LLM or tool spans for
            # the workflow agents, only its ``task`` spans.)
            Package(
                "openinference-instrumentation-llama-index",
                "openinference.instrumentation.llama_index",
                "LlamaIndexInstrumentor",
                "openinference",
                clients=_ALL_CLIENTS,
            ),
        ),
    ),
}
