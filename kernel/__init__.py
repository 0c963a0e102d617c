"""The kernel every auditpack package stands on: the error tree (`kernel.errors`), the clock (`kernel.clock`),
canonical JSON with its versions (`kernel.canonical`) and the SQLAlchemy declarative base with the column types
all models share (`kernel.database`).

It imports nothing of ours, and everything else may import it: `evidence`, `api` and `migrations` meet here
instead of reaching into one another.
"""
