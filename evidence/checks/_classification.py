"""Reading a data store's classification from its tags, for checks of several prefixes (tagging, s3, dynamodb)."""

from __future__ import annotations


def classification(tags: object, keys: tuple[str, ...]) -> tuple[str, str] | None:
    """The first classification tag (key, value) present with a value, in the order of `keys`; tags as AWS lists
    them ([{"Key": ..., "Value": ...}])."""
    pairs = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)} if isinstance(tags, list) else {}
    return next(((key, str(pairs[key])) for key in keys if pairs.get(key)), None)
