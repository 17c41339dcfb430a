"""Celery adapters: take ids, call a service. Every task is idempotent, which
is what makes acks_late and redelivery safe."""

from typing import TypedDict

from celery import shared_task

from common.task_names import former_name
from moderation import notifications, services


# shared_task's retry options, as a dict its overloads can check.
class _RetryOptions(TypedDict):
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    max_retries: int


@shared_task(name="moderation.tasks.case_auto_block", acks_late=True)
@former_name("moderation.tasks.auto_block", acks_late=True)
def case_auto_block(image_id: int) -> bool:
    return services.case_auto_block(image_id=image_id, via=services.BlockVia.TASK)


@shared_task(name="moderation.tasks.sweep_due_blocks", acks_late=True)
def sweep_due_blocks() -> int:
    return len(services.sweep_due_blocks())


# --- emails to the moderators ----------------------------------------------------------
# Each sends at most one email per event (a claim row with a unique key, see
# moderation.notifications), which is what makes acks_late and the retries safe.
# A send that fails gives its claim back and is retried: OSError covers the
# mail server being unreachable, timing out or refusing (SMTPException).
_MAIL_RETRY: _RetryOptions = {"autoretry_for": (OSError,), "retry_backoff": 30, "max_retries": 5}


@shared_task(name="moderation.tasks.first_report_notify", acks_late=True, **_MAIL_RETRY)
@former_name("moderation.tasks.notify_first_report", acks_late=True, **_MAIL_RETRY)
def first_report_notify(report_id: int) -> bool:
    return notifications.first_report_notify(report_id=report_id)


@shared_task(name="moderation.tasks.auto_block_notify", acks_late=True, **_MAIL_RETRY)
@former_name("moderation.tasks.notify_auto_block", acks_late=True, **_MAIL_RETRY)
def auto_block_notify(action_id: int) -> bool:
    return notifications.auto_block_notify(action_id=action_id)


@shared_task(name="moderation.tasks.review_digest_send", acks_late=True, **_MAIL_RETRY)
@former_name("moderation.tasks.send_review_digest", acks_late=True, **_MAIL_RETRY)
def review_digest_send() -> bool:
    return notifications.review_digest_send()


# --- hash bans --------------------------------------------------------------------------


@shared_task(name="moderation.tasks.hash_bans_sweep", acks_late=True)
@former_name("moderation.tasks.sweep_hash_bans", acks_late=True)
def hash_bans_sweep(ban_ids: list[int]) -> int:
    """Block the published images matching these new bans (each block is idempotent)."""
    if not ban_ids:
        return 0
    return len(services.hash_bans_sweep(ban_ids=list(ban_ids)))


# --- privacy ----------------------------------------------------------------------------


@shared_task(name="moderation.tasks.reports_purge_personal_data", acks_late=True)
@former_name("moderation.tasks.purge_personal_data", acks_late=True)
def reports_purge_personal_data() -> int:
    """Erase old reports' IP hashes and comments (a second run finds nothing left)."""
    return services.reports_purge_personal_data()
