"""The machine's block: a case at its threshold is blocked exactly once, by the task its
crossing report enqueued or, should that message be lost, by the sweeper."""

import enum
import logging

from django.db import transaction
from django.utils import timezone

from moderation import audit_text, metrics
from moderation.models import ActionKind, CaseState, ModerationAction
from moderation.rules import block_due
from moderation.selectors import case_list_due_for_block, policy_for
from moderation.services import outbox
from moderation.services.cases import case_block, lock_case
from moderation.services.expiry import reports_expire

logger = logging.getLogger(__name__)


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
        case = lock_case(image_id=image_id)
        if case is None:
            return False
        # Against the policy in force now, not the one the report saw; a burst across
        # networks holds the block for a moderator, even one enqueued before the burst
        # was noticed.
        threshold = policy_for(source_id=case.image.article.source_id).threshold
        if not block_due(
            state=case.state,
            protected=case.protected,
            block_held=case.auto_block_held_at is not None,
            open_report_count=case.open_report_count,
            score=case.score,
            threshold=threshold,
        ):
            return False
        previous_state = case.state
        banned = case_block(
            case=case, state=CaseState.AUTO_BLOCKED, now=timezone.now(), needs_review=True
        )
        if banned is None:
            return False
        action = ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.AUTO_BLOCK,
            actor=None,
            reason_code=audit_text.THRESHOLD_REACHED,
            details={
                "open_report_count": case.open_report_count,
                "score": float(case.score),
                "threshold": threshold,
                "previous_state": previous_state,
                "via": str(via),
                "banned_hashes": banned,
            },
        )
        transaction.on_commit(
            lambda: outbox.enqueue_notification(task_name="auto_block_notify", object_id=action.pk)
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
