"""Sending task messages after commit, without letting a broker outage slow
the requests that send them.

Against an unreachable Redis one publish costs seconds (redis-py retries the
connection before giving up). What a lost message carries is recovered anyway:
a block by the sweeper, an email by the queue and the digest, an image's
processing by running it again. So after a failure this process stops trying
for BROKER_RETRY_AFTER_SECONDS (common/breaker.py), and every message it does not
send is logged as such. Every app sends its after-commit messages through here.

A task is named, not imported: the services that send messages are what the tasks
call, so they cannot import the tasks' modules.
"""

import logging
import threading

from celery import Task, current_app
from django.conf import settings

from common.breaker import Breaker

logger = logging.getLogger(__name__)

BROKER_BREAKER = Breaker(retry_after=lambda: settings.BROKER_RETRY_AFTER_SECONDS)

_discovery_lock = threading.Lock()


def enqueue(*, task_name: str, argument: int | list[int], if_lost: str) -> bool:
    """Send the task registered as `task_name` ("moderation.tasks.case_auto_block") with
    `argument` (an id, or a list of ids); never raises but for an unknown name.

    Returns whether the message was handed to the broker. `if_lost` tells the
    log what becomes of the work when it was not.
    """
    task = _registered_task(task_name)
    short_name = task_name.rsplit(".", 1)[-1]
    since = BROKER_BREAKER.open_since()
    if since is not None:
        logger.error(
            "could not enqueue %s(%s): the broker failed %.1f s ago, next try after %s s; %s",
            short_name,
            argument,
            since,
            BROKER_BREAKER.retry_after(),
            if_lost,
        )
        return False
    try:
        task.delay(argument)
    except Exception:
        BROKER_BREAKER.failed()
        logger.exception("could not enqueue %s(%s); %s", short_name, argument, if_lost)
        return False
    BROKER_BREAKER.succeeded()
    return True


def forget_failures() -> None:
    """Try the broker again at the next message (tests, and after a known repair)."""
    BROKER_BREAKER.reset()


def _registered_task(name: str) -> Task:
    # A worker has discovered every app's tasks module at start; a web process has not
    # until it sends its first message: the same discovery, then. Under a lock: Celery's
    # discovery returns at once, having found nothing, to a thread that calls it while
    # another thread's call is still importing.
    if name not in current_app.tasks:
        with _discovery_lock:
            if name not in current_app.tasks:
                current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]
