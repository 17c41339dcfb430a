import posixpath

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.static import serve

from articles import selectors
from articles.models import Article
from articles.selectors import image_is_blocked_by_file

HOME_PAGE_SIZE = 12

# Pages are never cached anywhere: a blocked image must disappear at the next load.


@never_cache
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(selectors.article_page_list(), HOME_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except InvalidPage:
        raise Http404 from None
    context = {"headlines": selectors.ticker_headlines(), "page_obj": page}
    return render(request, "articles/home.html", context)


@never_cache
@require_safe
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        article = selectors.article_get(slug=slug)
    except Article.DoesNotExist:
        raise Http404 from None
    context = {
        "article": article,
        "headlines": selectors.ticker_headlines(),
        # Set by the no-JavaScript report form's redirect: thank the reader in place.
        "reported_image_id": _int_or_none(request.GET.get("reported")),
    }
    return render(request, "articles/article_detail.html", context)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve an uploaded file, unless it belongs to a blocked image.

    Used where Django serves media itself; behind nginx the same rule is
    applied by the proxy (see the README).
    """
    # Normalise first, so "a/../a/x.jpg" can't slip past the check.
    name = posixpath.normpath(path).lstrip("/")
    if image_is_blocked_by_file(name=name):
        raise Http404
    response = serve(request, name, document_root=settings.MEDIA_ROOT)
    response["X-Content-Type-Options"] = "nosniff"
    # Revalidate every time: a block must reach readers who saw the image.
    response["Cache-Control"] = "no-cache"
    return response
