"""The readers' report."""

from rest_framework import serializers

from moderation.models import COMMENT_MAX_LENGTH, Reason
from moderation.serializers.common import field_errors_serializer


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    comment = serializers.CharField(
        max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


ReportErrorsSerializer = field_errors_serializer(
    ReportInputSerializer, name="ReportErrorsSerializer", with_detail=True
)
