"""Celery adapters: take ids, call a service. Both tasks are idempotent, which
is what makes acks_late and redelivery safe."""

from celery import shared_task

from moderation import services


@shared_task(name="moderation.tasks.auto_block", acks_late=True)
def auto_block(image_id: int) -> bool:
    return services.case_auto_block(image_id=image_id, via=services.BlockVia.TASK)


@shared_task(name="moderation.tasks.sweep_due_blocks", acks_late=True)
def sweep_due_blocks() -> int:
    return len(services.sweep_due_blocks())
