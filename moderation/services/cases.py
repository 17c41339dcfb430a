"""The case primitives every moderation service shares: lock a case, block it, take
reports out of its count, keep its stored needs_review in step. Each is the one place
its rule's side effects are written."""

from datetime import datetime
from decimal import Decimal

from django.db.models import Case, F, QuerySet, Value, When

from articles.models import Image
from moderation.models import ImageCase
from moderation.rules import needs_review_condition
from moderation.services import bans


class DecisionError(Exception):
    """The decision does not apply to the case as it stands; nothing was changed."""


def lock_case(*, image_id: int) -> ImageCase | None:
    """The case of an image, locked for this transaction, with its image and article."""
    return (
        ImageCase.objects.select_for_update(of=("self",))
        .select_related("image__article")
        .filter(image_id=image_id)
        .first()
    )


def case_block(
    *, case: ImageCase, state: str, now: datetime, ban: bool = True, **fields: object
) -> list[int] | None:
    """Block a case's image: the case moves from the state it was read in to `state`
    (with `fields`), the image is hidden from every page, API answer and media URL, and
    its hashes are banned (unless `ban` is False: a hash match is banned already).

    select_for_update serialises blocks on PostgreSQL; on SQLite it does nothing, so the
    transition is a compare-and-set. Returns the ids of the bans created, or None when
    the case changed meanwhile (then nothing was done). Inside the caller's transaction.
    """
    won = ImageCase.objects.filter(pk=case.pk, state=case.state, protected=False).update(
        state=state, blocked_at=now, **fields
    )
    if not won:
        return None
    case.state, case.blocked_at = state, now
    Image.objects.filter(pk=case.image_id).update(visibility=Image.Visibility.BLOCKED)
    return bans.image_ban(image=case.image) if ban else []


def case_uncount(
    *, case_id: int, reports: int, weight: Decimal, threshold: int, **marks: object
) -> None:
    """Take reports out of a case's count and score (held, expired or muted ones), with
    `marks` (a hold's timestamps) in the same UPDATE, and keep needs_review in step."""
    ImageCase.objects.filter(pk=case_id).update(
        open_report_count=F("open_report_count") - reports, score=F("score") - weight, **marks
    )
    refresh_needs_review(cases=ImageCase.objects.filter(pk=case_id), threshold=threshold)


def refresh_needs_review(*, cases: QuerySet[ImageCase], threshold: int) -> None:
    """Store rules.needs_review on cases under one threshold, in one UPDATE."""
    cases.update(
        needs_review=Case(
            When(needs_review_condition(threshold=threshold), then=Value(True)),
            default=Value(False),
        )
    )


# What a moderator's decision on held reports lifts: the mark of grouped reports, and the
# automatic block's hold of a burst across networks.
HOLDS = ("brigade_held_at", "auto_block_held_at")


def lift_holds(*, case: ImageCase) -> None:
    for field in HOLDS:
        setattr(case, field, None)


def to_decimal(value: Decimal | float | int) -> Decimal:
    # SQLite hands a numeric column back as an int or a float.
    return value if isinstance(value, Decimal) else Decimal(str(value))
