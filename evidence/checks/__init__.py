"""Checks: pure functions over stored evidence that return findings. A check never talks to AWS."""
