"""The audit log, and the moderators' notifications (an outbox operators watch)."""

from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from moderation import audit_text
from moderation.admin.base import ReadOnlyAdmin
from moderation.admin.display import image_case_link
from moderation.models import ModerationAction, ModeratorNotification

if TYPE_CHECKING:
    # django-stubs-ext is a development requirement: the annotations are for mypy only.
    from django_stubs_ext import StrOrPromise


# The list's columns, and a row's fields.
_COLUMNS = ("created_at", "action", "case_link", "actor_display", "summary", "detail_lines")


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    """The log in the reader's language: the machine's reasons and the details are
    rendered from their codes and figures (moderation.audit_text), never shown as JSON."""

    list_display = _COLUMNS
    list_filter = ["action", ("actor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["actor", "image__case"]
    date_hierarchy = "created_at"
    # A moderator's notes; the machine's reasons are codes, filtered by action.
    search_fields = ["reason"]
    fields = readonly_fields = _COLUMNS

    class Media:
        css = {"all": ["moderation/css/case-admin.css"]}

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The reasons and details need the width: no navigation sidebar here either.
        extra_context = {
            "title": capfirst(self.opts.verbose_name_plural),
            **(extra_context or {}),
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("reason or note"))
    def summary(self, action: ModerationAction) -> str:
        return audit_text.action_summary(action=action) or "—"

    @admin.display(description=_("details"))
    def detail_lines(self, action: ModerationAction) -> str:
        lines = audit_text.action_detail_lines(action=action)
        if not lines:
            return "—"
        return format_html_join(
            "", '<span class="audit-line">{}</span><br>', ((line,) for line in lines)
        )

    @admin.display(description=_("image"), ordering="image")
    def case_link(self, action: ModerationAction) -> str:
        return image_case_link(action.image)

    @admin.display(description=_("actor"), ordering="actor")
    def actor_display(self, action: ModerationAction) -> "StrOrPromise":
        return action.actor.get_username() if action.actor else _("system")


@admin.register(ModeratorNotification)
class ModeratorNotificationAdmin(ReadOnlyAdmin):
    """For operators: a row without `sent_at` is an email a dead worker never sent."""

    list_display = ["created_at", "event", "case_link", "sent_at"]
    list_filter = ["event", ("sent_at", admin.EmptyFieldListFilter)]
    list_select_related = ["image__case"]
    date_hierarchy = "created_at"

    @admin.display(description=_("image"), ordering="image")
    def case_link(self, notification: ModeratorNotification) -> str:
        return image_case_link(notification.image)
