"""Reads of cases: the moderators' queue, one case, what is due for a block, the audit log."""

from typing import TypeVar

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet

from moderation.models import ImageCase, ModerationAction, Report, ReportOutcome
from moderation.rules import block_due_condition
from moderation.selectors.policies import CaseWithThreshold, case_list_with_threshold

# A case, or a case with annotations (the queue's threshold), which filtering keeps.
_Case = TypeVar("_Case", bound=ImageCase)


def case_list_due_for_block() -> QuerySet[CaseWithThreshold]:
    """Cases the machine should have blocked (rules.block_due).

    This is what the sweeper repairs: blocks whose task message was lost, never
    sent (broker down), or made due by a lowered threshold.
    """
    return (
        case_list_with_threshold().filter(block_due_condition()).order_by("last_reported_at", "pk")
    )


def case_queue_list() -> QuerySet[CaseWithThreshold]:
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
    cases: QuerySet[_Case],
    *,
    state: str | None = None,
    source: str | None = None,
    reason: str | None = None,
    needs_review: bool | None = None,
    grouped: bool | None = None,
) -> QuerySet[_Case]:
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


def held_report_counts(*, image_ids: list[int]) -> dict[int, int]:
    """Reports held as grouped (not counted) per image, in one query."""
    return _report_counts(image_ids=image_ids, outcomes=[ReportOutcome.HELD])


def live_report_counts(*, image_ids: list[int]) -> dict[int, int]:
    """Open and held reports per image (what rules.decision_refusal calls live), in one
    query."""
    return _report_counts(image_ids=image_ids, outcomes=[ReportOutcome.OPEN, ReportOutcome.HELD])


def _report_counts(*, image_ids: list[int], outcomes: list[str]) -> dict[int, int]:
    rows = (
        Report.objects.filter(image_id__in=image_ids, outcome__in=outcomes)
        .values("image_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(image_ids, 0)
    for row in rows:
        counts[row["image_id"]] = row["n"]
    return counts


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
