"""Capture notifications to webhooks: signed JSON POSTs with bounded retries, and their delivery log."""
