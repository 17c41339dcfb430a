"""The moderation queue: its filters, a case, and a case with its reports and audit trail."""

from django.contrib.auth.models import User
from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.models import Image
from moderation.models import CaseState, ImageCase, Reason
from moderation.serializers.audit import ActionSerializer
from moderation.serializers.common import field_errors_serializer, number_field
from moderation.serializers.reporters import CaseReportSerializer

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
    # Named like Field.source, an attribute DRF's stubs type as str | None.
    source = serializers.SlugField(  # type: ignore[assignment]
        max_length=200, required=False, help_text="A source's slug."
    )
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
    source = CaseSourceSerializer(  # type: ignore[assignment]  # named like Field.source
        source="image.article.source", read_only=True
    )
    needs_review = serializers.BooleanField(read_only=True)
    threshold = serializers.IntegerField(read_only=True)
    reasons = serializers.SerializerMethodField(help_text="Open reports per reason.")
    reviewed_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
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


class CaseDetailSerializer(CaseSerializer):
    """A case with its reports and its audit trail, newest first."""

    # Both prefetched by selectors.case_get.

    reports = CaseReportSerializer(source="image.reports", many=True, read_only=True)
    actions = ActionSerializer(source="image.moderation_actions", many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "reports", "actions"]
        read_only_fields = fields
