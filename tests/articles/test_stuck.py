"""Uploads nothing would ever process (a lost message, a killed worker): the selector
that finds them, the sweep that sends them again or gives them up, and the guard that
counts each processing attempt. The real workers and kills are in
tests/faults/test_processing_stuck.py."""

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from articles import services, tasks
from articles.models import Image
from articles.selectors import image_list_stuck
from articles.services import PROCESSING_MAX_ATTEMPTS, images_requeue_stuck
from common import publishing
from newsroom.celery import app as celery_app
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """The image ids of the processing messages handed to the broker."""
    messages: list[int] = []
    monkeypatch.setattr(tasks.process_image, "delay", messages.append)
    return messages


@pytest.fixture
def broker_down(monkeypatch) -> None:
    def refuse(image_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.process_image, "delay", refuse)


def grace() -> timedelta:
    return timedelta(seconds=settings.IMAGE_PROCESSING_GRACE_SECONDS)


def after_grace(since=None):
    """A moment just past the grace period, counted from `since` (default: now)."""
    return (since or timezone.now()) + grace() + timedelta(seconds=1)


def pending(*, age: timedelta = timedelta(0), **fields) -> Image:
    """An upload not processed yet, uploaded `age` ago."""
    image = ImageFactory(processed=False, **fields)
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - age)
    return Image.objects.get(pk=image.pk)


def row(image: Image) -> Image:
    return Image.objects.get(pk=image.pk)


# --- the selector -----------------------------------------------------------------------


def test_only_uploads_pending_with_no_activity_for_the_grace_period_are_stuck():
    now = timezone.now()
    long_ago = grace() + timedelta(minutes=5)
    # given uploads whose message never came, from long ago and oldest first
    oldest = pending(age=long_ago * 3)
    lost = pending(age=long_ago)
    # one whose worker started (or which was sent again) long ago
    killed = pending(age=long_ago * 4, processing_activity_at=now - long_ago * 2)
    # and, not stuck: a recent upload, an old one sent again (or started) just now,
    # old ones that are ready or failed
    recent = pending(age=timedelta(minutes=1))
    resent = pending(age=long_ago * 5, processing_activity_at=now - timedelta(seconds=30))
    ready = ImageFactory()
    failed = pending(age=long_ago, status=Image.Status.FAILED)
    Image.objects.filter(pk=ready.pk).update(created_at=now - long_ago)

    # when the stuck ones are listed
    stuck = list(image_list_stuck(now=now, grace=grace()))

    # then they are the three with no sign of life, the longest silent first
    assert stuck == [oldest, killed, lost]
    assert not {recent, resent, ready, failed} & set(stuck)


@pytest.mark.parametrize("seconds", [-1, 0, 1, 59])
def test_an_upload_is_not_stuck_until_the_grace_period_is_over(seconds):
    # given an upload whose processing was last sent `grace - seconds` ago
    now = timezone.now()
    image = pending(processing_activity_at=now - grace() + timedelta(seconds=seconds))

    # then it is stuck only once the whole grace period has passed
    assert list(image_list_stuck(now=now, grace=grace())) == ([image] if seconds < 0 else [])


# --- the sweep --------------------------------------------------------------------------


def test_a_stuck_upload_is_sent_again_once_per_grace_period(sent):
    # given an upload whose message was lost long ago
    image = pending(age=grace() * 2)

    # when the sweep runs
    first = images_requeue_stuck()

    # then it is sent again, and the time is noted
    assert (first.requeued, first.not_sent, first.failed, first.more) == ([image.pk], [], [], False)
    assert sent == [image.pk]
    noted = row(image).processing_activity_at
    assert noted is not None

    # when the sweep runs again, every minute, while its message waits behind others
    for minute in range(1, 15):
        again = images_requeue_stuck(now=noted + timedelta(minutes=minute))
        assert again.requeued == []
    # then nothing more is sent until a whole grace period has passed
    assert sent == [image.pk]
    assert images_requeue_stuck(now=after_grace(noted)).requeued == [image.pk]
    assert sent == [image.pk, image.pk]
    # and sending it counted no attempt: only a worker's start does
    assert row(image).processing_attempts == 0


@pytest.mark.parametrize(
    "state",
    [
        {"status": Image.Status.READY},
        {"status": Image.Status.FAILED},
        {"status": Image.Status.PENDING},
        {"status": Image.Status.PENDING, "processing_attempts": 1},
        {"status": Image.Status.PENDING, "processing_attempts": PROCESSING_MAX_ATTEMPTS},
    ],
)
def test_uploads_within_their_grace_period_ready_or_failed_are_left_alone(sent, state):
    # given an image in that state, whose processing was last sent or started just now
    image = pending(processing_activity_at=timezone.now(), **state)

    # when the sweep runs
    result = images_requeue_stuck()

    # then nothing is sent, given up or changed
    assert (result.requeued, result.not_sent, result.failed) == ([], [], [])
    assert sent == []
    assert (row(image).status, row(image).processing_attempts) == (
        state["status"],
        state.get("processing_attempts", 0),
    )


def test_an_upload_whose_attempts_are_used_up_is_given_up_as_failed(sent, caplog):
    # given an upload whose every attempt started and never finished (a poison image)
    image = pending(processing_attempts=PROCESSING_MAX_ATTEMPTS)
    other = pending(processing_attempts=PROCESSING_MAX_ATTEMPTS - 1)

    # when the sweep runs after the grace period
    with caplog.at_level(logging.ERROR, logger="articles.services"):
        result = images_requeue_stuck(now=after_grace())

    # then it is marked failed, not sent, and the log says so; the other gets its last try
    assert result.failed == [image.pk]
    assert result.requeued == [other.pk]
    assert sent == [other.pk]
    assert row(image).status == Image.Status.FAILED
    assert f"image {image.pk} given up as failed" in caplog.text
    # and it is never sent again, nor shown
    assert images_requeue_stuck(now=after_grace(after_grace())).failed == []
    assert sent == [other.pk, other.pk]
    assert not Image.objects.filter(pk=image.pk, status=Image.Status.READY).exists()


