"""Sending task messages after commit, without letting a broker outage slow
the requests that send them.

Against an unreachable Redis one publish costs seconds (redis-py retries the
connection before giving up). What a lost message carries is recovered anyway:
a block by the sweeper, an email by the queue and the digest. So after a
failure this process stops trying for BROKER_RETRY_AFTER_SECONDS, and every
message it does not send is logged as such.
"""

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger("moderation.services")

_lock = threading.Lock()
_failed_at: float | None = None


def enqueue(*, task_name: str, object_id: int | list[int], if_lost: str) -> bool:
    """Send `moderation.tasks.<task_name>(object_id)` (an id, or a list of ids); never raises.

    Returns whether the message was handed to the broker. `if_lost` tells the
    log what becomes of the work when it was not.
    """
    # Imported here: tasks import the services, which import this module.
    from moderation import tasks

    global _failed_at
    with _lock:
        failed_at = _failed_at
    if failed_at is not None:
        since = time.monotonic() - failed_at
        if since < settings.BROKER_RETRY_AFTER_SECONDS:
            logger.error(
                "could not enqueue %s(%s): the broker failed %.1f s ago, next try after %s s; %s",
                task_name,
                object_id,
                since,
                settings.BROKER_RETRY_AFTER_SECONDS,
                if_lost,
            )
            return False
    try:
        getattr(tasks, task_name).delay(object_id)
    except Exception:
        with _lock:
            _failed_at = time.monotonic()
        logger.exception("could not enqueue %s(%s); %s", task_name, object_id, if_lost)
        return False
    with _lock:
        _failed_at = None
    return True


def forget_failures() -> None:
    """Try the broker again at the next message (tests, and after a known repair)."""
    global _failed_at
    with _lock:
        _failed_at = None
