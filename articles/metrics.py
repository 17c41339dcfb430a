"""What operators watch of image processing: uploads the broker path lost, and
uploads given up. Counted like moderation's figures (moderation/metrics.py), in
whichever process does the work; both series exist at 0 from the start."""

from prometheus_client import Counter

IMAGES_REQUEUED = Counter(
    "signalement_images_requeued",
    "Pending images sent for processing again because their message was lost or their "
    "worker died (the stuck-image sweep, or manage.py reconcile): should stay near 0.",
)
IMAGES_FAILED = Counter(
    "signalement_images_failed",
    "Uploads given up as failed after their last processing attempt never finished "
    "(a poison image that kills its worker): each one needs a look.",
)


def images_requeued(*, count: int) -> None:
    IMAGES_REQUEUED.inc(count)


def image_failed() -> None:
    IMAGES_FAILED.inc()
