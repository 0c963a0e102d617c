"""The core every auditpack package stands on: the error tree (`core.errors`), the clock (`core.clock`),
canonical JSON with its versions (`core.canonical`) and the SQLAlchemy declarative base with the column types
all models share (`core.database`).

It imports nothing of ours, and everything else may import it: `evidence`, `api` and `migrations` meet here
instead of reaching into one another.
"""
