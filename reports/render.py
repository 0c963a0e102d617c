"""HTML (Jinja2 templates in reports/templates) to PDF/A-3b (WeasyPrint), for the bounded body of a packet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from core import heap
from core.canonical import rfc3339
from reports.fonts import font_files

PDF_VARIANT = "pdf/a-3b"
FONT_FAMILIES = {  # face -> (CSS family, weight, style)
    "sans": ("Packet Sans", "normal", "normal"),
    "sans-bold": ("Packet Sans", "bold", "normal"),
    "sans-oblique": ("Packet Sans", "normal", "italic"),
    "condensed": ("Packet Condensed", "normal", "normal"),
    "condensed-bold": ("Packet Condensed", "bold", "normal"),
    "mono": ("Packet Mono", "normal", "normal"),
}


@dataclass(frozen=True, slots=True)
class RenderedBody:
    pdf: bytes
    pages: int


@cache
def labels() -> dict[str, dict[str, dict[str, str]]]:
    text = resources.files("reports").joinpath("templates", "labels.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _label(value: object, kind: str) -> str:
    key = str(getattr(value, "value", value))
    entry = labels()[kind].get(key)
    return entry["label"] if entry else key.replace("_", " ").replace("-", " ").capitalize()


def _colour(value: object, kind: str) -> str:
    key = str(getattr(value, "value", value))
    return labels()[kind].get(key, {}).get("colour", "#344054")


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%d %b %Y %H:%M UTC")


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value):,} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size:,} bytes"


def _css_string(value: str) -> Markup:
    """A CSS string literal for a <style> block (raw text: HTML escaping does not apply there, so `<` is a CSS
    escape and cannot close the element)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ").replace("\r", "")
    return Markup('"' + escaped.replace("<", "\\3c ") + '"')  # noqa: S704 - escaped above for CSS


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        label=_label,
        colour=_colour,
        num=lambda n: f"{n:,}",
        when=_when,
        iso=lambda moment: rfc3339(moment),
        bytes=_bytes,
        css_string=_css_string,
    )
    return env


def templates_dir() -> Path:
    return Path(str(resources.files("reports").joinpath("templates")))


def render_html(context: dict[str, Any]) -> str:
    return environment().get_template("packet.html").render(**context, fonts=font_files(), font_families=FONT_FAMILIES)


def render_pdf(context: dict[str, Any]) -> RenderedBody:
    """Lay out and write the body. The garbage collector is slowed while WeasyPrint builds its box tree
    (it allocates millions of short-lived objects; collection was ~45% of layout time)."""
    from weasyprint import HTML  # imported here: loading Pango/HarfBuzz costs ~0.5 s and only packets need it

    html = render_html(context)
    with heap.collecting_less():
        document = HTML(string=html, base_url=str(templates_dir()) + "/").render()
        pdf = document.write_pdf(pdf_variant=PDF_VARIANT)
    return RenderedBody(pdf=pdf, pages=len(document.pages))
