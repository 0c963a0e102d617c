"""Collectors: read-only AWS calls whose answers are stored as evidence. They decide nothing (checks do)."""
