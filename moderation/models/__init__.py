"""The moderation models, one module per area; every name is importable from here.

The modules are imported in the order their models were declared in the one module they
came from: Django registers models in import order, which is the order of
`apps.get_models()` and so of the content types and permissions `migrate` creates.
"""

# isort: off
from moderation.models.reports import COMMENT_MAX_LENGTH, Reason, Report, ReportOutcome
from moderation.models.cases import BLOCKABLE_STATES, BLOCKED_STATES, CaseState, ImageCase
from moderation.models.reporters import MutedAddress, ReporterMute
from moderation.models.policies import Policy, _default_window_days
from moderation.models.audit import (
    DECISION_KINDS,
    NOTE_MAX_LENGTH,
    ActionKind,
    ModerationAction,
)
from moderation.models.moderators import (
    DEFAULT_IMMEDIATE_REASONS,
    MODERATORS_GROUP,
    ModeratorNotification,
    ModeratorPreferences,
    NotificationEvent,
)
from moderation.models.bans import BanKind, BanSource, BlockedHash, BlockedHashVersion
from moderation.models.claims import CaseClaim

# isort: on

__all__ = [
    "BLOCKABLE_STATES",
    "BLOCKED_STATES",
    "COMMENT_MAX_LENGTH",
    "DECISION_KINDS",
    "DEFAULT_IMMEDIATE_REASONS",
    "MODERATORS_GROUP",
    "NOTE_MAX_LENGTH",
    "ActionKind",
    "BanKind",
    "BanSource",
    "BlockedHash",
    "BlockedHashVersion",
    "CaseClaim",
    "CaseState",
    "ImageCase",
    "ModerationAction",
    "ModeratorNotification",
    "ModeratorPreferences",
    "MutedAddress",
    "NotificationEvent",
    "Policy",
    "Reason",
    "Report",
    "ReportOutcome",
    "ReporterMute",
    # Migration 0003 names the policy's default by this path.
    "_default_window_days",
]
