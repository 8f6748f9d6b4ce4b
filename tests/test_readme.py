"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(python_blocks()) == 2


def test_readme_python_examples_run_in_order(tmp_path: Path) -> None:
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    script = tmp_path / "readme_examples.py"
    script.write_text("\n\n".join(python_blocks()))
    env = {**os.environ, "RADIUM_SUMMARY": "0", "RADIUM_WORKSPACE": str(tmp_path)}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["1 2060", "1.0 0.0"]
    assert len(list((tmp_path / ".radium" / "_internals" / "sessions").glob("*.json"))) == 1


def test_readme_pricing_override_example_is_accepted(tmp_path: Path) -> None:
    from decimal import Decimal

    from radium_otel._internal.pricing import Prices, load_overrides

    (toml,) = re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    path = tmp_path / "pricing.toml"
    path.write_text(toml)
    prices = Prices(load_overrides(path))
    # 1M input tokens at $2.00 + 1M output tokens at $8.00 per million.
    priced = prices.price("openai", "my-finetune", (1_000_000, 0, 0, 0, 1_000_000, 0))
    assert priced is not None
    cost, exact = priced
    assert (cost.cost_usd, exact) == (Decimal("10"), True)
