"""Service functions: keyword-only, given a Session and the current time, raising `kernel.errors` subclasses."""
