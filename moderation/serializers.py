from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.models import Image
from moderation import rules
from moderation.models import (
    COMMENT_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    ActionKind,
    CaseState,
    ImageCase,
    ModerationAction,
    Reason,
    Report,
    ReporterMute,
)
from moderation.selectors import ReporterProfile, report_reporter_key
from moderation.services import Decision

# --- shared answers -------------------------------------------------------------------


def field_errors_serializer(
    input_serializer: type[serializers.Serializer], *, name: str, with_detail: bool = False
) -> type[serializers.Serializer]:
    """The 400 answer of an input serializer, for the schema: each field's messages.

    `with_detail` adds the `detail` of a body that could not be parsed.
    """
    names = [*input_serializer().fields, "non_field_errors"]
    attrs: dict = {
        field: serializers.ListField(child=serializers.CharField(), required=False)
        for field in names
    }
    if with_detail:
        attrs["detail"] = serializers.CharField(required=False)
    source = input_serializer.__name__.removesuffix("Serializer")
    attrs["__doc__"] = f"{source}'s field errors: each invalid field with its messages."
    return type(name, (serializers.Serializer,), attrs)


def number_field(*, like: tuple[type, str], **kwargs) -> serializers.DecimalField:
    """A score or a weight (multiples of 0.25) as a JSON number, not a string, with
    the digits of the model field `like` names: (model, field name)."""
    model, name = like
    return serializers.DecimalField(
        max_digits=model._meta.get_field(name).max_digits,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        **kwargs,
    )


# --- readers' report ----------------------------------------------------------------


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    comment = serializers.CharField(
        max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


ReportErrorsSerializer = field_errors_serializer(
    ReportInputSerializer, name="ReportErrorsSerializer", with_detail=True
)


# --- moderators: input --------------------------------------------------------------

# The queue's sort keys: each field ascending, or descending with a leading "-".
CASE_ORDERINGS = [
    f"{sign}{field}"
    for field in (
        "score",
        "open_report_count",
        "first_reported_at",
        "last_reported_at",
        "blocked_at",
    )
    for sign in ("", "-")
]


class CaseQueueFilterSerializer(serializers.Serializer):
    """Query parameters of the queue. Without `ordering`: awaiting review first,
    then by score."""

    state = serializers.ChoiceField(choices=CaseState.choices, required=False)
    source = serializers.SlugField(max_length=200, required=False, help_text="A source's slug.")
    reason = serializers.ChoiceField(
        choices=Reason.choices, required=False, help_text="A reason among the open reports."
    )
    needs_review = serializers.BooleanField(required=False, allow_null=True, default=None)
    grouped = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Whether grouped reports hold the case's automatic block.",
    )
    ordering = serializers.ChoiceField(choices=CASE_ORDERINGS, required=False)


CaseQueueFilterErrorsSerializer = field_errors_serializer(
    CaseQueueFilterSerializer, name="CaseQueueFilterErrorsSerializer"
)


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

    def validate(self, attrs: dict) -> dict:
        if attrs["action"] == Decision.NOTE and not attrs["note"].strip():
            raise serializers.ValidationError({"note": [_("A note needs some text.")]})
        return attrs


DecisionErrorsSerializer = field_errors_serializer(
    DecisionInputSerializer, name="DecisionErrorsSerializer", with_detail=True
)


class ActionFilterSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ActionKind.choices, required=False)
    image = serializers.IntegerField(min_value=1, required=False, help_text="An image's id.")
    actor = serializers.CharField(
        max_length=150, required=False, help_text="The moderator's username."
    )


ActionFilterErrorsSerializer = field_errors_serializer(
    ActionFilterSerializer, name="ActionFilterErrorsSerializer"
)


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


# --- moderators: output -------------------------------------------------------------


