"""Reads of published content shared by the pages and the API, and of uploads
whose processing is stuck."""

from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from articles.models import Article, Image

TICKER_SIZE = 24
# What a reader may be shown: processed (the worker made its renditions) and not
# blocked. An image before processing is skipped as if it did not exist yet.
SHOWN = Q(status=Image.Status.READY) & ~Q(rendition="")
RENDITION_FIELDS = ("thumbnail", "rendition", "thumbnail_webp", "rendition_webp")


def article_list() -> QuerySet[Article]:
    return Article.objects.select_related("source").order_by("-published_at", "-id")


def article_page_list() -> QuerySet[Article]:
    """Articles newest first, each with `lead_images`: its first image by position, or [].

    The lead image is one sliced prefetch (a window function in SQL) for the
    whole page of articles, however many images each article has.
    """
    # Blocked images stay (the card shows the placeholder); pending ones are skipped.
    lead_image = Image.objects.filter(SHOWN).order_by("position", "id")[:1]
    return article_list().prefetch_related(
        Prefetch("images", queryset=lead_image, to_attr="lead_images")
    )


def article_get(*, slug: str) -> Article:
    """Raises Article.DoesNotExist. Its images in order, blocked ones included
    (shown as a placeholder), those not yet processed left out."""
    images = Image.objects.filter(SHOWN).order_by("position", "id")
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


def image_shown_get(*, image_id: int) -> Image:
    """An image as readers may be shown it (processed; blocked ones included, shown as a
    placeholder), with its article. Raises Image.DoesNotExist, also for an image not
    processed yet: readers are shown it nowhere."""
    return Image.objects.select_related("article").filter(SHOWN).get(pk=image_id)


def image_file_is_public(*, name: str) -> bool:
    """Whether a stored media file may be served to anyone: one of the renditions
    of a processed, visible image. Never an original (those are the uploaded
    bytes, metadata and all), never a file of a blocked or pending image, never
    a file no image names."""
    named = Q()
    for field in RENDITION_FIELDS:
        named |= Q(**{field: name})
    return Image.objects.filter(named, visibility=Image.Visibility.VISIBLE).filter(SHOWN).exists()


def image_list_stuck(*, now: datetime, grace: timedelta) -> QuerySet[Image]:
    """Images still pending with no sign of processing for `grace`: no message sent
    and no worker started on them since (their message was lost, or the worker
    that took it died). Oldest first; each row has `last_activity`."""
    return (
        Image.objects.filter(status=Image.Status.PENDING)
        .annotate(last_activity=Coalesce("processing_activity_at", "created_at"))
        .filter(last_activity__lt=now - grace)
        .order_by("last_activity", "pk")
    )
