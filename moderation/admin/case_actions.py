"""The queue's admin actions: the case page's decisions, on the selected cases, each
after a confirmation page (as Django's delete_selected asks before deleting)."""

from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from moderation import rules, selectors, services
from moderation.admin.base import CaseAdminMixinBase
from moderation.admin.case_columns import THUMBNAIL_BOX, image_tag
from moderation.admin.display import DECISION_LABELS, decision_error_text
from moderation.models import ImageCase
from moderation.permissions import acting_moderator
from moderation.services import Decision, DecisionError

# Cases listed on a confirmation page; a larger selection is counted, not listed.
CONFIRMATION_LISTED = 100


class CaseActionsMixin(CaseAdminMixinBase):
    """ImageCaseAdmin's actions, each case decided on its own through services.case_decide
    (one audit row each); refusals are reported by reason. Nothing is decided before the
    moderator confirms on an intermediate page, which says which cases will be refused."""

    def _confirm_then_decide(
        self, request: HttpRequest, queryset: QuerySet, decision: Decision
    ) -> TemplateResponse | None:
        if request.POST.get("post") == "yes":
            self._decide_each(request, queryset, decision)
            return None
        return self._confirmation(request, queryset, decision)

    def _confirmation(
        self, request: HttpRequest, queryset: QuerySet, decision: Decision
    ) -> TemplateResponse:
        select_across = request.POST.get("select_across") == "1"
        total = queryset.count()
        cases = list(queryset.select_related("image__article__source")[:CONFIRMATION_LISTED])
        live = selectors.live_report_counts(image_ids=[case.image_id for case in cases])
        rows = [
            {
                "case": case,
                "thumbnail": image_tag(case, THUMBNAIL_BOX, css_class="case-thumbnail"),
                # A preview: the service still decides for good (the case may change
                # between this page and the click).
                "refusal": rules.decision_refusal(
                    decision=decision,
                    state=case.state,
                    protected=case.protected,
                    live_reports=live[case.image_id],
                    grouped_held=case.brigade_held_at is not None,
                ),
            }
            for case in cases
        ]
        refused = sum(row["refusal"] is not None for row in rows)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Are you sure?"),
            "subtitle": DECISION_LABELS[decision],
            "opts": self.opts,
            "decision_label": DECISION_LABELS[decision],
            "action_name": request.POST.get("action", decision.value),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            # Every selected id is carried on, the unlisted ones too; "all N cases"
            # is carried as Django's select_across, with the filters in the URL.
            "selected_ids": (
                request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
                if select_across
                else list(queryset.values_list("pk", flat=True))
            ),
            "rows": rows,
            "total": total,
            "unlisted": total - len(rows),
            "refused": refused,
            "applied": len(rows) - refused,
            "select_across": int(select_across),
            # Back to the queue as it was filtered.
            "back_url": request.get_full_path(),
        }
        return TemplateResponse(
            request, "admin/moderation/imagecase/action_confirmation.html", context
        )

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
        return self._confirm_then_decide(request, queryset, Decision.CONFIRM)

    @admin.action(description=_("Restore the selected images"), permissions=["decide"])
    def restore(self, request, queryset):
        return self._confirm_then_decide(request, queryset, Decision.RESTORE)

    @admin.action(
        description=_("Dismiss the open reports of the selected cases"), permissions=["decide"]
    )
    def dismiss(self, request, queryset):
        return self._confirm_then_decide(request, queryset, Decision.DISMISS)

    @admin.action(description=_("Protect the selected images"), permissions=["decide"])
    def protect(self, request, queryset):
        return self._confirm_then_decide(request, queryset, Decision.PROTECT)

    @admin.action(description=_("Unprotect the selected images"), permissions=["decide"])
    def unprotect(self, request, queryset):
        return self._confirm_then_decide(request, queryset, Decision.UNPROTECT)

    @admin.action(
        description=_("Count the held reports of the selected cases"), permissions=["decide"]
    )
    def release(self, request, queryset):
        return self._confirm_then_decide(request, queryset, Decision.RELEASE)
