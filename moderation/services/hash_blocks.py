"""Images matched against the hash bans: a processed upload checked against every active
ban, and the published images swept against new ones. A match is blocked through
image_check_hash_bans, with one hash_block action. The hashes of a ban are this worker's
index (moderation.bans)."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from articles.models import Image
from moderation import audit_text, hashing, metrics
from moderation import bans as bans_module
from moderation.models import (
    ActionKind,
    BanKind,
    BlockedHash,
    CaseState,
    ImageCase,
    ModerationAction,
)
from moderation.selectors import policy_for
from moderation.services.cases import case_block, lock_case, refresh_needs_review

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BanMatch:
    ban_id: int
    kind: str
    distance: int
    banned_image_id: int | None


def check_hash_bans(*, sha256: str, phash: int | None) -> BanMatch | None:
    """The active ban an image's hashes match, if any: an equal sha256 first, else the
    nearest pHash within hashing.MATCH_DISTANCE (this worker's index)."""
    if sha256:
        exact = (
            BlockedHash.objects.filter(kind=BanKind.SHA256, sha256=sha256, lifted_at__isnull=True)
            .order_by("id")
            .values_list("pk", "source_image_id")
            .first()
        )
        if exact is not None:
            return BanMatch(
                ban_id=exact[0], kind=BanKind.SHA256, distance=0, banned_image_id=exact[1]
            )
    if phash is None:
        return None
    nearest = bans_module.phash_index().nearest(phash, hashing.MATCH_DISTANCE)
    if nearest is None:
        return None
    ban_id, distance = nearest
    banned_image_id = (
        BlockedHash.objects.filter(pk=ban_id).values_list("source_image_id", flat=True).first()
    )
    return BanMatch(
        ban_id=ban_id, kind=BanKind.PHASH, distance=distance, banned_image_id=banned_image_id
    )


def image_check_hash_bans(*, image_id: int) -> bool:
    """Block a processed image whose hashes match an active ban. Idempotent.

    The case becomes auto_blocked (so it awaits a moderator's review, like any block the
    machine makes), the image blocked, and one hash_block action names the match. An
    image already blocked, a protected one, and one a moderator restored are left alone:
    what a moderator decided about this very image outranks a resemblance. Returns True
    when this call blocked the image.
    """
    facts = (
        Image.objects.filter(pk=image_id, status=Image.Status.READY)
        .values_list("visibility", "sha256", "phash")
        .first()
    )
    if facts is None or facts[0] == Image.Visibility.BLOCKED:
        return False
    # The lookup needs no lock; the block below re-checks everything under one.
    match = check_hash_bans(sha256=facts[1], phash=facts[2])
    if match is None or match.banned_image_id == image_id:
        return False

    with transaction.atomic():
        locked = Image.objects.select_for_update().filter(pk=image_id).first()
        if locked is None or locked.visibility == Image.Visibility.BLOCKED:
            return False
        ImageCase.objects.get_or_create(image_id=image_id)
        case = lock_case(image_id=image_id)
        if case is None or case.protected or case.state not in (CaseState.FLAGGED,):
            return False
        previous_state = case.state
        # The match's hashes are banned already.
        if (
            case_block(case=case, state=CaseState.AUTO_BLOCKED, now=timezone.now(), ban=False)
            is None
        ):
            return False
        refresh_needs_review(
            cases=ImageCase.objects.filter(pk=case.pk),
            threshold=policy_for(source_id=case.image.article.source_id).threshold,
        )
        ModerationAction.objects.create(
            image_id=image_id,
            action=ActionKind.HASH_BLOCK,
            actor=None,
            reason_code=audit_text.HASH_MATCH,
            details={
                "ban_id": match.ban_id,
                "kind": match.kind,
                "distance": match.distance,
                "banned_image_id": match.banned_image_id,
                "previous_state": previous_state,
            },
        )
    metrics.image_blocked(kind="hash")
    logger.info("image %s blocked on a hash match (ban %s)", image_id, match.ban_id)
    return True


# Published images are scanned this many at a time.
SWEEP_CHUNK = 5000


def hash_bans_sweep(*, ban_ids: list[int]) -> list[int]:
    """Block the visible images that match any of these (new) bans. Returns their ids.

    sha256 bans are one indexed query; pHash bans go into a HashIndex of their own, and
    the visible images' pHashes are scanned against it in chunks, by id. Each match is
    blocked through image_check_hash_bans (its own transaction, its own action).
    """
    bans = list(
        BlockedHash.objects.filter(pk__in=ban_ids, lifted_at__isnull=True).values_list(
            "pk", "kind", "phash", "sha256", "source_image_id"
        )
    )
    if not bans:
        return []
    own_images = {ban[4] for ban in bans if ban[4] is not None}
    visible = Image.objects.filter(
        visibility=Image.Visibility.VISIBLE, status=Image.Status.READY
    ).exclude(pk__in=own_images)
    candidates: set[int] = set()
    sha256s = [ban[3] for ban in bans if ban[1] == BanKind.SHA256]
    if sha256s:
        candidates.update(visible.filter(sha256__in=sha256s).values_list("pk", flat=True))
    # A pHash ban always has its pHash (moderation_ban_value_of_kind): `is not None` is for
    # the type checker, which reads the nullable column.
    new_index = hashing.HashIndex(
        (ban[0], ban[2]) for ban in bans if ban[1] == BanKind.PHASH and ban[2] is not None
    )
    if len(new_index):
        last_id = 0
        while True:
            chunk = list(
                visible.filter(pk__gt=last_id, phash__isnull=False)
                .order_by("pk")
                .values_list("pk", "phash")[:SWEEP_CHUNK]
            )
            if not chunk:
                break
            last_id = chunk[-1][0]
            candidates.update(
                image_id
                for image_id, phash in chunk
                if phash is not None
                and new_index.nearest(phash, hashing.MATCH_DISTANCE) is not None
            )
    return [image_id for image_id in sorted(candidates) if image_check_hash_bans(image_id=image_id)]