def test_when_the_broker_does_not_take_the_message_the_next_sweep_tries_again(
    broker_down, monkeypatch
):
    # given an upload whose message was lost, and a broker that is down
    image = pending(age=grace() * 2)

    # when the sweep runs
    result = images_requeue_stuck()

    # then it says the message was not sent, and the image is as stuck as before
    assert (result.requeued, result.not_sent) == ([], [image.pk])
    assert row(image).processing_activity_at is None

    # when the broker is back (and the publishing helper's pause after a failure is
    # over), the next sweep sends it
    sent: list[int] = []
    monkeypatch.setattr(tasks.process_image, "delay", sent.append)
    publishing.forget_failures()
    assert images_requeue_stuck().requeued == [image.pk]
    assert sent == [image.pk]


def test_a_sweep_handles_a_bounded_batch_oldest_first_and_says_more_wait(sent):
    # given five uploads whose messages were lost, at different times
    images = [pending(age=grace() * (10 - index)) for index in range(5)]

    # when sweeps of two run one after the other
    batches = [images_requeue_stuck(limit=2) for _ in range(3)]

    # then each sends the two oldest left, and says whether more wait
    assert [batch.requeued for batch in batches] == [
        [images[0].pk, images[1].pk],
        [images[2].pk, images[3].pk],
        [images[4].pk],
    ]
    assert [batch.more for batch in batches] == [True, True, False]
    assert sent == [image.pk for image in images]


# --- the worker's guard -----------------------------------------------------------------


def test_each_start_on_a_pending_upload_counts_an_attempt_until_they_are_used_up(caplog):
    image = pending()

    # when workers start on it as many times as allowed, then once more
    starts = [
        services.image_processing_begin(image_id=image.pk) for _ in range(PROCESSING_MAX_ATTEMPTS)
    ]
    with caplog.at_level(logging.WARNING, logger="articles.services"):
        last = services.image_processing_begin(image_id=image.pk)

    # then each allowed start counted and noted the time; the last is refused and logged,
    # leaving the image to the sweep
    assert starts == [True] * PROCESSING_MAX_ATTEMPTS
    assert last is False
    assert row(image).processing_attempts == PROCESSING_MAX_ATTEMPTS
    assert row(image).processing_activity_at is not None
    assert row(image).status == Image.Status.PENDING
    assert f"image {image.pk} not processed: its {PROCESSING_MAX_ATTEMPTS} attempts" in caplog.text


def test_a_redelivered_message_reprocesses_a_ready_image_without_counting_but_not_a_failed_one():
    ready = ImageFactory()
    failed = pending(status=Image.Status.FAILED)

    assert services.image_processing_begin(image_id=ready.pk) is True
    assert services.image_processing_begin(image_id=failed.pk) is False
    assert services.image_processing_begin(image_id=987654) is False
    assert row(ready).processing_attempts == 0
    assert row(failed).status == Image.Status.FAILED


def test_the_task_does_not_process_an_upload_whose_attempts_are_used_up():
    # given an upload whose every attempt killed its worker
    image = pending(processing_attempts=PROCESSING_MAX_ATTEMPTS)

    # when its redelivered message runs
    result = tasks.process_image(image.pk)

    # then nothing is rendered: the message is taken, the image left to the sweep
    assert result is False
    assert row(image).status == Image.Status.PENDING
    assert not row(image).rendition


# --- beat and settings ------------------------------------------------------------------


def test_beat_runs_the_sweep_of_stuck_uploads_on_the_images_queue(sent):
    entry = settings.CELERY_BEAT_SCHEDULE["requeue-stuck-images"]
    assert entry["task"] == tasks.images_requeue_stuck.name
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == settings.SWEEP_INTERVAL_SECONDS
    # A sweep nobody ran in time is replaced by the next one.
    assert entry["options"]["expires"] == settings.SWEEP_INTERVAL_SECONDS
    assert celery_app.amqp.router.route({}, entry["task"])["queue"].name == "images"

    # and the task returns how many it sent
    stuck = [pending(age=grace() * 2) for _ in range(3)]
    assert tasks.images_requeue_stuck.run() == 3
    assert sorted(sent) == sorted(image.pk for image in stuck)


@pytest.mark.parametrize(
    ("grace_seconds", "time_limit", "refused"),
    [("60", "60", True), ("1", "60", True), ("61", "60", False), ("100", "200", True)],
)
def test_a_grace_period_not_above_the_tasks_time_limit_is_refused(
    grace_seconds, time_limit, refused
):
    # A grace period shorter than a task may run would count a running attempt as stuck.
    env = {
        **os.environ,
        "SECRET_KEY": "x",
        "IMAGE_PROCESSING_GRACE_SECONDS": grace_seconds,
        "CELERY_TASK_TIME_LIMIT": time_limit,
        "CELERY_TASK_SOFT_TIME_LIMIT": "1",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", "import newsroom.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (loaded.returncode != 0) is refused, loaded.stderr
    if refused:
        limit = int(time_limit) + 1
        assert f"IMAGE_PROCESSING_GRACE_SECONDS must be at least {limit}" in loaded.stderr
