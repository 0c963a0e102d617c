"""The TrueType fonts the packet embeds (PDF/A needs every font embedded): DejaVu, from fonts-dejavu-core."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

from reports.errors import PacketBuildError

FACES = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "sans-oblique": "DejaVuSans-Oblique.ttf",
    "condensed": "DejaVuSansCondensed.ttf",
    "condensed-bold": "DejaVuSansCondensed-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
}
SEARCH = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/opt/homebrew/share/fonts"),
)


def _fc_match() -> Path | None:
    tool = shutil.which("fc-match")
    if tool is None:
        return None
    found = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [tool, "-f", "%{file}", "DejaVu Sans:style=Book"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Path(found).parent if found.endswith("DejaVuSans.ttf") else None


@cache
def font_files() -> dict[str, Path]:
    """Paths of every face in FACES; raises PacketBuildError saying what to install when they are missing."""
    for directory in (*SEARCH, _fc_match()):
        if directory and all((directory / name).is_file() for name in FACES.values()):
            return {face: directory / name for face, name in FACES.items()}
    raise PacketBuildError(
        f"the DejaVu fonts ({', '.join(FACES.values())}) were not found in {', '.join(map(str, SEARCH))}",
        hint="install the fonts-dejavu-core package (Debian/Ubuntu) or your system's DejaVu fonts",
    )
