"""Scripted runs of the real coding CLIs against a stub model, exporting OTLP (issue 15)."""
