"""The Collector configurations in ``collector-config/`` are complete and consistent: every
pipeline names components that are defined, every defined component is used, and each file
says how to start it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # (a dev dependency: missing, this fails rather than skips)

FOLDER = Path(__file__).resolve().parent.parent / "collector-config"
CONFIGS = sorted(FOLDER.glob("*.yaml"))
SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")
# Components of the contrib distribution that these files use; a typo is not one of them.
KNOWN = {
    "receivers": {"otlp"},
    "processors": {"batch", "memory_limiter", "attributes", "transform", "resource"},
    "exporters": {"debug", "otlp", "otlphttp", "prometheus", "clickhouse"},
}


def load(path: Path) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text())
    assert isinstance(config, dict), f"{path.name} is not a mapping"
    return config


def test_the_expected_configurations_are_there() -> None:
    assert {p.name for p in CONFIGS} >= {
        "debug.yaml",
        "prometheus-jaeger.yaml",
        "clickhouse.yaml",
        "phoenix.yaml",
        "langfuse.yaml",
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_pipelines_use_defined_components_and_every_component_is_used(path: Path) -> None:
    config = load(path)
    defined = {section: set(config.get(section) or {}) for section in SECTIONS}
    pipelines = config["service"]["pipelines"]
    assert pipelines, f"{path.name} has no pipelines"

    used: dict[str, set[str]] = {section: set() for section in SECTIONS}
    for name, pipeline in pipelines.items():
        assert name.split("/")[0] in {"traces", "metrics", "logs"}, name
        assert pipeline.get("receivers") and pipeline.get("exporters"), name
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline.get(section) or []:
                if component in defined["connectors"] and section != "processors":
                    used["connectors"].add(component)
                    continue
                assert component in defined[section], f"{path.name}: {name} uses {component}"
                used[section].add(component)
    for extension in config["service"].get("extensions") or []:
        assert extension in defined["extensions"], f"{path.name}: extension {extension}"
        used["extensions"].add(extension)

    assert used == defined, f"{path.name} defines components no pipeline uses"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_components_are_contrib_components(path: Path) -> None:
    config = load(path)
    for section, known in KNOWN.items():
        for component in config.get(section) or {}:
            assert component.split("/")[0] in known, f"{path.name}: unknown {component}"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_each_file_says_how_to_start_it(path: Path) -> None:
    text = path.read_text()
    assert f"otelcol-contrib --config collector-config/{path.name}" in text
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=" in text
    assert f"`{path.name}`" in (FOLDER / "README.md").read_text()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_receivers_listen_on_loopback_only(path: Path) -> None:
    protocols = load(path)["receivers"]["otlp"]["protocols"]
    assert {p["endpoint"] for p in protocols.values()} == {"127.0.0.1:4317", "127.0.0.1:4318"}
