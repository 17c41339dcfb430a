"""Readers' reports: recorded, counted towards a block, held when part of a burst.

The report path is the hot one: a few plain statements under the case row's lock, and
the block itself left to a task (services.blocks) enqueued after commit.
"""

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from articles.models import Image
from moderation import audit_text, metrics, rules
from moderation.models import (
    BLOCKABLE_STATES,
    ActionKind,
    ModerationAction,
    Reason,
    Report,
    ReportOutcome,
)
from moderation.rules import (
    Burst,
    BurstCounts,
    block_due,
    burst_of,
    crosses_threshold,
    half_threshold,
    network_allowance,
)
from moderation.selectors import (
    image_report_target,
    immediate_reasons_wanted,
    report_burst_counts,
    reporter_standing,
)
from moderation.services import outbox
from moderation.services.cases import case_uncount, to_decimal
from moderation.services.reporters import mute_follow_address


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
# grows here, so needs_review (rules.needs_review) can only turn on: when a
# visible, unprotected case reaches half its threshold (its "rising" part, below).
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
    report brings the case to its threshold, `moderation.tasks.case_auto_block` is
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

        is_staff = (
            user_id is not None
            and get_user_model().objects.filter(rules.ACTIVE_STAFF, pk=user_id).exists()
        )
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
                mute_follow_address(reporter_key=reporter_key, ip_hash=ip_hash, now=now)
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
        score = to_decimal(score)

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
                    threshold=threshold,
                    # The first hold of its kind in an episode is a change of state.
                    first=not (block_held_since if burst is Burst.RATE else held_since),
                )
                return ReportReceipt(
                    result=ReportResult.CREATED,
                    open_report_count=count - 1,
                    score=score - weight,
                    outcome=ReportOutcome.HELD,
                )

        due = block_due(
            state=state,
            protected=protected,
            block_held=bool(block_held_since),
            open_report_count=count,
            score=score,
            threshold=threshold,
        ) and crosses_threshold(count=count, score=score, weight=weight, threshold=threshold)
        if due:
            transaction.on_commit(lambda: outbox.enqueue_auto_block(image_id=image_id))
        # A count of 1 means this report found the case without open reports: its
        # first ever, or the first since they were all closed (restore, dismissal,
        # expiry). The atomic count gives exactly one such report per episode. A
        # protected image waits for nobody's review, so nobody is mailed.
        if count == 1 and state in BLOCKABLE_STATES and not protected:
            # Robust: what fails after commit costs this email at most, never the report.
            transaction.on_commit(
                lambda: _first_report_announce(report_id=report_id, reason=reason), robust=True
            )

    return ReportReceipt(
        result=ReportResult.CREATED, open_report_count=count, score=score, block_enqueued=due
    )


def _first_report_announce(*, report_id: int, reason: str) -> None:
    """Publish the first report's email only when a moderator wants its reason at once;
    any other waits for the digest. Asked after commit, so that its one query (first
    reports only) holds no lock."""
    if reason in immediate_reasons_wanted():
        outbox.enqueue_notification(task_name="first_report_notify", object_id=report_id)


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
    threshold: int,
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
    case_uncount(case_id=case_id, reports=1, weight=weight, threshold=threshold, **held)
    if not first:
        return
    ModerationAction.objects.create(
        image_id=image_id,
        action=ActionKind.BRIGADE_HOLD,
        actor=None,
        reason_code=(audit_text.BURST_RATE if burst is Burst.RATE else audit_text.BURST_NETWORK),
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
