"""The README and docs/ stay true to the repository: the targets table matches the Makefile, every relative link
resolves, and the README stays short enough for a newcomer."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 300

# [text](target) and ![alt](target), with an optional "title"; the text may hold one level of [brackets]
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target (a reference definition on its own line)
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", flags=re.MULTILINE)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", flags=re.IGNORECASE)  # http:, https:, mailto:, //host


def makefile_targets() -> set[str]:
    """Targets with a `## description` (what `make help` lists)."""
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):.*## ", text, flags=re.MULTILINE))


def readme_targets() -> set[str]:
    """Every `make X` that opens a row of the README's targets table."""
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `make ")]
    return {name for row in rows for name in re.findall(r"`make ([a-z][a-z-]*)`", row.split("|")[1])}


def without_code(text: str) -> str:
    """The Markdown without fenced code blocks and inline code spans, where brackets are not links."""
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def relative_links(text: str) -> list[str]:
    """The targets of the Markdown links and images in text that point into the repository, without #anchors."""
    prose = without_code(text)
    targets = INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)
    paths = []
    for target in targets:
        if EXTERNAL.match(target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0].split("?", 1)[0]
        if path:
            paths.append(path)
    return paths


def test_every_make_target_has_a_row_in_the_readme_and_every_row_a_target():
    targets = makefile_targets()
    assert {"train", "holdout", "test", "serve"} <= targets  # the parse finds the targets at all
    assert targets - {"help", "venv"} == readme_targets() - {"help", "venv"}


def test_the_link_parser_finds_links_and_images_and_skips_the_rest():
    text = (
        'See [the model](docs/model.md#the-served-score) and ![ui](docs/images/ui.png "UI").\n'
        "[a [nested] label](docs/api.md) [web](https://example.org) [mail](mailto:a@b.c) [here](#results)\n"
        "`[not a link](nowhere.md)`\n```\n[nor this](nowhere.md)\n```\n[ref]: docs/performance.md\n"
    )
    assert relative_links(text) == ["docs/model.md", "docs/images/ui.png", "docs/api.md", "docs/performance.md"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path):
    links = relative_links(document.read_text())
    missing = [link for link in links if not (document.parent / link).exists()]
    assert not missing, f"{document.relative_to(ROOT)} links to files that do not exist: {missing}"


def test_the_readme_is_short():
    lines = len(README.read_text().splitlines())
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; keep it under {README_MAX_LINES}, the rest in docs/"
