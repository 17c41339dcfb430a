"""Every write to moderation state goes through this package, by area; callers read
`services.report_create(...)`. Each state change writes exactly one ModerationAction in
its transaction. The case primitives every area shares are in services.cases."""

from moderation.services.bans import bans_import
from moderation.services.blocks import BlockVia, case_auto_block, sweep_due_blocks
from moderation.services.cases import DecisionError
from moderation.services.claims import ClaimConflict, case_claim, case_release
from moderation.services.decisions import Decision, DecisionConflict, case_decide, decision_undo
from moderation.services.expiry import reports_expire
from moderation.services.hash_blocks import (
    BanMatch,
    check_hash_bans,
    hash_bans_sweep,
    image_check_hash_bans,
)
from moderation.services.policies import needs_review_refresh_all, policy_save
from moderation.services.reporters import (
    reporter_mute,
    reporter_unmute,
    reports_purge_personal_data,
)
from moderation.services.reports import ReportReceipt, ReportResult, report_create

__all__ = [
    "BanMatch",
    "BlockVia",
    "ClaimConflict",
    "Decision",
    "DecisionConflict",
    "DecisionError",
    "ReportReceipt",
    "ReportResult",
    "bans_import",
    "case_auto_block",
    "case_claim",
    "case_decide",
    "case_release",
    "check_hash_bans",
    "decision_undo",
    "hash_bans_sweep",
    "image_check_hash_bans",
    "needs_review_refresh_all",
    "policy_save",
    "report_create",
    "reporter_mute",
    "reporter_unmute",
    "reports_expire",
    "reports_purge_personal_data",
    "sweep_due_blocks",
]
