"""The reports, and the muted reporters."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from moderation import services
from moderation.admin.base import ReadOnlyAdmin
from moderation.admin.display import decision_error_text, image_case_link, number_text
from moderation.models import Report, ReporterMute
from moderation.permissions import DECIDE_CASES, acting_moderator
from moderation.services import DecisionError


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "case_link",
        "reason",
        "outcome",
        "weight_display",
        "comment",
        "reporter_key",
    ]
    list_filter = ["reason", "outcome", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["image__case"]
    search_fields = ["reporter_key", "comment"]
    date_hierarchy = "created_at"

    @admin.display(description=_("image"), ordering="image")
    def case_link(self, report: Report) -> str:
        return image_case_link(report.image)

    @admin.display(description=_("weight"), ordering="weight")
    def weight_display(self, report: Report) -> str:
        return number_text(report.weight)


@admin.register(ReporterMute)
class ReporterMuteAdmin(ReadOnlyAdmin):
    """The muted reporters. A mute is made on a case page (a report's reporter) and
    lifted here or there; both go through the services, which log them."""

    list_display = ["reporter_key", "muted_by", "reason", "created_at"]
    list_select_related = ["muted_by"]
    search_fields = ["reporter_key", "reason"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ("reporter_key", "muted_by", "reason", "created_at")
    actions = ["unmute"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        # Muting and unmuting are decisions: the same permission as the case buttons.
        return request.user.has_perm(DECIDE_CASES)

    @admin.action(description=_("Unmute the selected reporters"), permissions=["decide"])
    def unmute(self, request: HttpRequest, queryset: QuerySet[ReporterMute]) -> None:
        done = 0
        refused = []
        for reporter_key in queryset.values_list("reporter_key", flat=True):
            try:
                services.reporter_unmute(reporter_key=reporter_key, actor=acting_moderator(request))
            except DecisionError as error:
                # Unmuted meanwhile by someone else.
                refused.append(f"{reporter_key}: {decision_error_text(error)}")
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d reporter unmuted.", "%(count)d reporters unmuted.", done)
                % {"count": done},
                messages.SUCCESS,
            )
        for refusal in refused:
            self.message_user(request, refusal, messages.ERROR)
