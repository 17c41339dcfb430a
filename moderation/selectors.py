"""Reads of moderation state shared by the API, the tasks and the admin."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from moderation.models import (
    BLOCKABLE_STATES,
    CaseState,
    ImageCase,
    ModerationAction,
    Policy,
    Report,
    ReportOutcome,
)


@dataclass(frozen=True)
class EffectivePolicy:
    threshold: int
    window_days: int

    def cutoff(self, *, now: datetime) -> datetime:
        """Reports created before this no longer count."""
        return now - timedelta(days=self.window_days)


def policy_for(*, source_id: int | None) -> EffectivePolicy:
    """The policy in force for a source: its own, else the global one, else the
    REPORT_THRESHOLD / REPORT_WINDOW_DAYS settings."""
    rows = {
        row["source_id"]: row
        for row in Policy.objects.filter(Q(source_id=source_id) | Q(source__isnull=True)).values(
            "source_id", "threshold", "window_days"
        )
    }
    row = rows.get(source_id) if source_id is not None else None
    row = row or rows.get(None)
    if row is None:
        return EffectivePolicy(
            threshold=settings.REPORT_THRESHOLD, window_days=settings.REPORT_WINDOW_DAYS
        )
    return EffectivePolicy(threshold=row["threshold"], window_days=row["window_days"])


def threshold_reached(*, open_report_count: int, score: int, threshold: int) -> bool:
    """A threshold is both a number of distinct reporters and a score."""
    return open_report_count >= threshold and score >= threshold


def _threshold_of_case() -> Coalesce:
    source_threshold = Policy.objects.filter(
        source_id=OuterRef("image__article__source_id")
    ).values("threshold")[:1]
    global_threshold = Policy.objects.filter(source__isnull=True).values("threshold")[:1]
    return Coalesce(
        Subquery(source_threshold),
        Subquery(global_threshold),
        Value(settings.REPORT_THRESHOLD),
        output_field=IntegerField(),
    )


def case_list_with_threshold() -> QuerySet[ImageCase]:
    """Cases annotated with `threshold`, the policy in force for each."""
    return ImageCase.objects.annotate(threshold=_threshold_of_case())


def case_list_due_for_block() -> QuerySet[ImageCase]:
    """Cases at or over their threshold that are still visible and not protected.

    This is what the sweeper repairs: blocks whose task message was lost, never
    sent (broker down), or made due by a lowered threshold.
    """
    return (
        case_list_with_threshold()
        .filter(state__in=BLOCKABLE_STATES, protected=False)
        .filter(open_report_count__gte=F("threshold"), score__gte=F("threshold"))
        .order_by("last_reported_at", "pk")
    )


def image_ids_with_expired_reports(*, now: datetime) -> list[int]:
    """Images having open reports older than their policy's window."""
    policies = list(Policy.objects.values("source_id", "window_days"))
    by_source = {p["source_id"]: p["window_days"] for p in policies if p["source_id"] is not None}
    global_days = next(
        (p["window_days"] for p in policies if p["source_id"] is None),
        settings.REPORT_WINDOW_DAYS,
    )
    # Policies are few: one condition per source policy, and one for the rest.
    stale = Q(created_at__lt=now - timedelta(days=global_days)) & ~Q(
        image__article__source_id__in=list(by_source)
    )
    for source_id, days in by_source.items():
        stale |= Q(image__article__source_id=source_id, created_at__lt=now - timedelta(days=days))
    return list(
        Report.objects.filter(stale, outcome=ReportOutcome.OPEN)
        .values_list("image_id", flat=True)
        .distinct()
        .order_by("image_id")
    )


def half_threshold(threshold: int) -> int:
    """Reports from which a case still below its threshold awaits review."""
    return math.ceil(threshold / 2)


