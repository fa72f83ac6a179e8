"""The README and the docs never send a reader to a document that is not there: every relative
link resolves (anchors included), every `*.md` the README names is a link, and every document
under docs/ is reachable from the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(document: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", document.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def relative_links(document: Path) -> list[str]:
    return [target for target in LINK.findall(document.read_text()) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_GIVEN_a_document_WHEN_following_each_relative_link_THEN_the_file_and_heading_exist(document: Path) -> None:
    for target in relative_links(document):
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        assert resolved.exists(), f"{document.name} links to missing {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{document.name} links to missing heading {target}"


def test_GIVEN_the_readme_WHEN_it_names_a_document_THEN_it_is_a_link_and_every_doc_is_reachable() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = {target.partition("#")[0] for target in relative_links(ROOT / "README.md")}
    named = set(re.findall(r"(?<![\w/(\[])(docs/[\w-]+\.md)", LINK.sub("", readme)))

    # Named in prose only (no link) is what sent readers looking for files before.
    assert named <= linked, named - linked
    assert {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")} <= linked
