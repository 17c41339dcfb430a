from rest_framework import serializers

from moderation.models import COMMENT_MAX_LENGTH, Reason


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    comment = serializers.CharField(
        max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
