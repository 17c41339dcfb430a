"""Celery adapters for the `images` queue (routed by CELERY_TASK_ROUTES).

Processing is idempotent (a rerun swaps in a fresh set of renditions), which is
what makes acks_late and redelivery safe. Each start on a pending image is counted
first (services.image_processing_begin), so that an image that kills its worker
stops coming back after a few.
"""

from celery import shared_task

from articles import processing, services
from common.task_names import former_name


@shared_task(name="articles.tasks.process_image", acks_late=True)
def process_image(image_id: int) -> bool:
    if not services.image_processing_begin(image_id=image_id):
        return False
    return processing.process_image(image_id=image_id)


@shared_task(name="articles.tasks.images_requeue_stuck", acks_late=True)
@former_name("articles.tasks.requeue_stuck_images", acks_late=True)
def images_requeue_stuck() -> int:
    """Beat's sweep of uploads left pending; returns how many were sent again."""
    return len(services.images_requeue_stuck().requeued)
