"""Reading catalog YAML with positions: malformed YAML and duplicate keys fail with their line, and every
validation error can be pointed at the line of the value it is about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from frameworks.errors import CatalogError

# libyaml's parser when PyYAML was built with it (several times faster); same safe constructor either way.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last one, which
    would let a second `automation:` overwrite the first without anyone noticing)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {seen[key]})",
                    key_node.start_mark,
                )
            if isinstance(key, str | int | float | bool):
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    path: Path
    data: Any
    root: Node | None

    def line_of(self, location: Sequence[str | int]) -> int | None:
        """The 1-based line of the value at `location` (keys and list indexes), or of its deepest ancestor."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for step in location:
            child = _child(node, step)
            if child is None:
                break
            node, line = child, child.start_mark.line + 1
        return line


def _child(node: Node | None, step: str | int) -> Node | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == str(step):
                # Point at the key: for a missing or wrong value the key's line is where to look.
                return value if isinstance(value, MappingNode | SequenceNode) else key
        return None
    if isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step]
    return None


def read_yaml(path: Path) -> YamlDocument:
    """Parse one YAML file; raise CatalogError with the file and line on malformed YAML or duplicate keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    except UnicodeDecodeError as exc:
        raise CatalogError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    loader = _StrictLoader(text)
    try:
        # One parse: keep the node tree (for line numbers) and construct the data from it.
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise CatalogError(f"malformed YAML: {problem}", file=path, line=line) from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"malformed YAML: {exc}", file=path) from None
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, root=root)
