"""A database that drops out mid-request is a 503 to try again, not a 500."""

import logging
from collections.abc import Callable

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
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"detail": _("The service is briefly unavailable. Try again in a few seconds.")},
                status=503,
            )
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
