"""Every write to moderation state goes through this module.

Each state change writes exactly one ModerationAction in the same transaction.
"""

import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Case, Count, F, Max, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image as PILImage
from PIL import ImageOps

from articles.models import Image
from articles.processing import ARTICLE_SIZE
from moderation import bans as bans_module
from moderation import hashing, metrics
from moderation.models import (
    BLOCKABLE_STATES,
    BLOCKED_STATES,
    ActionKind,
    BanKind,
    BanSource,
    BlockedHash,
    BlockedHashVersion,
    CaseState,
    ImageCase,
    ModerationAction,
    MutedAddress,
    Policy,
    Reason,
    Report,
    ReporterMute,
    ReportOutcome,
)
from moderation.selectors import (
    Burst,
    BurstCounts,
    burst_of,
    case_list_due_for_block,
    half_threshold,
    image_ids_with_expired_reports,
    image_report_target,
    needs_review_condition,
    network_allowance,
    policy_for,
    report_burst_counts,
    reporter_standing,
    threshold_reached,
)
from newsroom.publishing import enqueue

logger = logging.getLogger(__name__)


class ReportResult(enum.Enum):
    CREATED = "created"
    REPEAT = "repeat"
    ALREADY_BLOCKED = "already_blocked"


@dataclass(frozen=True)
class ReportReceipt:
    result: ReportResult
    open_report_count: int | None = None
    score: Decimal | None = None
    block_enqueued: bool = False
    # A new report that counts nothing: its reporter is muted, or it was held as
    # part of a burst of grouped reports.
    outcome: str = ReportOutcome.OPEN


# ON CONFLICT DO NOTHING makes a repeat cost one statement and no savepoint;
# RETURNING tells us whether this reader's report is new. A repeat is a second
# report by one reporter key, or by one anonymous IP (both unique indexes, hence
# no conflict target). Both PostgreSQL and SQLite (>= 3.35) speak this dialect.
_INSERT_REPORT_SQL = """
INSERT INTO moderation_report
    (image_id, reporter_key, user_id, ip_hash, network_hash, reason, comment, weight, outcome,
     created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
RETURNING id
"""

# The increment happens inside the database in one statement: concurrent
# reports serialise on the case row, so no count is ever lost. The count only
# grows here, so needs_review (selectors.needs_review_condition) can only turn
# on: when a visible, unprotected case reaches half its threshold.
_COUNT_REPORT_SQL = """
INSERT INTO moderation_imagecase
    (image_id, open_report_count, score, state, protected, first_reported_at, last_reported_at,
     needs_review)
VALUES (%(image_id)s, 1, %(weight)s, 'flagged', FALSE, %(now)s, %(now)s, 1 >= %(half)s)
ON CONFLICT (image_id) DO UPDATE SET
    open_report_count = moderation_imagecase.open_report_count + 1,
    score = moderation_imagecase.score + excluded.score,
    last_reported_at = excluded.last_reported_at,
    needs_review = moderation_imagecase.needs_review OR (
        moderation_imagecase.state IN ('flagged', 'restored')
        AND NOT moderation_imagecase.protected
        AND moderation_imagecase.open_report_count + 1 >= %(half)s
    )
RETURNING id, open_report_count, score, state, protected, brigade_held_at, auto_block_held_at
"""


def report_create(
    *,
    image_id: int,
    reporter_key: str,
    reason: str,
    comment: str = "",
    user_id: int | None = None,
    ip_hash: str = "",
    network_hash: str = "",
) -> ReportReceipt:
    """Record one reader's report on an image and count it.

    A repeat (by the same reporter, or by the same IP when anonymous), or a
    report on an image already blocked, stores and counts nothing. The report
    weighs what its reporter's record says (selectors.reporter_standing); a muted
    reporter's report is stored uncounted; a report in a burst of grouped reports
    is held uncounted and holds the automatic block for a moderator. When the
    report brings the case to its threshold, `moderation.tasks.auto_block` is
    enqueued after commit.

    Raises Image.DoesNotExist for an unknown image.
    """
    receipt = _report_record(
        image_id=image_id,
        reporter_key=reporter_key,
        reason=reason,
        comment=comment,
        user_id=user_id,
        ip_hash=ip_hash,
        network_hash=network_hash,
    )
    if receipt.result is ReportResult.CREATED:
        metrics.report_received(outcome=receipt.outcome)
    elif receipt.result is ReportResult.REPEAT:
        metrics.report_repeated()
    else:
        metrics.report_refused(reason="already_blocked")
    return receipt


