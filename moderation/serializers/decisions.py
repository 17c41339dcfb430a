"""A decision on a case."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from moderation.models import NOTE_MAX_LENGTH
from moderation.serializers.common import field_errors_serializer
from moderation.services import Decision


class DecisionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[(d.value, d.value) for d in Decision],
        help_text='"release" counts the reports held as grouped and lifts the hold on the '
        "automatic block.",
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text='Why; required for "note".',
    )

    seen_action = serializers.IntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text="The id of the case's latest audit row the moderator was shown (0 for none): "
        "when another actor has acted on the case since, the decision is refused (409) and "
        "the answer says who did what.",
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["action"] == Decision.NOTE and not attrs["note"].strip():
            raise serializers.ValidationError({"note": [_("A note needs some text.")]})
        return attrs


DecisionErrorsSerializer = field_errors_serializer(
    DecisionInputSerializer, name="DecisionErrorsSerializer", with_detail=True
)
