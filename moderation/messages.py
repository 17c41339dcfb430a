"""Reader-facing texts of the moderation app, in one place for pages and API."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

REPORT_THANKS = _(
    "Thanks for reporting! This image will be blocked automatically once several people "
    "have reported it."
)


def report_throttled(*, retry_after: int) -> str:
    """Why a report was refused with 429, and when the reader may try again."""
    if retry_after < 120:
        wait = ngettext("%(n)d second", "%(n)d seconds", retry_after) % {"n": retry_after}
    elif retry_after < 2 * 3600:
        minutes = -(-retry_after // 60)
        wait = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    else:
        hours = -(-retry_after // 3600)
        wait = ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return _(
        "You have sent many reports in a short time, so this one was not recorded. "
        "Please try again in %(wait)s."
    ) % {"wait": wait}
