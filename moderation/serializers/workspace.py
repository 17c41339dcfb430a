"""The workspace's API: claims, the queue's summary, undo, and the 409 of a decision
that met another moderator."""

from rest_framework import serializers

from moderation.models import CaseClaim
from moderation.rules import moderator_name
from moderation.selectors import QueueTab
from moderation.services import ClaimConflict, DecisionConflict, DecisionError


class ClaimSerializer(serializers.ModelSerializer):
    """A claim on a case: who examines it, until when."""

    moderator = serializers.SerializerMethodField(help_text="The moderator's name.")

    class Meta:
        model = CaseClaim
        fields = ["case", "moderator", "claimed_at", "expires_at"]
        read_only_fields = fields

    def get_moderator(self, claim: CaseClaim) -> str:
        return moderator_name(claim.moderator)


class QueueTabsSerializer(serializers.Serializer):
    def get_fields(self) -> dict:
        return {tab.value: serializers.IntegerField(min_value=0) for tab in QueueTab}


class QueueSummarySerializer(serializers.Serializer):
    tabs = QueueTabsSerializer(help_text="How many cases each of the workspace's tabs holds.")
    latest_case_id = serializers.IntegerField(
        allow_null=True, help_text="The newest case: cases above an id seen earlier are new."
    )


class ConflictSerializer(serializers.Serializer):
    """A decision that could not apply: why, and, when another moderator is in the way,
    who and until when, or who acted meanwhile and how."""

    detail = serializers.CharField()
    claimed_by = serializers.CharField(required=False)
    claimed_until = serializers.DateTimeField(required=False)
    conflicting_action = serializers.DictField(
        required=False, help_text="The audit row written meanwhile: id, action, actor, created_at."
    )


def conflict_body(error: DecisionError) -> dict:
    body: dict = {"detail": str(error)}
    if isinstance(error, ClaimConflict):
        body["claimed_by"] = error.holder.name
        body["claimed_until"] = serializers.DateTimeField().to_representation(
            error.holder.expires_at
        )
    elif isinstance(error, DecisionConflict):
        action = error.action
        body["conflicting_action"] = {
            "id": action.pk,
            "action": action.action,
            "actor": action.actor.get_username() if action.actor else None,
            "created_at": serializers.DateTimeField().to_representation(action.created_at),
        }
    return body
