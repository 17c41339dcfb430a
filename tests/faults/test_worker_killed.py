"""A worker killed in the middle of an automatic block: the block is applied exactly
once, by the redelivered message or by the sweeper, never twice and never lost.

The worker pauses inside case_auto_block's transaction (tests/faults/hooks.py, loaded
with --include: production code is unchanged), holding the case's row lock, and the
test SIGKILLs it there."""

import os
import signal
import time
import uuid

import pytest
import redis

from articles.models import Image
from moderation import tasks
from moderation.models import ActionKind, CaseState, ImageCase, ModerationAction
from tests.faults.processes import (
    AUTO_BLOCK,
    HOOKS,
    broker_app,
    is_locked,
    process_alive,
    unacked_task_ids,
    wait_for_file,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# CELERY_VISIBILITY_TIMEOUT of the worker started after the crash (3600 in production):
# a consumer that starts puts back in the queue the messages delivered and never
# acknowledged more than this long ago (kombu's restore_visible), then runs them.
VISIBILITY_TIMEOUT = 5


def case_is_locked(image_id: int) -> bool:
    """Whether another transaction holds the case's row lock (the block's)."""
    return is_locked(ImageCase.objects.filter(image_id=image_id))


def auto_blocks(image: Image) -> list[ModerationAction]:
    return list(ModerationAction.objects.filter(image=image, action=ActionKind.AUTO_BLOCK))


def visibility(image: Image) -> str:
    return Image.objects.values_list("visibility", flat=True).get(pk=image.pk)


def test_pool_child_killed_inside_the_block_hands_the_message_back_and_it_blocks_once(
    due_image, start_worker, own_redis, tmp_path
):
    # given a worker (prefork, one child) whose first automatic block pauses inside
    # its transaction
    pause = tmp_path / "pause"
    pause.mkdir()
    worker = start_worker("child", include=HOOKS, FAULTS_PAUSE_DIR=str(pause))

    # when the report path's auto_block message reaches it
    task_id = str(uuid.uuid4())
    broker_app(own_redis).send_task(AUTO_BLOCK, args=[due_image.pk], task_id=task_id)
    wait_for_file(pause / "inside")
    child = int((pause / "inside").read_text())

    # then its pool child is inside the block: the case row is locked, nothing committed
    assert child in worker.children()
    assert case_is_locked(due_image.pk)
    assert visibility(due_image) == Image.Visibility.VISIBLE

    # when that child is killed with SIGKILL
    os.kill(child, signal.SIGKILL)

    # then the worker notices, the message goes back to Redis and runs again in a new
    # child, and the block lands exactly once
    wait_until(lambda: worker.results(AUTO_BLOCK, task_id), timeout=30)
    assert worker.results(AUTO_BLOCK, task_id) == ["True"]
    assert f"pid:{child} exited with 'signal 9 (SIGKILL)'" in worker.log()
    assert child not in worker.children()
    assert visibility(due_image) == Image.Visibility.BLOCKED
    assert ImageCase.objects.get(image=due_image).state == CaseState.AUTO_BLOCKED
    [action] = auto_blocks(due_image)
    assert action.details["via"] == "task"


def test_whole_worker_killed_inside_the_block_the_sweeper_blocks_once_redelivery_does_nothing(
    due_image, start_worker, own_redis, tmp_path
):
    # given a worker paused inside the block of the report path's auto_block message
    pause = tmp_path / "pause"
    pause.mkdir()
    worker = start_worker("whole", include=HOOKS, FAULTS_PAUSE_DIR=str(pause))
    task_id = str(uuid.uuid4())
    broker_app(own_redis).send_task(AUTO_BLOCK, args=[due_image.pk], task_id=task_id)
    inside_at = wait_for_file(pause / "inside")
    child = int((pause / "inside").read_text())
    assert child in worker.children()
    assert case_is_locked(due_image.pk)

    # when the whole worker (main process and pool child) is killed with SIGKILL
    worker.kill_all()
    wait_until(lambda: not process_alive(child), timeout=10)

    # then nothing was committed, and Redis still holds the message, unacknowledged
    broker = redis.Redis.from_url(own_redis.url(0))
    assert unacked_task_ids(broker) == [task_id]
    assert visibility(due_image) == Image.Visibility.VISIBLE
    assert auto_blocks(due_image) == []

    # when the sweeper runs once (as beat runs it)
    swept = tasks.sweep_due_blocks.run()

    # then it applies the block, with one audit row
    assert swept == 1
    assert visibility(due_image) == Image.Visibility.BLOCKED
    [action] = auto_blocks(due_image)
    assert action.details["via"] == "sweeper"

    # when a new worker starts once the message's visibility timeout has passed
    time.sleep(max(0.0, inside_at + VISIBILITY_TIMEOUT + 1 - time.time()))
    after = start_worker("after", CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))

    # then Redis redelivers the message to it, and running it changes nothing
    wait_until(lambda: after.results(AUTO_BLOCK, task_id), timeout=30)
    assert after.results(AUTO_BLOCK, task_id) == ["False"]
    wait_until(lambda: unacked_task_ids(broker) == [], timeout=10)
    assert auto_blocks(due_image) == [action]
    assert ImageCase.objects.get(image=due_image).state == CaseState.AUTO_BLOCKED
    broker.close()
