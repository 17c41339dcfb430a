"""The audit log: its filters, and its rows."""

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from moderation import audit_text, rules
from moderation.models import ActionKind, ModerationAction
from moderation.serializers.common import field_errors_serializer


class ActionFilterSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ActionKind.choices, required=False)
    image = serializers.IntegerField(min_value=1, required=False, help_text="An image's id.")
    actor = serializers.CharField(
        max_length=150, required=False, help_text="The moderator's username."
    )


ActionFilterErrorsSerializer = field_errors_serializer(
    ActionFilterSerializer, name="ActionFilterErrorsSerializer"
)


class ActionSerializer(serializers.ModelSerializer):
    """One row of the audit log; `actor` is null for the system, `image` for an
    action on no image (a policy, a reporter)."""

    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    details = serializers.SerializerMethodField(
        help_text="The action's figures. A reporter is named by their pseudonym "
        "(`reporter`), as cases show them, never by their key."
    )

    summary = serializers.SerializerMethodField(
        help_text="The action's reason in the request's language (Accept-Language): the "
        "machine's, rendered from its code and figures, or the moderator's note. `reason` "
        "keeps the moderator's own words only (and, on rows older than reason codes, the "
        "machine's English sentence)."
    )
    detail_lines = serializers.SerializerMethodField(
        help_text="`details` as readable lines in the request's language, for display."
    )

    class Meta:
        model = ModerationAction
        fields = [
            "id",
            "image",
            "action",
            "actor",
            "reason",
            "reason_code",
            "summary",
            "details",
            "detail_lines",
            "created_at",
        ]
        read_only_fields = fields

    def get_summary(self, action: ModerationAction) -> str:
        return audit_text.action_summary(action=action)

    def get_detail_lines(self, action: ModerationAction) -> list[str]:
        return audit_text.action_detail_lines(action=action)

    @extend_schema_field(serializers.DictField())
    def get_details(self, action: ModerationAction) -> dict:
        details = dict(action.details)
        # Mutes name their reporter by key in the log; the API shows no key.
        if "reporter_key" in details:
            details["reporter"] = rules.reporter_label(reporter_key=details.pop("reporter_key"))
        return details
