"""Integrations: the client libraries and agent frameworks `rad.instrument` can trace.

`base` says what an integration is, `clients` and `frameworks` list them, `core` turns them
on and off; a framework whose own spans radium turns on has a module of its own here.
"""
