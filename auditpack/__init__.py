"""auditpack's thin shell: settings, the command line and the wiring between packages. Nothing imports it."""

__version__ = "0.1.0"
