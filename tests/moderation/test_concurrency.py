"""Thousands of reports at one image through the real HTTP stack, while a real
worker blocks it: the count stays exact and the block happens exactly once."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from articles.models import Image
from moderation.models import ActionKind, ImageCase, ModerationAction, Report
from tests.factories import ImageFactory, PolicyFactory
from tests.readers import LiveReader
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

THREADS = 32
READERS = 1000  # each reports twice: 2,000 requests, half of them repeats


def test_burst_of_reports_blocks_once_and_counts_each_reader_once(
    live_server, celery_worker, settings
):
    # given one visible image under a threshold of 5, served over plain HTTP to
    # readers each on their own address behind one proxy
    settings.READER_COOKIE_SECURE = False
    settings.TRUSTED_PROXY_COUNT = 1
    # This test is about exact counting: a thousand readers in seconds is also a
    # burst that would hold the block (tests/moderation/test_brigades.py).
    settings.BRIGADE_RATE_MIN = 10 * READERS
    PolicyFactory(threshold=5)
    image = ImageFactory()

    def reader(n):
        # Each reader has their own cookie jar: the first answer gives the
        # reader cookie, the second request is a repeat by the same reader.
        with LiveReader(live_server.url, n) as session:
            first = session.report(image.pk, "violence")
            second = session.report(image.pk, "spam")
        return first.status_code, second.status_code

    # when 1,000 readers report it twice each from 32 threads
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(reader, range(READERS)))
    elapsed = time.monotonic() - started
    wait_until(
        lambda: Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED,
        timeout=15,
    )

    # then every request was answered 200 or 201, and no repeat was ever counted
    statuses = Counter(code for pair in answers for code in pair)
    assert set(statuses) <= {200, 201}, statuses
    assert all(second == 200 for _first, second in answers)
    created = statuses[201]
    # and the case counts exactly the distinct readers whose report was stored
    case = ImageCase.objects.get(image=image)
    assert created >= 5
    assert Report.objects.filter(image=image).count() == created
    assert case.open_report_count == created
    # and the worker blocked it exactly once
    assert ModerationAction.objects.filter(image=image, action=ActionKind.AUTO_BLOCK).count() == 1
    print(
        f"\n{2 * READERS} requests from {THREADS} threads in {elapsed:.1f} s "
        f"({2 * READERS / elapsed:.0f}/s): {dict(statuses)}; reports counted: {created}"
    )
