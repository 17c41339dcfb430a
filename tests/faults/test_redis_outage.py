"""Redis dies in the middle of a burst of reports: every report is answered and saved,
and once Redis is back, one sweep by a real worker applies every block that is due,
each exactly once. The database is the truth; the broker only makes it fast."""

import itertools
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from articles.models import Image
from moderation.models import ActionKind, ImageCase, ModerationAction, Report
from moderation.selectors import case_list_due_for_block
from tests.factories import ImageFactory, PolicyFactory, SourceFactory
from tests.faults.processes import SWEEP_DUE_BLOCKS, broker_app
from tests.readers import LiveReader
from tests.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

THRESHOLD = 5
# The first two images cross their threshold while Redis is up, and the worker blocks
# them; the next four have two reports when Redis dies and cross it during the outage.
EARLY_REPORTS = 7
LATE_BEFORE, LATE_AFTER = 2, 6
# Readers who keep reporting other images all along, so that Redis dies under load.
STREAMS = 4
REPORTS_DURING_THE_OUTAGE = 40


@dataclass(frozen=True)
class Answer:
    image_id: int
    status: int
    started: float
    finished: float


class Burst:
    """Reports from distinct readers (each their own cookies and address), timed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.lock = threading.Lock()
        self.readers = itertools.count()
        self.answers: list[Answer] = []

    def report(self, image_id: int) -> Answer:
        with self.lock:
            n = next(self.readers)
        started = time.monotonic()
        with LiveReader(self.base_url, n) as reader:
            status = reader.report(image_id, "violence").status_code
        answer = Answer(image_id, status, started, time.monotonic())
        with self.lock:
            self.answers.append(answer)
        return answer

    def started_after(self, moment: float) -> int:
        with self.lock:
            return sum(answer.started > moment for answer in self.answers)


def visibility(image_id: int) -> str:
    return Image.objects.values_list("visibility", flat=True).get(pk=image_id)


def test_reports_survive_a_redis_crash_mid_burst_and_one_sweep_applies_every_due_block(
    own_redis, start_web, start_worker
):
    # given a threshold of 5 and six visible images; four more images whose source's
    # threshold is out of reach; a web server (gunicorn) and a worker whose broker and
    # rate limits are the test's own Redis (grouped-report detection is out of the way:
    # this is about counting)
    PolicyFactory(threshold=THRESHOLD)
    early = [ImageFactory() for _ in range(2)]
    late = [ImageFactory() for _ in range(4)]
    elsewhere = SourceFactory()
    PolicyFactory(source=elsewhere, threshold=1_000_000)
    others = [ImageFactory(article__source=elsewhere) for _ in range(STREAMS)]
    web = start_web(TRUSTED_PROXY_COUNT="1", BRIGADE_RATE_MIN="1000000")
    worker = start_worker("outage")
    burst = Burst(web.url)

    # when readers keep reporting the four other images from four threads; meanwhile
    # readers report the six images from four more threads until the worker has blocked
    # the first two; then Redis is killed (SIGKILL) under that load, and the reports that
    # bring the last four images to their threshold are sent during the outage
    stop = threading.Event()

    def stream(image_id: int) -> None:
        while not stop.is_set():
            burst.report(image_id)

    streams = [threading.Thread(target=stream, args=(image.pk,)) for image in others]
    for thread in streams:
        thread.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(burst.report, [i.pk for _ in range(EARLY_REPORTS) for i in early]))
            list(pool.map(burst.report, [i.pk for _ in range(LATE_BEFORE) for i in late]))
            wait_until(
                lambda: {visibility(i.pk) for i in early} == {Image.Visibility.BLOCKED},
                timeout=30,
            )
            crash_started = time.monotonic()
            own_redis.kill()
            crashed = time.monotonic()
            list(pool.map(burst.report, [i.pk for _ in range(LATE_AFTER) for i in late]))
        wait_until(lambda: burst.started_after(crashed) >= REPORTS_DURING_THE_OUTAGE)
    finally:
        stop.set()
        for thread in streams:
            thread.join(timeout=60)
    answers = burst.answers

    # then Redis did die mid-burst: reports were in flight across the crash
    assert any(a.started < crash_started and a.finished > crashed for a in answers)
    # and every report was answered, none with an error (the other images' all 201)
    assert {a.status for a in answers} <= {200, 201}, Counter(a.status for a in answers)
    assert {a.status for a in answers if a.image_id in {i.pk for i in others}} == {201}
    # and every 201 is one report saved and counted, image by image
    created = Counter(a.image_id for a in answers if a.status == 201)
    for image in early + late + others:
        assert Report.objects.filter(image=image).count() == created[image.pk], image.pk
        assert ImageCase.objects.get(image=image).open_report_count == created[image.pk]
    # (the last four's block messages never reached a broker: the web log says so)
    for image in late:
        assert created[image.pk] == LATE_BEFORE + LATE_AFTER
        assert f"could not enqueue case_auto_block({image.pk})" in web.log()
    assert "report rate limits are not enforced" in web.log()

    # given Redis restarted on the same port, empty: the last four images are due and
    # still visible
    own_redis.start()
    due = sorted(case_list_due_for_block().values_list("image_id", flat=True))
    assert due == [image.pk for image in late]
    assert {visibility(pk) for pk in due} == {Image.Visibility.VISIBLE}

    # when one sweep is sent to the worker (as beat sends it)
    task_id = str(uuid.uuid4())
    broker_app(own_redis).send_task(SWEEP_DUE_BLOCKS, task_id=task_id)

    # then the worker, back on Redis, runs it, and that one sweep blocks the four
    wait_until(lambda: worker.results(SWEEP_DUE_BLOCKS, task_id), timeout=60)
    assert worker.results(SWEEP_DUE_BLOCKS, task_id) == [str(len(late))]
    # and every image is blocked exactly once: the first two by their task, the others
    # by the sweeper
    for image in early + late:
        assert visibility(image.pk) == Image.Visibility.BLOCKED
        [action] = ModerationAction.objects.filter(image=image, action=ActionKind.AUTO_BLOCK)
        assert action.details["via"] == ("task" if image in early else "sweeper")
    assert case_list_due_for_block().count() == 0
