"""Celery's queues, routes and beat schedule; newsroom/settings.py imports this and passes
in what it read from the environment. Tasks are named by their dotted paths."""

from typing import Any

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

CELERY_TASK_QUEUES = (Queue("moderation"), Queue("images"))
CELERY_TASK_ROUTES = {
    "moderation.tasks.*": {"queue": "moderation"},
    "articles.tasks.*": {"queue": "images"},
}


def beat_schedule(*, sweep_interval_seconds: int, digest_time: str) -> dict[str, dict[str, Any]]:
    """Beat's entries; the review digest at `digest_time` (HH:MM), none when it is empty."""
    schedule: dict[str, dict[str, Any]] = {
        "sweep-due-blocks": {
            "task": "moderation.tasks.sweep_due_blocks",
            "schedule": float(sweep_interval_seconds),
            # A sweep nobody ran in time is replaced by the next one, not queued up.
            "options": {"expires": float(sweep_interval_seconds)},
        },
        # Uploads left pending past IMAGE_PROCESSING_GRACE_SECONDS, sent again.
        "requeue-stuck-images": {
            "task": "articles.tasks.images_requeue_stuck",
            "schedule": float(sweep_interval_seconds),
            "options": {"expires": float(sweep_interval_seconds)},
        },
        # Personal data older than REPORT_PERSONAL_DATA_DAYS, every night at 03:30.
        "purge-personal-data": {
            "task": "moderation.tasks.reports_purge_personal_data",
            "schedule": crontab(hour=3, minute=30),
            "options": {"expires": 12 * 3600.0},
        },
    }
    if digest_time:
        try:
            digest_hour, digest_minute = (int(part) for part in digest_time.split(":"))
            schedule["moderation-review-digest"] = {
                "task": "moderation.tasks.review_digest_send",
                "schedule": crontab(hour=digest_hour, minute=digest_minute),
                # A digest that could not go out within 5 hours is dropped, not sent late
                # (the next one says everything it would have said).
                "options": {"expires": 5 * 3600.0},
            }
        except ValueError:
            raise ImproperlyConfigured(
                f"MODERATION_DIGEST_TIME must be HH:MM or empty, got {digest_time!r}"
            ) from None
    # axes' records older than STAFF_LOGIN_RECORDS_DAYS, every night at 03:40.
    schedule["purge-staff-login-records"] = {
        "task": "staff.tasks.staff_login_records_purge",
        "schedule": crontab(hour=3, minute=40),
        "options": {"expires": 12 * 3600.0},
    }
    return schedule
