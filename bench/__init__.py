"""radium-otel benchmarks: ``bash bench/run.sh`` (or ``python -m bench``) runs them all."""
