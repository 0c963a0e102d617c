"""Reading the interface's HTML the way a checker would: scripts, inline styles and handlers, headings, labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

FORM_FIELDS = {"input", "select", "textarea"}


@dataclass
class PageFacts:
    scripts: list[dict[str, str | None]] = field(default_factory=list)
    inline_handlers: list[str] = field(default_factory=list)  # on*= attributes
    inline_styles: int = 0  # style= attributes and <style> elements
    h1: int = 0
    fields: list[dict[str, str | None]] = field(default_factory=list)  # visible form fields
    label_for: set[str] = field(default_factory=set)
    labelled_by_wrapper: int = 0


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.facts = PageFacts()
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        facts = self.facts
        facts.inline_handlers += [name for name in attributes if name.startswith("on")]
        facts.inline_styles += "style" in attributes or tag == "style"
        if tag == "script":
            facts.scripts.append(attributes)
        elif tag == "h1":
            facts.h1 += 1
        elif tag == "label":
            self._label_depth += 1
            if attributes.get("for"):
                facts.label_for.add(str(attributes["for"]))
        elif tag in FORM_FIELDS and attributes.get("type") not in ("hidden", "submit", "button"):
            facts.fields.append({**attributes, "_wrapped": "yes" if self._label_depth else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


def facts(html: str) -> PageFacts:
    parser = _Parser()
    parser.feed(html)
    return parser.facts


def unlabelled(page: PageFacts) -> list[str]:
    """Form fields no label names (by `for` or by wrapping them)."""
    return [
        str(f.get("name") or f.get("id"))
        for f in page.fields
        if not f["_wrapped"] and f.get("id") not in page.label_for and not f.get("aria-label")
    ]
