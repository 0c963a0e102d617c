"""The README stays true: its IAM policy is the generated one, and its configuration table lists every setting."""

from __future__ import annotations

import json
import re
from pathlib import Path

from auditpack.settings import Settings
from evidence.collectors.registry import iam_policy

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _block(name: str) -> str:
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", README, flags=re.S)
    assert match, f"README has no {name} block"
    return match.group(1)


def test_the_readme_shows_the_generated_iam_policy() -> None:
    shown = _block("iam-policy").removeprefix("```json\n").removesuffix("\n```")
    assert json.loads(shown) == iam_policy()


def test_the_configuration_table_lists_every_setting_and_nothing_else() -> None:
    listed = set(re.findall(r"^\| `(AUDITPACK_[A-Z0-9_]+)` \|", _block("settings"), flags=re.M))
    assert listed == {f"AUDITPACK_{name.upper()}" for name in Settings.model_fields}


def test_the_screenshot_the_readme_shows_exists() -> None:
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (Path(__file__).resolve().parents[1] / image).is_file(), image
