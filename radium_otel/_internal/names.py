"""One row per model: the canonical (model, provider) of the names requests report.

Instrumentations spell one provider several ways (the OpenTelemetry GenAI conventions'
``gcp.gemini`` and their older ``gemini``, OpenInference's ``vertexai``, pydantic-ai's
``google-vertex``, ``Anthropic`` capitalised), and one model two ways: the alias a request
asks for (``claude-sonnet-4-5``, ``gpt-4o``) and the dated snapshot the response names
(``claude-sonnet-4-5-20250929``, ``gpt-4o-2024-08-06``). A failed request has no response,
so it carries only the alias. Rows are merged by two rules, applied to the names seen
together (one session, or the sessions a report covers):

* **Provider spellings of one provider are one provider.** The row shows the OpenTelemetry
  spelling when it was seen, else the first of the spellings seen in alphabetical order.
  Different services stay apart (Gemini API ``gcp.gemini`` and Vertex AI
  ``gcp.vertex_ai`` are billed apart even where prices are equal).
* **An alias joins its dated snapshot when exactly one snapshot of it was seen**: the row is
  named by the snapshot, the model that actually answered. With no snapshot, or with two
  (``gpt-4o-2024-08-06`` and ``gpt-4o-2024-11-20``: which one served the alias is unknown),
  the alias keeps a row of its own. A snapshot is the alias plus a date: ``-20250929``,
  ``@20250929`` (Vertex AI), ``-2024-08-06``, ``-0613`` (older OpenAI, Mistral's
  ``-2411``), ``-001`` (Gemini's stable versions), optionally followed by Bedrock's
  ``-v1:0``.

Costs are never affected by the choice: every name keeps its own counts in the row
(`ModelName`) and is priced under its own name (`radium_otel._internal.pricing`).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

__all__ = ["canonical_names", "provider_family", "snapshot_alias"]

Key = tuple[str, str | None]  # (model, provider)

# Provider spellings (lower case) -> the OpenTelemetry GenAI spelling of that provider.
# Spellings not listed are their own provider (compared in lower case).
_FAMILIES: Mapping[str, str] = {
    "gemini": "gcp.gemini",  # semconv before 1.37; the contrib google-genai instrumentation
    "google-gla": "gcp.gemini",  # pydantic-ai: the Generative Language API
    "google_genai": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",  # OpenInference llm.system
    "google-vertex": "gcp.vertex_ai",  # pydantic-ai
    "google": "gcp.gen_ai",  # OpenInference llm.provider: some Google endpoint
    "az.ai.openai": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "az.ai.inference": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "aws": "aws.bedrock",  # OpenInference llm.provider
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "x-ai": "x_ai",
}

_SNAPSHOT = re.compile(
    r"(?P<alias>.+?)"
    r"(?:@\d{8}|-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{4}|\d{3}))"
    r"(?:-v\d+(?::\d+)?)?"
)


@functools.lru_cache(maxsize=1024)
def provider_family(provider: str) -> str:
    """The provider ``provider`` names, in its OpenTelemetry spelling (lower case)."""
    key = provider.strip().lower()
    return _FAMILIES.get(key, key)


@functools.lru_cache(maxsize=1024)
def snapshot_alias(model: str) -> str | None:
    """The alias ``model`` is a dated snapshot of (``claude-sonnet-4-5`` for
    ``claude-sonnet-4-5-20250929``), None when it is no snapshot.
    """
    m = _SNAPSHOT.fullmatch(model)
    return m.group("alias") if m else None


def canonical_names(keys: Iterable[Key]) -> dict[Key, Key]:
    """The row each (model, provider) seen together belongs to, by the module's rules."""
    keys = list(dict.fromkeys(keys))
    if len(keys) == 1:  # (the usual session: one model, one spelling)
        return {keys[0]: keys[0]}
    spellings: dict[str, set[str]] = defaultdict(set)
    for _, provider in keys:
        if provider is not None:
            spellings[provider_family(provider)].add(provider)
    shown = {family: family if family in seen else min(seen) for family, seen in spellings.items()}
    # Per provider: the snapshots seen of each alias.
    models: dict[str | None, set[str]] = defaultdict(set)
    for model, provider in keys:
        models[None if provider is None else provider_family(provider)].add(model)
    snapshots: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for family, seen in models.items():
        for model in seen:
            alias = snapshot_alias(model)
            if alias is not None and alias in seen:
                snapshots[family, alias].add(model)
    out = {}
    for model, provider in keys:
        family = None if provider is None else provider_family(provider)
        dated = snapshots.get((family, model), ())
        out[model, provider] = (
            next(iter(dated)) if len(dated) == 1 else model,
            None if family is None else shown[family],
        )
    return out
