"""Reads of moderation state shared by the API, the tasks and the admin."""

from django.conf import settings
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from moderation.models import BLOCKABLE_STATES, ImageCase, Policy


def policy_threshold(*, source_id: int | None) -> int:
    """The threshold in force for a source: its own policy, else the global one,
    else the REPORT_THRESHOLD setting."""
    thresholds = dict(
        Policy.objects.filter(Q(source_id=source_id) | Q(source__isnull=True)).values_list(
            "source_id", "threshold"
        )
    )
    if source_id is not None and source_id in thresholds:
        return thresholds[source_id]
    return thresholds.get(None, settings.REPORT_THRESHOLD)


def threshold_reached(*, open_report_count: int, score: int, threshold: int) -> bool:
    """A threshold is both a number of distinct reporters and a score."""
    return open_report_count >= threshold and score >= threshold


def case_list_due_for_block() -> QuerySet[ImageCase]:
    """Cases at or over their threshold that are still visible and not protected.

    This is what the sweeper repairs: blocks whose task message was lost, never
    sent (broker down), or made due by a lowered threshold.
    """
    source_threshold = Policy.objects.filter(
        source_id=OuterRef("image__article__source_id")
    ).values("threshold")[:1]
    global_threshold = Policy.objects.filter(source__isnull=True).values("threshold")[:1]
    return (
        ImageCase.objects.filter(state__in=BLOCKABLE_STATES, protected=False)
        .annotate(
            threshold=Coalesce(
                Subquery(source_threshold),
                Subquery(global_threshold),
                Value(settings.REPORT_THRESHOLD),
                output_field=IntegerField(),
            )
        )
        .filter(open_report_count__gte=F("threshold"), score__gte=F("threshold"))
        .order_by("last_reported_at", "pk")
    )
