"""Reads of moderation state shared by the API, the tasks and the admin."""

import enum
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
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
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from articles.models import Image
from moderation.models import (
    BLOCKABLE_STATES,
    CaseState,
    ImageCase,
    ModerationAction,
    Policy,
    Report,
    ReporterMute,
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


def threshold_reached(*, open_report_count: int, score: Decimal, threshold: int) -> bool:
    """A threshold is both a number of distinct reporters and a score."""
    return open_report_count >= threshold and score >= threshold


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
    the threshold of the policy in force for it (policy_for's rule). Raises
    Image.DoesNotExist, also for an image not processed yet (shown to no reader)."""
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
        .filter(state__in=BLOCKABLE_STATES, protected=False, auto_block_held_at__isnull=True)
        .filter(open_report_count__gte=F("threshold"), score__gte=F("threshold"))
        .order_by("last_reported_at", "pk")
    )


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


def half_threshold(threshold: int) -> int:
    """Reports from which a case still below its threshold awaits review."""
    return math.ceil(threshold / 2)


def needs_review_condition(*, threshold: int) -> Q:
    """Blocked by the machine and not reviewed since, held as grouped reports, or
    flagged at half its threshold or more. Stored in ImageCase.needs_review by
    the services."""
    unreviewed_block = Q(state=CaseState.AUTO_BLOCKED) & (
        Q(reviewed_at__isnull=True) | Q(reviewed_at__lt=F("blocked_at"))
    )
    rising = Q(
        state__in=BLOCKABLE_STATES,
        protected=False,
        open_report_count__gte=half_threshold(threshold),
    )
    held = Q(state__in=BLOCKABLE_STATES, brigade_held_at__isnull=False)
    return unreviewed_block | held | rising


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
    grouped: bool | None = None,
) -> QuerySet[ImageCase]:
    """Narrow a queue by state, source slug, a reason among the case's open
    reports, whether it awaits review, and whether grouped reports hold it."""
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
    if grouped is not None:
        cases = cases.filter(brigade_held_at__isnull=not grouped)
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


# A weight is a multiple of this: readable, and exact in any database's arithmetic.
WEIGHT_STEP = Decimal("0.25")
# Verdicts after which a reporter's record fully sets their weight.
REPUTATION_FULL_CONFIDENCE = 10


def reporter_weight(*, reporter_key: str, is_staff: bool = False) -> Decimal:
    """How much a new report by this reporter counts.

    In the spirit of Discourse's flag scores: 1 for a reader with no verdicts yet
    (REPORT_WEIGHT_STAFF for staff), plus up to 1 when moderators upheld their
    last REPUTATION_HISTORY judged reports, minus up to 1 when they dismissed
    them; the record counts fully from REPUTATION_FULL_CONFIDENCE verdicts on.
    Rounded to WEIGHT_STEP, within [REPORT_WEIGHT_FLOOR, REPORT_WEIGHT_MAX].
    """
    return reporter_standing(reporter_key=reporter_key, is_staff=is_staff).weight


@dataclass(frozen=True)
class ReporterStanding:
    muted: bool
    weight: Decimal


# The report path asks both questions of every report: one round trip, and no ORM
# compilation, for what reporter_weight and a mute lookup would ask in two. An anonymous
# reader is also muted by the address a muted reporter reported from (MutedAddress),
# so that a new cookie does not lift a mute; an account is its own person.
_STANDING_SQL = """
SELECT EXISTS (SELECT 1 FROM moderation_reportermute WHERE reporter_key = %(key)s)
       OR EXISTS (SELECT 1 FROM moderation_mutedaddress WHERE ip_hash = %(muted_ip)s),
       count(*) FILTER (WHERE outcome = 'upheld'),
       count(*)
FROM (
    SELECT outcome FROM moderation_report
    WHERE reporter_key = %(key)s AND outcome IN ('upheld', 'dismissed')
    ORDER BY created_at DESC, id DESC
    LIMIT %(history)s
) AS verdicts
"""


def reporter_standing(
    *, reporter_key: str, is_staff: bool = False, anonymous_ip_hash: str = ""
) -> ReporterStanding:
    """Whether a reporter is muted (by their key, or, anonymous, by their address:
    `anonymous_ip_hash`), and what their next report weighs (reporter_weight)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _STANDING_SQL,
            {
                "key": reporter_key,
                # "" matches no muted address (a check constraint).
                "muted_ip": anonymous_ip_hash,
                "history": settings.REPUTATION_HISTORY,
            },
        )
        muted, upheld, judged = cursor.fetchone()
    return ReporterStanding(
        muted=bool(muted),
        weight=weight_from_verdicts(upheld=upheld, judged=judged, is_staff=is_staff),
    )


@dataclass(frozen=True)
class BurstCounts:
    # Reports on the image in the brigade window, and in the day before it (its usual
    # rate), each network counting for at most its allowance: one network alone cannot
    # make a burst of the rate rule.
    recent: int
    earlier: int
    # The open (counted) reports of the report's own network on the image, itself
    # included, over the whole policy window: rotating addresses inside one network
    # over several windows adds up here.
    network_counted: int


class Burst(enum.StrEnum):
    # Over its network's allowance: this report is held, the case is not.
    NETWORK = "network"
    # Far above the image's usual rate, across networks: the automatic block waits.
    RATE = "rate"


# Every report runs this under its case's lock, so it is kept to one plain statement
# (the ORM's aggregate() compiles a subquery-shaped query each time). LEAST is spelled
# as CASE, which SQLite also speaks. A report without a network (made by a service call
# rather than a request, or purged of its personal data) is no network's.
_BURST_SQL = """
SELECT COALESCE(SUM(CASE WHEN network_hash = '' OR recent <= %(allowance)s
                         THEN recent ELSE %(allowance)s END), 0),
       COALESCE(SUM(CASE WHEN network_hash = '' OR earlier <= %(allowance)s
                         THEN earlier ELSE %(allowance)s END), 0),
       (SELECT count(*) FROM moderation_report
        WHERE image_id = %(image_id)s AND network_hash = %(network)s AND network_hash <> ''
          AND outcome = 'open')
FROM (
    SELECT network_hash,
           count(*) FILTER (WHERE created_at >= %(window_start)s) AS recent,
           count(*) FILTER (WHERE created_at < %(window_start)s) AS earlier
    FROM moderation_report
    WHERE image_id = %(image_id)s AND created_at >= %(day_start)s
    GROUP BY network_hash
) AS per_network
"""


def network_allowance(*, threshold: int) -> int:
    """The reports one network may have counted on one image: BRIGADE_NETWORK_ALLOWANCE,
    and always fewer than the threshold, so that one network never blocks alone (but
    with a threshold of 1, which lets any one reader block)."""
    return max(1, min(settings.BRIGADE_NETWORK_ALLOWANCE, threshold - 1))


def report_burst_counts(
    *, image_id: int, network_hash: str, now: datetime, allowance: int
) -> BurstCounts:
    """An image's reports in the brigade window and in the day before it, each network
    counting for at most `allowance`, and the open reports of one network, in one query."""
    window_start = now - timedelta(seconds=settings.BRIGADE_WINDOW_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            _BURST_SQL,
            {
                "image_id": image_id,
                "network": network_hash,
                "allowance": allowance,
                "window_start": window_start,
                "day_start": window_start - timedelta(days=1),
            },
        )
        recent, earlier, network_counted = cursor.fetchone()
    # PostgreSQL sums bigints into numeric.
    return BurstCounts(recent=int(recent), earlier=int(earlier), network_counted=network_counted)


def burst_of(*, counts: BurstCounts, allowance: int) -> Burst | None:
    """Whether a new report is part of a burst, and which: far above the image's usual
    rate across networks (RATE), or over its own network's allowance (NETWORK)."""
    windows_per_day = max(1, 86400 // settings.BRIGADE_WINDOW_SECONDS)
    usual = counts.earlier / windows_per_day
    if counts.recent > max(settings.BRIGADE_RATE_MIN, settings.BRIGADE_RATE_FACTOR * usual):
        return Burst.RATE
    if counts.network_counted > allowance:
        return Burst.NETWORK
    return None


# --- reporters as moderators see them (admin case page, moderators' API) ---------------


def weight_from_verdicts(*, upheld: int, judged: int, is_staff: bool) -> Decimal:
    """The weight of a reporter whose last REPUTATION_HISTORY verdicts number
    `judged`, `upheld` of them upheld (see reporter_weight)."""
    base = settings.REPORT_WEIGHT_STAFF if is_staff else Decimal(1)
    if judged:
        accuracy = Decimal(2 * upheld - judged) / judged  # -1 … 1
        confidence = Decimal(min(judged, REPUTATION_FULL_CONFIDENCE))
        base += accuracy * confidence / REPUTATION_FULL_CONFIDENCE
    steps = (base / WEIGHT_STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    weight = steps * WEIGHT_STEP
    return min(max(weight, settings.REPORT_WEIGHT_FLOOR), settings.REPORT_WEIGHT_MAX)


@dataclass(frozen=True)
class ReporterProfile:
    """What moderators weigh a reporter by."""

    # Their reports by outcome, every outcome present (reporter_records).
    record: dict[str, int]
    # What their next report would weigh (reporter_weight).
    weight: Decimal
    muted: bool


def reporter_profiles(
    *, reporter_keys: Iterable[str], staff_keys: Iterable[str] = ()
) -> dict[str, ReporterProfile]:
    """Each reporter's record, current weight and mute, for a page of reports.

    Two queries whatever the number of reporters (the records, the mutes), and a
    third only for reporters with more verdicts than REPUTATION_HISTORY (their
    latest verdicts, ranked in the database). `staff_keys` names the reporters
    who are active staff, whose weight starts at REPORT_WEIGHT_STAFF.
    """
    keys = sorted(set(reporter_keys))
    if not keys:
        return {}
    staff = set(staff_keys)
    records = reporter_records(reporter_keys=keys)
    verdicts = {
        key: (
            record[ReportOutcome.UPHELD],
            record[ReportOutcome.UPHELD] + record[ReportOutcome.DISMISSED],
        )
        for key, record in records.items()
    }
    # Past REPUTATION_HISTORY verdicts, only the latest count: rank them.
    long_records = [
        key for key, (_up, judged) in verdicts.items() if judged > settings.REPUTATION_HISTORY
    ]
    if long_records:
        latest = (
            Report.objects.filter(
                reporter_key__in=long_records,
                outcome__in=[ReportOutcome.UPHELD, ReportOutcome.DISMISSED],
            )
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("reporter_key")],
                    order_by=[F("created_at").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=settings.REPUTATION_HISTORY)
            .values_list("reporter_key", "outcome")
        )
        upheld = dict.fromkeys(long_records, 0)
        for key, outcome in latest:
            upheld[key] += outcome == ReportOutcome.UPHELD
        for key in long_records:
            verdicts[key] = (upheld[key], settings.REPUTATION_HISTORY)
    muted = set(
        ReporterMute.objects.filter(reporter_key__in=keys).values_list("reporter_key", flat=True)
    )
    return {
        key: ReporterProfile(
            record=records[key],
            weight=weight_from_verdicts(
                upheld=verdicts[key][0], judged=verdicts[key][1], is_staff=key in staff
            ),
            muted=key in muted,
        )
        for key in keys
    }


def held_report_counts(*, image_ids: list[int]) -> dict[int, int]:
    """Reports held as grouped (not counted) per image, in one query."""
    rows = (
        Report.objects.filter(image_id__in=image_ids, outcome=ReportOutcome.HELD)
        .values("image_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(image_ids, 0)
    for row in rows:
        counts[row["image_id"]] = row["n"]
    return counts


def report_reporter_key(*, report_id: int, image_id: int | None = None) -> str:
    """Who made a report (optionally: a report on this image). Raises Report.DoesNotExist."""
    reports = Report.objects.filter(pk=report_id)
    if image_id is not None:
        reports = reports.filter(image_id=image_id)
    return reports.values_list("reporter_key", flat=True).get()


# --- statistics ----------------------------------------------------------------------


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


def _counts_by(rows: QuerySet, field: str) -> dict[str, int]:
    grouped = rows.order_by().values(field).annotate(n=Count("id"))
    return {row[field]: row["n"] for row in grouped}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
