"""Reader-facing texts of the moderation app, in one place for pages and API."""

from django.utils.translation import gettext_lazy as _

REPORT_THANKS = _(
    "Thanks for reporting! This image will be blocked automatically once several people "
    "have reported it."
)
