"""The report rate limiter, against the real Redis at THROTTLE_REDIS_URL."""

import hashlib
import ipaddress
import logging
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from moderation import limits
from moderation.limits import report_limits_check
from moderation.readers import Reader, reader_from_request
from tests.factories import ImageFactory

# Every test here reaches the limiter's real Redis.
pytestmark = pytest.mark.redis

READER = "reader:" + "a" * 32
OTHER_READER = "reader:" + "b" * 32
IP = hashlib.sha256(b"ip one").hexdigest()
OTHER_IP = hashlib.sha256(b"ip two").hexdigest()
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
ATTACKER = "203.0.113.66"


def reader(reader_key=READER, ip_hash=IP, *, cookie=True):
    """A reader as moderation.readers sees one: `cookie=False` is a reader whose request
    brought no valid cookie, so a new id was just drawn for them."""
    new_reader_id = None if cookie else reader_key.removeprefix("reader:")
    return Reader(
        reporter_key=reader_key, user_id=None, ip_hash=ip_hash, new_reader_id=new_reader_id
    )


def check(reader_key=READER, ip_hash=IP, *, cookie=True):
    return report_limits_check(reader=reader(reader_key, ip_hash, cookie=cookie))


def attempts(count, *, reader_key=READER, ip_hash=IP):
    return [check(reader_key, ip_hash) for _ in range(count)]


def cookie_less_attempt(address: str):
    """One attempt as the views make it from a request without a cookie (an attacker who
    clears them each time): the reader comes from reader_from_request."""
    request = RequestFactory().post("/api/images/1/reports/", REMOTE_ADDR=address)
    new = reader_from_request(request)
    assert new.new_reader_id is not None
    return report_limits_check(reader=new), new


def redis_keys(settings, url=None):
    client = redis.Redis.from_url(url or settings.THROTTLE_REDIS_URL)
    try:
        return sorted(key.decode() for key in client.scan_iter(match="signalement:limit:*"))
    finally:
        client.close()


def expiries(settings, url=None) -> dict[str, int]:
    """Every counter's remaining life in ms (-1: none, -2: gone meanwhile)."""
    client = redis.Redis.from_url(url or settings.THROTTLE_REDIS_URL)
    try:
        return {key: client.pttl(key) for key in redis_keys(settings, url)}
    finally:
        client.close()


def assert_every_counter_expires_with_its_window(settings):
    for key, ttl_ms in expiries(settings).items():
        window = int(key.rsplit(":", 1)[1])
        assert 0 < ttl_ms <= window * 1000, (key, ttl_ms)


def test_attempts_within_the_limits_are_allowed(settings):
    settings.REPORT_RATE_LIMITS = [(3, 60), (5, 3600)]

    assert attempts(3) == [None, None, None]


def test_the_attempt_past_a_readers_limit_is_refused_until_its_window_ends(settings):
    # given a reader who used up 3 attempts a minute, each from another address
    settings.REPORT_RATE_LIMITS = [(3, 60)]
    ips = [hashlib.sha256(f"ip {n}".encode()).hexdigest() for n in range(5)]
    for ip_hash in ips[:3]:
        assert check(READER, ip_hash) is None

    # when they try again
    fourth = check(READER, ips[3])
    fifth = check(READER, ips[4])

    # then they are told to wait for the rest of the minute
    assert isinstance(fourth, int)
    assert 1 <= fourth <= 60
    assert 1 <= fifth <= 60


def test_readers_sharing_one_ip_share_its_limit(settings):
    # given three readers who each reported once from one address
    settings.REPORT_RATE_LIMITS = [(3, 60)]
    readers = [f"reader:{n:032x}" for n in range(4)]
    for reader_key in readers[:3]:
        assert check(reader_key, IP) is None

    # when a fourth reader reports from that address
    refused = check(readers[3], IP)

    # then the address is over its limit, whoever the reader
    assert refused is not None
    assert 1 <= refused <= 60


def test_another_reader_on_another_ip_is_not_affected(settings):
    # given a reader and an address both over the limit
    settings.REPORT_RATE_LIMITS = [(2, 60)]
    assert attempts(3)[-1] is not None

    # when someone else reports from elsewhere, then they are allowed
    assert attempts(2, reader_key=OTHER_READER, ip_hash=OTHER_IP) == [None, None]


