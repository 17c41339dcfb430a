"""Reporters: muting one (their reports stop counting), and forgetting the personal data
of old reports."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from moderation import audit_text
from moderation.models import (
    ActionKind,
    ModerationAction,
    MutedAddress,
    Report,
    ReporterMute,
    ReportOutcome,
)
from moderation.selectors import policy_for
from moderation.services.cases import DecisionError, case_uncount, lock_case

logger = logging.getLogger(__name__)


def reporter_mute(*, reporter_key: str, actor: User, reason: str = "") -> ModerationAction:
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
            case = lock_case(image_id=image_id)
            counted = reports.filter(image_id=image_id, outcome=ReportOutcome.OPEN)
            totals = counted.aggregate(count=Count("id"), weight=Sum("weight"))
            counted.update(outcome=ReportOutcome.MUTED)
            if case is not None and totals["count"]:
                case_uncount(
                    case_id=case.pk,
                    reports=totals["count"],
                    weight=totals["weight"],
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


def mute_follow_address(*, reporter_key: str, ip_hash: str, now: datetime) -> None:
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


def reporter_unmute(*, reporter_key: str, actor: User, reason: str = "") -> ModerationAction:
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
                reason_code=audit_text.PERSONAL_DATA_PURGED,
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
