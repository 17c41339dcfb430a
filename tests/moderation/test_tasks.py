import pytest

from articles.models import Image
from moderation import tasks
from moderation.models import CaseState, ImageCase, ModerationAction
from moderation.services import report_create
from newsroom.celery import app
from tests.factories import ImageFactory


def test_celery_is_configured_for_at_least_once_delivery_of_idempotent_tasks(settings):
    conf = app.conf
    assert conf.broker_url == settings.REDIS_URL
    assert conf.broker_url.startswith("redis://")
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert conf.result_backend is None
    # Redis redelivers unacknowledged messages after the visibility timeout:
    # it must outlast the longest a task may run.
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility > conf.task_time_limit > conf.task_soft_time_limit
    assert {q.name for q in conf.task_queues} == {"moderation", "images"}
    assert app.amqp.router.route({}, "moderation.tasks.auto_block")["queue"].name == "moderation"
    assert app.amqp.router.route({}, "articles.tasks.anything")["queue"].name == "images"


def test_sweeper_is_scheduled_by_beat(settings):
    entry = app.conf.beat_schedule["sweep-due-blocks"]
    assert entry["task"] == tasks.sweep_due_blocks.name
    assert entry["schedule"] == settings.SWEEP_INTERVAL_SECONDS == 60


@pytest.mark.django_db
def test_auto_block_task_run_three_times_gives_the_state_of_one_run():
    # given an image at its threshold
    image = ImageFactory()
    for n in range(5):
        report_create(image_id=image.pk, reporter_key=f"reader:{n}", reason="hate")

    # when the task body runs three times (as a redelivered message would)
    results = [tasks.auto_block.run(image.pk) for _ in range(3)]

    # then one block, one audit row
    assert results == [True, False, False]
    image.refresh_from_db()
    assert image.visibility == Image.Visibility.BLOCKED
    assert ImageCase.objects.get(image=image).state == CaseState.AUTO_BLOCKED
    assert ModerationAction.objects.filter(image=image).count() == 1


@pytest.mark.django_db
def test_auto_block_task_ignores_unknown_images():
    assert tasks.auto_block.run(123456789) is False
