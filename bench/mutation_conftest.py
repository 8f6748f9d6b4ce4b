"""The root ``conftest.py`` of a mutation run (``bash bench/mutation.sh``), copied beside the
mutated package; never collected by the project's own suite.

Tests that run the installed ``rad`` (the ``rad_exe`` fixture) run the unmutated code in a
child process: they can kill no mutant, so they are left out. Hypothesis has no deadline:
mutmut's trampolines make every call slower, and a missed deadline would read as a kill.
mutmut runs the tests several times in one process (and forks each mutant's run from it), so
the warnings radium-otel gives once per process are forgotten before each test, as in a fresh
``pytest`` run. mutmut names a mutant's tests fastest first and stops at the first failure, but
pytest would run them in the order of its files (a hypothesis test of 10 s in
``tests/test_index.py`` before every fast test of ``tests/test_stats_commands.py``): the tests
run in the order named.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings

from radium_otel._internal import errors, pricing

# Nor does it shrink a failing example: a kill is a kill, and shrinking an example of the
# index's hypothesis test took minutes, past mutmut's time limit.
settings.register_profile(
    "mutation",
    deadline=None,
    database=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.load_profile("mutation")


@pytest.fixture(autouse=True)
def _warnings_given_once_are_forgotten() -> None:
    errors._reported.clear()
    pricing._warned.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept = [item for item in items if "rad_exe" not in getattr(item, "fixturenames", ())]
    named = {arg: i for i, arg in enumerate(config.args)}
    kept.sort(key=lambda item: named.get(item.nodeid, len(named)))
    left_out = [item for item in items if item not in kept]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
    items[:] = kept
