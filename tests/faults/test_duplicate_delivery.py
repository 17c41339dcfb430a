"""The same auto_block message delivered twice (a redelivery after a lost ack, a publish
retried by a client): a real worker runs it twice, and the image is blocked once."""

import uuid

import pytest

from articles.models import Image
from moderation.models import ActionKind, ModerationAction
from tests.faults.processes import AUTO_BLOCK, broker_app
from tests.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def test_the_same_auto_block_message_delivered_twice_blocks_the_image_once(
    due_image, start_worker, own_redis
):
    # given a worker with two pool processes, so that both copies may run at once
    worker = start_worker("twice", concurrency=2)

    # when the report path's auto_block message is published twice, with one task id
    task_id = str(uuid.uuid4())
    app = broker_app(own_redis)
    for _ in range(2):
        app.send_task(AUTO_BLOCK, args=[due_image.pk], task_id=task_id)

    # then the worker runs both: the first blocks the image, the second finds nothing to do
    wait_until(lambda: len(worker.results(AUTO_BLOCK, task_id)) == 2, timeout=30)
    assert sorted(worker.results(AUTO_BLOCK, task_id)) == ["False", "True"]
    assert Image.objects.get(pk=due_image.pk).visibility == Image.Visibility.BLOCKED
    # and one audit row says so
    actions = ModerationAction.objects.filter(image=due_image, action=ActionKind.AUTO_BLOCK)
    assert [action.details["via"] for action in actions] == ["task"]
