"""Attribute keys and span names: OpenTelemetry GenAI semantic conventions plus ``radium.*``.

Plain string constants, so that reading a span never depends on which version of
``opentelemetry-semantic-conventions`` is installed.
"""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions -------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"  # legacy spelling of the provider
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"

GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_PREFIX: Final = "gen_ai.usage."

# Fallback spellings read when the canonical key is absent.
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
LEGACY_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
LEGACY_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
LEGACY_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read_input_tokens"
LEGACY_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation_input_tokens"
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OI_PROMPT_TOKENS: Final = "llm.token_count.prompt"
OI_COMPLETION_TOKENS: Final = "llm.token_count.completion"
OI_CACHE_READ_TOKENS: Final = "llm.token_count.prompt_details.cache_read"
OI_CACHE_WRITE_TOKENS: Final = "llm.token_count.prompt_details.cache_write"
OI_REASONING_TOKENS: Final = "llm.token_count.completion_details.reasoning"
OI_MODEL_NAME: Final = "llm.model_name"
OI_PROVIDER: Final = "llm.provider"
OI_SYSTEM: Final = "llm.system"  # what OpenInference's OpenAI instrumentation sets
# JSON of the request's parameters; the only place OpenInference names the model of a
# request that failed before any response.
OI_INVOCATION_PARAMETERS: Final = "llm.invocation_parameters"
# Traceloop (OpenLLMetry): reasoning tokens, and the request type of its older releases
# (before they set gen_ai.operation.name).
TRACELOOP_REASONING_TOKENS: Final = "gen_ai.usage.reasoning_tokens"
TRACELOOP_REQUEST_TYPE: Final = "llm.request.type"
# pydantic-ai: reasoning only under its provider-detail keys (OpenAI's name, Gemini's name),
# cache reads also there (read only when the canonical key is absent: the same count).
PYDANTIC_REASONING_TOKENS: Final = "gen_ai.usage.details.reasoning_tokens"
PYDANTIC_THOUGHTS_TOKENS: Final = "gen_ai.usage.details.thoughts_tokens"
PYDANTIC_CACHE_READ_TOKENS: Final = "gen_ai.usage.details.cache_read_tokens"
TRACELOOP_MODEL_REQUEST_TYPES: Final = frozenset({"chat", "completion", "embedding"})
OI_TOOL_NAME: Final = "tool.name"

ERROR_TYPE: Final = "error.type"

# --- operation names ------------------------------------------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
MODEL_OPERATIONS: Final = frozenset(
    {OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT, OP_EMBEDDINGS}
)

# --- radium's own keys ----------------------------------------------------------------------
RADIUM_TOOL_OUTCOME: Final = "radium.tool.outcome"  # "success" | "failure"
RADIUM_TOOL_DECISION: Final = "radium.tool.decision"  # accept | reject | modify | auto_accept
# On the span of a tool call that did not run: "pending" (the run stopped to ask the user),
# "rejected" (refused by a standing rule; it carries the reject decision too).
RADIUM_TOOL_APPROVAL: Final = "radium.tool.approval"
RADIUM_SESSION_ROOT: Final = "radium.session.root"  # True on the span that rad.session() opens
RADIUM_SESSION_TAG_PREFIX: Final = "radium.session.tag."
# Part of gen_ai.usage.cache_creation.input_tokens written with a 1-hour cache lifetime
# (Anthropic bills it higher); the GenAI conventions have no key for it yet.
RADIUM_USAGE_CACHE_CREATION_1H: Final = "radium.usage.cache_creation_1h.input_tokens"

DECISIONS: Final = ("accept", "reject", "modify", "auto_accept")

# --- agent frameworks -----------------------------------------------------------------------
OI_AGENT_NAME: Final = "agent.name"
OI_GRAPH_NODE_ID: Final = "graph.node.id"  # an AGENT span's agent (CrewAI: its role)
# OpenInference span kinds of an agent run: its top-level span opens a session of its own.
OI_AGENT_KINDS: Final = frozenset({"AGENT", "CHAIN"})
# Names frameworks report as the provider of a model call: the model tells the real one.
FRAMEWORK_PROVIDERS: Final = frozenset(
    {"strands-agents", "strands", "pydantic-ai", "pydantic_ai", "langchain", "crewai",
     "smolagents", "llama_index", "llamaindex", "openai-agents", "openai_agents", "google_adk"}
)  # fmt: skip
# Tools frameworks call for their own bookkeeping (smolagents ends a run by calling
# `final_answer`): not tool calls.
FRAMEWORK_TOOLS: Final = frozenset({"final_answer"})
# Names (suffixes) of model spans a framework's instrumentation makes around its own
# bookkeeping, not a request: LlamaIndex's dispatcher traces every function-calling LLM's
# ``<Class>._prepare_chat_with_tools`` as an OpenInference LLM span, with the model and no
# usage; the request follows in its own span.
FRAMEWORK_NOT_REQUESTS: Final = ("._prepare_chat_with_tools",)
