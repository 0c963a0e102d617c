"""Customer evidence (documents, attestations, records) and exceptions (risk acceptances): supplied by people,
stored and hash-chained beside the AWS evidence, reviewed through an append-only log of state changes."""
