"""Who is reporting: the reporter key of a request, and its address as keyed hashes.

A signed-in reader is their user. An anonymous reader is a random id kept in
a signed cookie, so a reader who reports twice counts once, and a forged
cookie value (unsigned or signed with another key) is simply a new reader.

Clearing a cookie makes a new reader id, so anonymous reports are also tied to
the client's address (common/client_address.py: behind exactly TRUSTED_PROXY_COUNT
proxies), never kept: only keyed hashes (HMAC-SHA256) reach the database, the limiter
or the logs.

What "one address" means is the subscriber, not the socket:
- IPv4 is the address itself, however it was written: dotted, zero-padded, hex,
  octal or a single number (read as inet_aton reads them: a leading 0 is octal),
  mapped into IPv6 (::ffff:a.b.c.d), or carried by an IPv6 transition address
  (IPv4-compatible ::a.b.c.d, 6to4 2002::/16, NAT64 64:ff9b::/96, Teredo).
- IPv6 is the /64: a subscriber holds at least one, and picks any address in it.
- An address that cannot be read (none, garbage, fewer X-Forwarded-For entries than
  trusted proxies) is one shared "unknown" address: such readers are one person per
  image and share one rate limit, and the operator is told the proxy settings are
  wrong (a metric and a warning line).
Bursts group wider networks, as one subscriber or operator may hold them: an IPv4 /24,
an IPv6 /48 (NETWORK_PREFIX).
"""

import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from common.client_address import IPAddress, read_client_address
from moderation import metrics
from moderation.reporter_keys import ReporterKey, is_reader_id, new_reader_id

logger = logging.getLogger(__name__)

_COOKIE_SALT = "signalement.reader"
# One person's address: an IPv4 address, an IPv6 /64.
PERSON_PREFIX = {4: 32, 6: 64}
# The networks one subscriber or operator typically holds: an IPv4 /24, an IPv6 /48.
NETWORK_PREFIX = {4: 24, 6: 48}
# What unreadable addresses hash from: no address is written this way.
_UNKNOWN = "unknown"
# Well-known NAT64 prefix (RFC 6052): the last 32 bits are the IPv4 client.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
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
    """The keyed hash standing in for one person's address (person_address)."""
    return _keyed_hash(f"ip:{person_address(address)}")


def person_address(address: IPAddress | None) -> str:
    """What one person's address is, as text: an IPv4 address (also when carried by an
    IPv6 transition address), an IPv6 /64, or "unknown" for every unreadable address."""
    return _block_of(address, PERSON_PREFIX)


def network_hash(address: IPAddress | None) -> str:
    """The keyed hash of the address's wider network (NETWORK_PREFIX), as bursts group them."""
    return _keyed_hash(f"net:{_block_of(address, NETWORK_PREFIX)}")


def _block_of(address: IPAddress | None, prefixes: dict[int, int]) -> str:
    if address is None:
        return _UNKNOWN
    address = _embedded_ipv4(address) or address
    network = ipaddress.ip_network(f"{address}/{prefixes[address.version]}", strict=False)
    # An IPv4 person is written as the bare address: the hash an address had before
    # IPv6 /64s were grouped stays the same.
    return address.compressed if network.num_addresses == 1 else network.compressed


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 client an IPv6 transition address stands for, if any: whoever holds the
    IPv4 address holds every such IPv6 address (a 6to4 /48, say), so they are one."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    as_int = int(address)
    if address in _NAT64 or (as_int >> 32 == 0 and as_int > 1):
        # NAT64's well-known prefix, and the deprecated IPv4-compatible ::a.b.c.d
        # (but :: and ::1, which are not IPv4 clients).
        return ipaddress.IPv4Address(as_int & 0xFFFFFFFF)
    return None


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
