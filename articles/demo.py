"""Demo content: the seed page of a French news aggregator, loaded as sources,
articles and generated images.

The seed (demo_data/page.txt) is a text dump of one aggregator page: a ticker of
headlines on its first line, then one full article. Parsing and planning are pure
functions; only `load_demo` touches the database and the media storage.
"""

import hashlib
import io
import itertools
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from articles.models import Article, Image, Source
from articles.processing import process_image

SEED_PATH = Path(__file__).resolve().parent / "demo_data" / "page.txt"

# The aggregator is French: its dates are Paris dates.
DEMO_TZ = ZoneInfo("Europe/Paris")
# The seed gives a day only; a morning hour keeps the date the same in UTC.
MAIN_PUBLICATION_TIME = time(8, 0)

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

# Words frequent in Spanish headlines and absent from French ones.
SPANISH_MARKERS = frozenset(
    {"el", "del", "los", "las", "su", "sus", "y", "con", "por", "para", "una", "debido"}
)
FRENCH_MARKERS = frozenset(
    {"le", "les", "du", "des", "et", "au", "aux", "un", "une", "pour", "avec", "sur", "dans"}
)

SLUG_MAX_CHARS = 190  # SlugField holds 200: room for a "-NN" de-duplication suffix.
CAPTION_MAX_CHARS = 500
IMAGE_SIZE = (1200, 800)
IMAGE_CREDIT = "Illustration de démonstration"
MAIN_ARTICLE_IMAGES = 3
DRAWN_WORDS = 8
TICKER_BODY = (
    "Texte de démonstration : le bandeau de la page d'origine ne donne que le titre de cet article."
)


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


@dataclass(frozen=True)
class SourceSpec:
    name: str
    slug: str
    site_url: str
    language: str


@dataclass(frozen=True)
class ImageSpec:
    position: int
    text: str
    caption: str


@dataclass(frozen=True)
class ArticleSpec:
    source: SourceSpec
    title: str
    slug: str
    published_at: datetime
    language: str
    body: str
    images: tuple[ImageSpec, ...]
    byline: str = ""
    original_url: str = ""


@dataclass
class DemoSummary:
    sources_created: int = 0
    sources_present: int = 0
    articles_created: int = 0
    articles_present: int = 0
    images_created: int = 0
    images_present: int = 0
    images_processed: int = 0

    @property
    def created(self) -> int:
        return self.sources_created + self.articles_created + self.images_created

    def as_line(self) -> str:
        return (
            f"Demo content: created {self.sources_created} sources, "
            f"{self.articles_created} articles, {self.images_created} images; "
            f"already present {self.sources_present} sources, "
            f"{self.articles_present} articles, {self.images_present} images; "
            f"renditions made for {self.images_processed} images."
        )


LES_ECO = SourceSpec(name="Les ECO", slug="les-eco", site_url="https://leseco.ma/", language="fr")
# Publications the aggregator carries; the ticker does not say which one wrote what.
TICKER_SOURCES = (
    SourceSpec(name="Le360", slug="le360", site_url="https://fr.le360.ma/", language="fr"),
    SourceSpec(
        name="Hespress FR", slug="hespress-fr", site_url="https://fr.hespress.com/", language="fr"
    ),
    SourceSpec(name="Médias24", slug="medias24", site_url="https://medias24.com/", language="fr"),
    SourceSpec(name="Le Matin", slug="le-matin", site_url="https://lematin.ma/", language="fr"),
    SourceSpec(
        name="L'Economiste",
        slug="leconomiste",
        site_url="https://www.leconomiste.com/",
        language="fr",
    ),
    SourceSpec(name="H24info", slug="h24info", site_url="https://www.h24info.ma/", language="fr"),
    SourceSpec(
        name="Yabiladi", slug="yabiladi", site_url="https://www.yabiladi.com/", language="fr"
    ),
    SourceSpec(
        name="SNRTnews", slug="snrtnews", site_url="https://www.snrtnews.com/", language="fr"
    ),
)
SPANISH_SOURCE = SourceSpec(
    name="Hespress ES", slug="hespress-es", site_url="https://es.hespress.com/", language="es"
)


# --- Parsing --------------------------------------------------------------


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


def guess_language(headline: str) -> str:
    words = re.findall(r"\w+", headline.lower())
    spanish = sum(word in SPANISH_MARKERS for word in words)
    french = sum(word in FRENCH_MARKERS for word in words)
    return "es" if spanish > french else "fr"


def unique_slugs(titles: Sequence[str]) -> list[str]:
    slugs: list[str] = []
    taken: set[str] = set()
    for title in titles:
        base = slugify(title)[:SLUG_MAX_CHARS].strip("-") or "article"
        slug, suffix = base, 2
        while slug in taken:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(slug)
        slugs.append(slug)
    return slugs


# --- Planning -------------------------------------------------------------


