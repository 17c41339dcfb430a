"""What moderators and the report path know of a reporter: their record, their weight,
whether they are muted."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

from moderation.models import Report, ReporterMute, ReportOutcome
from moderation.rules import weight_from_verdicts


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


def reporter_weight(*, reporter_key: str, is_staff: bool = False) -> Decimal:
    """How much a new report by this reporter counts (rules.weight_from_verdicts)."""
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


def report_reporter_key(*, report_id: int, image_id: int | None = None) -> str:
    """Who made a report (optionally: a report on this image). Raises Report.DoesNotExist."""
    reports = Report.objects.filter(pk=report_id)
    if image_id is not None:
        reports = reports.filter(image_id=image_id)
    return reports.values_list("reporter_key", flat=True).get()
