"""The queue's admin actions: the case page's decisions, on the selected cases."""

from collections import defaultdict

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from moderation import services
from moderation.admin.base import CaseAdminMixinBase
from moderation.admin.display import DECISION_LABELS, decision_error_text
from moderation.models import ImageCase
from moderation.permissions import acting_moderator
from moderation.services import Decision, DecisionError


class CaseActionsMixin(CaseAdminMixinBase):
    """ImageCaseAdmin's actions, each case decided on its own through services.case_decide
    (one audit row each); refusals are reported by reason."""

    def _decide_each(self, request: HttpRequest, queryset: QuerySet, decision: Decision) -> None:
        done = 0
        refused: dict[str, list[int]] = defaultdict(list)
        for case_id in queryset.values_list("pk", flat=True):
            try:
                services.case_decide(
                    case_id=case_id, decision=decision, actor=acting_moderator(request)
                )
            except ImageCase.DoesNotExist:
                refused[str(_("The case no longer exists."))].append(case_id)
            except DecisionError as error:
                refused[decision_error_text(error)].append(case_id)
            else:
                done += 1
        label = DECISION_LABELS[decision]
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(decision)s: %(count)d case.",
                    "%(decision)s: %(count)d cases.",
                    done,
                )
                % {"decision": label, "count": done},
                messages.SUCCESS,
            )
        for reason, case_ids in refused.items():
            self.message_user(
                request,
                ngettext(
                    "%(decision)s refused for case %(ids)s: %(reason)s",
                    "%(decision)s refused for cases %(ids)s: %(reason)s",
                    len(case_ids),
                )
                % {
                    "decision": label,
                    "ids": ", ".join(f"#{case_id}" for case_id in case_ids),
                    "reason": reason,
                },
                messages.ERROR,
            )

    @admin.action(description=_("Confirm the block of the selected cases"), permissions=["decide"])
    def confirm(self, request, queryset):
        self._decide_each(request, queryset, Decision.CONFIRM)

    @admin.action(description=_("Restore the selected images"), permissions=["decide"])
    def restore(self, request, queryset):
        self._decide_each(request, queryset, Decision.RESTORE)

    @admin.action(
        description=_("Dismiss the open reports of the selected cases"), permissions=["decide"]
    )
    def dismiss(self, request, queryset):
        self._decide_each(request, queryset, Decision.DISMISS)

    @admin.action(description=_("Protect the selected images"), permissions=["decide"])
    def protect(self, request, queryset):
        self._decide_each(request, queryset, Decision.PROTECT)

    @admin.action(description=_("Unprotect the selected images"), permissions=["decide"])
    def unprotect(self, request, queryset):
        self._decide_each(request, queryset, Decision.UNPROTECT)

    @admin.action(
        description=_("Count the held reports of the selected cases"), permissions=["decide"]
    )
    def release(self, request, queryset):
        self._decide_each(request, queryset, Decision.RELEASE)
