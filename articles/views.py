import mimetypes
import posixpath
from urllib.parse import quote

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.static import serve

from articles import selectors
from articles.models import Article
from articles.selectors import image_file_is_public

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


# Sent with every media answer, the 404s included. nosniff and the sandboxing CSP
# keep a file that a browser is tricked into opening as a document from running
# anything; no-cache makes every cache ask again, so a block reaches readers who
# already saw the image (their cache's revalidation gets the 404).
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cache-Control": "no-cache",
}


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Serve a rendition of a visible, processed image; 404 for anything else.

    404 (not 410) for a blocked image's files, its original, a pending image's
    files and files no image names alike: the answer does not tell that a file
    exists or why it is withheld, and a block is not final (a moderator may
    restore the image, and the same URL then answers again).

    With MEDIA_ACCEL_REDIRECT_PREFIX set (production behind nginx), the answer
    is headers only: nginx serves the bytes from its `internal` location.
    """
    # Normalise first, so "a/../b/x.jpg" is looked up (and served) as "b/x.jpg".
    name = posixpath.normpath(path).lstrip("/")
    response: HttpResponseBase
    if name.startswith("..") or not image_file_is_public(name=name):
        response = HttpResponse(status=404, content_type="text/plain; charset=utf-8")
    elif settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=mimetypes.guess_type(name)[0])
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT_PREFIX + quote(name)
    else:
        try:
            response = serve(request, name, document_root=str(settings.MEDIA_ROOT))
        except Http404:
            response = HttpResponse(status=404, content_type="text/plain; charset=utf-8")
    for header, value in MEDIA_HEADERS.items():
        response[header] = value
    return response