def plan_demo(seed: Seed) -> list[ArticleSpec]:
    """The main article first, then the ticker articles in ticker order."""
    article = seed.article
    main_slug, *ticker_slugs = unique_slugs([article.title, *seed.headlines])
    main = plan_main_article(article=article, slug=main_slug)
    tickers = plan_ticker_articles(
        headlines=seed.headlines, slugs=ticker_slugs, newest=main.published_at
    )
    return [main, *tickers]


def plan_main_article(*, article: SeedArticle, slug: str) -> ArticleSpec:
    source = LES_ECO if article.source_name == LES_ECO.name else source_named(article.source_name)
    # The lead image shows the title, the next ones the sections they open.
    texts = [article.title, *article.subheadings]
    texts += [article.title] * (MAIN_ARTICLE_IMAGES - len(texts))
    images = tuple(
        ImageSpec(
            position=position,
            text=text,
            caption=lead_caption(text) if position == 0 else section_caption(text),
        )
        for position, text in enumerate(texts[:MAIN_ARTICLE_IMAGES])
    )
    return ArticleSpec(
        source=source,
        title=article.title,
        slug=slug,
        published_at=datetime.combine(article.published_on, MAIN_PUBLICATION_TIME, DEMO_TZ),
        language=source.language,
        body=render_body(article.blocks),
        byline=article.byline,
        original_url=f"{source.site_url}{slug}.html" if source.site_url else "",
        images=images,
    )


def plan_ticker_articles(
    *, headlines: Sequence[str], slugs: Sequence[str], newest: datetime
) -> list[ArticleSpec]:
    if not headlines:
        return []
    # Spread over the day before `newest`, so -published_at gives the ticker order.
    step = timedelta(days=1) / len(headlines)
    french_sources = itertools.cycle(TICKER_SOURCES)
    specs = []
    for index, (headline, slug) in enumerate(zip(headlines, slugs, strict=True)):
        language = guess_language(headline)
        source = SPANISH_SOURCE if language == "es" else next(french_sources)
        specs.append(
            ArticleSpec(
                source=source,
                title=headline,
                slug=slug,
                published_at=newest - step * (index + 1),
                language=language,
                body=TICKER_BODY,
                images=(ImageSpec(position=0, text=headline, caption=lead_caption(headline)),),
            )
        )
    return specs


def source_named(name: str) -> SourceSpec:
    return SourceSpec(name=name, slug=slugify(name), site_url="", language="fr")


def lead_caption(title: str) -> str:
    return f"Image d'ouverture : {title}"[:CAPTION_MAX_CHARS]


def section_caption(heading: str) -> str:
    return f"Illustration de la partie : {heading}"[:CAPTION_MAX_CHARS]


def image_name(*, slug: str, position: int) -> str:
    return f"demo/{slug}-{position}.jpg"


# --- Drawing --------------------------------------------------------------


