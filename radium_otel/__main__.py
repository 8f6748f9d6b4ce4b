"""``python -m radium_otel`` runs the ``rad`` CLI."""

from radium_otel.cli import main

main()
