"""Reads of published content shared by the pages and the API."""

from django.db.models import Prefetch, QuerySet

from articles.models import Article, Image

TICKER_SIZE = 24


def article_list() -> QuerySet[Article]:
    return Article.objects.select_related("source").order_by("-published_at", "-id")


def article_page_list() -> QuerySet[Article]:
    """Articles newest first, each with `lead_images`: its first image by position, or [].

    The lead image is one sliced prefetch (a window function in SQL) for the
    whole page of articles, however many images each article has.
    """
    lead_image = Image.objects.order_by("position", "id")[:1]
    return article_list().prefetch_related(
        Prefetch("images", queryset=lead_image, to_attr="lead_images")
    )


def article_get(*, slug: str) -> Article:
    """Raises Article.DoesNotExist."""
    images = Image.objects.order_by("position", "id")
    return (
        Article.objects.select_related("source")
        .prefetch_related(Prefetch("images", queryset=images))
        .get(slug=slug)
    )


def ticker_headlines(*, limit: int = TICKER_SIZE) -> QuerySet[Article]:
    """The latest headlines across sources: title, slug and language only."""
    return Article.objects.only("title", "slug", "language").order_by("-published_at", "-id")[
        :limit
    ]


def image_get(*, image_id: int) -> Image:
    """Raises Image.DoesNotExist."""
    return Image.objects.select_related("article").get(pk=image_id)


def image_is_blocked_by_file(*, name: str) -> bool:
    """Whether a stored media file belongs to a blocked image."""
    return Image.objects.filter(original=name, visibility=Image.Visibility.BLOCKED).exists()
