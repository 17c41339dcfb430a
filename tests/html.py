"""Read rendered pages in tests: BeautifulSoup for parsing and CSS selectors,
with the few conveniences the page tests lean on."""

from __future__ import annotations

from bs4 import BeautifulSoup, Comment, NavigableString, Tag


class Element:
    def __init__(self, tag: Tag) -> None:
        self._tag = tag

    @property
    def tag(self) -> str:
        return self._tag.name

    @property
    def attrs(self) -> dict[str, str]:
        # bs4 gives multi-valued attributes (class, rel…) as lists; tests read them as text.
        return {
            name: " ".join(value) if isinstance(value, list) else value
            for name, value in self._tag.attrs.items()
        }

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    @property
    def classes(self) -> set[str]:
        return set(self._tag.get("class") or [])

    @property
    def text(self) -> str:
        """The text as read: whitespace collapsed, a <br> read as a space."""
        pieces = (
            "\n" if isinstance(node, Tag) else str(node)
            for node in self._tag.descendants
            if (isinstance(node, Tag) and node.name == "br")
            or (isinstance(node, NavigableString) and not isinstance(node, Comment))
        )
        return " ".join("".join(pieces).split())

    @property
    def parent(self) -> Element | None:
        return Element(self._tag.parent) if self._tag.parent is not None else None

    @property
    def children(self) -> list[Element]:
        return [Element(child) for child in self._tag.children if isinstance(child, Tag)]

    def descendants(self) -> list[Element]:
        return [Element(node) for node in self._tag.descendants if isinstance(node, Tag)]

    def ancestors(self) -> list[Element]:
        return [Element(node) for node in self._tag.parents]

    def select(self, selector: str) -> list[Element]:
        return [Element(tag) for tag in self._tag.select(selector)]

    def one(self, selector: str) -> Element:
        """The single element matching `selector`; fails the test otherwise."""
        found = self.select(selector)
        assert len(found) == 1, f"{len(found)} elements match {selector!r}, expected 1"
        return found[0]


def parse(response_or_html) -> Element:
    html = getattr(response_or_html, "content", response_or_html)
    return Element(BeautifulSoup(html, "html.parser"))
