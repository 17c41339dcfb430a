"""Moderators' decisions on a case: one transaction, one audit row each."""

import enum
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from articles.models import Image
from moderation import metrics
from moderation.models import (
    BLOCKABLE_STATES,
    BLOCKED_STATES,
    ActionKind,
    CaseState,
    ImageCase,
    ModerationAction,
    Report,
    ReportOutcome,
)
from moderation.selectors import policy_for
from moderation.services import bans, outbox
from moderation.services.cases import (
    HOLDS,
    DecisionError,
    case_block,
    lift_holds,
    refresh_needs_review,
)

# What a decision adds to its audit row's details (JSON).
Details = dict[str, object]


class Decision(enum.StrEnum):
    CONFIRM = "confirm"
    RESTORE = "restore"
    DISMISS = "dismiss"
    PROTECT = "protect"
    UNPROTECT = "unprotect"
    NOTE = "note"
    RELEASE = "release"


def case_decide(
    *, case_id: int, decision: Decision, actor: User, note: str = ""
) -> ModerationAction:
    """Apply one moderator decision to a case: one transaction, one audit row.

    Raises ImageCase.DoesNotExist, or DecisionError when the decision does not
    apply to the case in its current state.
    """
    with transaction.atomic():
        case = (
            ImageCase.objects.select_for_update(of=("self",))
            .select_related("image__article")
            .get(pk=case_id)
        )
        previous_state = case.state
        details = _DECISIONS[Decision(decision)](case=case, note=note)
        if decision != Decision.NOTE:
            case.reviewed_by = actor
            case.reviewed_at = timezone.now()
            case.save(update_fields=["reviewed_by", "reviewed_at"])
            refresh_needs_review(
                cases=ImageCase.objects.filter(pk=case.pk),
                threshold=policy_for(source_id=case.image.article.source_id).threshold,
            )
        action = ModerationAction.objects.create(
            image_id=case.image_id,
            action=_ACTION_OF[Decision(decision)],
            actor=actor,
            reason=note,
            details={"previous_state": previous_state, "state": case.state, **details},
        )
    if decision == Decision.CONFIRM and previous_state in BLOCKABLE_STATES:
        metrics.image_blocked(kind="moderator")
    if decision in (Decision.UNPROTECT, Decision.RELEASE):
        # The case may be over its threshold already: let the block path decide now.
        transaction.on_commit(lambda: outbox.enqueue_auto_block(image_id=case.image_id))
    return action


def _confirm(*, case: ImageCase, note: str) -> Details:
    if case.state == CaseState.BLOCKED:
        raise DecisionError(_("The block is already confirmed."))
    if case.protected:
        raise DecisionError(_("The image is protected: unprotect it before blocking it."))
    # The readers were right, those held as grouped too: the block counts them all.
    held = _count_held_reports(case=case, outcome=ReportOutcome.UPHELD)
    upheld = Report.objects.filter(image_id=case.image_id, outcome=ReportOutcome.OPEN).update(
        outcome=ReportOutcome.UPHELD
    )
    details: Details = {"upheld_reports": upheld + held["count"]}
    if case.state in BLOCKABLE_STATES:
        # Agreeing with the readers before the threshold blocks the image now.
        banned = case_block(case=case, state=CaseState.BLOCKED, now=timezone.now())
        if banned is None:
            raise DecisionError(_("The case changed meanwhile: nothing was done."))
        details["banned_hashes"] = banned
    case.state = CaseState.BLOCKED
    case.save(update_fields=["state", "blocked_at", "open_report_count", "score", *HOLDS])
    case.refresh_from_db(fields=["open_report_count", "score"])
    return details