def test_readers_without_a_readable_address_share_one_unknown_address(settings):
    # given many readers whose address could not be read, with cookies or without
    settings.REPORT_RATE_LIMITS = [(3, 60)]
    readers = [f"reader:{n:032x}" for n in range(6)]

    # when each reports once
    results = [check(r, "", cookie=n % 2 == 0) for n, r in enumerate(readers)]

    # then they are one address: "" is not a way out of the per-address limit
    assert results[:3] == [None] * 3
    assert all(1 <= r <= 60 for r in results[3:])
    assert "signalement:limit:ip:unknown:60" in redis_keys(settings)


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
    assert check(READER, "") is not None


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

    check("user:12", IP)

    assert redis_keys(settings) == sorted(
        [
            "signalement:limit:reader:user:12:60",
            "signalement:limit:reader:user:12:86400",
            f"signalement:limit:ip:{IP}:60",
            f"signalement:limit:ip:{IP}:86400",
        ]
    )


@pytest.mark.parametrize("ip_hash", ["192.0.2.1", "2001:db8::1", IP.upper(), IP[:-1], "unknown"])
@pytest.mark.parametrize("cookie", [True, False])
def test_anything_but_an_ip_hash_is_refused_before_reaching_redis(settings, ip_hash, cookie):
    settings.REPORT_RATE_LIMITS = [(10, 60)]

    with pytest.raises(ValueError, match="64-hex") as raised:
        check(READER, ip_hash, cookie=cookie)

    assert ip_hash not in str(raised.value)
    assert redis_keys(settings) == []


@pytest.mark.parametrize("reader_key", ["12", "user:", "reader:xyz", "192.0.2.1", READER + "0"])
def test_a_malformed_reporter_key_is_refused(settings, reader_key):
    settings.REPORT_RATE_LIMITS = [(10, 60)]

    with pytest.raises(ValueError, match="reader_key"):
        check(reader_key, IP)


# --- memory: refused attempts cost nothing, every counter expires ----------------------


def test_a_thousand_cookie_less_attempts_from_one_address_leave_its_counters_only(settings):
    # given the default limits, and an attacker who clears their cookies before each attempt
    settings.REPORT_RATE_LIMITS = [(10, 60), (100, 86400)]

    # when they try 1,000 times from one address
    results = [cookie_less_attempt(ATTACKER) for _ in range(1000)]

    # then ten got through, and Redis holds the address's two counters, nothing per attempt
    assert [r for r, _ in results].count(None) == 10
    address = results[0][1].ip_hash
    assert redis_keys(settings) == [
        f"signalement:limit:ip:{address}:60",
        f"signalement:limit:ip:{address}:86400",
    ]
    assert_every_counter_expires_with_its_window(settings)


def test_cookie_less_attempts_from_many_addresses_cost_one_counter_per_window_each(settings):
    # given an attacker with many addresses, IPv4 and IPv6, trying 12 times from each
    settings.REPORT_RATE_LIMITS = [(3, 60), (5, 3600), (8, 86400)]
    network = ipaddress.ip_network("2001:db8::/32")
    addresses = [f"198.51.{n // 256}.{n % 256}" for n in range(100)] + [
        str(network[n << 80]) for n in range(1, 101)
    ]

    refused = 0
    for address in addresses:
        for _ in range(12):
            refused += cookie_less_attempt(address)[0] is not None

    # then each address got three through, and has one counter per window
    assert refused == len(addresses) * 9
    keys = redis_keys(settings)
    assert len(keys) == len(addresses) * 3
    assert all(key.startswith("signalement:limit:ip:") for key in keys)
    assert_every_counter_expires_with_its_window(settings)


