"""Re-export of `kernel.clock` for `evidence/checks`, which is being restructured in parallel; remove once it
imports `kernel.clock` itself."""

from kernel.clock import utcnow

__all__ = ["utcnow"]