def _restore(*, case: ImageCase, note: str) -> Details:
    if case.state not in BLOCKED_STATES:
        raise DecisionError(_("Only a blocked image can be restored."))
    # Reports a moderator upheld earlier are overturned with the block.
    dismissed = Report.objects.filter(
        image_id=case.image_id,
        outcome__in=[ReportOutcome.OPEN, ReportOutcome.UPHELD, ReportOutcome.HELD],
    ).update(outcome=ReportOutcome.DISMISSED)
    # The dismissed reporters can't report this image again (one report per
    # reader), so only new distinct readers can block it from here.
    case.state = CaseState.RESTORED
    case.blocked_at = None
    case.open_report_count = 0
    case.score = 0
    lift_holds(case=case)
    case.save(update_fields=["state", "blocked_at", "open_report_count", "score", *HOLDS])
    Image.objects.filter(pk=case.image_id).update(visibility=Image.Visibility.VISIBLE)
    return {"dismissed_reports": dismissed, "lifted_bans": bans.image_unban(image_id=case.image_id)}


def _dismiss(*, case: ImageCase, note: str) -> Details:
    # The held reports too: the moderator saw the whole burst.
    dismissed = Report.objects.filter(
        image_id=case.image_id, outcome__in=[ReportOutcome.OPEN, ReportOutcome.HELD]
    ).update(outcome=ReportOutcome.DISMISSED)
    if not dismissed:
        raise DecisionError(_("There are no open reports to dismiss."))
    case.open_report_count = 0
    case.score = 0
    lift_holds(case=case)
    case.save(update_fields=["open_report_count", "score", *HOLDS])
    return {"dismissed_reports": dismissed}


def _protect(*, case: ImageCase, note: str) -> Details:
    if case.protected:
        raise DecisionError(_("The image is already protected."))
    if case.state in BLOCKED_STATES:
        raise DecisionError(_("The image is blocked: restore it before protecting it."))
    case.protected = True
    case.save(update_fields=["protected"])
    return {}


def _unprotect(*, case: ImageCase, note: str) -> Details:
    if not case.protected:
        raise DecisionError(_("The image is not protected."))
    case.protected = False
    case.save(update_fields=["protected"])
    return {}


def _release(*, case: ImageCase, note: str) -> Details:
    """The grouped reports were genuine: count the held ones, lift the hold."""
    if case.brigade_held_at is None:
        raise DecisionError(_("No grouped reports are held on this image."))
    if case.state not in BLOCKABLE_STATES:
        raise DecisionError(_("The image is blocked: there is nothing to release."))
    totals = _count_held_reports(case=case, outcome=ReportOutcome.OPEN)
    case.save(update_fields=["open_report_count", "score", *HOLDS])
    case.refresh_from_db(fields=["open_report_count", "score"])
    return {
        "released_reports": totals["count"],
        "released_weight": float(totals["weight"] or 0),
    }


def _count_held_reports(*, case: ImageCase, outcome: str) -> dict[str, Any]:
    """Count a case's held reports after all, as a moderator judged the burst: they
    take `outcome` and join the count and score; the hold is lifted. The caller saves."""
    held = Report.objects.filter(image_id=case.image_id, outcome=ReportOutcome.HELD)
    totals = held.aggregate(count=Count("id"), weight=Sum("weight"))
    held.update(outcome=outcome)
    case.open_report_count = F("open_report_count") + totals["count"]
    case.score = F("score") + (totals["weight"] or 0)
    lift_holds(case=case)
    return totals


def _note(*, case: ImageCase, note: str) -> Details:
    if not note.strip():
        raise DecisionError(_("A note needs some text."))
    return {}


_DECISIONS = {
    Decision.CONFIRM: _confirm,
    Decision.RESTORE: _restore,
    Decision.DISMISS: _dismiss,
    Decision.PROTECT: _protect,
    Decision.UNPROTECT: _unprotect,
    Decision.NOTE: _note,
    Decision.RELEASE: _release,
}
_ACTION_OF = {
    Decision.CONFIRM: ActionKind.CONFIRM,
    Decision.RESTORE: ActionKind.RESTORE,
    Decision.DISMISS: ActionKind.DISMISS,
    Decision.PROTECT: ActionKind.PROTECT,
    Decision.UNPROTECT: ActionKind.UNPROTECT,
    Decision.NOTE: ActionKind.NOTE,
    Decision.RELEASE: ActionKind.RELEASE,
}
