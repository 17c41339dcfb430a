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
    assert (
        app.amqp.router.route({}, "moderation.tasks.case_auto_block")["queue"].name == "moderation"
    )
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
    results = [tasks.case_auto_block.run(image.pk) for _ in range(3)]

    # then one block, one audit row
    assert results == [True, False, False]
    image.refresh_from_db()
    assert image.visibility == Image.Visibility.BLOCKED
    assert ImageCase.objects.get(image=image).state == CaseState.AUTO_BLOCKED
    assert ModerationAction.objects.filter(image=image).count() == 1


@pytest.mark.django_db
def test_auto_block_task_ignores_unknown_images():
    assert tasks.case_auto_block.run(123456789) is False


@pytest.mark.parametrize(
    ("former", "task"),
    [
        ("moderation.tasks.auto_block", "moderation.tasks.case_auto_block"),
        ("moderation.tasks.notify_first_report", "moderation.tasks.first_report_notify"),
        ("moderation.tasks.notify_auto_block", "moderation.tasks.auto_block_notify"),
        ("moderation.tasks.send_review_digest", "moderation.tasks.review_digest_send"),
        ("moderation.tasks.sweep_hash_bans", "moderation.tasks.hash_bans_sweep"),
        ("moderation.tasks.purge_personal_data", "moderation.tasks.reports_purge_personal_data"),
        ("articles.tasks.requeue_stuck_images", "articles.tasks.images_requeue_stuck"),
        ("staff.tasks.purge_login_records", "staff.tasks.staff_login_records_purge"),
    ],
)
def test_a_renamed_task_still_answers_its_former_name(former, task):
    # given messages a previous release queued under a task's former name, and every
    # app's tasks loaded, as a worker loads them at start
    app.loader.import_default_modules()
    registered = app.tasks

    # then a worker runs the same body, with the same delivery and retry options, on the
    # same queue
    old, new = registered[former], registered[task]
    assert old.run.__code__ is new.run.__code__
    for option in ("acks_late", "autoretry_for", "retry_backoff", "max_retries"):
        assert getattr(old, option, None) == getattr(new, option, None)
    assert app.amqp.router.route({}, former)["queue"] == app.amqp.router.route({}, task)["queue"]
