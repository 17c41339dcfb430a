"""The text a moderator types with a decision on the case page. A form field refuses,
besides a text too long, what no text column stores (a NUL character)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from moderation.models import NOTE_MAX_LENGTH

# A reason given when muting a reporter; the audit log keeps it.
MUTE_REASON_MAX_LENGTH = NOTE_MAX_LENGTH


class NoteForm(forms.Form):
    """The note of a decision on the case page."""

    note = forms.CharField(required=False)

    def clean_note(self) -> str:
        note = self.cleaned_data["note"]
        if len(note) > NOTE_MAX_LENGTH:
            raise forms.ValidationError(
                _("A note can be at most %(max)d characters long.") % {"max": NOTE_MAX_LENGTH}
            )
        return note


class MuteReasonForm(forms.Form):
    """The reason for muting (or unmuting) a reporter, as NoteForm checks a note."""

    reason = forms.CharField(required=False)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if len(reason) > MUTE_REASON_MAX_LENGTH:
            raise forms.ValidationError(
                _("A reason can be at most %(max)d characters long.")
                % {"max": MUTE_REASON_MAX_LENGTH}
            )
        return reason
