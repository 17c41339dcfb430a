"""The queue's filters (the ImageCase changelist's sidebar)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from articles.models import Source
from moderation import selectors
from moderation.models import BLOCKED_STATES, CaseState, Reason


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("needs_review", _("needs review")),
            ("grouped", _("Grouped reports")),
            ("blocked", _("blocked")),
            ("restored", _("restored")),
            ("protected", _("protected")),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "needs_review":
                return selectors.case_queue_filter(queryset, needs_review=True)
            case "grouped":
                # Reports held as grouped wait for a moderator.
                return queryset.filter(brigade_held_at__isnull=False)
            case "blocked":
                # Blocked by the machine or by a moderator.
                return queryset.filter(state__in=BLOCKED_STATES)
            case "restored":
                return selectors.case_queue_filter(queryset, state=CaseState.RESTORED)
            case "protected":
                return queryset.filter(protected=True)
        return queryset


class SourceFilter(admin.SimpleListFilter):
    title = _("source")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return list(Source.objects.order_by("name").values_list("slug", "name"))

    def queryset(self, request, queryset):
        return selectors.case_queue_filter(queryset, source=self.value())


class ReasonFilter(admin.SimpleListFilter):
    title = _("reason (open reports)")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return Reason.choices

    def queryset(self, request, queryset):
        return selectors.case_queue_filter(queryset, reason=self.value())
