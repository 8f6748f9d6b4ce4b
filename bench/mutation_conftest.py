"""The root ``conftest.py`` of a mutation run (``bash bench/mutation.sh``), copied beside the
mutated package; never collected by the project's own suite.

Tests that run the installed ``rad`` (the ``rad_exe`` fixture) run the unmutated code in a
child process: they can kill no mutant, so they are left out. Hypothesis has no deadline:
mutmut's trampolines make every call slower, and a missed deadline would read as a kill.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("mutation", deadline=None, database=None, print_blob=False)
settings.load_profile("mutation")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept = [item for item in items if "rad_exe" not in getattr(item, "fixturenames", ())]
    left_out = [item for item in items if item not in kept]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