@pytest.mark.django_db
def test_a_reader_gets_counters_of_their_own_only_once_they_have_a_cookie(settings):
    # given limits of 3 a minute and 5 a day, and images to report
    settings.REPORT_RATE_LIMITS = [(3, 60), (5, 86400)]
    images = ImageFactory.create_batch(5)

    # when an attacker throws away the cookie of each answer, 20 times on the API and 20
    # times on the form, from one address
    api = [
        APIClient(REMOTE_ADDR=ATTACKER).post(
            f"/api/images/{images[n % 5].pk}/reports/", {"reason": "spam"}, format="json"
        )
        for n in range(20)
    ]
    form = [
        Client(REMOTE_ADDR=ATTACKER).post(f"/images/{images[n % 5].pk}/report/", {"reason": "spam"})
        for n in range(20)
    ]

    # then three got through on the API and the rest of both were refused, and Redis holds
    # the address's counters only
    statuses = [response.status_code for response in api + form]
    assert statuses.count(429) == 37
    assert len(redis_keys(settings)) == 2

    # when a reader elsewhere keeps the cookie of their first report
    keeper = APIClient(REMOTE_ADDR="192.0.2.44")
    answers = [
        keeper.post(f"/api/images/{image.pk}/reports/", {"reason": "spam"}, format="json")
        for image in images[:2]
    ]

    # then their address has its counters, and they have theirs from their cookie on
    assert [a.status_code for a in answers] == [201, 201]
    keys = redis_keys(settings)
    assert len(keys) == 6
    assert len([key for key in keys if ":reader:reader:" in key]) == 2
    assert_every_counter_expires_with_its_window(settings)


def test_refused_attempts_with_a_cookie_add_no_counter(settings):
    # given a reader over their limit
    settings.REPORT_RATE_LIMITS = [(2, 60), (4, 86400)]
    assert attempts(3)[-1] is not None
    before = redis_keys(settings)

    # when they keep trying
    assert all(result is not None for result in attempts(500))

    # then the same four counters, each still ending with its window
    assert redis_keys(settings) == before
    assert len(before) == 4
    assert_every_counter_expires_with_its_window(settings)


class CuttingProxy:
    """A TCP proxy to Redis that forwards a client's bytes until the first EXPIRE, then
    drops both connections: what reaches Redis of the limiter's pipeline is everything
    before its first EXPIRE, and never the end of it (an EXEC, if it is a transaction)."""

    MARK = b"*4\r\n$6\r\nEXPIRE\r\n"

    def __init__(self, upstream_url: str):
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port or 6379)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.listener.getsockname()[1]}"))
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = socket.create_connection(self.upstream)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        pending = b""
        try:
            while data := client.recv(65536):
                pending += data
                cut = pending.find(self.MARK)
                if cut < 0:
                    upstream.sendall(pending)
                    pending = b""
                    continue
                upstream.sendall(pending[:cut])
                self.cuts += 1
                return
        finally:
            client.close()
            upstream.close()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def close(self):
        self.listener.close()


def test_an_attempt_cut_off_mid_transaction_leaves_no_counter_without_expiry(settings, caplog):
    # given the limiter's connection to Redis dropped halfway through its pipeline, after
    # the first INCR reached Redis and before its EXPIRE did
    settings.REPORT_RATE_LIMITS = [(10, 60), (100, 86400)]
    settings.BROKER_RETRY_AFTER_SECONDS = 0
    real_url = settings.THROTTLE_REDIS_URL
    proxy = CuttingProxy(real_url)
    settings.THROTTLE_REDIS_URL = proxy.url
    try:
        # when readers try, with cookies and without
        with caplog.at_level(logging.ERROR, logger="moderation.limits"):
            results = [check(READER, IP), check(OTHER_READER, OTHER_IP, cookie=False)]
    finally:
        proxy.close()

    # then both were let through (the limiter fails open), the cut happened, and Redis,
    # which never got an EXEC, kept nothing: no counter without an expiry, nor any other
    assert results == [None, None]
    assert proxy.cuts == 2
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 2
    assert expiries(settings, real_url) == {}


def test_concurrent_attempts_are_counted_exactly(settings):
    # given 40 threads, one attempt each for one reader, released together
    settings.REPORT_RATE_LIMITS = [(10, 60)]
    start = threading.Barrier(40)
    results = []
    results_lock = threading.Lock()

    def attempt(n):
        ip_hash = hashlib.sha256(f"ip {n}".encode()).hexdigest()
        start.wait()
        result = check(READER, ip_hash)
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
        result = check(READER, IP)

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
