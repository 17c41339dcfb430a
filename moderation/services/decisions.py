"""Moderators' decisions on a case, and their undo: one transaction, one audit row each.

A decision refuses to apply when another moderator is examining the case (a claim,
services.claims) or when the case changed since the moderator last saw it
(`seen_action_id`, the latest audit row they were shown). Each decision's row keeps
what it changed (`details["undo"]`), so that its author can reverse it exactly for
MODERATION_UNDO_SECONDS.
"""

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from articles.models import Image
from moderation import metrics
from moderation.models import (
    BLOCKABLE_STATES,
    DECISION_KINDS,
    ActionKind,
    BlockedHash,
    CaseClaim,
    CaseState,
    ImageCase,
    ModerationAction,
    Report,
    ReportOutcome,
)
from moderation.rules import decision_refusal, moderator_name, needs_review, undo_deadline
from moderation.selectors import case_list_with_threshold, policy_for
from moderation.services import bans, outbox
from moderation.services.cases import (
    HOLDS,
    DecisionError,
    case_block,
    lift_holds,
    lock_case,
    refresh_needs_review,
)
from moderation.services.claims import claim_refuse

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


class DecisionConflict(DecisionError):
    """The case changed since the moderator saw it: someone else acted meanwhile."""

    def __init__(self, *, action: ModerationAction) -> None:
        self.action = action
        who = moderator_name(action.actor) if action.actor else _("the system")
        super().__init__(
            _("Meanwhile %(who)s acted on this case (%(what)s, at %(time)s): nothing was done.")
            % {
                "who": who,
                "what": action.get_action_display(),
                "time": timezone.localtime(action.created_at).strftime("%H:%M:%S"),
            }
        )


# One of a case's reports a decision moves: (id, outcome, weight).
_Row = tuple[int, str, Decimal]


@dataclass
class _Changes:
    """What a decision works on and changes besides the case row: the case's open and held
    reports (`live`, read under the case's lock), the reports it moved by their outcome
    before (for its undo), and the bans it created or lifted."""

    live: list[_Row]
    reports: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    bans_created: list[int] = field(default_factory=list)
    bans_lifted: list[int] = field(default_factory=list)

    def held(self) -> list[_Row]:
        return [row for row in self.live if row[1] == ReportOutcome.HELD]


def case_decide(
    *,
    case_id: int,
    decision: Decision,
    actor: User,
    note: str = "",
    seen_action_id: int | None = None,
) -> ModerationAction:
    """Apply one moderator decision to a case: one transaction, one audit row.

    `seen_action_id` is the latest audit row of the case the moderator was shown (0 for
    none); when another actor wrote a newer one, the decision is refused. Raises
    ImageCase.DoesNotExist, or DecisionError (ClaimConflict, DecisionConflict) when the
    decision does not apply to the case as it stands.
    """
    decision = Decision(decision)
    with transaction.atomic():
        # One read: the case locked, with its image, its claim and the policy's threshold.
        case = (
            case_list_with_threshold()
            .select_for_update(of=("self",))
            .select_related("image__article", "claim__moderator")
            .get(pk=case_id)
        )
        claim = getattr(case, "claim", None)
        claim_refuse(claim=claim, moderator=actor)
        if seen_action_id is not None:
            _conflict_check(case=case, seen_action_id=seen_action_id, actor=actor)
        before = {**_snapshot(case), "visibility": case.image.visibility}
        changes = _Changes(live=_live_reports(case=case) if decision in _MOVING else [])
        refusal = decision_refusal(
            decision=decision,
            state=case.state,
            protected=case.protected,
            live_reports=len(changes.live),
            grouped_held=case.brigade_held_at is not None,
        )
        if refusal is not None:
            raise DecisionError(refusal)
        details = _DECISIONS[decision](case=case, note=note, changes=changes)
        if decision != Decision.NOTE:
            # Under the case's lock nothing else changes the row: its new values are
            # known here, and written in one UPDATE.
            case.reviewed_by = actor
            case.reviewed_at = timezone.now()
            case.needs_review = needs_review(
                state=case.state,
                protected=case.protected,
                open_report_count=case.open_report_count,
                threshold=case.threshold,
                grouped_held=case.brigade_held_at is not None,
                blocked_at=case.blocked_at,
                reviewed_at=case.reviewed_at,
            )
            case.save(update_fields=_DECIDED_FIELDS)
            details["undo"] = {
                "before": before,
                "after": _snapshot(case),
                "reports": dict(changes.reports),
                "bans_created": changes.bans_created,
                "bans_lifted": changes.bans_lifted,
            }
            if claim is not None:
                # The decision ends the examination; the next case opened claims anew.
                CaseClaim.objects.filter(case_id=case.pk, moderator=actor).delete()
        action = ModerationAction.objects.create(
            image_id=case.image_id,
            action=_ACTION_OF[decision],
            actor=actor,
            reason=note,
            details={"previous_state": before["state"], "state": case.state, **details},
        )
    if decision == Decision.CONFIRM and before["state"] in BLOCKABLE_STATES:
        metrics.image_blocked(kind="moderator")
    if decision in (Decision.UNPROTECT, Decision.RELEASE):
        # The case may be over its threshold already: let the block path decide now.
        transaction.on_commit(lambda: outbox.enqueue_auto_block(image_id=case.image_id))
    return action


