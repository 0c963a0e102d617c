"""Reading a data store's classification from its tags, for checks of several prefixes (tagging, s3, dynamodb)."""

from __future__ import annotations

from evidence.checks.thresholds import Thresholds


def classification(tags: object, keys: tuple[str, ...]) -> tuple[str, str] | None:
    """The first classification tag (key, value) present with a value, in the order of `keys`; tags as AWS lists
    them ([{"Key": ..., "Value": ...}])."""
    pairs = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)} if isinstance(tags, list) else {}
    return next(((key, str(pairs[key])) for key in keys if pairs.get(key)), None)


def restricted(tags: object, thresholds: Thresholds) -> tuple[str | None, str]:
    """(the classification, when it calls for the protections of restricted data; why not otherwise)."""
    found = classification(tags, thresholds.classification_tag_keys)
    if found is None:
        return None, f"not classified (no tag among {', '.join(thresholds.classification_tag_keys)})"
    value = found[1]
    if value.casefold() in {v.casefold() for v in thresholds.unrestricted_classifications}:
        return None, f"classified {value}, an unrestricted classification (AUDITPACK_UNRESTRICTED_CLASSIFICATIONS)"
    return value, f"classified {value}"
