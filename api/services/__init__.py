"""Service functions: keyword-only, given a Session and the current time, raising `core.errors` subclasses."""
