"""Reports stop counting when they are older than their policy's window."""

from datetime import datetime

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from moderation import audit_text
from moderation.models import ActionKind, ModerationAction, Report, ReportOutcome
from moderation.selectors import image_ids_with_expired_reports, policy_for
from moderation.services.cases import case_uncount, lock_case


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
        case = lock_case(image_id=image_id)
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
            case_uncount(
                case_id=case.pk,
                reports=totals["count"],
                weight=totals["weight"],
                threshold=policy.threshold,
            )
        ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.EXPIRE,
            actor=None,
            reason_code=audit_text.REPORTS_EXPIRED,
            details={
                "expired_reports": totals["count"],
                "expired_weight": float(totals["weight"] or 0),
                "expired_held_reports": held,
                "window_days": policy.window_days,
            },
        )
    return True
