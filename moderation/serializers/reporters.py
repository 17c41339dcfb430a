"""Reporters: whom to mute or unmute, and a case's reports with their reporters, shown
by pseudonym (rules.reporter_label) with their record."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from moderation import rules
from moderation.models import NOTE_MAX_LENGTH, Report, ReporterMute
from moderation.selectors import ReporterProfile, report_reporter_key
from moderation.serializers.common import field_errors_serializer, number_field


class ReporterMuteInputSerializer(serializers.Serializer):
    """Whom to mute or unmute: a reporter key, or one of the reporter's reports."""

    # The API shows reporters by pseudonym only, so a report's id (as a case
    # lists it) names its reporter; a key comes from elsewhere (the admin).
    reporter_key = serializers.CharField(
        max_length=ReporterMute._meta.get_field("reporter_key").max_length,
        required=False,
        help_text='"user:<id>" or "reader:<uuid>". Give this or `report`.',
    )
    report = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="The id of one of the reporter's reports. Give this or `reporter_key`.",
    )
    reason = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why; kept in the audit log.",
    )

    def validate(self, attrs: dict) -> dict:
        """Resolve `report` to its reporter: validated data always has `reporter_key`."""
        if ("reporter_key" in attrs) == ("report" in attrs):
            raise serializers.ValidationError(
                _("Give either a reporter key or a report, not both.")
                if "report" in attrs
                else _("Give a reporter key or a report.")
            )
        if "report" in attrs:
            try:
                attrs["reporter_key"] = report_reporter_key(report_id=attrs.pop("report"))
            except Report.DoesNotExist:
                raise serializers.ValidationError({"report": [_("No such report.")]}) from None
        attrs["reason"] = attrs["reason"].strip()
        return attrs


ReporterMuteErrorsSerializer = field_errors_serializer(
    ReporterMuteInputSerializer, name="ReporterMuteErrorsSerializer", with_detail=True
)


class ReporterRecordSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    upheld = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    expired = serializers.IntegerField()
    held = serializers.IntegerField(help_text="Held as grouped reports, not counted.")
    muted = serializers.IntegerField(help_text="Made while the reporter was muted, not counted.")


class ReporterSerializer(serializers.Serializer):
    label = serializers.CharField(  # type: ignore[assignment]  # named like Field.label
        help_text="A stable pseudonym, the same across cases."
    )
    signed_in = serializers.BooleanField()
    weight = number_field(
        like=(Report, "weight"), help_text="What this reporter's next report would weigh."
    )
    muted = serializers.BooleanField(help_text="A moderator muted this reporter.")
    record = ReporterRecordSerializer(help_text="This reporter's reports by outcome.")


class CaseReportSerializer(serializers.ModelSerializer):
    """A report as moderators see it: the reporter is a pseudonym with a record."""

    # Never the reporter key nor the IP hash. The reporters' records, weights and
    # mutes come from the view's context (`reporters`, selectors.reporter_profiles:
    # a fixed number of queries for all the case's reporters).

    reporter = serializers.SerializerMethodField()
    weight = number_field(
        like=(Report, "weight"), help_text="What this report weighed when it was made."
    )

    class Meta:
        model = Report
        fields = ["id", "reason", "comment", "weight", "outcome", "created_at", "reporter"]
        read_only_fields = fields

    @extend_schema_field(ReporterSerializer)
    def get_reporter(self, report: Report) -> dict:
        profile: ReporterProfile = self.context["reporters"][report.reporter_key]
        return ReporterSerializer(
            {
                "label": rules.reporter_label(reporter_key=report.reporter_key),
                "signed_in": report.user_id is not None,
                "weight": profile.weight,
                "muted": profile.muted,
                "record": profile.record,
            }
        ).data
