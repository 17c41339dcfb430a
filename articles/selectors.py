"""Reads of published content shared by the pages and the API."""

from django.db.models import Prefetch, QuerySet

from articles.models import Article, Image


def article_list() -> QuerySet[Article]:
    return Article.objects.select_related("source").order_by("-published_at", "-id")


def article_get(*, slug: str) -> Article:
    """Raises Article.DoesNotExist."""
    images = Image.objects.order_by("position", "id")
    return (
        Article.objects.select_related("source")
        .prefetch_related(Prefetch("images", queryset=images))
        .get(slug=slug)
    )


def image_get(*, image_id: int) -> Image:
    """Raises Image.DoesNotExist."""
    return Image.objects.select_related("article").get(pk=image_id)


def image_is_blocked_by_file(*, name: str) -> bool:
    """Whether a stored media file belongs to a blocked image."""
    return Image.objects.filter(original=name, visibility=Image.Visibility.BLOCKED).exists()