# What a decision may change in its case's row (services.cases.case_block writes the
# block's own compare-and-set first).
_DECIDED_FIELDS = [
    "state",
    "protected",
    "open_report_count",
    "score",
    "blocked_at",
    *HOLDS,
    "reviewed_by",
    "reviewed_at",
    "needs_review",
]


def decision_undo(*, action_id: int, actor: User, now: datetime | None = None) -> ModerationAction:
    """Reverse a decision exactly (the case's state, counts and holds, its reports'
    outcomes and so their reporters' weights, the image's visibility, the bans), within
    MODERATION_UNDO_SECONDS of it, by its author, while nothing else happened to the
    case. One transaction; the undo writes its own audit row.

    Raises ModerationAction.DoesNotExist, or DecisionError when it cannot be undone.
    """
    now = now or timezone.now()
    image_id = (
        ModerationAction.objects.filter(pk=action_id).values_list("image_id", flat=True).get()
    )
    with transaction.atomic():
        case = lock_case(image_id=image_id) if image_id is not None else None
        action = ModerationAction.objects.get(pk=action_id)
        if case is None or action.action not in DECISION_KINDS or "undo" not in action.details:
            raise DecisionError(_("This action cannot be undone."))
        if action.actor_id != actor.pk:
            raise DecisionError(_("Only the moderator who took a decision can undo it."))
        if now > undo_deadline(decided_at=action.created_at):
            raise DecisionError(
                _("Too late: a decision can be undone for %(seconds)d seconds.")
                % {"seconds": settings.MODERATION_UNDO_SECONDS}
            )
        later = (
            ModerationAction.objects.select_related("actor")
            .filter(image_id=image_id, pk__gt=action.pk)
            .exclude(action=ActionKind.NOTE)
            .order_by("pk")
            .first()
        )
        if later is not None:
            if later.action == ActionKind.UNDO:
                raise DecisionError(_("This decision is already undone."))
            raise DecisionConflict(action=later)
        undo: dict[str, Any] = action.details["undo"]
        before, after = undo["before"], undo["after"]
        for outcome, report_ids in undo["reports"].items():
            Report.objects.filter(pk__in=report_ids).update(outcome=outcome)
        # Counts by difference: reports that arrived since the decision stay counted.
        ImageCase.objects.filter(pk=case.pk).update(
            open_report_count=F("open_report_count")
            + (before["open_report_count"] - after["open_report_count"]),
            score=F("score") + (Decimal(before["score"]) - Decimal(after["score"])),
            state=before["state"],
            protected=before["protected"],
            blocked_at=_when(before["blocked_at"]),
            brigade_held_at=_when(before["brigade_held_at"]),
            auto_block_held_at=_when(before["auto_block_held_at"]),
            reviewed_by_id=before["reviewed_by_id"],
            reviewed_at=_when(before["reviewed_at"]),
        )
        refresh_needs_review(
            cases=ImageCase.objects.filter(pk=case.pk),
            threshold=policy_for(source_id=case.image.article.source_id).threshold,
        )
        Image.objects.filter(pk=image_id).update(visibility=before["visibility"])
        _bans_revert(created=undo["bans_created"], lifted=undo["bans_lifted"], now=now)
        undone = ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.UNDO,
            actor=actor,
            details={
                "undone_action": action.pk,
                "undone": action.action,
                "previous_state": case.state,
                "state": before["state"],
            },
        )
    if before["state"] in BLOCKABLE_STATES and not before["protected"]:
        # Counts came back (an undone dismissal): let the block path judge them.
        transaction.on_commit(lambda: outbox.enqueue_auto_block(image_id=image_id))
    return undone


def _conflict_check(*, case: ImageCase, seen_action_id: int, actor: User) -> None:
    newer = (
        ModerationAction.objects.select_related("actor")
        .filter(image_id=case.image_id, pk__gt=seen_action_id)
        .exclude(action=ActionKind.NOTE)
        .exclude(actor=actor)
        .order_by("-pk")
        .first()
    )
    if newer is not None:
        raise DecisionConflict(action=newer)