class CaseImageSerializer(serializers.Serializer):
    """The case's image."""

    # Serializes the case (source="*"): a blocked image's staff address is the case's.

    id = serializers.IntegerField(source="image.id")
    url = serializers.SerializerMethodField(
        help_text="The public article-size rendition while the image is visible and "
        "processed; otherwise (blocked, pending) the admin's staff-only view of it (session "
        "sign-in), or null where the admin is not served."
    )
    caption = serializers.CharField(source="image.caption")
    visibility = serializers.ChoiceField(
        source="image.visibility", choices=Image.Visibility.choices
    )

    def get_url(self, case: ImageCase) -> str | None:
        image = case.image
        if not image.original:
            return None
        if image.is_blocked or image.status != Image.Status.READY or not image.rendition:
            # The public media view answers 404 for a blocked or pending image's
            # files; moderators judge it through the admin's view, which checks who asks.
            try:
                url = reverse("admin:moderation_imagecase_image", args=[case.pk])
            except NoReverseMatch:
                return None
        else:
            url = image.rendition.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class CaseArticleSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()


class CaseSourceSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ReasonCountSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    count = serializers.IntegerField()


class CaseSerializer(serializers.ModelSerializer):
    """One case of the moderation queue."""

    # `reasons` reads the view's context: {image_id: [(reason, n), …]}, one
    # query for the whole page (selectors.reason_breakdown).

    image = CaseImageSerializer(source="*", read_only=True)
    article = CaseArticleSerializer(source="image.article", read_only=True)
    source = CaseSourceSerializer(source="image.article.source", read_only=True)
    needs_review = serializers.BooleanField(read_only=True)
    threshold = serializers.IntegerField(read_only=True)
    reasons = serializers.SerializerMethodField(help_text="Open reports per reason.")
    reviewed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    score = number_field(
        like=(ImageCase, "score"), help_text="The sum of the open reports' weights."
    )
    brigade_held_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Since when reports are held as grouped (a network over its allowance, "
        "or a burst across networks) for a moderator; null when none is. Cleared by "
        '"confirm", "dismiss", "restore" and "release".',
    )
    auto_block_held_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Since when a burst across many networks holds the automatic block for a "
        "moderator; null when nothing does (a burst from one network holds only its own "
        "extra reports). Cleared with `brigade_held_at`.",
    )
    held_report_count = serializers.SerializerMethodField(
        help_text="Reports held as grouped: stored, not counted in `open_report_count` nor `score`."
    )

    class Meta:
        model = ImageCase
        fields = [
            "id",
            "image",
            "article",
            "source",
            "state",
            "protected",
            "needs_review",
            "open_report_count",
            "score",
            "threshold",
            "reasons",
            "brigade_held_at",
            "auto_block_held_at",
            "held_report_count",
            "first_reported_at",
            "last_reported_at",
            "blocked_at",
            "reviewed_by",
            "reviewed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ReasonCountSerializer(many=True))
    def get_reasons(self, case: ImageCase) -> list[dict]:
        rows = self.context["reasons"].get(case.image_id, [])
        return [{"reason": reason, "count": n} for reason, n in rows]

    def get_held_report_count(self, case: ImageCase) -> int:
        # From the view's context: {image_id: n}, one query for the whole page.
        return self.context["held_counts"].get(case.image_id, 0)


class ReporterRecordSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    upheld = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    expired = serializers.IntegerField()
    held = serializers.IntegerField(help_text="Held as grouped reports, not counted.")
    muted = serializers.IntegerField(help_text="Made while the reporter was muted, not counted.")


class ReporterSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="A stable pseudonym, the same across cases.")
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


class ActionSerializer(serializers.ModelSerializer):
    """One row of the audit log; `actor` is null for the system, `image` for an
    action on no image (a policy, a reporter)."""

    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    details = serializers.SerializerMethodField(
        help_text="The action's figures. A reporter is named by their pseudonym "
        "(`reporter`), as cases show them, never by their key."
    )

    class Meta:
        model = ModerationAction
        fields = ["id", "image", "action", "actor", "reason", "details", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField())
    def get_details(self, action: ModerationAction) -> dict:
        details = dict(action.details)
        # Mutes name their reporter by key in the log; the API shows no key.
        if "reporter_key" in details:
            details["reporter"] = rules.reporter_label(reporter_key=details.pop("reporter_key"))
        return details


class CaseDetailSerializer(CaseSerializer):
    """A case with its reports and its audit trail, newest first."""

    # Both prefetched by selectors.case_get.

    reports = CaseReportSerializer(source="image.reports", many=True, read_only=True)
    actions = ActionSerializer(source="image.moderation_actions", many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "reports", "actions"]
        read_only_fields = fields
