from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django import template

from articles.models import Image

register = template.Library()

SUBHEADING_PREFIX = "## "


@dataclass
class Section:
    """A stretch of an article: its sub-heading ("" before the first one), its
    paragraphs, and the image that opens it."""

    heading: str = ""
    paragraphs: list[str] = field(default_factory=list)
    image: Image | None = None


def body_blocks(body: str) -> Iterator[tuple[str, str]]:
    """("h2", text) for a line starting with "## ", ("p", text) for each run of
    lines between blank lines. Text is returned raw: templates escape it."""
    paragraph: list[str] = []
    for line in str(body).splitlines():
        text = line.strip()
        if text and not text.startswith(SUBHEADING_PREFIX):
            paragraph.append(text)
            continue
        # A blank line ends a paragraph; so does a sub-heading right below it.
        if paragraph:
            yield "p", "\n".join(paragraph)
            paragraph = []
        if text:
            yield "h2", text.removeprefix(SUBHEADING_PREFIX).strip()
    if paragraph:
        yield "p", "\n".join(paragraph)


@register.simple_tag
def article_sections(body: str, images: Iterable[Image]) -> list[Section]:
    """The body cut at its sub-headings, with the images in order: the first
    leads the article, each next one opens the next section, and any left over
    follow the text."""
    sections = [Section()]
    for kind, text in body_blocks(body):
        if kind == "h2":
            sections.append(Section(heading=text))
        else:
            sections[-1].paragraphs.append(text)
    images = list(images)
    for section, image in zip(sections, images, strict=False):
        section.image = image
    sections.extend(Section(image=image) for image in images[len(sections) :])
    return sections
