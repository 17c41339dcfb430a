"""Uploads that nothing would ever process: a worker killed in the middle of
process_image, or an image that kills its worker every time. The stuck-image sweep
(beat's task, `manage.py reconcile`) sends the first again once its grace period has
passed, and a new worker makes it ready, once in effect; it gives the second up as
failed; it leaves alone an upload still within its grace period.

The worker pauses, or kills itself, inside processing's last transaction
(tests/faults/hooks.py, loaded with --include: production code is unchanged), once
the renditions are in storage and the row says ready, before the commit."""

import uuid
from datetime import timedelta

import pytest
import redis
from django.core.files.storage import default_storage
from django.db.models import F

from articles.models import Image
from articles.processing import RENDITION_FIELDS
from articles.services import PROCESSING_MAX_ATTEMPTS
from tests.factories import ImageFactory
from tests.faults.processes import (
    HOOKS,
    PROCESS_IMAGE,
    REQUEUE_STUCK_IMAGES,
    RedisServer,
    broker_app,
    is_locked,
    manage,
    process_alive,
    unacked_task_ids,
    wait_for_file,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# The production default, given explicitly to every process the test starts; the
# test moves an image's last activity back past it rather than waiting.
GRACE_SECONDS = 900
GRACE = {"IMAGE_PROCESSING_GRACE_SECONDS": str(GRACE_SECONDS)}


def row(image: Image) -> Image:
    return Image.objects.get(pk=image.pk)


def grace_passes(image: Image) -> None:
    """As if the image's last processing activity were longer ago than the grace period."""
    Image.objects.filter(pk=image.pk).update(
        processing_activity_at=F("processing_activity_at") - timedelta(seconds=GRACE_SECONDS + 60)
    )


def send_processing(own_redis: RedisServer, image: Image) -> str:
    """The upload's message, as image_create sends it after commit."""
    task_id = str(uuid.uuid4())
    broker_app(own_redis).send_task(PROCESS_IMAGE, args=[image.pk], task_id=task_id, queue="images")
    return task_id


def killed_in_the_middle_of_processing(start_worker, own_redis, tmp_path, image: Image) -> str:
    """Send the image's processing to a worker that pauses inside it, check that it is
    inside, and SIGKILL the whole worker there. Returns the message's task id."""
    pause = tmp_path / "pause"
    pause.mkdir()
    worker = start_worker(
        "killed", include=HOOKS, FAULTS_PAUSE_DIR=str(pause), FAULTS_PAUSE_AT="process_image"
    )
    task_id = send_processing(own_redis, image)
    wait_for_file(pause / "inside")
    child = int((pause / "inside").read_text())

    # the pool child is inside processing: the row is locked, nothing committed but the
    # attempt it counted before the Pillow work
    assert child in worker.children()
    assert is_locked(Image.objects.filter(pk=image.pk))
    assert (row(image).status, row(image).processing_attempts) == (Image.Status.PENDING, 1)

    # the whole worker (main process and pool child) is killed with SIGKILL
    worker.kill_all()
    wait_until(lambda: not process_alive(child), timeout=10)

    # the image stays pending without renditions, and its message waits in Redis,
    # unacknowledged: the broker would hand it out again only after its visibility
    # timeout, an hour
    assert row(image).status == Image.Status.PENDING
    assert not row(image).rendition
    broker = redis.Redis.from_url(own_redis.url(0))
    assert unacked_task_ids(broker) == [task_id]
    broker.close()
    return task_id


def assert_processed_once(image: Image) -> None:
    """Ready, with its four renditions in storage, after the killed attempt and one more."""
    processed = row(image)
    assert processed.status == Image.Status.READY
    assert processed.processing_attempts == 2
    names = [getattr(processed, field).name for field in RENDITION_FIELDS]
    assert all(name.startswith("renditions/") for name in names)
    assert all(default_storage.exists(name) for name in names)


def assert_left_alone(image: Image) -> None:
    untouched = row(image)
    assert untouched.status == Image.Status.PENDING
    assert (untouched.processing_attempts, untouched.processing_activity_at) == (0, None)


def test_worker_killed_mid_processing_reconcile_sends_it_again_and_a_new_worker_makes_it_ready(
    start_worker, own_redis, tmp_path
):
    # given an upload whose worker was killed in the middle of processing it, and
    # another upload still within its grace period (its message on its way)
    stuck = ImageFactory(processed=False)
    recent = ImageFactory(processed=False)
    killed_task = killed_in_the_middle_of_processing(start_worker, own_redis, tmp_path, stuck)

    # when the grace period has passed and an operator runs reconcile
    grace_passes(stuck)
    reconciled = manage(own_redis, "reconcile", **GRACE)

    # then it says what it sent, naming the stuck upload only
    assert reconciled.returncode == 0, reconciled.stderr
    assert reconciled.stdout.splitlines() == [
        f"Sent 1 image(s) left pending for processing again: {stuck.pk}."
    ]

    # when a new worker starts
    after = start_worker("after", **GRACE)

    # then it processes the image once, from the message reconcile sent
    wait_until(lambda: after.results(PROCESS_IMAGE), timeout=30)
    assert after.results(PROCESS_IMAGE) == ["True"]
    assert after.results(PROCESS_IMAGE, killed_task) == []
    assert_processed_once(stuck)
    # and the upload within its grace period was left alone
    assert_left_alone(recent)

    # when reconcile runs again, nothing is left to fix
    again = manage(own_redis, "reconcile", **GRACE)
    assert again.stdout.splitlines() == ["Nothing to fix."]


def test_worker_killed_mid_processing_beats_sweep_sends_it_again_and_a_new_worker_makes_it_ready(
    start_worker, own_redis, tmp_path
):
    # given an upload whose worker was killed in the middle of processing it, and
    # another upload still within its grace period
    stuck = ImageFactory(processed=False)
    recent = ImageFactory(processed=False)
    killed_in_the_middle_of_processing(start_worker, own_redis, tmp_path, stuck)
    after = start_worker("after", **GRACE)

    # when the grace period has passed and beat sends its sweep
    grace_passes(stuck)
    sweep = str(uuid.uuid4())
    broker_app(own_redis).send_task(REQUEUE_STUCK_IMAGES, task_id=sweep, queue="images")

    # then the worker's sweep sends the stuck image again, and the worker makes it ready
    wait_until(lambda: after.results(REQUEUE_STUCK_IMAGES, sweep), timeout=30)
    assert after.results(REQUEUE_STUCK_IMAGES, sweep) == ["1"]
    wait_until(lambda: after.results(PROCESS_IMAGE), timeout=30)
    assert after.results(PROCESS_IMAGE) == ["True"]
    assert_processed_once(stuck)
    assert_left_alone(recent)

    # when beat's next sweep comes, it finds nothing to send
    second = str(uuid.uuid4())
    broker_app(own_redis).send_task(REQUEUE_STUCK_IMAGES, task_id=second, queue="images")
    wait_until(lambda: after.results(REQUEUE_STUCK_IMAGES, second), timeout=30)
    assert after.results(REQUEUE_STUCK_IMAGES, second) == ["0"]
    assert after.results(PROCESS_IMAGE) == ["True"]


def test_an_image_that_kills_its_worker_every_time_stops_coming_back_and_is_given_up(
    start_worker, own_redis
):
    # given a worker on which processing one image kills the pool child every time
    poison = ImageFactory(processed=False)
    healthy = ImageFactory(processed=False)
    worker = start_worker("poisoned", include=HOOKS, FAULTS_POISON_IMAGE=str(poison.pk), **GRACE)

    # when that image's message reaches it, then another upload's
    poison_task = send_processing(own_redis, poison)
    send_processing(own_redis, healthy)

    # then the message comes back after each death until its attempts are used up,
    # and is then taken without running: the queue moves on to the other upload
    wait_until(lambda: worker.results(PROCESS_IMAGE, poison_task), timeout=90)
    assert worker.results(PROCESS_IMAGE, poison_task) == ["False"]
    assert worker.log().count("exited with 'signal 9 (SIGKILL)'") == PROCESSING_MAX_ATTEMPTS
    wait_until(lambda: row(healthy).status == Image.Status.READY, timeout=30)
    assert row(poison).status == Image.Status.PENDING
    assert row(poison).processing_attempts == PROCESSING_MAX_ATTEMPTS

    # when the grace period has passed and reconcile runs
    grace_passes(poison)
    reconciled = manage(own_redis, "reconcile", **GRACE)

    # then it gives the image up as failed, and says so
    assert reconciled.returncode == 0, reconciled.stderr
    assert reconciled.stdout.splitlines() == [
        f"Gave up 1 image(s) as failed, their processing attempts used up: {poison.pk}."
    ]
    assert row(poison).status == Image.Status.FAILED
    # and never sends it again
    assert manage(own_redis, "reconcile", **GRACE).stdout.splitlines() == ["Nothing to fix."]
