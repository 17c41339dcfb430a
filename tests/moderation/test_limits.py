"""The report rate limiter, against the real Redis at THROTTLE_REDIS_URL."""

import hashlib
import logging
import threading
import time

import pytest
import redis

from moderation import limits
from moderation.limits import report_limits_check

READER = "reader:" + "a" * 32
OTHER_READER = "reader:" + "b" * 32
IP = hashlib.sha256(b"ip one").hexdigest()
OTHER_IP = hashlib.sha256(b"ip two").hexdigest()
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


def attempts(count, *, reader_key=READER, ip_hash=IP):
    return [report_limits_check(reader_key=reader_key, ip_hash=ip_hash) for _ in range(count)]


def redis_keys(settings):
    client = redis.Redis.from_url(settings.THROTTLE_REDIS_URL)
    try:
        return sorted(key.decode() for key in client.scan_iter(match="signalement:limit:*"))
    finally:
        client.close()


def test_attempts_within_the_limits_are_allowed(settings):
    settings.REPORT_RATE_LIMITS = [(3, 60), (5, 3600)]

    assert attempts(3) == [None, None, None]


def test_the_attempt_past_a_readers_limit_is_refused_until_its_window_ends(settings):
    # given a reader who used up 3 attempts a minute, each from another address
    settings.REPORT_RATE_LIMITS = [(3, 60)]
    ips = [hashlib.sha256(f"ip {n}".encode()).hexdigest() for n in range(5)]
    for ip_hash in ips[:3]:
        assert report_limits_check(reader_key=READER, ip_hash=ip_hash) is None

    # when they try again
    fourth = report_limits_check(reader_key=READER, ip_hash=ips[3])
    fifth = report_limits_check(reader_key=READER, ip_hash=ips[4])

    # then they are told to wait for the rest of the minute
    assert isinstance(fourth, int)
    assert 1 <= fourth <= 60
    assert 1 <= fifth <= 60


def test_readers_sharing_one_ip_share_its_limit(settings):
    # given three readers who each reported once from one address
    settings.REPORT_RATE_LIMITS = [(3, 60)]
    readers = [f"reader:{n:032x}" for n in range(4)]
    for reader_key in readers[:3]:
        assert report_limits_check(reader_key=reader_key, ip_hash=IP) is None

    # when a fourth reader reports from that address
    refused = report_limits_check(reader_key=readers[3], ip_hash=IP)

    # then the address is over its limit, whoever the reader
    assert refused is not None
    assert 1 <= refused <= 60


def test_another_reader_on_another_ip_is_not_affected(settings):
    # given a reader and an address both over the limit
    settings.REPORT_RATE_LIMITS = [(2, 60)]
    assert attempts(3)[-1] is not None

    # when someone else reports from elsewhere, then they are allowed
    assert attempts(2, reader_key=OTHER_READER, ip_hash=OTHER_IP) == [None, None]


def test_without_an_ip_hash_only_the_reader_is_limited(settings):
    # given many readers with no usable address
    settings.REPORT_RATE_LIMITS = [(1, 60)]
    readers = [f"reader:{n:032x}" for n in range(5)]

    # when each reports once, then none is refused: "" is not one shared address
    assert [report_limits_check(reader_key=r, ip_hash="") for r in readers] == [None] * 5
    # but a reader's own limit still holds
    assert report_limits_check(reader_key=readers[0], ip_hash="") is not None


def test_the_retry_after_is_that_of_the_longest_exceeded_window(settings):
    settings.REPORT_RATE_LIMITS = [(2, 60), (3, 3600)]
    results = attempts(4)

    # the third attempt exceeds the minute only, the fourth the hour too
    assert results[:2] == [None, None]
    assert 1 <= results[2] <= 60
    assert 60 < results[3] <= 3600


def test_refused_attempts_count_too(settings):
    # given a reader refused once within a 2-per-minute limit, then given a larger limit
    settings.REPORT_RATE_LIMITS = [(2, 60)]
    assert attempts(3)[-1] is not None
    settings.REPORT_RATE_LIMITS = [(3, 60)]

    # when they try again within the minute, then the refused attempt was counted: 4 > 3
    assert report_limits_check(reader_key=READER, ip_hash="") is not None


def test_a_short_window_resets_when_it_ends(settings):
    # given a reader refused by 3 attempts per 2 seconds
    settings.REPORT_RATE_LIMITS = [(3, 2)]
    results = attempts(4)
    assert results[:3] == [None, None, None]
    retry_after = results[3]
    assert retry_after in (1, 2)

    # when they wait as long as they were told
    time.sleep(retry_after + 0.05)

    # then the window has ended and a new one allows them again
    assert attempts(3) == [None, None, None]
    assert attempts(1) != [None]


def test_with_no_limits_nothing_is_refused_nor_counted(settings):
    settings.REPORT_RATE_LIMITS = []

    assert attempts(50) == [None] * 50
    assert redis_keys(settings) == []


def test_only_the_reporter_key_and_the_ip_hash_reach_redis(settings):
    settings.REPORT_RATE_LIMITS = [(10, 60), (100, 86400)]

    report_limits_check(reader_key="user:12", ip_hash=IP)

    assert redis_keys(settings) == sorted(
        [
            "signalement:limit:reader:user:12:60",
            "signalement:limit:reader:user:12:86400",
            f"signalement:limit:ip:{IP}:60",
            f"signalement:limit:ip:{IP}:86400",
        ]
    )


