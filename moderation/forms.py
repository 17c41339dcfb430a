from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from moderation.models import COMMENT_MAX_LENGTH, Reason


class ReportForm(forms.Form):
    """A reader's report on an image: the HTML twin of ReportInputSerializer."""

    reason = forms.ChoiceField(
        label=_("Why are you reporting this image?"),
        choices=Reason.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        help_text=format_lazy(_("At most {limit} characters."), limit=COMMENT_MAX_LENGTH),
        max_length=COMMENT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @classmethod
    def for_image(cls, image_id: int, data=None) -> "ReportForm":
        """The form of one image, with ids unique on a page that shows several."""
        return cls(data, auto_id=f"report-{image_id}-%s")
