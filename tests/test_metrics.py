"""/metrics: who may read it, and the figures it gives after reports and blocks.

These run in the test process, whose figures are its own (no
PROMETHEUS_MULTIPROC_DIR); tests/test_operations.py shows several processes
adding up. Counters only grow, so each test compares before and after."""

import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from articles import tasks as articles_tasks
from articles.services import PROCESSING_MAX_ATTEMPTS, images_requeue_stuck
from moderation import services
from moderation.models import ImageCase
from moderation.services import Decision
from newsroom.celery import app as celery_app
from newsroom.env import parse_rates
from newsroom.metrics import QueueDepthCollector
from tests import corpus
from tests.factories import ImageFactory
from tests.moderation.hashed import blocked_image, jpeg, processed_image
from tests.readers import held_case, reader_client, reports_by_new_readers
from tests.scrape import samples, value
from tests.servers import free_port

NAMES = (
    "signalement_reports_received_total",
    "signalement_report_repeats_total",
    "signalement_reports_refused_total",
    "signalement_blocks_total",
    "signalement_time_to_block_seconds_count",
    "signalement_sweeper_repairs_total",
    "signalement_client_address_unreadable_total",
    "signalement_images_requeued_total",
    "signalement_images_failed_total",
    "signalement_queue_depth",
    "signalement_broker_up",
)


def figure(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """How much some figures moved while the `with` block ran."""

    def __init__(self, *figures: tuple[str, dict]):
        self.figures = figures

    def __enter__(self) -> "Delta":
        self.before = [figure(name, **labels) for name, labels in self.figures]
        return self

    def __exit__(self, *exc_info) -> None:
        after = [figure(name, **labels) for name, labels in self.figures]
        self.moved = [a - b for a, b in zip(after, self.before, strict=True)]


def received(outcome: str = "open") -> tuple[str, dict]:
    return ("signalement_reports_received_total", {"outcome": outcome})


def refused(reason: str) -> tuple[str, dict]:
    return ("signalement_reports_refused_total", {"reason": reason})


def blocks(kind: str) -> tuple[str, dict]:
    return ("signalement_blocks_total", {"kind": kind})


REPEATS = ("signalement_report_repeats_total", {})
TIME_TO_BLOCK = ("signalement_time_to_block_seconds_count", {})
REPAIRS = ("signalement_sweeper_repairs_total", {})
REQUEUED = ("signalement_images_requeued_total", {})
FAILED = ("signalement_images_failed_total", {})


# --- who may read ------------------------------------------------------------------------


@pytest.mark.redis
def test_an_address_in_the_allow_list_reads_every_figure_and_the_queues():
    # when Prometheus on the machine itself asks (127.0.0.1 is allowed by default)
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")

    # then every figure is there, each queue's depth too, and the broker answered
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]
    found = samples(response.content.decode())
    assert {name for name, _labels in found} >= set(NAMES)
    for queue in ("moderation", "images"):
        assert value(found, "signalement_queue_depth", queue=queue) >= 0
    assert value(found, "signalement_broker_up") == 1


def test_anyone_else_gets_a_404_unless_they_bring_the_token(settings):
    settings.METRICS_TOKEN = "a-long-metrics-token"
    outsider = Client(REMOTE_ADDR="198.51.100.7")

    # when an address outside the allow-list asks, bare or with a wrong token
    bare = outsider.get("/metrics")
    wrong = outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-metrics-tokex")
    # and when it brings the token
    right = outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-metrics-token")

    # then only the token opens it
    assert (bare.status_code, wrong.status_code, right.status_code) == (404, 404, 200)
    assert b"signalement_blocks_total" not in bare.content + wrong.content


def test_without_a_token_setting_no_bearer_opens_it(settings):
    settings.METRICS_TOKEN = ""

    response = Client(REMOTE_ADDR="198.51.100.7").get("/metrics", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 404


def test_a_network_in_the_allow_list_is_allowed_behind_the_proxy(settings):
    # given the monitoring network allowed, behind one proxy (nginx)
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="127.0.0.1")

    # when Prometheus at 10.20.3.4 asks through nginx, and someone forges that address
    inside = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4")
    forged = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4, 198.51.100.7")

    # then the address nginx saw decides
    assert (inside.status_code, forged.status_code) == (200, 404)


# --- reports -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_new_repeated_invalid_unknown_and_late_reports_are_counted_apart():
    image = ImageFactory()
    reader = reader_client(1)
    url = f"/api/images/{image.pk}/reports/"
    watched = (
        received(),
        REPEATS,
        refused("invalid"),
        refused("not_found"),
        refused("already_blocked"),
    )

    with Delta(*watched) as delta:
        # when a reader reports, reports again, sends an unknown reason, broken
        # JSON and a form, and reports an image that does not exist
        assert reader.post(url, {"reason": "violence"}, format="json").status_code == 201
        assert reader.post(url, {"reason": "violence"}, format="json").status_code == 200
        assert reader.post(url, {"reason": "nope"}, format="json").status_code == 400
        broken = reader.post(url, "{", content_type="application/json")
        assert broken.status_code == 400
        assert reader.post(url, {"reason": "spam"}, format="multipart").status_code == 415
        unknown = reader.post("/api/images/999999/reports/", {"reason": "spam"}, format="json")
        assert unknown.status_code == 404
        # and another reader reports it once it is blocked
        image.__class__.objects.filter(pk=image.pk).update(visibility="blocked")
        late = reader_client(2).post(url, {"reason": "violence"}, format="json")
        assert late.status_code == 200

    # then each is counted once, under its own name
    assert delta.moved == [1, 1, 3, 1, 1]


