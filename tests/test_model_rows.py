"""One row per model (issue 17.3): provider spellings and an alias with its dated snapshot.

``gemini`` (the GenAI conventions before 1.37) and ``gcp.gemini`` are one provider; a failed
Anthropic request carries only the alias (``claude-sonnet-4-5``) while the others name the
snapshot that answered (``claude-sonnet-4-5-20250929``). Each is one row, in the stored record
(with the names the requests reported, for ``--json`` users) and in ``rad stats model`` across
sessions, so error rates and costs are not split.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radium_otel._internal.aggregate import ModelCall, SessionState
from radium_otel._internal.names import canonical_names, provider_family, snapshot_alias
from radium_otel._internal.pricing import Prices, price_record
from radium_otel._internal.record import ModelUsage, SessionRecord
from radium_otel._internal.store import SessionStore
from radium_otel._internal.workspace import sessions_dir
from radium_otel.cli import app

S = 10**9
T0 = 1_762_000_000 * S  # 2025-11-01
ALIAS, DATED = "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"


@pytest.mark.parametrize(
    ("model", "alias"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),  # Vertex AI
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("o3-2025-04-16", "o3"),
        ("gpt-4-0613", "gpt-4"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet"),
        ("claude-sonnet-4-5", None),
        ("gpt-4o-mini", None),
        ("gemini-2.5-pro", None),
        ("qwen/qwen3-coder-flash", None),
    ],
)
def test_a_dated_snapshot_names_its_alias(model: str, alias: str | None) -> None:
    assert snapshot_alias(model) == alias


def test_provider_spellings() -> None:
    assert {p: provider_family(p) for p in ("gemini", "gcp.gemini", "Anthropic", "vertexai")} == {
        "gemini": "gcp.gemini",
        "gcp.gemini": "gcp.gemini",
        "Anthropic": "anthropic",
        "vertexai": "gcp.vertex_ai",
    }


def test_the_canonical_rows_of_names_seen_together() -> None:
    rows = canonical_names(
        [
            ("gemini-2.5-pro", "gemini"),
            ("gemini-2.5-pro", "gcp.gemini"),
            ("gemini-2.5-pro", "gcp.vertex_ai"),  # another service: its own row
            (ALIAS, "anthropic"),
            (DATED, "Anthropic"),
            ("gpt-4o", "openai"),  # two snapshots of it: which one served it is unknown
            ("gpt-4o-2024-08-06", "openai"),
            ("gpt-4o-2024-11-20", "openai"),
            ("o3", "openai"),  # no snapshot seen: the alias is the row
            ("unknown", None),
        ]
    )
    assert rows == {
        ("gemini-2.5-pro", "gemini"): ("gemini-2.5-pro", "gcp.gemini"),
        ("gemini-2.5-pro", "gcp.gemini"): ("gemini-2.5-pro", "gcp.gemini"),
        ("gemini-2.5-pro", "gcp.vertex_ai"): ("gemini-2.5-pro", "gcp.vertex_ai"),
        (ALIAS, "anthropic"): (DATED, "anthropic"),
        (DATED, "Anthropic"): (DATED, "anthropic"),
        ("gpt-4o", "openai"): ("gpt-4o", "openai"),
        ("gpt-4o-2024-08-06", "openai"): ("gpt-4o-2024-08-06", "openai"),
        ("gpt-4o-2024-11-20", "openai"): ("gpt-4o-2024-11-20", "openai"),
        ("o3", "openai"): ("o3", "openai"),
        ("unknown", None): ("unknown", None),
    }
    # Without the OpenTelemetry spelling, the first spelling seen alphabetically.
    assert canonical_names([("m", "gemini"), ("m", "google-gla")])[("m", "google-gla")] == (
        "m",
        "gemini",
    )


def call(model: str, provider: str, error: bool = False, **counts: int) -> ModelCall:
    return ModelCall(model, provider, T0, T0 + S, error, **counts)


CALLS = [
    call("gemini-2.5-pro", "gemini", input_tokens=250_000, output_tokens=10_000),
    call("gemini-2.5-pro", "gcp.gemini", input_tokens=150_000, output_tokens=10_000),
    call("gemini-2.5-pro", "gcp.gemini", error=True),
    call(ALIAS, "anthropic", error=True),
    call(DATED, "anthropic", input_tokens=30_000, output_tokens=2_000, cache_read_tokens=20_000),
    call(DATED, "anthropic", input_tokens=10_000, output_tokens=500),
]


def session_record() -> SessionRecord:
    state = SessionState("aaaa1111-0000-4000-8000-000000000001", start_ns=T0, explicit=True,
                         metadata={})  # fmt: skip
    for c in CALLS:
        state.add_request(c, scope=None)
    return price_record(state.to_record("completed", T0 + 60 * S), Prices())


def genai_prices_cost(provider_id: str, c: ModelCall) -> Decimal:
    from genai_prices import Usage, calc_price

    counts = {"input_tokens": c.input_tokens, "output_tokens": c.output_tokens,
              "cache_read_tokens": c.cache_read_tokens}  # fmt: skip
    usage = Usage(**{k: v for k, v in counts.items() if v})
    at = datetime.fromtimestamp(T0 / S, timezone.utc)
    total: Decimal = calc_price(
        usage, c.model, provider_id=provider_id, genai_request_timestamp=at
    ).total_price
    return total


def test_one_row_per_model_in_the_record_with_the_names_the_requests_reported() -> None:
    record = session_record()

    rows = {(m.model, m.provider): m for m in record.model_usage}
    assert list(rows) == [(DATED, "anthropic"), ("gemini-2.5-pro", "gcp.gemini")]
    claude, gemini = rows.values()
    assert (claude.requests, claude.errors, claude.input_tokens) == (3, 1, 40_000)
    assert (gemini.requests, gemini.errors, gemini.input_tokens) == (3, 1, 400_000)
    # Cost across the merged row: every request priced by genai-prices on its own.
    assert claude.cost_usd == float(sum(genai_prices_cost("anthropic", c) for c in CALLS[3:]))
    assert gemini.cost_usd == float(sum(genai_prices_cost("google", c) for c in CALLS[:3]))
    assert gemini.cost_usd == 0.775 + 0.2875
    assert record.pricing is not None
    assert record.pricing.estimated_models == ()

    data = json.loads(json.dumps(record.to_json()))
    names = [
        [(n["model"], n["provider"], n["requests"], n["errors"]) for n in row["names"]]
        for row in data["model_usage"]
    ]
    assert names == [
        [(ALIAS, "anthropic", 1, 1), (DATED, "anthropic", 2, 0)],
        [("gemini-2.5-pro", "gcp.gemini", 2, 1), ("gemini-2.5-pro", "gemini", 1, 0)],
    ]
    assert SessionRecord.from_json(data) == record


def test_rad_stats_model_merges_rows_across_sessions_old_and_new(
    workspace: Path, no_ambient_config: None
) -> None:
    store = SessionStore(sessions_dir(workspace))
    store.write(session_record())
    # A record written before rows were merged: a row per spelling, no names.
    store.write(
        SessionRecord(
            id="bbbb2222-0000-4000-8000-000000000002",
            status="completed",
            start_time=datetime(2025, 11, 2, tzinfo=timezone.utc),
            model_usage=[
                ModelUsage(model=ALIAS, provider="anthropic", requests=2, errors=2, cost_usd=0.0),
                ModelUsage(
                    model=DATED,
                    provider="anthropic",
                    requests=2,
                    errors=0,
                    input_tokens=1_000,
                    output_tokens=100,
                    cost_usd=0.0045,
                ),
                ModelUsage(
                    model="gemini-2.5-pro", provider="gemini", requests=1, errors=1, cost_usd=0.0
                ),
            ],
            cost_usd=0.0045,
        )
    )
    new = session_record()

    result = CliRunner().invoke(
        app, ["--workspace", str(workspace), "stats", "model", "--json"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    got = {
        (m["model"], m["provider"]): (m["sessions"], m["requests"], m["errors"], m["error_rate"],
                                      m["cost_usd"])
        for m in report["models"]
    }  # fmt: skip
    claude, gemini = new.model_usage
    assert claude.cost_usd is not None and gemini.cost_usd is not None
    assert got == {
        (DATED, "anthropic"): (2, 7, 3, 3 / 7, pytest.approx(claude.cost_usd + 0.0045)),
        ("gemini-2.5-pro", "gcp.gemini"): (2, 4, 2, 0.5, pytest.approx(gemini.cost_usd)),
    }
