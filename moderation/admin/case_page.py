"""The case page's lists: the latest reports with their reporters, the decision buttons
and the audit trail (the context of the case's change form)."""

from typing import Any

from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.db.models.options import Options
from django.http import HttpRequest
from django.urls import reverse

from moderation import audit_text, rules, selectors
from moderation.admin.base import CaseAdminMixinBase
from moderation.admin.display import DECISION_LABELS, number_text
from moderation.admin.forms import MUTE_REASON_MAX_LENGTH
from moderation.models import NOTE_MAX_LENGTH, ImageCase, Report, ReportOutcome
from moderation.services import Decision

# Reports listed on a case page; the rest are one link away.
CASE_PAGE_REPORTS = 100
# Reports that count nothing, marked on the case page.
UNCOUNTED_OUTCOMES = (ReportOutcome.HELD, ReportOutcome.MUTED)


def record_text(record: dict[str, int]) -> str:
    """A reporter's reports by outcome, every outcome they have: "open 1 · upheld 3 ·
    held (grouped reports) 1"."""
    parts = [
        f"{ReportOutcome(outcome).label} {n}"
        for outcome, n in record.items()
        if n and outcome in ReportOutcome.values
    ]
    return " · ".join(parts) or "—"


class CasePageMixin(CaseAdminMixinBase):
    """Adds the reports, decisions and audit trail to ImageCaseAdmin's change form."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._case_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _case_context(self, request: HttpRequest, case: ImageCase) -> dict:
        all_reports = case.image.reports.all()
        # A brigaded image can carry thousands: the page shows the latest, and
        # links to the full list in the reports changelist.
        reports = list(all_reports[:CASE_PAGE_REPORTS])
        # Records, current weights and mutes of every reporter listed: a fixed
        # number of queries, whatever the number of reports.
        profiles = selectors.reporter_profiles(
            reporter_keys=[report.reporter_key for report in reports],
            # As services.report_create weighs a signed-in reporter.
            staff_keys=[
                report.reporter_key for report in reports if rules.is_active_staff(report.user)
            ],
        )
        preserved: dict[str, Options[Any] | str] = {
            "preserved_filters": self.get_preserved_filters(request),
            "opts": self.opts,
        }
        can_decide = self.has_decide_permission(request)
        live_reports = sum(
            report.outcome in (ReportOutcome.OPEN, ReportOutcome.HELD) for report in all_reports
        )
        decisions = []
        if can_decide:
            decisions = [
                {
                    "value": decision.value,
                    "label": DECISION_LABELS[decision],
                    "url": add_preserved_filters(
                        preserved,
                        reverse(
                            "admin:moderation_imagecase_decide",
                            args=[case.pk, decision.value],
                        ),
                    ),
                }
                for decision in map(Decision, rules.DECISIONS)
                # Only the decisions that apply (services.case_decide decides for good).
                if rules.decision_refusal(
                    decision=decision,
                    state=case.state,
                    protected=case.protected,
                    live_reports=live_reports,
                    grouped_held=case.brigade_held_at is not None,
                )
                is None
            ]
        actions = [
            {
                "action": action,
                # In the reader's language, from the codes and figures (never JSON).
                "summary": audit_text.action_summary(action=action),
                "lines": audit_text.action_detail_lines(action=action),
            }
            for action in case.image.moderation_actions.all()
        ]
        return {
            "case_reports_total": len(all_reports),
            "case_reports_all_url": (
                reverse("admin:moderation_report_changelist") + f"?image__id__exact={case.image_id}"
            ),
            "case_reports": [
                self._report_row(case, report, profiles[report.reporter_key], can_decide, preserved)
                for report in reports
            ],
            "case_actions": actions,
            "case_held_since": case.brigade_held_at,
            "case_block_held": case.auto_block_held_at is not None,
            "case_held_count": sum(r.outcome == ReportOutcome.HELD for r in all_reports),
            "can_decide": can_decide,
            "decisions": decisions,
            "mute_reason_max_length": MUTE_REASON_MAX_LENGTH,
            # Enter in the form without a button adds a note, never a block.
            "note_url": next((d["url"] for d in decisions if d["value"] == Decision.NOTE), ""),
            "note_max_length": NOTE_MAX_LENGTH,
        }

    def _report_row(
        self,
        case: ImageCase,
        report: Report,
        profile: selectors.ReporterProfile,
        can_decide: bool,
        preserved: dict,
    ) -> dict:
        mute_action = ""
        if can_decide:
            name = "unmute_reporter" if profile.muted else "mute_reporter"
            mute_action = add_preserved_filters(
                preserved,
                reverse(f"admin:moderation_imagecase_{name}", args=[case.pk, report.pk]),
            )
        return {
            "report": report,
            "weight": number_text(report.weight),
            "uncounted": report.outcome in UNCOUNTED_OUTCOMES,
            "reporter": rules.reporter_label(reporter_key=report.reporter_key),
            "record": record_text(profile.record),
            "current_weight": number_text(profile.weight),
            "muted": profile.muted,
            "mute_action": mute_action,
        }
