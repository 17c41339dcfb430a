from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


def body_too_large_message() -> str:
    """What a 413 says, on the API and on the readers' report form."""
    return _("Request body too large: the limit is %(limit)d bytes.") % {
        "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    }


def exception_handler(exc, context):
    """DRF's handler, plus a JSON 413 for bodies over DATA_UPLOAD_MAX_MEMORY_SIZE
    (Django would answer an HTML 400)."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": body_too_large_message()},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return drf_exception_handler(exc, context)


class NotFoundApi(APIView):
    """Any path under /api/ that no route matches: the API's JSON 404, not the
    readers' HTML page (an /api/images/abc/ is still an API call)."""

    authentication_classes: list = []
    permission_classes: list = []

    def initial(self, request, *args, **kwargs):
        # Before the method's handler is looked up: every method is a 404, never a 405.
        raise NotFound