def needs_review_condition(*, threshold: int) -> Q:
    """Blocked by the machine and not reviewed since, or flagged at half its
    threshold or more. Stored in ImageCase.needs_review by the services."""
    unreviewed_block = Q(state=CaseState.AUTO_BLOCKED) & (
        Q(reviewed_at__isnull=True) | Q(reviewed_at__lt=F("blocked_at"))
    )
    rising = Q(
        state__in=BLOCKABLE_STATES,
        protected=False,
        open_report_count__gte=half_threshold(threshold),
    )
    return unreviewed_block | rising


def case_queue_list() -> QuerySet[ImageCase]:
    """The moderators' queue: awaiting review first, then by score.

    Annotated with `threshold` (computed for the rows fetched only: nothing
    filters or orders on it); image, article, source and reviewer come in the
    same query. The order matches the index moderation_case_queue_order.
    """
    return (
        case_list_with_threshold()
        .select_related("image__article__source", "reviewed_by")
        # The queue never shows an article's text.
        .defer("image__article__body")
        .order_by("-needs_review", "-score", "-last_reported_at", "-pk")
    )


def case_queue_filter(
    cases: QuerySet[ImageCase],
    *,
    state: str | None = None,
    source: str | None = None,
    reason: str | None = None,
    needs_review: bool | None = None,
) -> QuerySet[ImageCase]:
    """Narrow a queue by state, source slug, a reason among the case's open
    reports, and whether it awaits review."""
    if state:
        cases = cases.filter(state=state)
    if source:
        cases = cases.filter(image__article__source__slug=source)
    if reason:
        cases = cases.filter(
            Exists(
                Report.objects.filter(
                    image_id=OuterRef("image_id"), reason=reason, outcome=ReportOutcome.OPEN
                )
            )
        )
    if needs_review is not None:
        cases = cases.filter(needs_review=needs_review)
    return cases


def reason_breakdown(*, image_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Open reports per reason for each image, most frequent first, in one query."""
    rows = (
        Report.objects.filter(image_id__in=image_ids, outcome=ReportOutcome.OPEN)
        .values("image_id", "reason")
        .annotate(n=Count("id"))
        .order_by("image_id", "-n", "reason")
    )
    breakdown: dict[int, list[tuple[str, int]]] = {image_id: [] for image_id in image_ids}
    for row in rows:
        breakdown[row["image_id"]].append((row["reason"], row["n"]))
    return breakdown


def case_get(*, case_id: int) -> ImageCase:
    """One case with its reports (newest first, with their users) and its audit
    trail (newest first, with the actors). Raises ImageCase.DoesNotExist."""
    return (
        case_queue_list()
        .prefetch_related(
            Prefetch(
                "image__reports",
                queryset=Report.objects.select_related("user").order_by("-created_at", "-id"),
            ),
            Prefetch(
                "image__moderation_actions",
                queryset=ModerationAction.objects.select_related("actor").order_by(
                    "-created_at", "-id"
                ),
            ),
        )
        .get(pk=case_id)
    )


def reporter_records(*, reporter_keys: list[str]) -> dict[str, dict[str, int]]:
    """Each reporter's past reports by outcome (open, upheld, dismissed, expired),
    in one query: what moderators weigh a report by."""
    rows = (
        Report.objects.filter(reporter_key__in=reporter_keys)
        .values("reporter_key", "outcome")
        .annotate(n=Count("id"))
    )
    records: dict[str, dict[str, int]] = {
        key: dict.fromkeys(ReportOutcome.values, 0) for key in reporter_keys
    }
    for row in rows:
        records[row["reporter_key"]][row["outcome"]] = row["n"]
    return records


def action_list(
    *, action: str | None = None, image: int | None = None, actor: str | None = None
) -> QuerySet[ModerationAction]:
    """The audit log, newest first, optionally narrowed by action, image id and actor username."""
    actions = ModerationAction.objects.select_related("actor").order_by("-created_at", "-id")
    if action:
        actions = actions.filter(action=action)
    if image:
        actions = actions.filter(image_id=image)
    if actor:
        actions = actions.filter(actor__username=actor)
    return actions
