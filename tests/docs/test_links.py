"""Every relative link in README.md and docs/ points at a file that exists (and a heading in it)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "docs" / "guide").is_dir())
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    headings = re.findall(r"^#{1,6}\s+(.*?)\s*$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def broken_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
            broken.append(f"{target} (no such heading)")
    return broken


def test_relative_links_resolve():
    problems = {str(p.relative_to(ROOT)): broken_links(p) for p in markdown_files()}
    problems = {name: links for name, links in problems.items() if links}
    assert not problems, f"broken links: {problems}"


def test_checker_catches_a_missing_file_and_heading(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [nohead](#nowhere)\n")
    assert broken_links(page) == ["missing.md (no such file)", "#nowhere (no such heading)"]


@pytest.mark.parametrize("folder", ["guide", "results", "reference"])
def test_every_page_is_listed_in_its_index(folder):
    index = ROOT / "docs" / folder / "index.md"
    linked = {target.partition("#")[0] for target in LINK.findall(index.read_text(encoding="utf-8"))}
    pages = {p.name for p in index.parent.glob("*.md")} - {"index.md"}
    assert pages <= linked, f"docs/{folder}/index.md does not list {sorted(pages - linked)}"
