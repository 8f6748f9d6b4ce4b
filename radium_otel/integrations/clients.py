"""Client libraries (``openai``, ``anthropic``, ``google-genai``) and their instrumentations.

For each, the official OpenTelemetry contrib package first, then Traceloop's (OpenLLMetry),
then OpenInference's. One package per client: two would trace each request twice.
"""

from __future__ import annotations

from radium_otel.integrations.base import Package, Target

__all__ = ["CLIENTS"]

CLIENTS: dict[str, Target] = {
    "openai": Target(
        "openai",
        "openai",
        (
            Package(
                "opentelemetry-instrumentation-genai-openai",
                "opentelemetry.instrumentation.genai.openai",
                "OpenAIInstrumentor",
            ),
            Package(
                "opentelemetry-instrumentation-openai-v2",
                "opentelemetry.instrumentation.openai_v2",
                "OpenAIInstrumentor",
                "otel-v2",
            ),
            Package(
                "opentelemetry-instrumentation-openai",
                "opentelemetry.instrumentation.openai",
                "OpenAIInstrumentor",
                "traceloop",
            ),
            Package(
                "openinference-instrumentation-openai",
                "openinference.instrumentation.openai",
                "OpenAIInstrumentor",
                "openinference",
            ),
        ),
    ),
    "anthropic": Target(
        "anthropic",
        "anthropic",
        (
            Package(
                "opentelemetry-instrumentation-genai-anthropic",
                "opentelemetry.instrumentation.genai.anthropic",
                "AnthropicInstrumentor",
            ),
            Package(
                "opentelemetry-instrumentation-anthropic",
                "opentelemetry.instrumentation.anthropic",
                "AnthropicInstrumentor",
                "traceloop",
            ),
            Package(
                "openinference-instrumentation-anthropic",
                "openinference.instrumentation.anthropic",
                "AnthropicInstrumentor",
                "openinference",
            ),
        ),
    ),
    "google-genai": Target(
        "google.genai",
        "google-genai",
        (
            Package(
                "opentelemetry-instrumentation-google-genai",
                "opentelemetry.instrumentation.google_genai",
                "GoogleGenAiSdkInstrumentor",
            ),
            Package(
                "openinference-instrumentation-google-genai",
                "openinference.instrumentation.google_genai",
                "GoogleGenAIInstrumentor",
                "openinference",
            ),
        ),
    ),
}
