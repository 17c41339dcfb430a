"""Rate limits on report attempts, per reader and per IP, counted in Redis.

The limits must hold across every web process on every machine, so the counters live in
one Redis database (THROTTLE_REDIS_URL), not in a per-process cache. Nor are they a
read-decide-write of a history, as DRF's throttles over Django's cache are: concurrent
requests would all read the same history and all pass. Each attempt is one MULTI/EXEC that
increments a counter per (scope, window) and reads it back; Redis runs it whole, so N
concurrent attempts see N distinct counts, whichever process sends them.

Fixed windows: a window opens at the first attempt after the previous one ended (EXPIRE NX
sets its end once, the INCRs after it leave it alone) and its counter expires with it. A
burst across the end of a window may pass up to twice a limit: the price of one INCR per
counter instead of a log of timestamps. Every attempt counts, refused ones too, so a client
that keeps hammering does not get its quota back sooner than one that waits.

Memory is bounded by design, refused attempts included. A reader without a cookie yet (a
first report, or an attacker clearing cookies before each attempt) is counted by its
address only: each of its attempts has a new reader id that nothing will ever send again,
so a counter of its own would only be a key left behind for a day. It gets one from its
first attempt with a cookie, and a cookie is only set by an accepted report. So there is at
most one key per window for each address, and for each reader who had a report accepted;
a cookie-less attempt adds to its address's counters and creates nothing of its own.
Refused attempts still count in every window, the longest included: that costs no memory
(the counters exist, an INCR changes them in place) and keeps a hammering client from
winning its quota back. An address that cannot be read ("") is one shared address,
"unknown", as for the one-person rule.

Failing open: a report must be answered and saved even when Redis is down, as when the
broker is. An unreachable limiter allows the attempt and logs that the limits are not
enforced; then this process leaves Redis alone for BROKER_RETRY_AFTER_SECONDS so that each
request does not pay the connect timeout (the same breaker as the broker's,
common/breaker.py).

Only the reporter key ("user:<id>", "reader:<32 hex>") and the keyed hash of the IP go
into Redis keys, never an address. EXPIRE ... NX needs Redis 7.0 or later. The counters
belong on a Redis of their own that may evict (deploy/redis/signalement-cache.conf), not
on the broker's, which must not.
"""

import logging
import math
import re
import threading

import redis
from django.conf import settings

from common.breaker import Breaker
from moderation.readers import Reader
from moderation.reporter_keys import ReporterKey

logger = logging.getLogger(__name__)

_PREFIX = "signalement:limit:"
_IP_HASH = re.compile(r"[0-9a-f]{64}", re.ASCII)
# Not 64 hex digits: no keyed hash can be mistaken for it.
_UNKNOWN_ADDRESS = "unknown"

_lock = threading.Lock()
_client: redis.Redis | None = None
_client_url: str | None = None
_breaker = Breaker(retry_after=lambda: settings.BROKER_RETRY_AFTER_SECONDS)


def report_limits_check(*, reader: Reader) -> int | None:
    """Count one report attempt against every limit of settings.REPORT_RATE_LIMITS, per
    reader (once they have a cookie, or an account) and per address.

    Returns None when the attempt is within all limits, else the Retry-After in whole seconds
    (>= 1): the wait until every exceeded window has ended, which is that of the longest.
    """
    if not ReporterKey.is_valid(reader.reporter_key):
        raise ValueError("reader_key must be 'user:<id>' or 'reader:<32 hex digits>'")
    if reader.ip_hash and not _IP_HASH.fullmatch(reader.ip_hash):
        # Not echoed: it might be the raw address that must never be kept.
        raise ValueError("ip_hash must be the 64-hex keyed hash of the address, or ''")
    windows = _limits_by_window()
    if not windows or _breaker.is_open():
        return None
    scopes = [f"ip:{reader.ip_hash or _UNKNOWN_ADDRESS}"]
    if reader.new_reader_id is None:
        scopes.append(f"reader:{reader.reporter_key}")
    return _count(scopes=scopes, windows=windows)


def forget_failures() -> None:
    """Try Redis again at the next attempt (tests, and after a known repair)."""
    _breaker.reset()


def limits_reset() -> None:
    """Delete every counter of the limiter (tests).

    Only keys under the limiter's prefix go, so that a THROTTLE_REDIS_URL pointed by mistake
    at a database shared with something else does not lose that something.
    """
    client = _redis()
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{_PREFIX}*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)


def _limits_by_window() -> dict[int, int]:
    # parse_rates refuses two limits on one window; settings written in code could still
    # have them, and they would share a counter: the stricter one holds.
    windows: dict[int, int] = {}
    for limit, seconds in settings.REPORT_RATE_LIMITS:
        windows[seconds] = min(limit, windows.get(seconds, limit))
    return windows


def _count(*, scopes: list[str], windows: dict[int, int]) -> int | None:
    counters = [
        (f"{_PREFIX}{scope}:{seconds}", limit, seconds)
        for scope in scopes
        for seconds, limit in windows.items()
    ]
    try:
        # One MULTI/EXEC: Redis runs all of it or, when the connection drops before EXEC,
        # none of it, so no counter is ever left without its expiry.
        with _redis().pipeline(transaction=True) as pipe:
            for key, _limit, seconds in counters:
                pipe.incr(key)
                pipe.expire(key, seconds, nx=True)
                pipe.pttl(key)
            replies = pipe.execute()
    except redis.RedisError as error:
        _fail(error)
        return None
    _breaker.succeeded()
    waits = [
        _retry_after(ttl_ms=replies[3 * index + 2], seconds=seconds)
        for index, (_key, limit, seconds) in enumerate(counters)
        if replies[3 * index] > limit
    ]
    return max(waits, default=None)


def _retry_after(*, ttl_ms: int, seconds: int) -> int:
    # PTTL rounded up, not TTL: TTL rounds to the nearest second, and a client that waits
    # a rounded-down Retry-After comes back before the window has ended. The counter has just
    # been given its expiry in the same transaction, so PTTL is positive; were it not, the
    # window is over or unknown, and 1 s is the least Retry-After can say.
    return min(seconds, max(1, math.ceil(ttl_ms / 1000)))


def _redis() -> redis.Redis:
    global _client, _client_url
    url = settings.THROTTLE_REDIS_URL
    with _lock:
        if _client is None or _client_url != url:
            # A client whose URL is no longer the setting's is dropped, not closed: another
            # thread may be using it, and its connections close when it is collected.
            #
            # Short timeouts, since a request waits them out before failing open. Connections
            # made from a URL retry nothing (tests/moderation/test_limits.py holds redis-py to
            # that), so one timeout is all it waits, and a transaction whose reply was lost is
            # not sent again to count its attempt twice.
            _client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
            _client_url = url
        return _client


def _fail(error: redis.RedisError) -> None:
    _breaker.failed()
    # One line per failure, not per request: the attempts of the pause that follows pass
    # unlimited and unlogged, and this line says for how long.
    logger.error(
        "report rate limits are not enforced: the limiter's Redis failed (%s: %s); "
        "next try in %s s",
        type(error).__name__,
        error,
        _breaker.retry_after(),
    )
