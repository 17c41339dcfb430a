"""Who is reporting: the reporter key of a request, and its address as a keyed hash.

A signed-in reader is their user. An anonymous reader is a random id kept in
a signed cookie, so a reader who reports twice counts once, and a forged
cookie value (unsigned or signed with another key) is simply a new reader.

Clearing a cookie makes a new reader id, so anonymous reports are also tied to
the client's IP, which is read behind exactly TRUSTED_PROXY_COUNT proxies and
never kept: only its HMAC-SHA256 (and that of its /24 or /48 network, for
brigade detection) reaches the database, the limiter or the logs.
"""

import hashlib
import hmac
import ipaddress
import uuid
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

_COOKIE_SALT = "signalement.reader"
# The networks one operator typically holds: an IPv4 /24, an IPv6 /48.
_NETWORK_PREFIX = {4: 24, 6: 48}


@dataclass(frozen=True)
class Reader:
    reporter_key: str
    user_id: int | None
    # HMAC of the client IP and of its network; "" when the address is unusable.
    ip_hash: str = ""
    network_hash: str = ""
    # Set when the reader is anonymous and has no valid cookie yet.
    new_reader_id: str | None = None


def reader_from_request(request: HttpRequest) -> Reader:
    address = client_ip(request)
    hashes = {"ip_hash": ip_hash(address), "network_hash": network_hash(address)}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Reader(reporter_key=f"user:{user.pk}", user_id=user.pk, **hashes)
    reader_id = request.get_signed_cookie(
        settings.READER_COOKIE_NAME, default=None, salt=_COOKIE_SALT
    )
    if reader_id and _is_reader_id(reader_id):
        return Reader(reporter_key=f"reader:{reader_id}", user_id=None, **hashes)
    reader_id = uuid.uuid4().hex
    return Reader(
        reporter_key=f"reader:{reader_id}", user_id=None, new_reader_id=reader_id, **hashes
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


def client_ip(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address, as the outermost of TRUSTED_PROXY_COUNT proxies saw it.

    Each trusted proxy appends the address it received from, so the client is the
    TRUSTED_PROXY_COUNT-th entry from the right of X-Forwarded-For; whatever a
    client wrote to the left of it is its own claim and ignored. With no trusted
    proxy the header is not read at all.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        # Fewer entries than proxies: a proxy did not append; the leftmost is the
        # best the chain knows.
        candidate = hops[-proxies] if len(hops) >= proxies else (hops[0] if hops else "")
    else:
        candidate = request.META.get("REMOTE_ADDR", "")
    return _parse_ip(candidate)


def ip_hash(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> str:
    if address is None:
        return ""
    return _keyed_hash(f"ip:{address.compressed}")


def network_hash(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> str:
    if address is None:
        return ""
    network = ipaddress.ip_network(f"{address}/{_NETWORK_PREFIX[address.version]}", strict=False)
    return _keyed_hash(f"net:{network.compressed}")


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


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    # "[2001:db8::1]:443" and "192.0.2.1:443" as some proxies write them.
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_reader_id(value: str) -> bool:
    try:
        return uuid.UUID(hex=value).hex == value
    except ValueError:
        return False