def draw_image(*, text: str, seed_key: str) -> bytes:
    """A JPEG whose bytes depend only on `text` and `seed_key`."""
    # hashlib rather than hash(): str hashes are salted per process.
    rng = random.Random(hashlib.sha256(seed_key.encode()).digest())
    width, height = IMAGE_SIZE

    gradient = PILImage.linear_gradient("L")
    if rng.random() < 0.5:
        gradient = gradient.transpose(PILImage.Transpose.ROTATE_90)
    gradient = gradient.resize(IMAGE_SIZE)
    start, end = _random_colour(rng=rng, dark=True), _random_colour(rng=rng, dark=False)
    canvas = PILImage.composite(
        PILImage.new("RGBA", IMAGE_SIZE, end), PILImage.new("RGBA", IMAGE_SIZE, start), gradient
    )

    shapes = PILImage.new("RGBA", IMAGE_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    for _ in range(rng.randint(5, 9)):
        x, y = rng.randrange(-200, width), rng.randrange(-200, height)
        size = rng.randrange(120, 420)
        fill = (*_random_colour(rng=rng, dark=rng.random() < 0.5), rng.randrange(50, 130))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + size, y + size), fill=fill)
        else:
            draw.rectangle((x, y, x + size, y + size * 2 // 3), fill=fill)
    canvas = PILImage.alpha_composite(canvas, shapes)

    _draw_caption_band(canvas=canvas, text=_first_words(text))
    buffer = io.BytesIO()
    canvas.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _random_colour(*, rng: random.Random, dark: bool) -> tuple[int, int, int]:
    low, high = (20, 110) if dark else (120, 240)
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _first_words(text: str) -> str:
    words = _without_accents(text).split()
    return " ".join(words[:DRAWN_WORDS]) + (" \u2026" if len(words) > DRAWN_WORDS else "")


def _without_accents(text: str) -> str:
    # Pillow's bundled font (Aileron) has no accented letters; "e" reads better
    # than a missing-glyph box.
    text = text.replace("\u0153", "oe").replace("\u0152", "OE")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")


def _draw_caption_band(*, canvas: PILImage.Image, text: str) -> None:
    width, height = canvas.size
    margin = 60
    font = ImageFont.load_default(size=56)
    label_font = ImageFont.load_default(size=28)
    lines = _wrap(text=text, font=font, max_width=width - 2 * margin)[:3]
    line_height = 70
    band_top = height - margin - line_height * len(lines) - 40

    overlay = PILImage.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    # A dark band keeps the text readable whatever the colours underneath.
    draw.rectangle((0, band_top, width, height), fill=(0, 0, 0, 150))
    for index, line in enumerate(lines):
        y = band_top + 20 + index * line_height
        draw.text((margin, y), line, font=font, fill=(255, 255, 255, 255))
    label = "DEMONSTRATION"
    label_right = margin + 12 + int(label_font.getlength(label))
    draw.rectangle((margin - 12, margin - 8, label_right, margin + 36), fill=(0, 0, 0, 150))
    draw.text((margin, margin), label, font=label_font, fill=(255, 255, 255, 255))
    canvas.alpha_composite(overlay)


def _wrap(*, text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


# --- Loading --------------------------------------------------------------


def load_demo(*, stdout: TextIO | None = None) -> DemoSummary:
    """Create what is missing of the demo content; existing rows and files are kept."""
    specs = plan_demo(parse_seed(read_seed()))
    summary = DemoSummary()
    written: list[str] = []
    try:
        with transaction.atomic():
            sources: dict[str, Source] = {}
            for spec in specs:
                if spec.source.slug not in sources:
                    sources[spec.source.slug] = _get_or_create_source(
                        spec=spec.source, summary=summary, stdout=stdout
                    )
                article = _get_or_create_article(
                    spec=spec, source=sources[spec.source.slug], summary=summary, stdout=stdout
                )
                _create_missing_images(spec=spec, article=article, summary=summary, written=written)
    except BaseException:
        # The rollback forgets the rows but not the files: remove them so that
        # a failed run leaves no orphans in the media storage.
        storage = Image._meta.get_field("original").storage
        for name in written:
            storage.delete(name)
        raise
    # Readers see renditions only: make them now, as the worker would, for the
    # demo's images that lack them (new ones, or ones loaded before processing).
    # Outside the transaction above: process_image commits each image on its own.
    slugs = [spec.slug for spec in specs]
    unprocessed = Image.objects.filter(article__slug__in=slugs).filter(
        ~Q(status=Image.Status.READY) | Q(rendition="")
    )
    for image_id in unprocessed.values_list("pk", flat=True):
        if process_image(image_id=image_id):
            summary.images_processed += 1
    return summary


def _get_or_create_source(
    *, spec: SourceSpec, summary: DemoSummary, stdout: TextIO | None
) -> Source:
    source, created = Source.objects.get_or_create(
        slug=spec.slug,
        defaults={"name": spec.name, "site_url": spec.site_url, "language": spec.language},
    )
    if created:
        summary.sources_created += 1
        _say(stdout=stdout, message=f"Created source {source.slug}")
    else:
        summary.sources_present += 1
    return source


def _get_or_create_article(
    *, spec: ArticleSpec, source: Source, summary: DemoSummary, stdout: TextIO | None
) -> Article:
    article, created = Article.objects.get_or_create(
        slug=spec.slug,
        defaults={
            "source": source,
            "title": spec.title,
            "byline": spec.byline,
            "published_at": spec.published_at,
            "language": spec.language,
            "body": spec.body,
            "original_url": spec.original_url,
        },
    )
    if created:
        summary.articles_created += 1
        _say(stdout=stdout, message=f"Created article {article.slug}")
    else:
        summary.articles_present += 1
    return article


def _create_missing_images(
    *, spec: ArticleSpec, article: Article, summary: DemoSummary, written: list[str]
) -> None:
    present = set(article.images.values_list("position", flat=True))
    for image_spec in spec.images:
        if image_spec.position in present:
            # Never redraw nor re-save: the stored file and its hashes stay as they are.
            summary.images_present += 1
            continue
        data = draw_image(text=image_spec.text, seed_key=f"{spec.slug}:{image_spec.position}")
        with PILImage.open(io.BytesIO(data)) as picture:
            width, height = picture.size
        image = Image(
            article=article,
            position=image_spec.position,
            caption=image_spec.caption,
            credit=IMAGE_CREDIT,
            width=width,
            height=height,
            format="JPEG",
            byte_size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            # Until its renditions are made (below, once committed), readers do not see it.
            status=Image.Status.PENDING,
        )
        image.original.save(
            image_name(slug=spec.slug, position=image_spec.position),
            ContentFile(data),
            save=False,
        )
        written.append(image.original.name)
        image.save()
        summary.images_created += 1


def _say(*, stdout: TextIO | None, message: str) -> None:
    if stdout is not None:
        stdout.write(f"{message}\n")
