"""Reads of moderation state shared by the API, the tasks, the admin and the services,
by area. Callers read `selectors.case_queue_list(...)`; the rules these reads apply live
in moderation.rules."""

from moderation.selectors.bursts import report_burst_counts
from moderation.selectors.cases import (
    action_list,
    case_get,
    case_list_due_for_block,
    case_queue_filter,
    case_queue_list,
    held_report_counts,
    live_report_counts,
    reason_breakdown,
)
from moderation.selectors.notifications import (
    NotificationRecipient,
    immediate_reasons_wanted,
    notification_recipients,
)
from moderation.selectors.policies import (
    CaseWithThreshold,
    case_list_with_threshold,
    cases_under_policy,
    image_ids_with_expired_reports,
    image_report_target,
    policy_for,
)
from moderation.selectors.queue import (
    TAB_CONDITIONS,
    ModeratorFigures,
    QueueSummary,
    QueueTab,
    moderator_figures,
    queue_summary,
)
from moderation.selectors.reporters import (
    ReporterProfile,
    ReporterStanding,
    report_reporter_key,
    reporter_profiles,
    reporter_records,
    reporter_standing,
    reporter_weight,
)
from moderation.selectors.stats import ModerationStats, moderation_stats
from moderation.selectors.workspace import (
    WorkspaceCard,
    WorkspacePage,
    case_id_of_image,
    decisions_that_apply,
    undoable_decision,
    workspace_next_case_id,
    workspace_page,
)

__all__ = [
    "TAB_CONDITIONS",
    "CaseWithThreshold",
    "ModerationStats",
    "ModeratorFigures",
    "NotificationRecipient",
    "QueueSummary",
    "QueueTab",
    "ReporterProfile",
    "ReporterStanding",
    "WorkspaceCard",
    "WorkspacePage",
    "action_list",
    "case_get",
    "case_id_of_image",
    "case_list_due_for_block",
    "case_list_with_threshold",
    "case_queue_filter",
    "case_queue_list",
    "cases_under_policy",
    "decisions_that_apply",
    "held_report_counts",
    "image_ids_with_expired_reports",
    "image_report_target",
    "immediate_reasons_wanted",
    "live_report_counts",
    "moderation_stats",
    "moderator_figures",
    "notification_recipients",
    "policy_for",
    "queue_summary",
    "reason_breakdown",
    "report_burst_counts",
    "report_reporter_key",
    "reporter_profiles",
    "reporter_records",
    "reporter_standing",
    "reporter_weight",
    "undoable_decision",
    "workspace_next_case_id",
    "workspace_page",
]