@pytest.mark.parametrize("ip_hash", ["192.0.2.1", "2001:db8::1", IP.upper(), IP[:-1]])
def test_anything_but_an_ip_hash_is_refused_before_reaching_redis(settings, ip_hash):
    settings.REPORT_RATE_LIMITS = [(10, 60)]

    with pytest.raises(ValueError, match="64-hex") as raised:
        report_limits_check(reader_key=READER, ip_hash=ip_hash)

    assert ip_hash not in str(raised.value)
    assert redis_keys(settings) == []


@pytest.mark.parametrize("reader_key", ["12", "user:", "reader:xyz", "192.0.2.1", READER + "0"])
def test_a_malformed_reporter_key_is_refused(settings, reader_key):
    settings.REPORT_RATE_LIMITS = [(10, 60)]

    with pytest.raises(ValueError, match="reader_key"):
        report_limits_check(reader_key=reader_key, ip_hash=IP)


def test_concurrent_attempts_are_counted_exactly(settings):
    # given 40 threads, one attempt each for one reader, released together
    settings.REPORT_RATE_LIMITS = [(10, 60)]
    start = threading.Barrier(40)
    results = []
    results_lock = threading.Lock()

    def attempt(n):
        ip_hash = hashlib.sha256(f"ip {n}".encode()).hexdigest()
        start.wait()
        result = report_limits_check(reader_key=READER, ip_hash=ip_hash)
        with results_lock:
            results.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then exactly 10 were allowed and the 30 others told to wait
    assert len(results) == 40
    assert results.count(None) == 10
    assert all(1 <= r <= 60 for r in results if r is not None)


def test_a_connection_that_redis_closed_is_reopened_not_taken_for_an_outage(settings, caplog):
    # given a reader who reported once, and Redis then closing the limiter's connection
    # (as on a restart or an idle timeout)
    settings.REPORT_RATE_LIMITS = [(1, 60)]
    settings.BROKER_RETRY_AFTER_SECONDS = 60
    assert attempts(1) == [None]
    pooled_id = limits._redis().client_id()
    killer = redis.Redis.from_url(settings.THROTTLE_REDIS_URL)
    try:
        assert killer.client_kill_filter(_id=pooled_id) == 1
    finally:
        killer.close()

    # when they report again
    with caplog.at_level(logging.ERROR, logger="moderation.limits"):
        result = report_limits_check(reader_key=READER, ip_hash=IP)

    # then the attempt was counted on a new connection and refused, with nothing logged
    assert result is not None
    assert caplog.records == []


def test_the_limiters_connections_make_one_try():
    # A request waits for every retry before failing open, and a retried transaction would
    # count its attempt twice: this holds only while redis-py's connections from a URL retry
    # nothing.
    pool = limits._redis().connection_pool
    connection = pool.get_connection()
    try:
        assert connection.retry.get_retries() == 0
    finally:
        pool.release(connection)


@pytest.fixture
def connection_attempts(monkeypatch):
    """Counts the limiter's attempts to open a connection to Redis."""
    count = [0]
    connect = redis.connection.Connection.connect

    def counting_connect(self, *args, **kwargs):
        count[0] += 1
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "connect", counting_connect)
    return count


def test_an_unreachable_redis_allows_reports_and_is_left_alone_for_a_while(
    settings, caplog, connection_attempts
):
    # given a limiter whose Redis is down (the client for the working URL, made when the
    # counters were reset, must give way to one for the new URL)
    settings.REPORT_RATE_LIMITS = [(1, 60)]
    settings.THROTTLE_REDIS_URL = CLOSED_PORT_URL
    settings.BROKER_RETRY_AFTER_SECONDS = 60

    # when a reader reports three times
    with caplog.at_level(logging.ERROR, logger="moderation.limits"):
        started = time.monotonic()
        results = attempts(3)
        elapsed = time.monotonic() - started

    # then every report is allowed at once, Redis was tried once, and that is logged once
    assert results == [None, None, None]
    assert elapsed < 2
    assert connection_attempts[0] == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "report rate limits are not enforced" in errors[0].getMessage()


def test_after_the_pause_redis_is_tried_again(settings, caplog, connection_attempts):
    settings.REPORT_RATE_LIMITS = [(1, 60)]
    settings.THROTTLE_REDIS_URL = CLOSED_PORT_URL
    settings.BROKER_RETRY_AFTER_SECONDS = 0

    with caplog.at_level(logging.ERROR, logger="moderation.limits"):
        assert attempts(2) == [None, None]

    assert connection_attempts[0] == 2
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 2


def test_when_redis_is_back_the_limits_hold_again(settings):
    # given a limiter that failed, then a Redis that works again once the pause is over
    working_url = settings.THROTTLE_REDIS_URL
    settings.REPORT_RATE_LIMITS = [(1, 60)]
    settings.BROKER_RETRY_AFTER_SECONDS = 0
    settings.THROTTLE_REDIS_URL = CLOSED_PORT_URL
    assert attempts(1) == [None]
    settings.THROTTLE_REDIS_URL = working_url

    # when a reader reports twice, then the second is refused
    assert attempts(2)[1] is not None
    # and the success cleared the failure: a long pause now changes nothing
    settings.BROKER_RETRY_AFTER_SECONDS = 60
    assert attempts(1) != [None]
