import math
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


# Longest side of each rendition, as articles.processing makes them.
RENDITION_BOXES = {"thumbnail": 320, "rendition": 1024}


def fit_within(*, width: int, height: int, box: int) -> tuple[int, int]:
    """The size Pillow's `thumbnail((box, box))` gives an image of width x height:
    never enlarged, the aspect kept, each side rounded the way Pillow rounds it.
    (The worker reduces from a JPEG draft, so a side may differ by a pixel:
    close enough for the layout, which is what width and height are for.)"""
    if width <= 0 or height <= 0 or (width <= box and height <= box):
        return width, height
    aspect = width / height
    if aspect >= 1:
        low, high = math.floor(box / aspect), math.ceil(box / aspect)
        best = min(low, high, key=lambda n: 0 if n == 0 else abs(aspect - box / n))
        return box, max(best, 1)
    low, high = math.floor(box * aspect), math.ceil(box * aspect)
    best = min(low, high, key=lambda n: abs(aspect - n / box))
    return max(best, 1), box


@register.simple_tag
def rendition_size(image: Image, kind: str) -> dict[str, int]:
    """{"width": …, "height": …} of an image's "thumbnail" or "rendition"."""
    width, height = fit_within(width=image.width, height=image.height, box=RENDITION_BOXES[kind])
    return {"width": width, "height": height}