def _report_record(
    *,
    image_id: int,
    reporter_key: str,
    reason: str,
    comment: str,
    user_id: int | None,
    ip_hash: str,
    network_hash: str,
) -> ReportReceipt:
    if reason not in Reason.values:
        raise ValueError(f"unknown reason {reason!r}")
    if not reporter_key:
        raise ValueError("a report needs a reporter key")

    with transaction.atomic():
        visibility, threshold = image_report_target(image_id=image_id)
        if visibility == Image.Visibility.BLOCKED:
            return ReportReceipt(result=ReportResult.ALREADY_BLOCKED)

        is_staff = user_id is not None and _user_is_staff(user_id=user_id)
        standing = reporter_standing(
            reporter_key=reporter_key,
            is_staff=is_staff,
            anonymous_ip_hash=ip_hash if user_id is None else "",
        )
        muted, weight = standing.muted, standing.weight
        outcome = ReportOutcome.MUTED if muted else ReportOutcome.OPEN
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_REPORT_SQL,
                [
                    *(image_id, reporter_key, user_id, ip_hash, network_hash),
                    *(reason, comment, weight, outcome, now),
                ],
            )
            inserted = cursor.fetchone()
            if inserted is None:
                return ReportReceipt(result=ReportResult.REPEAT)
            report_id = inserted[0]
            if muted:
                _mute_follow_address(reporter_key=reporter_key, ip_hash=ip_hash, now=now)
                return ReportReceipt(result=ReportResult.CREATED, outcome=outcome)
            cursor.execute(
                _COUNT_REPORT_SQL,
                {
                    "image_id": image_id,
                    "weight": weight,
                    "now": now,
                    "half": half_threshold(threshold),
                },
            )
            case_id, count, score, state, protected, held_since, block_held_since = (
                cursor.fetchone()
            )
        score = _decimal(score)

        # Counted under the case row's lock (taken by the count above), so
        # concurrent reports of one burst are judged one after the other. Staff
        # reports are never part of a brigade.
        if not is_staff:
            allowance = network_allowance(threshold=threshold)
            counts = report_burst_counts(
                image_id=image_id, network_hash=network_hash, now=now, allowance=allowance
            )
            burst = burst_of(counts=counts, allowance=allowance)
            if burst is not None:
                _report_hold(
                    report_id=report_id,
                    case_id=case_id,
                    image_id=image_id,
                    weight=weight,
                    now=now,
                    burst=burst,
                    counts=counts,
                    allowance=allowance,
                    # The first hold of its kind in an episode is a change of state.
                    first=not (block_held_since if burst is Burst.RATE else held_since),
                )
                _refresh_needs_review(
                    cases=ImageCase.objects.filter(pk=case_id), threshold=threshold
                )
                return ReportReceipt(
                    result=ReportResult.CREATED,
                    open_report_count=count - 1,
                    score=score - weight,
                    outcome=ReportOutcome.HELD,
                )

        due = (
            state in BLOCKABLE_STATES
            and not protected
            and not block_held_since
            and _crosses_threshold(count=count, score=score, weight=weight, threshold=threshold)
        )
        if due:
            transaction.on_commit(lambda: _enqueue_auto_block(image_id=image_id))
        # A count of 1 means this report found the case without open reports: its
        # first ever, or the first since they were all closed (restore, dismissal,
        # expiry). The atomic count gives exactly one such report per episode. A
        # protected image waits for nobody's review, so nobody is mailed.
        if count == 1 and state in BLOCKABLE_STATES and not protected:
            transaction.on_commit(
                lambda: _enqueue_notification(task_name="notify_first_report", object_id=report_id)
            )

    return ReportReceipt(
        result=ReportResult.CREATED, open_report_count=count, score=score, block_enqueued=due
    )


def _user_is_staff(*, user_id: int) -> bool:
    return get_user_model().objects.filter(pk=user_id, is_staff=True, is_active=True).exists()


def _decimal(value: Decimal | float | int) -> Decimal:
    # SQLite hands a numeric column back as an int or a float.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _report_hold(
    *,
    report_id: int,
    case_id: int,
    image_id: int,
    weight: Decimal,
    now: datetime,
    burst: Burst,
    counts: BurstCounts,
    allowance: int,
    first: bool,
) -> None:
    """Take a report of a burst back out of the count, for a moderator to judge. A burst
    from one network holds only its own extra reports; a burst across networks (the rate
    rule) also holds the case's automatic block. The first hold of its kind in an
    episode writes the action."""
    Report.objects.filter(pk=report_id).update(outcome=ReportOutcome.HELD)
    held = {"brigade_held_at": Coalesce(F("brigade_held_at"), Value(now))}
    if burst is Burst.RATE:
        held["auto_block_held_at"] = Coalesce(F("auto_block_held_at"), Value(now))
    ImageCase.objects.filter(pk=case_id).update(
        open_report_count=F("open_report_count") - 1, score=F("score") - weight, **held
    )
    if not first:
        return
    if burst is Burst.RATE:
        reason = (
            f"{counts.recent} reports in {settings.BRIGADE_WINDOW_SECONDS // 60} min: "
            "automatic block held for a moderator"
        )
    else:
        reason = (
            f"more than {allowance} reports from one network: "
            "its further reports held for a moderator"
        )
    ModerationAction.objects.create(
        image_id=image_id,
        action=ActionKind.BRIGADE_HOLD,
        actor=None,
        reason=reason,
        details={
            "burst": str(burst),
            "recent_reports": counts.recent,
            "from_one_network": counts.network_counted,
            "network_allowance": allowance,
            "reports_day_before": counts.earlier,
            "window_seconds": settings.BRIGADE_WINDOW_SECONDS,
            "report_id": report_id,
        },
    )


