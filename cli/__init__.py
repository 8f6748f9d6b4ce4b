"""The ``rad`` command line (installed as ``radium_otel.cli``).

`main` runs a plain ``rad stats …`` command line without importing typer (`_fast`), and
answers ``rad [COMMAND…] --help`` from what typer printed for it before (`_help`); every
other command line goes to the typer app, ``app``, imported when first needed.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radium_otel.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``rad`` console script."""
    from . import _fast, _help

    args = sys.argv[1:]
    try:
        _fast.run(args)
    except KeyboardInterrupt:
        sys.exit(130)
    key = _help.setting_key(args)
    if key is not None and _help.replay(key):
        sys.exit(0)
    from .app import main as typer_main

    if key is None:
        typer_main()
    else:
        with _help.recording(key):
            typer_main()


class _Cli(types.ModuleType):
    """The package, whose ``app`` is the typer app of `cli.app` (as it always was), loaded
    when first read: the import system's own ``app`` (the submodule) is not kept.
    """

    @property
    def app(self) -> Any:
        return sys.modules[f"{__name__}.app"].app if f"{__name__}.app" in sys.modules else _app()

    @app.setter
    def app(self, value: Any) -> None:
        pass  # (the submodule, recorded by the import system)


def _app() -> Any:
    import importlib

    return importlib.import_module(f"{__name__}.app").app


sys.modules[__name__].__class__ = _Cli
