"""Just enough of a DOM to read the pages in tests, with the standard library.

`parse(response)` gives the document; `select(css)` understands the selectors the
tests use: `tag`, `.class`, `#id`, `[attr]`, `[attr="value"]`, chained into
compounds and joined by descendant spaces (`figure.article-image img[src]`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)
_COMPOUND = re.compile(
    r"(?P<tag>[a-z][a-z0-9-]*)?(?P<parts>(?:\.[\w-]+|#[\w-]+|\[[\w-]+(?:=[^\]]+)?\])*)"
)
_PART = re.compile(r"\.(?P<cls>[\w-]+)|#(?P<id>[\w-]+)|\[(?P<attr>[\w-]+)(?:=(?P<value>[^\]]+))?\]")


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        """The text as read: whitespace collapsed, a <br> read as a space."""
        return " ".join("".join(self._texts()).split())

    def _texts(self) -> Iterator[str]:
        for child in self.children:
            if isinstance(child, str):
                yield child
            elif child.tag == "br":
                yield "\n"
            else:
                yield from child._texts()

    def descendants(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.descendants()

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def select(self, selector: str) -> list[Element]:
        *outer, last = [_compound(part) for part in selector.split()]
        found = []
        for element in self.descendants():
            if not last(element):
                continue
            # Descendant combinators, matched right to left against the ancestors.
            pending = list(reversed(outer))
            for ancestor in element.ancestors():
                if not pending:
                    break
                if pending[0](ancestor):
                    pending.pop(0)
            if not pending:
                found.append(element)
        return found

    def one(self, selector: str) -> Element:
        """The single element matching `selector`; fails the test otherwise."""
        found = self.select(selector)
        assert len(found) == 1, f"{len(found)} elements match {selector!r}"
        return found[0]


def _compound(text: str):
    match = _COMPOUND.fullmatch(text)
    if match is None:
        raise ValueError(f"unsupported selector {text!r}")
    tag = match["tag"]
    parts = list(_PART.finditer(match["parts"]))

    def matches(element: Element) -> bool:
        if tag and element.tag != tag:
            return False
        for part in parts:
            if part["cls"] and part["cls"] not in element.classes:
                return False
            if part["id"] and element.attrs.get("id") != part["id"]:
                return False
            if part["attr"]:
                value = element.attrs.get(part["attr"])
                if value is None:
                    return False
                if part["value"] is not None and value != part["value"].strip("\"'"):
                    return False
        return True

    return matches


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element(tag="#document", attrs={})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(
            tag=tag, attrs={name: value or "" for name, value in attrs}, parent=self.current
        )
        self.current.children.append(element)
        if tag not in VOID_ELEMENTS:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.current = self.current.parent or self.root

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open element; a stray end tag is ignored.
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(response_or_html) -> Element:
    html = getattr(response_or_html, "content", response_or_html)
    if isinstance(html, bytes):
        html = html.decode()
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root
