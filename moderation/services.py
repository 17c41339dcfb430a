"""Every write to moderation state goes through this module.

Each state change writes exactly one ModerationAction in the same transaction.
"""

import enum
import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from articles.models import Image
from moderation.models import (
    BLOCKABLE_STATES,
    ActionKind,
    CaseState,
    ImageCase,
    ModerationAction,
    Reason,
)
from moderation.selectors import case_list_due_for_block, policy_threshold, threshold_reached

logger = logging.getLogger(__name__)


class ReportResult(enum.Enum):
    CREATED = "created"
    REPEAT = "repeat"
    ALREADY_BLOCKED = "already_blocked"


@dataclass(frozen=True)
class ReportReceipt:
    result: ReportResult
    open_report_count: int | None = None
    score: int | None = None
    block_enqueued: bool = False


# ON CONFLICT DO NOTHING makes a repeat cost one statement and no savepoint;
# RETURNING tells us whether this reader's report is new. Both PostgreSQL and
# SQLite (>= 3.35) speak this dialect.
_INSERT_REPORT_SQL = """
INSERT INTO moderation_report
    (image_id, reporter_key, user_id, ip_hash, reason, comment, weight, outcome, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, 'open', %s)
ON CONFLICT (image_id, reporter_key) DO NOTHING
RETURNING id
"""

# The increment happens inside the database in one statement: concurrent
# reports serialise on the case row, so no count is ever lost.
_COUNT_REPORT_SQL = """
INSERT INTO moderation_imagecase
    (image_id, open_report_count, score, state, protected, first_reported_at, last_reported_at)
VALUES (%s, 1, %s, 'flagged', FALSE, %s, %s)
ON CONFLICT (image_id) DO UPDATE SET
    open_report_count = moderation_imagecase.open_report_count + 1,
    score = moderation_imagecase.score + excluded.score,
    last_reported_at = excluded.last_reported_at
RETURNING id, open_report_count, score, state, protected
"""


def report_create(
    *,
    image_id: int,
    reporter_key: str,
    reason: str,
    comment: str = "",
    user_id: int | None = None,
    ip_hash: str = "",
    weight: int = 1,
) -> ReportReceipt:
    """Record one reader's report on an image and count it.

    A repeat by the same reporter, or a report on an image already blocked,
    stores and counts nothing. When the report brings the case to its
    threshold, `moderation.tasks.auto_block` is enqueued after commit.

    Raises Image.DoesNotExist for an unknown image.
    """
    if reason not in Reason.values:
        raise ValueError(f"unknown reason {reason!r}")
    if not reporter_key:
        raise ValueError("a report needs a reporter key")

    with transaction.atomic():
        visibility, source_id = (
            Image.objects.filter(pk=image_id).values_list("visibility", "article__source_id").get()
        )
        if visibility == Image.Visibility.BLOCKED:
            return ReportReceipt(result=ReportResult.ALREADY_BLOCKED)

        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_REPORT_SQL,
                [image_id, reporter_key, user_id, ip_hash, reason, comment, weight, now],
            )
            if cursor.fetchone() is None:
                return ReportReceipt(result=ReportResult.REPEAT)
            cursor.execute(_COUNT_REPORT_SQL, [image_id, weight, now, now])
            _case_id, count, score, state, protected = cursor.fetchone()

        due = (
            state in BLOCKABLE_STATES
            and not protected
            and _crosses_threshold(
                count=count,
                score=score,
                weight=weight,
                threshold=policy_threshold(source_id=source_id),
            )
        )
        if due:
            transaction.on_commit(lambda: _enqueue_auto_block(image_id=image_id))

    return ReportReceipt(
        result=ReportResult.CREATED, open_report_count=count, score=score, block_enqueued=due
    )


def _crosses_threshold(*, count: int, score: int, weight: int, threshold: int) -> bool:
    # Only the report that reaches the threshold enqueues: a brigade of
    # thousands sends one message, not thousands. Should that message be
    # lost, the sweeper applies the block.
    return threshold_reached(
        open_report_count=count, score=score, threshold=threshold
    ) and not threshold_reached(
        open_report_count=count - 1, score=score - weight, threshold=threshold
    )


def _enqueue_auto_block(*, image_id: int) -> None:
    # Imported here: tasks import this module.
    from moderation.tasks import auto_block

    try:
        auto_block.delay(image_id)
    except Exception:
        # The report is committed and answered either way; the database is the
        # truth, and the sweeper will apply this block on its next pass.
        logger.exception(
            "could not enqueue auto_block for image %s; the sweeper will block it", image_id
        )


class BlockVia(enum.StrEnum):
    TASK = "task"
    SWEEPER = "sweeper"


def case_auto_block(*, image_id: int, via: BlockVia = BlockVia.TASK) -> bool:
    """Block an image whose case has reached its threshold. Idempotent.

    Returns True when this call blocked the image, False when there was
    nothing to do (already blocked, protected, below threshold, no case).
    """
    with transaction.atomic():
        case = (
            ImageCase.objects.select_for_update(of=("self",))
            .select_related("image__article")
            .filter(image_id=image_id)
            .first()
        )
        if case is None or case.state not in BLOCKABLE_STATES or case.protected:
            return False
        # Re-check against the policy in force now, not the one the report saw.
        threshold = policy_threshold(source_id=case.image.article.source_id)
        if not threshold_reached(
            open_report_count=case.open_report_count, score=case.score, threshold=threshold
        ):
            return False

        now = timezone.now()
        # select_for_update serialises this on PostgreSQL; on SQLite it does
        # nothing, so the state transition itself is a compare-and-set.
        won = ImageCase.objects.filter(pk=case.pk, state=case.state, protected=False).update(
            state=CaseState.AUTO_BLOCKED, blocked_at=now
        )
        if not won:
            return False
        Image.objects.filter(pk=image_id).update(visibility=Image.Visibility.BLOCKED)
        ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.AUTO_BLOCK,
            actor=None,
            reason=f"{case.open_report_count} reporters reached the threshold of {threshold}",
            details={
                "open_report_count": case.open_report_count,
                "score": case.score,
                "threshold": threshold,
                "previous_state": case.state,
                "via": str(via),
            },
        )
    logger.info("image %s blocked automatically (via %s)", image_id, via)
    return True


def sweep_due_blocks() -> list[int]:
    """Apply every block that is due but was not applied. Returns the image ids blocked."""
    blocked = [
        image_id
        for image_id in case_list_due_for_block().values_list("image_id", flat=True)
        if case_auto_block(image_id=image_id, via=BlockVia.SWEEPER)
    ]
    if blocked:
        # Should stay at zero: each one is a block the broker path missed.
        logger.warning("sweeper applied %d missed block(s): images %s", len(blocked), blocked)
    return blocked