def _crosses_threshold(*, count: int, score: Decimal, weight: Decimal, threshold: int) -> bool:
    # Only the report that reaches the threshold enqueues: a brigade of
    # thousands sends one message, not thousands. Should that message be
    # lost, the sweeper applies the block.
    return threshold_reached(
        open_report_count=count, score=score, threshold=threshold
    ) and not threshold_reached(
        open_report_count=count - 1, score=score - weight, threshold=threshold
    )


# What was committed (a report, a block) stands whether or not its message
# reaches the broker: the database is the truth.


def _send(*, task_name: str, argument: int | list[int], if_lost: str) -> None:
    # Imported here: tasks import this module.
    from moderation import tasks

    enqueue(task=getattr(tasks, task_name), argument=argument, if_lost=if_lost)


def _enqueue_auto_block(*, image_id: int) -> None:
    _send(task_name="auto_block", argument=image_id, if_lost="the sweeper will block it")


def _enqueue_notification(*, task_name: str, object_id: int) -> None:
    # The case is in the admin queue and the digest either way.
    _send(task_name=task_name, argument=object_id, if_lost="no email for it")


class BlockVia(enum.StrEnum):
    TASK = "task"
    SWEEPER = "sweeper"


def case_auto_block(*, image_id: int, via: BlockVia = BlockVia.TASK) -> bool:
    """Block an image whose case has reached its threshold. Idempotent.

    Returns True when this call blocked the image, False when there was
    nothing to do (already blocked, protected, held as grouped reports, below
    threshold, no case).
    """
    with transaction.atomic():
        case = _lock_case(image_id=image_id)
        if case is None or case.state not in BLOCKABLE_STATES or case.protected:
            return False
        # A burst across networks holds the block for a moderator, even one enqueued
        # before the burst was noticed.
        if case.auto_block_held_at is not None:
            return False
        # Re-check against the policy in force now, not the one the report saw.
        threshold = policy_for(source_id=case.image.article.source_id).threshold
        if not threshold_reached(
            open_report_count=case.open_report_count, score=case.score, threshold=threshold
        ):
            return False

        now = timezone.now()
        # select_for_update serialises this on PostgreSQL; on SQLite it does
        # nothing, so the state transition itself is a compare-and-set.
        won = ImageCase.objects.filter(pk=case.pk, state=case.state, protected=False).update(
            state=CaseState.AUTO_BLOCKED, blocked_at=now, needs_review=True
        )
        if not won:
            return False
        Image.objects.filter(pk=image_id).update(visibility=Image.Visibility.BLOCKED)
        banned = _image_ban(image=case.image)
        action = ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.AUTO_BLOCK,
            actor=None,
            reason=f"{case.open_report_count} reporters reached the threshold of {threshold}",
            details={
                "open_report_count": case.open_report_count,
                "score": float(case.score),
                "threshold": threshold,
                "previous_state": case.state,
                "via": str(via),
                "banned_hashes": banned,
            },
        )
        transaction.on_commit(
            lambda: _enqueue_notification(task_name="notify_auto_block", object_id=action.pk)
        )
    metrics.image_blocked(kind="auto", due_since=case.last_reported_at)
    logger.info("image %s blocked automatically (via %s)", image_id, via)
    return True


def sweep_due_blocks() -> list[int]:
    """Expire reports older than their window, then apply every block that is
    due but was not applied. Returns the image ids blocked."""
    reports_expire()
    blocked = [
        image_id
        for image_id in case_list_due_for_block().values_list("image_id", flat=True)
        if case_auto_block(image_id=image_id, via=BlockVia.SWEEPER)
    ]
    if blocked:
        # Should stay at zero: each one is a block the broker path missed.
        metrics.sweeper_repaired(count=len(blocked))
        logger.warning("sweeper applied %d missed block(s): images %s", len(blocked), blocked)
    return blocked


def reports_expire(*, now: datetime | None = None) -> int:
    """Stop counting open reports older than their policy's window.

    Returns the number of cases whose count went down.
    """
    now = now or timezone.now()
    return sum(
        _case_expire_reports(image_id=image_id, now=now)
        for image_id in image_ids_with_expired_reports(now=now)
    )


