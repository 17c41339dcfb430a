"""What moderation plugs into articles (articles/hooks.py), registered by
ModerationConfig.ready(): processed images get the perceptual hashes bans are matched
with, and an image that becomes ready is checked against the hash bans, so that a banned
upload is never shown."""

from articles import hooks
from moderation import hashing, services


def image_ready(*, image_id: int) -> None:
    """Block the image if it matches a banned hash (idempotent: a no-op once blocked)."""
    services.image_check_hash_bans(image_id=image_id)


def register() -> None:
    hooks.perceptual_hasher_set(hashing.perceptual_hashes)
    hooks.image_ready_connect(image_ready)