@pytest.mark.django_db
def test_throttled_reports_are_counted_on_the_api_and_on_the_form(settings):
    settings.REPORT_RATE_LIMITS = parse_rates("1/minute")
    image = ImageFactory()

    with Delta(refused("throttled"), refused("invalid")) as delta:
        # when one reader goes over the limit on the API, another on the form
        api_reader = reader_client(3)
        api_url = f"/api/images/{image.pk}/reports/"
        assert api_reader.post(api_url, {"reason": "spam"}, format="json").status_code == 201
        assert api_reader.post(api_url, {"reason": "spam"}, format="json").status_code == 429
        form_reader = Client(REMOTE_ADDR="10.9.9.9")
        form_url = f"/images/{image.pk}/report/"
        assert form_reader.post(form_url, {"reason": "bogus"}).status_code == 400
        assert form_reader.post(form_url, {"reason": "spam"}).status_code == 429

    # then both refusals count as throttled, the bad form as invalid
    assert delta.moved == [2, 1]


@pytest.mark.django_db
def test_reports_held_as_grouped_are_counted_as_held():
    with Delta(received("held"), received("open")) as delta:
        held_case(held_reports=2)

    assert delta.moved == [2, settings.BRIGADE_NETWORK_ALLOWANCE]


# --- blocks ------------------------------------------------------------------------------


def report_to_threshold(image) -> None:
    reports_by_new_readers(image, settings.REPORT_THRESHOLD, reason="hate")


@pytest.mark.django_db
def test_an_automatic_block_is_counted_with_its_time_to_block():
    # given an image its readers brought to the threshold
    image = ImageFactory()
    report_to_threshold(image)

    # when the worker blocks it, and the message is delivered twice
    with Delta(blocks("auto"), TIME_TO_BLOCK, REPAIRS) as delta:
        assert services.case_auto_block(image_id=image.pk)
        assert not services.case_auto_block(image_id=image.pk)

    # then one block, one time-to-block observation, no repair
    assert delta.moved == [1, 1, 0]


@pytest.mark.django_db
def test_a_block_the_sweeper_had_to_apply_is_counted_as_a_repair():
    # given an image at its threshold whose block message never went out (this
    # test's transaction is never committed, so nothing was enqueued)
    image = ImageFactory()
    report_to_threshold(image)

    # when the sweeper runs
    with Delta(blocks("auto"), REPAIRS) as delta:
        assert services.sweep_due_blocks() == [image.pk]

    # then it is an automatic block, and a repair
    assert delta.moved == [1, 1]


@pytest.mark.django_db
def test_a_moderators_block_and_a_hash_match_are_counted_by_kind(moderator, monkeypatch):
    monkeypatch.setattr("moderation.tasks.hash_bans_sweep.delay", lambda ban_ids: None)
    data = jpeg(corpus.photo(4))

    with Delta(blocks("moderator"), blocks("hash"), blocks("auto")) as delta:
        # when a moderator blocks an image before its threshold
        blocked_image(data, moderator)
        # and the same bytes are uploaded again
        again = processed_image(data)
        # and a moderator confirms the block the hash match made (no new block)
        services.case_decide(
            case_id=ImageCase.objects.get(image=again).pk,
            decision=Decision.CONFIRM,
            actor=moderator,
        )

    assert delta.moved == [1, 1, 0]


# --- uploads left pending ---------------------------------------------------------------


@pytest.mark.django_db
def test_uploads_sent_again_and_uploads_given_up_are_counted(monkeypatch):
    # given three uploads silent past the grace period: two whose message was lost, one
    # whose every attempt died, and an upload within it
    monkeypatch.setattr(articles_tasks.process_image, "delay", lambda image_id: None)
    silent = timezone.now() - timedelta(seconds=settings.IMAGE_PROCESSING_GRACE_SECONDS + 60)
    for attempts in (0, 1, PROCESSING_MAX_ATTEMPTS):
        ImageFactory(processed=False, processing_attempts=attempts, processing_activity_at=silent)
    ImageFactory(processed=False)

    # when the sweep runs twice
    with Delta(REQUEUED, FAILED) as delta:
        images_requeue_stuck()
        images_requeue_stuck()

    # then two were sent again and one given up, each counted once
    assert delta.moved == [2, 1]


# --- queues ------------------------------------------------------------------------------


@pytest.mark.redis
def test_queue_depth_counts_the_messages_waiting_at_every_priority():
    # given a queue of its own on the test broker, with two plain messages and one
    # of high priority
    queue = f"metrics-test-{uuid.uuid4().hex[:8]}"
    for priority in (None, None, 9):
        celery_app.send_task("moderation.tasks.sweep_due_blocks", queue=queue, priority=priority)
    collector = QueueDepthCollector(broker_url=settings.REDIS_URL, queues=[queue, "absent"])

    try:
        # when the figures are collected
        found = {
            (sample.name, tuple(sample.labels.values())): sample.value
            for family in collector.collect()
            for sample in family.samples
        }
    finally:
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(*client.keys(f"{queue}*"))
        client.close()

    # then all three wait in that queue, none in a queue that does not exist
    assert found[("signalement_queue_depth", (queue,))] == 3
    assert found[("signalement_queue_depth", ("absent",))] == 0
    assert found[("signalement_broker_up", ())] == 1


def test_without_the_broker_the_answer_says_so_instead_of_failing():
    collector = QueueDepthCollector(
        broker_url=f"redis://127.0.0.1:{free_port()}/0", queues=["moderation"]
    )

    families = {family.name: family for family in collector.collect()}

    assert set(families) == {"signalement_broker_up"}
    assert [sample.value for sample in families["signalement_broker_up"].samples] == [0]
