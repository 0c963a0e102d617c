"""Background execution: the database-backed job worker, the job handlers and the nightly schedule."""
