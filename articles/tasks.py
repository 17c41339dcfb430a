"""Celery adapters for the `images` queue (routed by CELERY_TASK_ROUTES).

Processing is idempotent (a rerun swaps in a fresh set of renditions), which is
what makes acks_late and redelivery safe.
"""

from celery import shared_task

from articles import processing


@shared_task(name="articles.tasks.process_image", acks_late=True)
def process_image(image_id: int) -> bool:
    return processing.process_image(image_id=image_id)
