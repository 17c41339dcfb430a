"""What the admin pages write out: numbers, reasons, decisions and links to cases,
shared by the changelists and the case page."""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from articles.models import Image
from moderation import audit_text
from moderation.models import Reason
from moderation.services import Decision, DecisionError

if TYPE_CHECKING:
    # django-stubs-ext is a development requirement: the annotations are for mypy only.
    from django_stubs_ext import StrOrPromise

DECISION_LABELS = {
    Decision.CONFIRM: _("Confirm the block"),
    Decision.RESTORE: _("Restore"),
    Decision.DISMISS: _("Dismiss the reports"),
    Decision.PROTECT: _("Protect"),
    Decision.UNPROTECT: _("Unprotect"),
    Decision.NOTE: _("Add a note"),
    Decision.RELEASE: _("Count the held reports"),
}


def number_text(value: Decimal | int | None) -> str:
    """A score or a weight as people write it: "5", "4,75" (in French), never "5,00"."""
    if value is None:
        return "—"
    return audit_text.number_text(value)


def reason_label(reason: str) -> "StrOrPromise":
    return Reason(reason).label if reason in Reason.values else reason


def decision_error_text(error: DecisionError) -> str:
    return str(error.args[0]) if error.args else str(error)


def image_case_link(image: Image | None) -> str:
    """The image, linked to its case page when it has one."""
    if image is None:
        return "—"
    case = getattr(image, "case", None)
    if case is None:
        return str(image)
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:moderation_imagecase_change", args=[case.pk]), image
    )
