"""The report control's pieces, for any page that shows an image."""

from typing import Any

from django import template

from articles.models import Image
from moderation.forms import ReportForm
from moderation.messages import REPORT_THANKS

register = template.Library()


@register.inclusion_tag("moderation/includes/report_dialog.html", takes_context=True)
def report_dialog(context: template.Context, image: Image) -> dict[str, Any]:
    """The dialog with the report form of one image (ids unique on the page)."""
    return {
        "image": image,
        "form": ReportForm.for_image(image.pk),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def report_thanks() -> str:
    return str(REPORT_THANKS)
