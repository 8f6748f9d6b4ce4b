"""The ``rad`` command line (installed as ``radium_otel.cli``)."""

from radium_otel.cli.app import app, main

__all__ = ["app", "main"]
