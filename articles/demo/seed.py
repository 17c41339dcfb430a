"""Reading and parsing the seed page: a ticker of headlines on its first line, then
one full article. Pure functions."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SEED_PATH = Path(__file__).resolve().parents[1] / "demo_data" / "page.txt"

# Ticker headlines are separated by runs of spaces (ASCII or non-breaking).
TICKER_SEPARATOR = re.compile(r"\s{2,}")
PUBLISHED_LINE = re.compile(
    r"^Publié dans (?P<source>.+?) le (?P<day>\d{1,2}) - (?P<month>\d{1,2}) - (?P<year>\d{4})$"
)
SOURCE_LINK_PREFIX = "Cliquez ici pour lire l'article"

SUBHEADING_MAX_CHARS = 80
SENTENCE_ENDINGS = (".", "!", "?", "\u2026", ":", ";")
# A sentence may end inside a quotation: «... chemin». and «... chemin.» both end it.
CLOSING_MARKS = '\u00bb"\u201d\u2019)] '


class SeedFormatError(ValueError):
    pass


@dataclass(frozen=True)
class Block:
    text: str
    is_heading: bool


@dataclass(frozen=True)
class SeedArticle:
    title: str
    source_name: str
    published_on: date
    byline: str
    blocks: tuple[Block, ...]

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(block.text for block in self.blocks if not block.is_heading)

    @property
    def subheadings(self) -> tuple[str, ...]:
        return tuple(block.text for block in self.blocks if block.is_heading)


@dataclass(frozen=True)
class Seed:
    headlines: tuple[str, ...]
    article: SeedArticle


def read_seed() -> str:
    return SEED_PATH.read_text(encoding="utf-8")


def parse_seed(text: str) -> Seed:
    lines = [line.strip() for line in text.splitlines()]
    if not lines:
        raise SeedFormatError("The seed page is empty.")
    return Seed(headlines=parse_ticker(lines[0]), article=parse_article(lines[1:]))


def parse_ticker(line: str) -> tuple[str, ...]:
    return tuple(part for part in TICKER_SEPARATOR.split(line.strip()) if part)


def parse_article(lines: Sequence[str]) -> SeedArticle:
    # Anchored on the "Publié dans" line, so the banner above the title needs no
    # special case: the title is simply the last non-empty line before it.
    published_index = next(
        (index for index, line in enumerate(lines) if PUBLISHED_LINE.match(line)), None
    )
    if published_index is None:
        raise SeedFormatError("No 'Publié dans <source> le JJ - MM - AAAA' line.")
    title = next((line for line in reversed(lines[:published_index]) if line), "")
    if not title:
        raise SeedFormatError("No title above the 'Publié dans' line.")
    source_name, published_on = parse_published_line(lines[published_index])

    rest = lines[published_index + 1 :]
    end = next(
        (index for index, line in enumerate(rest) if line.startswith(SOURCE_LINK_PREFIX)),
        len(rest),
    )
    content = [line for line in rest[:end] if line]
    if len(content) < 2:
        raise SeedFormatError("The article needs at least one paragraph and a byline.")
    # The byline is short and unpunctuated like a sub-heading: only its place tells.
    *body_lines, byline = content
    return SeedArticle(
        title=title,
        source_name=source_name,
        published_on=published_on,
        byline=byline,
        blocks=tuple(Block(text=line, is_heading=is_subheading(line)) for line in body_lines),
    )


def parse_published_line(line: str) -> tuple[str, date]:
    match = PUBLISHED_LINE.match(line.strip())
    if match is None:
        raise SeedFormatError(f"Not a 'Publié dans' line: {line!r}")
    published_on = date(int(match["year"]), int(match["month"]), int(match["day"]))
    return match["source"], published_on


def is_subheading(line: str) -> bool:
    text = line.strip()
    if not text or len(text) > SUBHEADING_MAX_CHARS:
        return False
    return not text.rstrip(CLOSING_MARKS).endswith(SENTENCE_ENDINGS)


def render_body(blocks: Sequence[Block]) -> str:
    return "\n\n".join(f"## {block.text}" if block.is_heading else block.text for block in blocks)
