"""The README's table of make targets lists every target `make help` shows, and no target the Makefile lacks."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def makefile_targets() -> set[str]:
    """Targets with a `## description` (what `make help` lists)."""
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):.*## ", text, flags=re.MULTILINE))


def readme_targets() -> set[str]:
    """Every `make X` that opens a row of the README's targets table."""
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `make ")]
    return {name for row in rows for name in re.findall(r"`make ([a-z][a-z-]*)`", row.split("|")[1])}


def test_every_make_target_has_a_row_in_the_readme_and_every_row_a_target():
    targets = makefile_targets()
    assert {"train", "holdout", "test", "serve"} <= targets  # the parse finds the targets at all
    assert targets - {"help", "venv"} == readme_targets() - {"help", "venv"}
