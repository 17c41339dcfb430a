"""Write paths for articles' content, and for uploads whose processing is stuck."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from articles import metrics
from articles.models import Article, Image
from articles.selectors import image_list_stuck
from articles.validators import ValidatedImage
from common.publishing import enqueue

logger = logging.getLogger(__name__)

# Processing runs a pending image may start. A poison image (one that kills its
# worker) is redelivered at once (reject_on_worker_lost): without a cap it would
# hold the images queue for ever. Past the cap the sweep marks it failed.
PROCESSING_MAX_ATTEMPTS = 3
# Stuck images one sweep handles, oldest first; the rest wait for the next sweep.
STUCK_BATCH_SIZE = 100


def _enqueue_processing(
    image_id: int,
    *,
    if_lost: str = "the image stays pending until the stuck-image sweep sends it again",
) -> bool:
    # Named, not imported: the tasks import the services. The upload is saved and
    # answered all the same.
    return enqueue(task_name="articles.tasks.process_image", argument=image_id, if_lost=if_lost)


def image_create(
    *,
    article: Article,
    upload: ValidatedImage,
    caption: str = "",
    credit: str = "",
    position: int | None = None,
) -> Image:
    """Store a validated upload as a pending image of `article`, and have it processed.

    The original is stored under a random name with the extension of the format
    Pillow found, never the name the client sent. If the row cannot be written
    (the position is taken), the file is deleted again: nothing stays half-stored.
    Raises ValidationError({"position": ...}) for a taken position, or when none is given
    and the article's last image holds Image.POSITION_MAX.
    """
    image = Image(
        article=article,
        caption=caption,
        credit=credit,
        status=Image.Status.PENDING,
        width=upload.width,
        height=upload.height,
        format=upload.format,
        byte_size=upload.byte_size,
        sha256=upload.sha256,
    )
    image.original.save(
        f"{uuid.uuid4().hex}.{upload.extension}", ContentFile(upload.data), save=False
    )
    try:
        with transaction.atomic():
            # The article's row serialises concurrent uploads choosing "the next position".
            Article.objects.select_for_update().filter(pk=article.pk).first()
            if position is None:
                last = Image.objects.filter(article=article).aggregate(last=Max("position"))["last"]
                position = 0 if last is None else last + 1
                if position > Image.POSITION_MAX:
                    raise ValidationError(
                        {"position": f"No position is left after {last} in this article."}
                    )
            image.position = position
            image.save()
            transaction.on_commit(partial(_enqueue_processing, image.pk))
    except IntegrityError:
        image.original.delete(save=False)
        raise ValidationError(
            {"position": f"Position {position} is already taken in this article."}
        ) from None
    except BaseException:
        image.original.delete(save=False)
        raise
    return image


def image_processing_begin(*, image_id: int) -> bool:
    """Whether a worker should process the image now: the process_image task's guard.

    A pending image counts one more attempt, committed before the Pillow work, so
    that a worker killed during it has counted it all the same. Once it has had
    PROCESSING_MAX_ATTEMPTS, no more run (the sweep gives it up as failed once the
    last one is over). A ready image is processed again without counting (a
    redelivered message: processing is idempotent); a failed or deleted one is not.
    """
    started = Image.objects.filter(
        pk=image_id,
        status=Image.Status.PENDING,
        processing_attempts__lt=PROCESSING_MAX_ATTEMPTS,
    ).update(
        processing_attempts=F("processing_attempts") + 1, processing_activity_at=timezone.now()
    )
    if started:
        return True
    image = Image.objects.filter(pk=image_id).only("status").first()
    if image is not None and image.status == Image.Status.PENDING:
        logger.warning(
            "image %s not processed: its %d attempts are used up (stuck-image sweep gives it up)",
            image_id,
            PROCESSING_MAX_ATTEMPTS,
        )
    return image is not None and image.status == Image.Status.READY


@dataclass(frozen=True)
class StuckImages:
    """What one sweep of stuck images did, by image id."""

    requeued: list[int]
    # The broker did not take the message: sent again at the next sweep.
    not_sent: list[int]
    # Their last attempt never finished: marked failed, never tried again.
    failed: list[int]
    # The batch was full: more stuck images wait for the next sweep.
    more: bool


def images_requeue_stuck(*, now: datetime | None = None, limit: int | None = None) -> StuckImages:
    """Send for processing again every image pending with no sign of processing for
    IMAGE_PROCESSING_GRACE_SECONDS (its message lost, its worker killed), or mark it
    failed when its attempts are used up.

    Each image is claimed by a compare-and-set on its last activity, so that two
    sweeps at once (beat's and an operator's) send it once, and a worker that
    starts on it meanwhile keeps it. A sent image is not sent again before another
    grace period: its message may only be waiting behind others. At most `limit`
    (STUCK_BATCH_SIZE) images a sweep, the longest silent first. Called outside a
    transaction (beat's task, the reconcile command): each claim is committed
    before its message goes.
    """
    now = now or timezone.now()
    limit = limit or STUCK_BATCH_SIZE
    grace = timedelta(seconds=settings.IMAGE_PROCESSING_GRACE_SECONDS)
    candidates = list(
        image_list_stuck(now=now, grace=grace).values_list(
            "pk", "processing_attempts", "processing_activity_at"
        )[: limit + 1]
    )
    requeued: list[int] = []
    not_sent: list[int] = []
    failed: list[int] = []
    for image_id, attempts, last_activity in candidates[:limit]:
        unchanged = Image.objects.filter(
            pk=image_id,
            status=Image.Status.PENDING,
            processing_attempts=attempts,
            processing_activity_at=last_activity,
        )
        if attempts >= PROCESSING_MAX_ATTEMPTS:
            # Older than the grace period, so longer ago than any task may run:
            # the last attempt died.
            if unchanged.update(status=Image.Status.FAILED):
                failed.append(image_id)
            continue
        if not unchanged.update(processing_activity_at=now):
            continue
        if _enqueue_processing(
            image_id, if_lost="the image stays pending; the next stuck-image sweep sends it"
        ):
            requeued.append(image_id)
        else:
            # Not another grace period: the next sweep tries again.
            Image.objects.filter(pk=image_id, processing_activity_at=now).update(
                processing_activity_at=last_activity
            )
            not_sent.append(image_id)
    if requeued:
        metrics.images_requeued(count=len(requeued))
        logger.warning("sent %d stuck image(s) for processing again: %s", len(requeued), requeued)
    for image_id in failed:
        metrics.image_failed()
        logger.error(
            "image %s given up as failed: %d processing attempts never finished",
            image_id,
            PROCESSING_MAX_ATTEMPTS,
        )
    return StuckImages(
        requeued=requeued, not_sent=not_sent, failed=failed, more=len(candidates) > limit
    )
