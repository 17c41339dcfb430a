"""Requests no view could answer but with a 500 are answered before any view runs: input
that no page takes (a 400), and a database that drops out mid-request (a 503 to try again)."""

import logging
from collections.abc import Callable

from django.contrib.admin.options import TO_FIELD_VAR
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """Answer 503 with `Retry-After` when a view fails on an unreachable or dropped
    database connection (OperationalError, InterfaceError): JSON with a `detail` under
    /api/, else the 503 page (articles/templates/503.html), which reads nothing from the
    database.

    The transaction that failed has been rolled back (for a report, the one transaction
    of report_create: nothing of it is stored). Django drops the broken connection
    (transaction.atomic closes it when its rollback fails, the end of the request closes
    one that errored and no longer answers), so the next request connects afresh. DRF's
    views re-raise these exceptions, which their handler does not know, so the API ends
    here too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable during %s %s: answered 503",
            request.method,
            request.path,
            exc_info=exception,
        )
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"detail": _("The service is briefly unavailable. Try again in a few seconds.")},
                status=503,
            )
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class RequestInputMiddleware:
    """Answer 400, with the 400 page (articles/templates/400.html) in the reader's language,
    a request whose input no page or admin view can take, before any view runs:

    - a NUL character in the path or the query string (%00, or the raw byte). No text
      column of PostgreSQL holds one, so the first lookup it reaches fails (a media name,
      an admin changelist's filter): whatever the route, it is nothing anyone could ask
      for. Under /api/ every parameter goes through a serializer (which refuses it field
      by field, as the schema documents) or the paginator: the API is left to them.
    - an empty `_to_field` on a ModelAdmin's views. Django's admin skips its check of the
      field when the name is empty, then looks up a field named "" on every change and
      delete page, of every model, before it checks the user's permissions.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") and _has_nul(request):
            return _bad_request(
                request, _("The address contains a null character, which no page takes.")
            )
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if getattr(view_func, "model_admin", None) is None:
            return None
        # Read as ModelAdmin.changeform_view and delete_view read it.
        if request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR)) == "":
            return _bad_request(
                request,
                _("The %(parameter)s parameter names no field.") % {"parameter": TO_FIELD_VAR},
            )
        return None


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    )


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "400.html", {"message": message}, status=400)
