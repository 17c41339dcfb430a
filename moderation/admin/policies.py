from django.contrib import admin
from django.http import HttpRequest

from common.admin_inputs import InputCheckedAdmin
from moderation import services
from moderation.models import Policy
from moderation.permissions import acting_moderator


@admin.register(Policy)
class PolicyAdmin(InputCheckedAdmin):
    list_display = ["__str__", "source", "threshold", "window_days", "updated_at"]
    list_select_related = ["source"]
    fields = ["source", "threshold", "window_days"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A policy belongs to its scope; another scope gets a policy of its own.
        return ["source"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # A policy is changed (and the change logged), never removed without a trace.
        return False

    def save_model(self, request: HttpRequest, obj: Policy, form, change: bool) -> None:
        # Through the service, which logs the change; never obj.save().
        saved = services.policy_save(
            source_id=obj.source_id,
            threshold=obj.threshold,
            window_days=obj.window_days,
            actor=acting_moderator(request),
        )
        obj.pk = saved.pk
        obj.updated_at = saved.updated_at
