"""Sending task messages after commit, without letting a broker outage slow
the requests that send them.

Against an unreachable Redis one publish costs seconds (redis-py retries the
connection before giving up). What a lost message carries is recovered anyway:
a block by the sweeper, an email by the queue and the digest, an image's
processing by running it again. So after a failure this process stops trying
for BROKER_RETRY_AFTER_SECONDS, and every message it does not send is logged
as such. Every app sends its after-commit messages through here.
"""

import logging
import threading
import time

from celery import Task
from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_failed_at: float | None = None


def enqueue(*, task: Task, argument: int | list[int], if_lost: str) -> bool:
    """Send `task(argument)` (an id, or a list of ids); never raises.

    Returns whether the message was handed to the broker. `if_lost` tells the
    log what becomes of the work when it was not.
    """
    task_name = task.name.rsplit(".", 1)[-1]
    global _failed_at
    with _lock:
        failed_at = _failed_at
    if failed_at is not None:
        since = time.monotonic() - failed_at
        if since < settings.BROKER_RETRY_AFTER_SECONDS:
            logger.error(
                "could not enqueue %s(%s): the broker failed %.1f s ago, next try after %s s; %s",
                task_name,
                argument,
                since,
                settings.BROKER_RETRY_AFTER_SECONDS,
                if_lost,
            )
            return False
    try:
        task.delay(argument)
    except Exception:
        with _lock:
            _failed_at = time.monotonic()
        logger.exception("could not enqueue %s(%s); %s", task_name, argument, if_lost)
        return False
    with _lock:
        _failed_at = None
    return True


def forget_failures() -> None:
    """Try the broker again at the next message (tests, and after a known repair)."""
    global _failed_at
    with _lock:
        _failed_at = None
