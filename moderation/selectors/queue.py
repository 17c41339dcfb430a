"""The queue's tabs and their counts, and each moderator's own figures."""

import enum
import itertools
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from moderation.models import (
    BLOCKED_STATES,
    DECISION_KINDS,
    ActionKind,
    ImageCase,
    ModerationAction,
)


class QueueTab(enum.StrEnum):
    NEEDS_REVIEW = "needs_review"
    GROUPED = "grouped"
    BLOCKED = "blocked"
    PROTECTED = "protected"
    ALL = "all"


# Which cases each tab shows: the one definition the workspace, its summary and the
# API share.
TAB_CONDITIONS: dict[QueueTab, Q] = {
    QueueTab.NEEDS_REVIEW: Q(needs_review=True),
    QueueTab.GROUPED: Q(brigade_held_at__isnull=False),
    QueueTab.BLOCKED: Q(state__in=BLOCKED_STATES),
    QueueTab.PROTECTED: Q(protected=True),
    QueueTab.ALL: Q(),
}


@dataclass(frozen=True)
class QueueSummary:
    tabs: dict[str, int]
    # The newest case: a workspace rendered with an older one has new cases to show.
    latest_case_id: int | None


def queue_summary() -> QueueSummary:
    """Each tab's count and the newest case, in one query: a scalar subquery per tab, so
    that each counts on its own index (moderation_case_queue_order for needs review, the
    state's, the partial indexes of protected and grouped cases, the primary key's for
    all) rather than in one pass over every case."""
    counts = {
        f"tab_{tab.value}": Subquery(
            ImageCase.objects.filter(condition)
            .order_by()
            # count(*), not count(id): an index-only scan needs no column of the row.
            .annotate(n=Func(template="COUNT(*)", output_field=IntegerField()))
            .values("n")
        )
        for tab, condition in TAB_CONDITIONS.items()
    }
    latest = Subquery(ImageCase.objects.order_by("-pk").values("pk")[:1])
    # Any one row carries the subqueries; no case at all means every count is 0.
    rows = (
        ImageCase.objects.order_by()
        .annotate(**counts, latest_case_id=latest)
        .values(*counts, "latest_case_id")[:1]
    )
    row = next(iter(rows), None)
    if row is None:
        return QueueSummary(tabs=dict.fromkeys(map(str, QueueTab), 0), latest_case_id=None)
    return QueueSummary(
        tabs={tab.value: row[f"tab_{tab.value}"] for tab in QueueTab},
        latest_case_id=row["latest_case_id"],
    )


# A later decision the other way: a block undone by a restore, a kept image blocked.
_REVERSED_BY: dict[str, tuple[str, ...]] = {
    ActionKind.CONFIRM: (ActionKind.RESTORE,),
    ActionKind.RESTORE: (ActionKind.CONFIRM, ActionKind.BLOCK),
    ActionKind.DISMISS: (ActionKind.CONFIRM, ActionKind.BLOCK),
    ActionKind.PROTECT: (ActionKind.UNPROTECT, ActionKind.CONFIRM, ActionKind.BLOCK),
    ActionKind.UNPROTECT: (ActionKind.PROTECT,),
    ActionKind.RELEASE: (ActionKind.DISMISS,),
}
# A pause longer than this between two decisions is a break, not time spent on a case.
PACE_BREAK_SECONDS = 600
# The pace is the median over the latest decisions: a working session's, not a week's.
PACE_DECISIONS = 200


@dataclass(frozen=True)
class ModeratorFigures:
    decisions_today: int
    decisions_week: int
    # The median time between two consecutive decisions among the latest PACE_DECISIONS
    # of the week, breaks left out.
    median_seconds: float | None
    # Of this week's decisions, the share another moderator later reversed.
    reversed_share: float | None


def moderator_figures(*, moderator: User, now: datetime | None = None) -> ModeratorFigures:
    """A moderator's decisions today and this week (local time, weeks from Monday), their
    pace, and how many of them were later reversed by someone else. Undone decisions do
    not count. One query."""
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    undone = ModerationAction.objects.annotate(
        undone_id=Cast(KT("details__undone_action"), BigIntegerField())
    ).filter(
        # Only a decision's author undoes it, within seconds.
        action=ActionKind.UNDO,
        actor=moderator,
        created_at__gte=week,
        undone_id=OuterRef("pk"),
    )
    reversed_later = Q()
    for kind, reversals in _REVERSED_BY.items():
        later = ModerationAction.objects.filter(
            image_id=OuterRef("image_id"), pk__gt=OuterRef("pk"), action__in=reversals
        ).exclude(actor=moderator)
        reversed_later |= Q(Q(action=kind), Exists(later))
    # The week's totals ride on every row as window aggregates (computed before the
    # LIMIT): one query, and only the latest PACE_DECISIONS timestamps cross the wire,
    # however many decisions the week holds.
    everything = Window(expression=Count("pk"))
    rows = list(
        ModerationAction.objects.filter(
            actor=moderator, action__in=DECISION_KINDS, created_at__gte=week, created_at__lte=now
        )
        .exclude(Exists(undone))
        .annotate(
            week_total=everything,
            today_total=Window(expression=Count("pk", filter=Q(created_at__gte=today))),
            reversed_total=Window(expression=Count("pk", filter=reversed_later)),
        )
        .order_by("-created_at", "-pk")
        .values_list("created_at", "week_total", "today_total", "reversed_total")[:PACE_DECISIONS]
    )
    week_total, today_total, reversed_total = rows[0][1:] if rows else (0, 0, 0)
    times = sorted(created_at for created_at, *_totals in rows)
    gaps = [
        seconds
        for earlier, later in itertools.pairwise(times)
        if (seconds := (later - earlier).total_seconds()) <= PACE_BREAK_SECONDS
    ]
    return ModeratorFigures(
        decisions_today=today_total,
        decisions_week=week_total,
        median_seconds=statistics.median(gaps) if gaps else None,
        reversed_share=reversed_total / week_total if week_total else None,
    )