def _snapshot(case: ImageCase) -> dict[str, Any]:
    """The case's fields a decision may change, as JSON."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "state": str(case.state),
        "protected": case.protected,
        "open_report_count": case.open_report_count,
        "score": str(case.score),
        "blocked_at": iso(case.blocked_at),
        "brigade_held_at": iso(case.brigade_held_at),
        "auto_block_held_at": iso(case.auto_block_held_at),
        "reviewed_by_id": case.reviewed_by_id,
        "reviewed_at": iso(case.reviewed_at),
    }


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _bans_revert(*, created: list[int], lifted: list[int], now: datetime) -> None:
    changed = BlockedHash.objects.filter(pk__in=created, lifted_at__isnull=True).update(
        lifted_at=now
    )
    changed += BlockedHash.objects.filter(pk__in=lifted).update(lifted_at=None)
    if changed:
        bans.bans_changed()
    if lifted:
        outbox.enqueue_ban_sweep_on_commit(ban_ids=lifted)


def _live_reports(*, case: ImageCase) -> list[_Row]:
    """The case's open and held reports, read under its lock: what the decisions judge."""
    return _reports_in(case=case, outcomes=[ReportOutcome.OPEN, ReportOutcome.HELD])


def _reports_in(*, case: ImageCase, outcomes: list[str]) -> list[_Row]:
    return [
        (pk, outcome, Decimal(weight))
        for pk, outcome, weight in Report.objects.filter(
            image_id=case.image_id, outcome__in=outcomes
        ).values_list("pk", "outcome", "weight")
    ]


def _move(*, rows: list[_Row], to: str, changes: _Changes) -> tuple[int, Decimal]:
    """Give the reports `rows` the outcome `to`, recording each one's outcome before for
    an undo. Returns how many moved and their total weight."""
    for report_id, outcome, _weight in rows:
        changes.reports[outcome].append(report_id)
    if rows:
        Report.objects.filter(pk__in=[row[0] for row in rows]).update(outcome=to)
    return len(rows), sum((row[2] for row in rows), Decimal(0))


def _confirm(*, case: ImageCase, note: str, changes: _Changes) -> Details:
    # The readers were right, those held as grouped too: the block counts them all.
    held, held_weight = len(changes.held()), sum((row[2] for row in changes.held()), Decimal(0))
    upheld, _weight = _move(rows=changes.live, to=ReportOutcome.UPHELD, changes=changes)
    case.open_report_count += held
    case.score += held_weight
    lift_holds(case=case)
    details: Details = {"upheld_reports": upheld}
    if case.state in BLOCKABLE_STATES:
        # Agreeing with the readers before the threshold blocks the image now.
        banned = case_block(case=case, state=CaseState.BLOCKED, now=timezone.now())
        if banned is None:
            raise DecisionError(_("The case changed meanwhile: nothing was done."))
        details["banned_hashes"] = banned
        changes.bans_created = banned
    case.state = CaseState.BLOCKED
    return details


def _restore(*, case: ImageCase, note: str, changes: _Changes) -> Details:
    # Reports a moderator upheld earlier are overturned with the block.
    upheld = _reports_in(case=case, outcomes=[ReportOutcome.UPHELD])
    dismissed, _weight = _move(
        rows=[*changes.live, *upheld], to=ReportOutcome.DISMISSED, changes=changes
    )
    # The dismissed reporters can't report this image again (one report per
    # reader), so only new distinct readers can block it from here.
    case.state = CaseState.RESTORED
    case.blocked_at = None
    case.open_report_count = 0
    case.score = Decimal(0)
    lift_holds(case=case)
    Image.objects.filter(pk=case.image_id).update(visibility=Image.Visibility.VISIBLE)
    changes.bans_lifted = bans.image_unban(image_id=case.image_id)
    return {"dismissed_reports": dismissed, "lifted_bans": changes.bans_lifted}


def _dismiss(*, case: ImageCase, note: str, changes: _Changes) -> Details:
    # The held reports too: the moderator saw the whole burst.
    dismissed, _weight = _move(rows=changes.live, to=ReportOutcome.DISMISSED, changes=changes)
    case.open_report_count = 0
    case.score = Decimal(0)
    lift_holds(case=case)
    return {"dismissed_reports": dismissed}


def _protect(*, case: ImageCase, note: str, changes: _Changes) -> Details:
    case.protected = True
    return {}


def _unprotect(*, case: ImageCase, note: str, changes: _Changes) -> Details:
    case.protected = False
    return {}


def _release(*, case: ImageCase, note: str, changes: _Changes) -> Details:
    """The grouped reports were genuine: count the held ones, lift the hold. The count
    is written under the case's lock: nothing else changes it meanwhile."""
    count, weight = _move(rows=changes.held(), to=ReportOutcome.OPEN, changes=changes)
    case.open_report_count += count
    case.score += weight
    lift_holds(case=case)
    return {"released_reports": count, "released_weight": float(weight)}


def _note(*, case: ImageCase, note: str, changes: _Changes) -> Details:
    if not note.strip():
        raise DecisionError(_("A note needs some text."))
    return {}


# The decisions that move reports, and so read the case's open and held ones first.
_MOVING = frozenset({Decision.CONFIRM, Decision.RESTORE, Decision.DISMISS, Decision.RELEASE})
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
