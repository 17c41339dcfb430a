"""Claims: a moderator examining a case holds it for a few minutes, so that two
moderators never work the same case. A claim is a working mark, not a decision: it
writes no audit row (models.CaseClaim)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from moderation.models import CaseClaim, ImageCase
from moderation.rules import claim_blocks, moderator_name
from moderation.services.cases import DecisionError


@dataclass(frozen=True)
class Holder:
    """Who holds a claim, and until when."""

    moderator_id: int
    name: str
    expires_at: datetime


class ClaimConflict(DecisionError):
    """Another moderator is examining the case: nothing was done."""

    def __init__(self, *, holder: Holder) -> None:
        self.holder = holder
        super().__init__(
            _("%(name)s is examining this case (until %(time)s).")
            % {"name": holder.name, "time": timezone.localtime(holder.expires_at).strftime("%H:%M")}
        )


def case_claim(*, case_id: int, moderator: User, now: datetime | None = None) -> CaseClaim:
    """Claim a case for MODERATION_CLAIM_SECONDS, or extend one's own claim; a moderator
    holds one claim at a time, so this lets go of their previous one.

    Raises ImageCase.DoesNotExist, or ClaimConflict when another moderator's claim runs.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The case's row lock serialises claims, decisions and blocks of one case.
        ImageCase.objects.select_for_update(of=("self",)).only("pk").get(pk=case_id)
        # ...and the moderator's, their claims (one at a time) on different cases.
        list(User.objects.select_for_update().filter(pk=moderator.pk).values_list("pk"))
        current = CaseClaim.objects.select_related("moderator").filter(case_id=case_id).first()
        if current is not None:
            claim_refuse(claim=current, moderator=moderator, now=now)
        CaseClaim.objects.filter(moderator=moderator).exclude(case_id=case_id).delete()
        claim, _created = CaseClaim.objects.update_or_create(
            case_id=case_id,
            defaults={
                "moderator": moderator,
                "claimed_at": now,
                "expires_at": now + timedelta(seconds=settings.MODERATION_CLAIM_SECONDS),
            },
        )
    return claim


def case_release(*, case_id: int, moderator: User) -> bool:
    """Let go of one's claim on a case. Idempotent: True when a claim was released.

    Raises ImageCase.DoesNotExist when there is no such case."""
    if not ImageCase.objects.filter(pk=case_id).exists():
        raise ImageCase.DoesNotExist
    deleted, _rows = CaseClaim.objects.filter(case_id=case_id, moderator=moderator).delete()
    return bool(deleted)


def claim_refuse(*, claim: CaseClaim | None, moderator: User, now: datetime | None = None) -> None:
    """Refuse (ClaimConflict) when `claim`, a case's claim read under the case's lock, is
    another moderator's and runs still. Called by the decisions."""
    now = now or timezone.now()
    if claim is not None and claim_blocks(
        holder_id=claim.moderator_id,
        expires_at=claim.expires_at,
        moderator_id=moderator.pk,
        now=now,
    ):
        raise ClaimConflict(holder=_holder(claim))


def _holder(claim: CaseClaim) -> Holder:
    return Holder(
        moderator_id=claim.moderator_id,
        name=moderator_name(claim.moderator),
        expires_at=claim.expires_at,
    )
