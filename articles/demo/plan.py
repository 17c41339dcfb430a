"""Planning the demo content from the seed: its sources, articles and images, as
plain values. Pure functions."""

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.text import slugify

from articles.demo.seed import Seed, SeedArticle, render_body

# The aggregator is French: its dates are Paris dates.
DEMO_TZ = ZoneInfo("Europe/Paris")
# The seed gives a day only; a morning hour keeps the date the same in UTC.
MAIN_PUBLICATION_TIME = time(8, 0)

# Words frequent in Spanish headlines and absent from French ones.
SPANISH_MARKERS = frozenset(
    {"el", "del", "los", "las", "su", "sus", "y", "con", "por", "para", "una", "debido"}
)
FRENCH_MARKERS = frozenset(
    {"le", "les", "du", "des", "et", "au", "aux", "un", "une", "pour", "avec", "sur", "dans"}
)

SLUG_MAX_CHARS = 190  # SlugField holds 200: room for a "-NN" de-duplication suffix.
CAPTION_MAX_CHARS = 500
MAIN_ARTICLE_IMAGES = 3
TICKER_BODY = (
    "Texte de démonstration : le bandeau de la page d'origine ne donne que le titre de cet article."
)


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
