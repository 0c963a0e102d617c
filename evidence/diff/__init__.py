"""Drift between two captures: what changed, resource by resource (`engine.RunDiff`), and in words
(`render.describe`)."""
