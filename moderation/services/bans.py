"""Hash bans: a blocked image's hashes banned in the transaction that blocks it and lifted
by its restore, and the bans imported from a list. Matching images against them is
services.hash_blocks'."""

import logging
import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageOps

from articles.models import Image
from articles.processing import ARTICLE_SIZE
from moderation import audit_text, hashing
from moderation import bans as bans_module
from moderation.models import (
    ActionKind,
    BanKind,
    BanSource,
    BlockedHash,
    BlockedHashVersion,
    ModerationAction,
)
from moderation.services import outbox

logger = logging.getLogger(__name__)


def image_pixels(image: Image) -> PILImage.Image | None:
    """The picture the bans hash: the 1024 px rendition (what uploads are hashed from,
    0 bits from the original), else the original reduced the same way."""
    for field in (image.rendition, image.original):
        if not field:
            continue
        try:
            with field.open("rb") as file, PILImage.open(file) as picture:
                picture.draft("RGB", (ARTICLE_SIZE, ARTICLE_SIZE))
                picture.thumbnail((ARTICLE_SIZE, ARTICLE_SIZE))
                return ImageOps.exif_transpose(picture).convert("RGB")
        except (OSError, ValueError, PILImage.DecompressionBombError):
            logger.warning("image %s: could not read %s to hash it", image.pk, field.name)
    return None


def image_sha256(image: Image) -> str:
    if image.sha256:
        return image.sha256
    if not image.original:
        return ""
    try:
        with image.original.open("rb") as file:
            return hashing.sha256_hex(file.read())
    except OSError:
        return ""


def bans_changed() -> None:
    """Tell every worker's index (moderation.bans) that the bans changed, in this transaction."""
    BlockedHashVersion.objects.bulk_create(
        [BlockedHashVersion(pk=1, token=uuid.uuid4().hex)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["token"],
    )


def image_ban(*, image: Image) -> list[int]:
    """Ban the hashes of an image being blocked (inside the blocking transaction).

    The sha256 and the pHashes of the picture and of its mirror, as stored when the
    image was processed (decoded again only for an image processed before that), so the
    ban commits with the block at the cost of a few queries. Returns the ids of the bans
    created. `image` is the one the caller locked the case with.
    """
    image_id = image.pk
    bans: list[BlockedHash] = []
    sha256 = image_sha256(image)
    if sha256:
        bans.append(BlockedHash(kind=BanKind.SHA256, sha256=sha256))
    phashes = [value for value in (image.phash, image.phash_mirror) if value is not None]
    # Both are computed with the renditions; an image processed before the mirror's was
    # stored is decoded here, under the lock (tens of ms for a 1024 px rendition).
    if image.phash_mirror is None:
        picture = image_pixels(image)
        if picture is not None:
            phashes.extend(hashing.perceptual_hashes(picture))
    bans.extend(BlockedHash(kind=BanKind.PHASH, phash=phash) for phash in dict.fromkeys(phashes))
    # A hash this image's block already bans (a block never lifted) is not banned twice.
    held = set(
        BlockedHash.objects.filter(
            source_image_id=image_id, source=BanSource.BLOCK, lifted_at__isnull=True
        ).values_list("kind", "phash", "sha256")
    )
    bans = [ban for ban in bans if (ban.kind, ban.phash, ban.sha256) not in held]
    if not bans:
        return []
    for ban in bans:
        ban.source_image_id = image_id
        ban.source = BanSource.BLOCK
        ban.label = str(image)[: bans_module.LABEL_MAX_LENGTH]
    created = [ban.pk for ban in BlockedHash.objects.bulk_create(bans)]
    bans_changed()
    outbox.enqueue_ban_sweep_on_commit(ban_ids=created)
    return created


def image_unban(*, image_id: int) -> list[int]:
    """Lift the bans the image's block created (imported bans stay)."""
    lifted = list(
        BlockedHash.objects.filter(
            source_image_id=image_id, source=BanSource.BLOCK, lifted_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if lifted:
        BlockedHash.objects.filter(pk__in=lifted).update(lifted_at=timezone.now())
        bans_changed()
    return lifted


def bans_import(*, rows: list[bans_module.BanRow], actor: User) -> list[int]:
    """Create source='import' bans from parsed CSV rows, in one transaction with one
    ban_import action, and sweep the published images after commit.

    A value an earlier import already bans is skipped. Returns the ids of the bans created.
    """
    with transaction.atomic():
        # Skipped against imported bans only: a block's ban of the same value is lifted
        # by a restore, the imported one must outlive it.
        active = BlockedHash.objects.filter(source=BanSource.IMPORT, lifted_at__isnull=True)
        sha256s = {row.value for row in rows if row.kind == BanKind.SHA256}
        phashes = {row.value for row in rows if row.kind == BanKind.PHASH}
        existing = set(
            active.filter(kind=BanKind.SHA256, sha256__in=sha256s).values_list("sha256", flat=True)
        ) | set(
            active.filter(kind=BanKind.PHASH, phash__in=phashes).values_list("phash", flat=True)
        )
        new: dict[tuple[str, int | str], BlockedHash] = {}
        for row in rows:
            if row.value in existing or (row.kind, row.value) in new:
                continue
            new[(row.kind, row.value)] = BlockedHash(
                kind=row.kind,
                phash=row.value if row.kind == BanKind.PHASH else None,
                sha256=row.value if row.kind == BanKind.SHA256 else None,
                source=BanSource.IMPORT,
                label=row.label,
            )
        created = [ban.pk for ban in BlockedHash.objects.bulk_create(new.values())]
        ModerationAction.objects.create(
            image=None,
            action=ActionKind.BAN_IMPORT,
            actor=actor,
            reason_code=audit_text.BANS_IMPORTED,
            details={
                "rows": len(rows),
                "created": len(created),
                "skipped": len(rows) - len(created),
                "first_ban_id": min(created, default=None),
                "last_ban_id": max(created, default=None),
            },
        )
        if created:
            bans_changed()
            outbox.enqueue_ban_sweep_on_commit(ban_ids=created)
    return created
