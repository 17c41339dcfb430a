"""The moderators' workspace: one tab of the queue as cards, each with what a moderator
needs to judge it, and the tabs' counts.

A page costs a fixed number of queries whatever its number of cards: the cards (with
their image, article, source and claim) in one, then one query per kind of detail for all
of them (reasons, networks, comments, audit rows, hash matches).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from moderation.models import (
    DECISION_KINDS,
    ActionKind,
    ImageCase,
    ModerationAction,
    Reason,
    Report,
    ReportOutcome,
)
from moderation.rules import (
    DECISIONS,
    claim_blocks,
    decision_refusal,
    moderator_name,
    undo_deadline,
)
from moderation.selectors.cases import case_queue_list
from moderation.selectors.policies import CaseWithThreshold
from moderation.selectors.queue import TAB_CONDITIONS
from moderation.selectors.queue import QueueTab as Tab

# Cards on one page of a tab.
WORKSPACE_PAGE_SIZE = 20
# The readers' comments a card shows, newest first.
CARD_COMMENTS = 3
# Reasons whose image is blurred until the moderator reveals it.
SENSITIVE_REASONS = frozenset({Reason.NUDITY, Reason.VIOLENCE})
# Reports that still say something about the image: counted, held, or upheld by a block.
_LIVE_OUTCOMES = (ReportOutcome.OPEN, ReportOutcome.HELD, ReportOutcome.UPHELD)


@dataclass
class WorkspaceCard:
    case: CaseWithThreshold
    # (reason, reports) of the live reports, most frequent first.
    reasons: list[tuple[str, int]] = field(default_factory=list)
    # (reason, comment, created_at) of the latest comments, newest first.
    comments: list[tuple[str, str, datetime]] = field(default_factory=list)
    report_count: int = 0
    network_count: int = 0
    open_count: int = 0
    held_count: int = 0
    # The details of the case's hash-ban matches (audit rows of kind hash_block).
    hash_matches: list[dict[str, Any]] = field(default_factory=list)
    # The newest audit row of the case, 0 for none: a decision sends it back as
    # seen_action_id, so that one taken on a case changed meanwhile is refused.
    latest_action_id: int = 0
    # The name of another moderator examining the case now, else None.
    claimed_by: str | None = None

    @property
    def sensitive(self) -> bool:
        return any(reason in SENSITIVE_REASONS for reason, _count in self.reasons)

    @property
    def decisions(self) -> list[str]:
        return decisions_that_apply(
            state=self.case.state,
            protected=self.case.protected,
            open_count=self.open_count,
            held_count=self.held_count,
            grouped=self.case.brigade_held_at is not None,
        )


@dataclass(frozen=True)
class WorkspacePage:
    tab: Tab
    page: int
    cards: list[WorkspaceCard]
    has_next: bool


def decisions_that_apply(
    *, state: str, protected: bool, open_count: int, held_count: int, grouped: bool
) -> list[str]:
    """The decisions (services.Decision values) a case in this state can take, in the
    order the workspace offers them: those the services would refuse are never offered."""
    return [
        decision
        for decision in DECISIONS
        if decision_refusal(
            decision=decision,
            state=state,
            protected=protected,
            live_reports=open_count + held_count,
            grouped_held=grouped,
        )
        is None
    ]


def workspace_case_list(*, tab: Tab) -> QuerySet[CaseWithThreshold]:
    """A tab's cases in the queue's order, with their claim and its moderator."""
    return case_queue_list().filter(TAB_CONDITIONS[tab]).select_related("claim__moderator")


def workspace_page(
    *,
    tab: Tab,
    moderator_id: int,
    now: datetime,
    page: int = 1,
    per_page: int = WORKSPACE_PAGE_SIZE,
) -> WorkspacePage:
    """One page of a tab's cards, with every card's details, in five queries."""
    offset = (max(page, 1) - 1) * per_page
    # The latest audit row of each case comes in the same query: what a decision says it
    # saw (services.case_decide's seen_action_id).
    latest_action = (
        ModerationAction.objects.filter(image_id=OuterRef("image_id")).order_by("-pk").values("pk")
    )
    cases = list(
        workspace_case_list(tab=tab).annotate(latest_action_id=Subquery(latest_action[:1]))[
            offset : offset + per_page + 1
        ]
    )
    has_next = len(cases) > per_page
    cards = [
        WorkspaceCard(
            case=case,
            claimed_by=_claimed_by(case, moderator_id=moderator_id, now=now),
            latest_action_id=case.latest_action_id or 0,
        )
        for case in cases[:per_page]
    ]
    _add_details(cards)
    return WorkspacePage(tab=tab, page=max(page, 1), cards=cards, has_next=has_next)


def workspace_next_case_id(
    *, tab: Tab, moderator_id: int, now: datetime, after_case_id: int
) -> int | None:
    """The case to open after deciding `after_case_id`: the one that follows it in the
    tab, else the first of the tab, never one another moderator examines. One query."""
    rows = list(
        workspace_case_list(tab=tab).values_list("pk", "claim__moderator_id", "claim__expires_at")[
            : WORKSPACE_PAGE_SIZE * 2
        ]
    )
    free = [
        pk
        for pk, holder, expires_at in rows
        if pk == after_case_id
        or not claim_blocks(
            holder_id=holder, expires_at=expires_at, moderator_id=moderator_id, now=now
        )
    ]
    if after_case_id in free:
        following = free[free.index(after_case_id) + 1 :]
        return following[0] if following else None
    return free[0] if free else None


def _claimed_by(case: ImageCase, *, moderator_id: int, now: datetime) -> str | None:
    claim = getattr(case, "claim", None)
    if claim is None or not claim_blocks(
        holder_id=claim.moderator_id,
        expires_at=claim.expires_at,
        moderator_id=moderator_id,
        now=now,
    ):
        return None
    return moderator_name(claim.moderator)


def _add_details(cards: list[WorkspaceCard]) -> None:
    if not cards:
        return
    by_image = {card.case.image_id: card for card in cards}
    image_ids = list(by_image)
    reports = Report.objects.filter(image_id__in=image_ids)

    live = reports.filter(outcome__in=_LIVE_OUTCOMES)
    reasons = live.values("image_id", "reason").annotate(n=Count("pk"))
    for row in reasons.order_by("image_id", "-n", "reason"):
        by_image[row["image_id"]].reasons.append((row["reason"], row["n"]))

    for counts in (
        live.values("image_id")
        .annotate(
            total=Count("pk"),
            networks=Count("network_hash", distinct=True, filter=~Q(network_hash="")),
            open=Count("pk", filter=Q(outcome=ReportOutcome.OPEN)),
            held=Count("pk", filter=Q(outcome=ReportOutcome.HELD)),
        )
        .order_by()
    ):
        card = by_image[counts["image_id"]]
        card.report_count = counts["total"]
        card.network_count = counts["networks"]
        card.open_count = counts["open"]
        card.held_count = counts["held"]

    latest_comments = (
        reports.exclude(comment="")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("image_id")],
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=CARD_COMMENTS)
        .values_list("image_id", "reason", "comment", "created_at")
        .order_by("image_id", "rank")
    )
    for image_id, reason, comment, created_at in latest_comments:
        by_image[image_id].comments.append((reason, comment, created_at))

    actions = ModerationAction.objects.filter(image_id__in=image_ids)
    matches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for image_id, details in actions.filter(action=ActionKind.HASH_BLOCK).values_list(
        "image_id", "details"
    ):
        matches[image_id].append(details)
    for image_id, found in matches.items():
        by_image[image_id].hash_matches = found


def undoable_decision(
    *, action_id: int, moderator_id: int, now: datetime
) -> ModerationAction | None:
    """The moderator's own decision `action_id`, while they may still undo it
    (services.decision_undo has the final word)."""
    action = ModerationAction.objects.filter(
        pk=action_id, actor_id=moderator_id, action__in=DECISION_KINDS
    ).first()
    if action is None or now >= undo_deadline(decided_at=action.created_at):
        return None
    return action


def case_id_of_image(*, image_id: int) -> int | None:
    return ImageCase.objects.filter(image_id=image_id).values_list("pk", flat=True).first()
