"""What happened over a period, as moderators and editors ask it (manage.py moderation_stats)."""

import statistics
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, QuerySet, Subquery

from moderation.models import ModerationAction, Report


@dataclass(frozen=True)
class ModerationStats:
    since: datetime
    until: datetime
    reports: int
    reports_by_outcome: dict[str, int]
    images_reported: int
    blocks_by_kind: dict[str, int]
    restores: int
    dismissals: int
    # Seconds, None when nothing was measured in the period.
    median_time_to_block: float | None
    median_time_to_review: float | None


def moderation_stats(*, since: datetime, until: datetime) -> ModerationStats:
    """What happened between `since` and `until`, as moderators and editors ask it.

    Time to block: from the report that crossed the threshold (the image's last report
    before the block) to the automatic block. Time to review: from an automatic or hash
    block to the first moderator decision on that image after it.
    """
    reports = Report.objects.filter(created_at__gte=since, created_at__lt=until)
    by_outcome = _counts_by(reports, "outcome")
    actions = ModerationAction.objects.filter(created_at__gte=since, created_at__lt=until)
    machine_kinds = ("auto_block", "hash_block")
    blocks = _counts_by(actions.filter(action__in=[*machine_kinds, "confirm"]), "action")
    return ModerationStats(
        since=since,
        until=until,
        reports=sum(by_outcome.values()),
        reports_by_outcome=by_outcome,
        images_reported=reports.values("image_id").distinct().count(),
        blocks_by_kind=blocks,
        restores=actions.filter(action="restore").count(),
        dismissals=actions.filter(action="dismiss").count(),
        median_time_to_block=_median(_times_to_block(actions.filter(action="auto_block"))),
        median_time_to_review=_median(_times_to_review(actions.filter(action__in=machine_kinds))),
    )


def _times_to_block(auto_blocks: QuerySet[ModerationAction]) -> list[float]:
    crossing = (
        Report.objects.filter(image_id=OuterRef("image_id"), created_at__lte=OuterRef("created_at"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return [
        (blocked_at - reported_at).total_seconds()
        for blocked_at, reported_at in auto_blocks.annotate(crossed_at=Subquery(crossing))
        .values_list("created_at", "crossed_at")
        .iterator()
        if reported_at is not None
    ]


def _times_to_review(machine_blocks: QuerySet[ModerationAction]) -> list[float]:
    decided = (
        ModerationAction.objects.filter(
            image_id=OuterRef("image_id"),
            created_at__gt=OuterRef("created_at"),
            actor__isnull=False,
        )
        .exclude(action="note")
        .order_by("created_at")
        .values("created_at")[:1]
    )
    return [
        (reviewed_at - blocked_at).total_seconds()
        for blocked_at, reviewed_at in machine_blocks.annotate(reviewed_at=Subquery(decided))
        .values_list("created_at", "reviewed_at")
        .iterator()
        if reviewed_at is not None
    ]


def _counts_by(rows: QuerySet[Report] | QuerySet[ModerationAction], field: str) -> dict[str, int]:
    grouped = rows.order_by().values(field).annotate(n=Count("id"))
    return {row[field]: row["n"] for row in grouped}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
