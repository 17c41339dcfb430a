"""The one way a reader's report comes in, from the API or from the form without
JavaScript: the reader's limits first (every attempt counts, a refused one records
nothing), then the adapter's own validation, then services.report_create. Each refusal
is counted by its reason, the same on both paths; the adapters only say it in their
own medium (a JSON answer, a page)."""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.http import HttpResponse

from articles.models import Image
from moderation import limits, metrics, services
from moderation.readers import Reader, remember_reader


class ReportThrottled(Exception):
    """Over one of the reader's limits: nothing recorded."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class ReportInvalid(Exception):
    """The adapter's validation refused the report: nothing recorded."""


def report_submit(
    *, reader: Reader, image_id: int, fields: Callable[[], Mapping[str, Any]]
) -> services.ReportReceipt:
    """Record a reader's report on an image.

    `fields` validates the request in the adapter's terms and returns the report's
    fields (reason, comment), or raises: any exception it raises is counted as an invalid
    report and propagates (ReportInvalid when the adapter has nothing more telling).

    Raises ReportThrottled, and Image.DoesNotExist for an image no reader is shown.
    """
    retry_after = limits.report_limits_check(reader=reader)
    if retry_after is not None:
        metrics.report_refused(reason="throttled")
        raise ReportThrottled(retry_after)
    try:
        cleaned = fields()
    except Exception:
        metrics.report_refused(reason="invalid")
        raise
    try:
        return services.report_create(
            image_id=image_id,
            reporter_key=reader.reporter_key,
            user_id=reader.user_id,
            ip_hash=reader.ip_hash,
            network_hash=reader.network_hash,
            **cleaned,
        )
    except Image.DoesNotExist:
        metrics.report_refused(reason="not_found")
        raise


_Response = TypeVar("_Response", bound=HttpResponse)


def report_answered(response: _Response, *, reader: Reader) -> _Response:
    """The answer to a recorded report carries a new reader's cookie, so that their next
    report is known as theirs."""
    remember_reader(response, reader)
    return response
