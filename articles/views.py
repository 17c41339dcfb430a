import posixpath

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.static import serve

from articles.selectors import image_is_blocked_by_file


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
