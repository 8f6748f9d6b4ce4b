"""Sessions from agents radium does not run: the OTLP receiver (`rad collect`) and one
module per external source (Claude Code, Codex CLI, Gemini CLI, GenAI spans from any process).

Every source maps what it receives into the same events the in-process span processor
folds (`radium_otel.sources.events`), and the same `SessionState` adds them up: one set of
rules, one set of numbers, whatever the source.
"""