def _case_expire_reports(*, image_id: int, now: datetime) -> bool:
    with transaction.atomic():
        case = _lock_case(image_id=image_id)
        if case is None:
            return False
        policy = policy_for(source_id=case.image.article.source_id)
        older = Report.objects.filter(image_id=image_id, created_at__lt=policy.cutoff(now=now))
        stale = older.filter(outcome=ReportOutcome.OPEN)
        totals = stale.aggregate(count=Count("id"), weight=Sum("weight"))
        # Held reports never counted: they only stop waiting for a moderator.
        held = older.filter(outcome=ReportOutcome.HELD).update(outcome=ReportOutcome.EXPIRED)
        if not totals["count"] and not held:
            return False
        if totals["count"]:
            stale.update(outcome=ReportOutcome.EXPIRED)
            case.open_report_count = F("open_report_count") - totals["count"]
            case.score = F("score") - totals["weight"]
            case.save(update_fields=["open_report_count", "score"])
            _refresh_needs_review(
                cases=ImageCase.objects.filter(pk=case.pk), threshold=policy.threshold
            )
        ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.EXPIRE,
            actor=None,
            reason=f"{totals['count'] + held} report(s) older than {policy.window_days} days",
            details={
                "expired_reports": totals["count"],
                "expired_weight": float(totals["weight"] or 0),
                "expired_held_reports": held,
                "window_days": policy.window_days,
            },
        )
    return True


# --- moderators' decisions -----------------------------------------------------------


class DecisionError(Exception):
    """The decision does not apply to the case as it stands; nothing was changed."""


class Decision(enum.StrEnum):
    CONFIRM = "confirm"
    RESTORE = "restore"
    DISMISS = "dismiss"
    PROTECT = "protect"
    UNPROTECT = "unprotect"
    NOTE = "note"
    RELEASE = "release"


