"""The documentation holds to the code: every relative link in README.md and docs/*.md
reaches a file (and its heading, when it names one), every `make <target>` it shows
exists in the Makefile, and docs/configuration.md lists exactly the environment
variables newsroom/settings.py reads. Needs no service."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", without_code_blocks(page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower())
        found.add(slug.replace(" ", "-"))
    return found


def relative_links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(without_code_blocks(page.read_text()))
        if not re.match(r"[a-z]+:", target)
    ]


def test_there_are_pages_and_links_to_check():
    assert (ROOT / "docs").is_dir() and len(PAGES) > 1
    assert all(relative_links(page) for page in PAGES), "each page links to another"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_reaches_a_file_and_its_heading(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.name}")
    assert broken == []


def test_every_make_target_the_docs_show_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    shown = set()
    for page in PAGES:
        text = page.read_text()
        code = FENCE.findall(text) + re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
        for snippet in code:
            shown |= set(re.findall(r"(?:^|[\s(])make ([a-z][\w-]*)", snippet, re.M))
    assert {"run", "test"} <= shown
    assert sorted(shown - targets) == []


def test_the_configuration_page_lists_exactly_what_the_settings_read():
    settings = (ROOT / "newsroom" / "settings.py").read_text()
    read = set(re.findall(r"\benv_\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", settings))
    page = (ROOT / "docs" / "configuration.md").read_text()
    # The first table is the settings'; the next one lists what other processes read.
    table = page.split("| variable |")[1]
    documented = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split(" | ")[0])
    }
    assert len(read) > 40
    assert sorted(read - documented) == [], "read by the settings, missing from the page"
    assert sorted(documented - read) == [], "on the page, not read by the settings"
