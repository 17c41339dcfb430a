"""Who is reporting: the reporter key of a request, and its address as keyed hashes.

A signed-in reader is their user. An anonymous reader is a random id kept in
a signed cookie, so a reader who reports twice counts once, and a forged
cookie value (unsigned or signed with another key) is simply a new reader.

Clearing a cookie makes a new reader id, so anonymous reports are also tied to
the client's address (common/client_address.py: behind exactly TRUSTED_PROXY_COUNT
proxies), never kept: only keyed hashes (HMAC-SHA256) reach the database, the limiter
or the logs.

"One address" is the subscriber's, not the socket's (common/client_address.py: an
IPv4 address in any spelling, an IPv6 /64); bursts group wider networks (an IPv4 /24,
an IPv6 /48). An address that cannot be read (none, garbage, fewer X-Forwarded-For
entries than trusted proxies) is one shared "unknown" address: such readers are one
person per image and share one rate limit, and the operator is told the proxy settings
are wrong (a metric and a warning line).
"""

import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from common.client_address import (
    IPAddress,
    network_address,
    person_address,
    read_client_address,
)
from moderation import metrics
from moderation.reporter_keys import ReporterKey, is_reader_id, new_reader_id

logger = logging.getLogger(__name__)

_COOKIE_SALT = "signalement.reader"
# One warning line per process and per this many seconds, however many requests.
UNREADABLE_WARNING_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Reader:
    reporter_key: str
    user_id: int | None
    # HMAC of the reader's address (an IPv4 address, an IPv6 /64, or the shared
    # "unknown") and of its network: never empty for a request.
    ip_hash: str = ""
    network_hash: str = ""
    # Set when the reader is anonymous and has no valid cookie yet.
    new_reader_id: str | None = None


def reader_from_request(request: HttpRequest) -> Reader:
    address, unreadable = read_client_address(request)
    if address is None:
        _note_unreadable(cause=unreadable)
    hashes = {"ip_hash": ip_hash(address), "network_hash": network_hash(address)}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Reader(reporter_key=str(ReporterKey.for_user(user.pk)), user_id=user.pk, **hashes)
    reader_id = request.get_signed_cookie(
        settings.READER_COOKIE_NAME, default=None, salt=_COOKIE_SALT
    )
    if reader_id and is_reader_id(reader_id):
        return Reader(reporter_key=str(ReporterKey.for_reader(reader_id)), user_id=None, **hashes)
    reader_id = new_reader_id()
    return Reader(
        reporter_key=str(ReporterKey.for_reader(reader_id)),
        user_id=None,
        new_reader_id=reader_id,
        **hashes,
    )


def remember_reader(response: HttpResponse, reader: Reader) -> None:
    """Set the reader cookie on the response when the reader is new."""
    if reader.new_reader_id is None:
        return
    response.set_signed_cookie(
        settings.READER_COOKIE_NAME,
        reader.new_reader_id,
        salt=_COOKIE_SALT,
        max_age=settings.READER_COOKIE_MAX_AGE,
        secure=settings.READER_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def ip_hash(address: IPAddress | None) -> str:
    """The keyed hash standing in for one person's address (common.client_address's
    person_address)."""
    return _keyed_hash(f"ip:{person_address(address)}")


def network_hash(address: IPAddress | None) -> str:
    """The keyed hash of the address's wider network (network_address), as bursts group them."""
    return _keyed_hash(f"net:{network_address(address)}")


_unreadable_lock = threading.Lock()
_unreadable_since_warning: dict[str, int] = {}
_unreadable_warned_at: float | None = None


def _note_unreadable(*, cause: str) -> None:
    """Count an unreadable address, and warn the operator at most once a minute per
    process: each one means the proxy settings are wrong, or a client connects
    around the proxies, and many readers may be counted as one."""
    global _unreadable_warned_at
    metrics.client_address_unreadable(cause=cause)
    now = time.monotonic()
    with _unreadable_lock:
        _unreadable_since_warning[cause] = _unreadable_since_warning.get(cause, 0) + 1
        if (
            _unreadable_warned_at is not None
            and now - _unreadable_warned_at < UNREADABLE_WARNING_INTERVAL_SECONDS
        ):
            return
        counts = dict(sorted(_unreadable_since_warning.items()))
        _unreadable_since_warning.clear()
        _unreadable_warned_at = now
    logger.warning(
        "client address unreadable (%s): these readers share one 'unknown' address; check "
        "TRUSTED_PROXY_COUNT (%s) against the proxies that append to X-Forwarded-For",
        ", ".join(f"{cause}: {count}" for cause, count in counts.items()),
        settings.TRUSTED_PROXY_COUNT,
    )


def forget_unreadable_warning() -> None:
    """Warn again at the next unreadable address (tests)."""
    global _unreadable_warned_at
    with _unreadable_lock:
        _unreadable_warned_at = None
        _unreadable_since_warning.clear()


def _keyed_hash(value: str) -> str:
    key = _ip_hash_key(settings.IP_HASH_KEY, settings.SECRET_KEY)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@cache
def _ip_hash_key(configured: str, secret_key: str) -> bytes:
    # Without IP_HASH_KEY, a key derived from SECRET_KEY: still secret, and
    # distinct from every other use of it.
    if configured:
        return configured.encode()
    return salted_hmac("signalement.ip-hash", "key", secret=secret_key, algorithm="sha256").digest()