def case_decide(
    *, case_id: int, decision: Decision, actor: AbstractBaseUser, note: str = ""
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
            _refresh_needs_review(
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
        transaction.on_commit(lambda: _enqueue_auto_block(image_id=case.image_id))
    return action


def _confirm(*, case: ImageCase, note: str) -> dict:
    if case.state == CaseState.BLOCKED:
        raise DecisionError(_("The block is already confirmed."))
    if case.protected:
        raise DecisionError(_("The image is protected: unprotect it before blocking it."))
    # The readers were right, those held as grouped too: the block counts them all.
    held = _count_held_reports(case=case, outcome=ReportOutcome.UPHELD)
    upheld = Report.objects.filter(image_id=case.image_id, outcome=ReportOutcome.OPEN).update(
        outcome=ReportOutcome.UPHELD
    )
    details: dict = {"upheld_reports": upheld + held["count"]}
    if case.state in BLOCKABLE_STATES:
        # Agreeing with the readers before the threshold blocks the image now.
        case.blocked_at = timezone.now()
        Image.objects.filter(pk=case.image_id).update(visibility=Image.Visibility.BLOCKED)
        details["banned_hashes"] = _image_ban(image=case.image)
    case.state = CaseState.BLOCKED
    case.save(update_fields=["state", "blocked_at", "open_report_count", "score", *_HOLDS])
    case.refresh_from_db(fields=["open_report_count", "score"])
    return details


def _restore(*, case: ImageCase, note: str) -> dict:
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
    _lift_holds(case=case)
    case.save(update_fields=["state", "blocked_at", "open_report_count", "score", *_HOLDS])
    Image.objects.filter(pk=case.image_id).update(visibility=Image.Visibility.VISIBLE)
    return {"dismissed_reports": dismissed, "lifted_bans": _image_unban(image_id=case.image_id)}


def _dismiss(*, case: ImageCase, note: str) -> dict:
    # The held reports too: the moderator saw the whole burst.
    dismissed = Report.objects.filter(
        image_id=case.image_id, outcome__in=[ReportOutcome.OPEN, ReportOutcome.HELD]
    ).update(outcome=ReportOutcome.DISMISSED)
    if not dismissed:
        raise DecisionError(_("There are no open reports to dismiss."))
    case.open_report_count = 0
    case.score = 0
    _lift_holds(case=case)
    case.save(update_fields=["open_report_count", "score", *_HOLDS])
    return {"dismissed_reports": dismissed}


def _protect(*, case: ImageCase, note: str) -> dict:
    if case.protected:
        raise DecisionError(_("The image is already protected."))
    if case.state in BLOCKED_STATES:
        raise DecisionError(_("The image is blocked: restore it before protecting it."))
    case.protected = True
    case.save(update_fields=["protected"])
    return {}


def _unprotect(*, case: ImageCase, note: str) -> dict:
    if not case.protected:
        raise DecisionError(_("The image is not protected."))
    case.protected = False
    case.save(update_fields=["protected"])
    return {}


def _release(*, case: ImageCase, note: str) -> dict:
    """The grouped reports were genuine: count the held ones, lift the hold."""
    if case.brigade_held_at is None:
        raise DecisionError(_("No grouped reports are held on this image."))
    if case.state not in BLOCKABLE_STATES:
        raise DecisionError(_("The image is blocked: there is nothing to release."))
    totals = _count_held_reports(case=case, outcome=ReportOutcome.OPEN)
    case.save(update_fields=["open_report_count", "score", *_HOLDS])
    case.refresh_from_db(fields=["open_report_count", "score"])
    return {
        "released_reports": totals["count"],
        "released_weight": float(totals["weight"] or 0),
    }


def _count_held_reports(*, case: ImageCase, outcome: str) -> dict:
    """Count a case's held reports after all, as a moderator judged the burst: they
    take `outcome` and join the count and score; the hold is lifted. The caller saves."""
    held = Report.objects.filter(image_id=case.image_id, outcome=ReportOutcome.HELD)
    totals = held.aggregate(count=Count("id"), weight=Sum("weight"))
    held.update(outcome=outcome)
    case.open_report_count = F("open_report_count") + totals["count"]
    case.score = F("score") + (totals["weight"] or 0)
    _lift_holds(case=case)
    return totals


# What a moderator's decision on held reports lifts: the mark of grouped reports, and the
# automatic block's hold of a burst across networks.
_HOLDS = ("brigade_held_at", "auto_block_held_at")


def _lift_holds(*, case: ImageCase) -> None:
    for field in _HOLDS:
        setattr(case, field, None)


def _note(*, case: ImageCase, note: str) -> dict:
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


# --- policies ------------------------------------------------------------------------


def policy_save(
    *, source_id: int | None, threshold: int, window_days: int, actor: AbstractBaseUser
) -> Policy:
    """Create or change the policy of a source (None: the global one), and log it.

    The sweeper applies the new policy on its next pass (a lowered threshold
    blocks the images now over it).
    """
    if threshold < 1 or window_days < 1:
        raise ValueError("threshold and window_days must be at least 1")
    with transaction.atomic():
        policy = Policy.objects.select_for_update().filter(source_id=source_id).first()
        before = (
            {"threshold": policy.threshold, "window_days": policy.window_days} if policy else None
        )
        if policy is None:
            policy = Policy.objects.create(
                source_id=source_id, threshold=threshold, window_days=window_days
            )
        else:
            policy.threshold = threshold
            policy.window_days = window_days
            policy.save(update_fields=["threshold", "window_days", "updated_at"])
        _refresh_needs_review(cases=_cases_under_policy(source_id=source_id), threshold=threshold)
        ModerationAction.objects.create(
            image=None,
            action=ActionKind.POLICY_CHANGE,
            actor=actor,
            reason="",
            details={
                "source_id": source_id,
                "before": before,
                "after": {"threshold": threshold, "window_days": window_days},
            },
        )
    return policy


def needs_review_refresh_all() -> None:
    """Recompute every case's stored needs_review, one UPDATE per policy scope:
    for data written around the services (a bulk import, a restored backup)."""
    scopes = [*Policy.objects.filter(source__isnull=False).values_list("source_id", flat=True)]
    for source_id in [*scopes, None]:
        _refresh_needs_review(
            cases=_cases_under_policy(source_id=source_id),
            threshold=policy_for(source_id=source_id).threshold,
        )


def _cases_under_policy(*, source_id: int | None) -> QuerySet[ImageCase]:
    """The cases a source's policy governs; for the global one (None), the cases
    of every source without a policy of its own."""
    if source_id is not None:
        return ImageCase.objects.filter(image__article__source_id=source_id)
    own = Policy.objects.filter(source__isnull=False).values("source_id")
    return ImageCase.objects.exclude(image__article__source_id__in=own)


def _refresh_needs_review(*, cases: QuerySet[ImageCase], threshold: int) -> None:
    cases.update(
        needs_review=Case(
            When(needs_review_condition(threshold=threshold), then=Value(True)),
            default=Value(False),
        )
    )


# --- reporters and their personal data -------------------------------------------------


def reporter_mute(
    *, reporter_key: str, actor: AbstractBaseUser, reason: str = ""
) -> ModerationAction:
    """Stop counting a reporter: their open reports leave their cases' counts and
    scores (held ones stop waiting), and their future reports are stored uncounted.

    One transaction, one mute action. Raises DecisionError when already muted.
    """
    with transaction.atomic():
        mute, created = ReporterMute.objects.get_or_create(
            reporter_key=reporter_key, defaults={"muted_by": actor, "reason": reason}
        )
        if not created:
            raise DecisionError(_("This reporter is already muted."))
        reports = Report.objects.filter(reporter_key=reporter_key)
        # The addresses they reported from are muted with them: a new cookie there is
        # the same person, still muted.
        addresses = MutedAddress.objects.bulk_create(
            MutedAddress(mute=mute, ip_hash=row["ip_hash"], last_seen_at=row["last"])
            for row in reports.exclude(ip_hash="")
            .values("ip_hash")
            .annotate(last=Max("created_at"))
            .order_by()
        )
        image_ids = sorted(
            set(reports.filter(outcome=ReportOutcome.OPEN).values_list("image_id", flat=True))
        )
        # One case at a time, in id order (the order every multi-case writer locks in).
        for image_id in image_ids:
            case = _lock_case(image_id=image_id)
            counted = reports.filter(image_id=image_id, outcome=ReportOutcome.OPEN)
            totals = counted.aggregate(count=Count("id"), weight=Sum("weight"))
            counted.update(outcome=ReportOutcome.MUTED)
            if case is not None and totals["count"]:
                case.open_report_count = F("open_report_count") - totals["count"]
                case.score = F("score") - totals["weight"]
                case.save(update_fields=["open_report_count", "score"])
                _refresh_needs_review(
                    cases=ImageCase.objects.filter(pk=case.pk),
                    threshold=policy_for(source_id=case.image.article.source_id).threshold,
                )
        held = reports.filter(outcome=ReportOutcome.HELD).update(outcome=ReportOutcome.MUTED)
        return ModerationAction.objects.create(
            image=None,
            action=ActionKind.MUTE,
            actor=actor,
            reason=reason,
            details={
                "reporter_key": reporter_key,
                "discounted_images": image_ids,
                "held_reports": held,
                "muted_addresses": len(addresses),
            },
        )


def _mute_follow_address(*, reporter_key: str, ip_hash: str, now: datetime) -> None:
    """A muted report: its address joins its reporter's mute (a muted reporter moving to
    a new address takes the mute along), and a muted address is seen again (it is
    forgotten REPORT_PERSONAL_DATA_DAYS after it was last used)."""
    if not ip_hash:
        return
    MutedAddress.objects.bulk_create(
        [
            MutedAddress(mute_id=mute_id, ip_hash=ip_hash, last_seen_at=now)
            for mute_id in ReporterMute.objects.filter(reporter_key=reporter_key).values_list(
                "id", flat=True
            )
        ],
        update_conflicts=True,
        unique_fields=["mute", "ip_hash"],
        update_fields=["last_seen_at"],
    )
    MutedAddress.objects.filter(ip_hash=ip_hash).update(last_seen_at=now)


def reporter_unmute(
    *, reporter_key: str, actor: AbstractBaseUser, reason: str = ""
) -> ModerationAction:
    """Count a muted reporter's future reports again (the muted ones stay uncounted).

    Raises DecisionError when the reporter is not muted.
    """
    with transaction.atomic():
        deleted, _counts = ReporterMute.objects.filter(reporter_key=reporter_key).delete()
        if not deleted:
            raise DecisionError(_("This reporter is not muted."))
        return ModerationAction.objects.create(
            image=None,
            action=ActionKind.UNMUTE,
            actor=actor,
            reason=reason,
            details={"reporter_key": reporter_key},
        )


def reports_purge_personal_data(*, now: datetime | None = None) -> int:
    """Erase the IP hashes and the comment of reports older than
    REPORT_PERSONAL_DATA_DAYS; reasons, weights, outcomes and counts stay.

    Returns the number of reports purged; a purge that erased anything writes one action.
    """
    now = now or timezone.now()
    days = settings.REPORT_PERSONAL_DATA_DAYS
    with transaction.atomic():
        cutoff = now - timedelta(days=days)
        purged = (
            Report.objects.filter(created_at__lt=cutoff)
            .filter(~Q(ip_hash="") | ~Q(network_hash="") | ~Q(comment=""))
            .update(ip_hash="", network_hash="", comment="")
        )
        # A muted address nobody muted reported from since is forgotten like the rest.
        addresses, _by_model = MutedAddress.objects.filter(last_seen_at__lt=cutoff).delete()
        if purged or addresses:
            ModerationAction.objects.create(
                image=None,
                action=ActionKind.PURGE,
                actor=None,
                reason=f"personal data of {purged} report(s) older than {days} days",
                details={
                    "purged_reports": purged,
                    "forgotten_muted_addresses": addresses,
                    "older_than_days": days,
                },
            )
    if purged or addresses:
        logger.info(
            "purged the personal data of %d report(s) and %d muted address(es) older than %d days",
            purged,
            addresses,
            days,
        )
    return purged


def _lock_case(*, image_id: int) -> ImageCase | None:
    return (
        ImageCase.objects.select_for_update(of=("self",))
        .select_related("image__article")
        .filter(image_id=image_id)
        .first()
    )


# --- hash bans -------------------------------------------------------------------------
# A blocked image's hashes are banned in the transaction that blocks it; a restore lifts
# them. Every processed upload is checked against the active bans, and every new ban
# sweeps the published images (tasks.sweep_hash_bans): either way a match is blocked
# through image_check_hash_bans, with one hash_block action.


def _image_pixels(image: Image) -> PILImage.Image | None:
    """The picture the bans hash: the 1024 px rendition (what uploads are hashed from,
    0 bits from the original), else the original reduced the same way."""
    for field in (image.rendition, image.original):
        if not field:
            continue
        try:
            with field.open("rb") as file, PILImage.open(file) as picture:
                picture.draft("RGB", (ARTICLE_SIZE, ARTICLE_SIZE))
                picture.thumbnail((ARTICLE_SIZE, ARTICLE_SIZE))
                return ImageOps.exif_transpose(picture).convert("RGB")
        except (OSError, ValueError, PILImage.DecompressionBombError):
            logger.warning("image %s: could not read %s to hash it", image.pk, field.name)
    return None


def _image_sha256(image: Image) -> str:
    if image.sha256:
        return image.sha256
    if not image.original:
        return ""
    try:
        with image.original.open("rb") as file:
            return hashing.sha256_hex(file.read())
    except OSError:
        return ""


def _bans_changed() -> None:
    """Tell every worker's index (moderation.bans) that the bans changed, in this transaction."""
    BlockedHashVersion.objects.bulk_create(
        [BlockedHashVersion(pk=1, token=uuid.uuid4().hex)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["token"],
    )


def _enqueue_ban_sweep(ban_ids: list[int]) -> None:
    transaction.on_commit(
        lambda: _send(
            task_name="sweep_hash_bans",
            argument=ban_ids,
            if_lost="images already published that match these bans stay visible",
        )
    )


def _image_ban(*, image: Image) -> list[int]:
    """Ban the hashes of an image being blocked (inside the blocking transaction).

    The sha256 and the pHashes of the picture and of its mirror, as stored when the
    image was processed (decoded again only for an image processed before that), so the
    ban commits with the block at the cost of a few queries. Returns the ids of the bans
    created. `image` is the one the caller locked the case with.
    """
    image_id = image.pk
    bans: list[BlockedHash] = []
    sha256 = _image_sha256(image)
    if sha256:
        bans.append(BlockedHash(kind=BanKind.SHA256, sha256=sha256))
    phashes = [value for value in (image.phash, image.phash_mirror) if value is not None]
    # Both are computed with the renditions; an image processed before the mirror's was
    # stored is decoded here, under the lock (tens of ms for a 1024 px rendition).
    if image.phash_mirror is None:
        picture = _image_pixels(image)
        if picture is not None:
            phashes.extend(hashing.perceptual_hashes(picture))
    bans.extend(BlockedHash(kind=BanKind.PHASH, phash=phash) for phash in dict.fromkeys(phashes))
    # A hash this image's block already bans (a block never lifted) is not banned twice.
    held = set(
        BlockedHash.objects.filter(
            source_image_id=image_id, source=BanSource.BLOCK, lifted_at__isnull=True
        ).values_list("kind", "phash", "sha256")
    )
    bans = [ban for ban in bans if (ban.kind, ban.phash, ban.sha256) not in held]
    if not bans:
        return []
    for ban in bans:
        ban.source_image_id = image_id
        ban.source = BanSource.BLOCK
        ban.label = str(image)[: bans_module.LABEL_MAX_LENGTH]
    created = [ban.pk for ban in BlockedHash.objects.bulk_create(bans)]
    _bans_changed()
    _enqueue_ban_sweep(created)
    return created


def _image_unban(*, image_id: int) -> list[int]:
    """Lift the bans the image's block created (imported bans stay)."""
    lifted = list(
        BlockedHash.objects.filter(
            source_image_id=image_id, source=BanSource.BLOCK, lifted_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if lifted:
        BlockedHash.objects.filter(pk__in=lifted).update(lifted_at=timezone.now())
        _bans_changed()
    return lifted


@dataclass(frozen=True)
class BanMatch:
    ban_id: int
    kind: str
    distance: int
    banned_image_id: int | None


def check_hash_bans(*, sha256: str, phash: int | None) -> BanMatch | None:
    """The active ban an image's hashes match, if any: an equal sha256 first, else the
    nearest pHash within hashing.MATCH_DISTANCE (this worker's index)."""
    if sha256:
        exact = (
            BlockedHash.objects.filter(kind=BanKind.SHA256, sha256=sha256, lifted_at__isnull=True)
            .order_by("id")
            .values_list("pk", "source_image_id")
            .first()
        )
        if exact is not None:
            return BanMatch(
                ban_id=exact[0], kind=BanKind.SHA256, distance=0, banned_image_id=exact[1]
            )
    if phash is None:
        return None
    nearest = bans_module.phash_index().nearest(phash, hashing.MATCH_DISTANCE)
    if nearest is None:
        return None
    ban_id, distance = nearest
    banned_image_id = (
        BlockedHash.objects.filter(pk=ban_id).values_list("source_image_id", flat=True).first()
    )
    return BanMatch(
        ban_id=ban_id, kind=BanKind.PHASH, distance=distance, banned_image_id=banned_image_id
    )


def image_check_hash_bans(*, image_id: int) -> bool:
    """Block a processed image whose hashes match an active ban. Idempotent.

    The case becomes auto_blocked (so it awaits a moderator's review, like any block the
    machine makes), the image blocked, and one hash_block action names the match. An
    image already blocked, a protected one, and one a moderator restored are left alone:
    what a moderator decided about this very image outranks a resemblance. Returns True
    when this call blocked the image.
    """
    facts = (
        Image.objects.filter(pk=image_id, status=Image.Status.READY)
        .values_list("visibility", "sha256", "phash")
        .first()
    )
    if facts is None or facts[0] == Image.Visibility.BLOCKED:
        return False
    # The lookup needs no lock; the block below re-checks everything under one.
    match = check_hash_bans(sha256=facts[1], phash=facts[2])
    if match is None or match.banned_image_id == image_id:
        return False

    with transaction.atomic():
        locked = Image.objects.select_for_update().filter(pk=image_id).first()
        if locked is None or locked.visibility == Image.Visibility.BLOCKED:
            return False
        case, _created = ImageCase.objects.get_or_create(image_id=image_id)
        case = _lock_case(image_id=image_id)
        if case.protected or case.state not in (CaseState.FLAGGED,):
            return False
        now = timezone.now()
        won = ImageCase.objects.filter(pk=case.pk, state=case.state, protected=False).update(
            state=CaseState.AUTO_BLOCKED, blocked_at=now
        )
        if not won:
            return False
        _refresh_needs_review(
            cases=ImageCase.objects.filter(pk=case.pk),
            threshold=policy_for(source_id=case.image.article.source_id).threshold,
        )
        Image.objects.filter(pk=image_id).update(visibility=Image.Visibility.BLOCKED)
        ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.HASH_BLOCK,
            actor=None,
            reason=(f"matches banned {match.kind} #{match.ban_id} at distance {match.distance}"),
            details={
                "ban_id": match.ban_id,
                "kind": match.kind,
                "distance": match.distance,
                "banned_image_id": match.banned_image_id,
                "previous_state": case.state,
            },
        )
    metrics.image_blocked(kind="hash")
    logger.info("image %s blocked on a hash match (ban %s)", image_id, match.ban_id)
    return True


# Published images are scanned this many at a time.
SWEEP_CHUNK = 5000


def hash_bans_sweep(*, ban_ids: list[int]) -> list[int]:
    """Block the visible images that match any of these (new) bans. Returns their ids.

    sha256 bans are one indexed query; pHash bans go into a HashIndex of their own, and
    the visible images' pHashes are scanned against it in chunks, by id. Each match is
    blocked through image_check_hash_bans (its own transaction, its own action).
    """
    bans = list(
        BlockedHash.objects.filter(pk__in=ban_ids, lifted_at__isnull=True).values_list(
            "pk", "kind", "phash", "sha256", "source_image_id"
        )
    )
    if not bans:
        return []
    own_images = {ban[4] for ban in bans if ban[4] is not None}
    visible = Image.objects.filter(
        visibility=Image.Visibility.VISIBLE, status=Image.Status.READY
    ).exclude(pk__in=own_images)
    candidates: set[int] = set()
    sha256s = [ban[3] for ban in bans if ban[1] == BanKind.SHA256]
    if sha256s:
        candidates.update(visible.filter(sha256__in=sha256s).values_list("pk", flat=True))
    new_index = hashing.HashIndex((ban[0], ban[2]) for ban in bans if ban[1] == BanKind.PHASH)
    if len(new_index):
        last_id = 0
        while True:
            chunk = list(
                visible.filter(pk__gt=last_id, phash__isnull=False)
                .order_by("pk")
                .values_list("pk", "phash")[:SWEEP_CHUNK]
            )
            if not chunk:
                break
            last_id = chunk[-1][0]
            candidates.update(
                image_id
                for image_id, phash in chunk
                if new_index.nearest(phash, hashing.MATCH_DISTANCE) is not None
            )
    return [image_id for image_id in sorted(candidates) if image_check_hash_bans(image_id=image_id)]


def bans_import(*, rows: list[bans_module.BanRow], actor: AbstractBaseUser) -> list[int]:
    """Create source='import' bans from parsed CSV rows, in one transaction with one
    ban_import action, and sweep the published images after commit.

    A value an earlier import already bans is skipped. Returns the ids of the bans created.
    """
    with transaction.atomic():
        # Skipped against imported bans only: a block's ban of the same value is lifted
        # by a restore, the imported one must outlive it.
        active = BlockedHash.objects.filter(source=BanSource.IMPORT, lifted_at__isnull=True)
        sha256s = {row.value for row in rows if row.kind == BanKind.SHA256}
        phashes = {row.value for row in rows if row.kind == BanKind.PHASH}
        existing = set(
            active.filter(kind=BanKind.SHA256, sha256__in=sha256s).values_list("sha256", flat=True)
        ) | set(
            active.filter(kind=BanKind.PHASH, phash__in=phashes).values_list("phash", flat=True)
        )
        new: dict[tuple[str, int | str], BlockedHash] = {}
        for row in rows:
            if row.value in existing or (row.kind, row.value) in new:
                continue
            new[(row.kind, row.value)] = BlockedHash(
                kind=row.kind,
                phash=row.value if row.kind == BanKind.PHASH else None,
                sha256=row.value if row.kind == BanKind.SHA256 else None,
                source=BanSource.IMPORT,
                label=row.label,
            )
        created = [ban.pk for ban in BlockedHash.objects.bulk_create(new.values())]
        ModerationAction.objects.create(
            image=None,
            action=ActionKind.BAN_IMPORT,
            actor=actor,
            reason="",
            details={
                "rows": len(rows),
                "created": len(created),
                "skipped": len(rows) - len(created),
                "first_ban_id": min(created, default=None),
                "last_ban_id": max(created, default=None),
            },
        )
        if created:
            _bans_changed()
            _enqueue_ban_sweep(created)
    return created
