"""Alembic migrations of the auditpack database (a package so that they ship with the wheel)."""
