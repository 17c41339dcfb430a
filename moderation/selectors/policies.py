"""Which policy is in force: for one source, for the report path's one statement, and as
an annotation on cases. The rule is rules.policy_in_force; its SQL forms here say it in
the same order (the source's own, the global one, the settings)."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias, TypedDict

from django.conf import settings
from django.db import connection
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from articles.models import Image
from moderation.models import ImageCase, Policy, Report, ReportOutcome
from moderation.rules import EffectivePolicy, policy_in_force

if TYPE_CHECKING:
    # django-stubs-ext is a development requirement: the annotation is for mypy only.
    from django_stubs_ext import WithAnnotations


class ThresholdAnnotation(TypedDict):
    threshold: int


# A case annotated with the threshold of the policy in force for it.
CaseWithThreshold: TypeAlias = "WithAnnotations[ImageCase, ThresholdAnnotation]"


def policy_for(*, source_id: int | None) -> EffectivePolicy:
    """The policy in force for a source (rules.policy_in_force), in one query."""
    # The global policy's row has no source: its key is None.
    rows: dict[int | None, EffectivePolicy] = {
        row["source_id"]: EffectivePolicy(
            threshold=row["threshold"], window_days=row["window_days"]
        )
        for row in Policy.objects.filter(Q(source_id=source_id) | Q(source__isnull=True)).values(
            "source_id", "threshold", "window_days"
        )
    }
    return policy_in_force(
        own=rows.get(source_id) if source_id is not None else None,
        global_policy=rows.get(None),
    )


# The first statement of every report: plain SQL, like the others of the report path,
# as compiling the ORM's subqueries would cost more than running them. Only an image
# readers may be shown is found (articles.selectors.SHOWN: processed, with its rendition;
# tests/moderation/test_selectors.py holds both forms to the same answers).
_REPORT_TARGET_SQL = """
SELECT i.visibility,
       COALESCE(
           (SELECT threshold FROM moderation_policy WHERE source_id = a.source_id),
           (SELECT threshold FROM moderation_policy WHERE source_id IS NULL),
           %(default)s
       )
FROM articles_image i JOIN articles_article a ON a.id = i.article_id
WHERE i.id = %(image_id)s AND i.status = 'ready' AND i.rendition <> ''
"""


def image_report_target(*, image_id: int) -> tuple[str, int]:
    """What the report path needs of an image, in one query: its visibility and
    the threshold of the policy in force for it. Raises Image.DoesNotExist, also for
    an image not processed yet (shown to no reader)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _REPORT_TARGET_SQL, {"image_id": image_id, "default": settings.REPORT_THRESHOLD}
        )
        row = cursor.fetchone()
    if row is None:
        raise Image.DoesNotExist(f"no image {image_id}")
    return row[0], row[1]


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


def case_list_with_threshold() -> QuerySet[CaseWithThreshold]:
    """Cases annotated with `threshold`, the policy in force for each."""
    return ImageCase.objects.annotate(threshold=_threshold_of_case())


def cases_under_policy(*, source_id: int | None) -> QuerySet[ImageCase]:
    """The cases a source's policy governs; for the global one (None), the cases
    of every source without a policy of its own."""
    if source_id is not None:
        return ImageCase.objects.filter(image__article__source_id=source_id)
    own = Policy.objects.filter(source__isnull=False).values("source_id")
    return ImageCase.objects.exclude(image__article__source_id__in=own)


def image_ids_with_expired_reports(*, now: datetime) -> list[int]:
    """Images having open or held reports older than their policy's window."""
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
        Report.objects.filter(stale, outcome__in=[ReportOutcome.OPEN, ReportOutcome.HELD])
        .values_list("image_id", flat=True)
        .distinct()
        .order_by("image_id")
    )
