"""Renders one section's first page of a packet PDF to a PNG for the README (`make docs` runs it on the demo's
PCI DSS packet). Needs poppler's `pdftoppm`.

    python docs/make_screenshot.py [--pdf auditpack-demo/pci-dss.pdf] [--out docs/packet-summary.png]
                                   [--section "Executive summary"] [--width 1100]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pypdf import PdfReader


def section_page(pdf: Path, title: str) -> int:
    """The 1-based page number of the top-level bookmark `title`."""
    reader = PdfReader(pdf)
    for item in reader.outline:
        if not isinstance(item, list) and item.title == title:
            return reader.get_destination_page_number(item) + 1
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    raise SystemExit(f"{pdf}: no bookmark {title!r} (bookmarks: {', '.join(titles)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=Path("auditpack-demo/pci-dss.pdf"))
    parser.add_argument("--out", type=Path, default=Path("docs/packet-summary.png"))
    parser.add_argument("--section", default="Executive summary")
    parser.add_argument("--width", type=int, default=1100, help="width of the image in pixels")
    args = parser.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm not found: install poppler-utils")
    if not args.pdf.is_file():
        raise SystemExit(f"{args.pdf} not found: run `make demo` first")
    page = section_page(args.pdf, args.section)
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "page"
        command = ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-singlefile", "-scale-to-x", str(args.width)]
        # the paths are the user's own arguments, passed as arguments (no shell)
        subprocess.run([*command, "-scale-to-y", "-1", str(args.pdf), str(stem)], check=True)  # noqa: S603
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(stem.with_suffix(".png"), args.out)
    print(f"{args.out}: page {page} ({args.section}) of {args.pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
