"""What other apps plug into articles, so that articles never imports them.

Two hooks, filled by moderation at start (moderation/hooks.py, from its AppConfig.ready()):
- the perceptual hasher: processing stores an image's hashes (its own and its mirror's) on
  the image, so that bans can be matched against them;
- the image-ready receivers: called inside the transaction that makes an image ready,
  under its row lock, and again after the commit (processing.process_image says why).
  Each must be idempotent.

A small registry of plain callables rather than Django signals: what is called, and in
which order, is all here. With nothing registered an image has no perceptual hash and
nothing is called when it becomes ready.
"""

from typing import Protocol

from PIL import Image as PILImage


class PerceptualHasher(Protocol):
    def __call__(self, picture: PILImage.Image, /) -> tuple[int, int]: ...


class ImageReadyReceiver(Protocol):
    def __call__(self, *, image_id: int) -> None: ...


_perceptual_hasher: PerceptualHasher | None = None
_image_ready_receivers: list[ImageReadyReceiver] = []


def perceptual_hasher_set(hasher: PerceptualHasher) -> None:
    """Hash processed images with `hasher`: (the picture's hash, its mirror's)."""
    global _perceptual_hasher
    _perceptual_hasher = hasher


def image_ready_connect(receiver: ImageReadyReceiver) -> None:
    """Call `receiver(image_id=...)` whenever an image becomes ready; once, however many
    times it is connected (ready() may run more than once, in tests)."""
    if receiver not in _image_ready_receivers:
        _image_ready_receivers.append(receiver)


def perceptual_hashes(picture: PILImage.Image) -> tuple[int, int] | None:
    """The picture's perceptual hashes, or None when no hasher is registered."""
    if _perceptual_hasher is None:
        return None
    return _perceptual_hasher(picture)


def image_ready(*, image_id: int) -> None:
    """Tell every receiver, in the order they were connected, that the image is ready."""
    for receiver in list(_image_ready_receivers):
        receiver(image_id=image_id)
