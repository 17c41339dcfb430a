"""The client's address: read behind exactly TRUSTED_PROXY_COUNT proxies, and grouped as
one subscriber holds addresses. The readers' one-person rule (moderation/readers.py), the
staff sign-in lockout (staff/throttling.py) and /metrics all go by it.

What "one address" means is the subscriber, not the socket (person_address):
- IPv4 is the address itself, however it was written: dotted, zero-padded, hex,
  octal or a single number (read as inet_aton reads them: a leading 0 is octal),
  mapped into IPv6 (::ffff:a.b.c.d), or carried by an IPv6 transition address
  (IPv4-compatible ::a.b.c.d, 6to4 2002::/16, NAT64 64:ff9b::/96, Teredo).
- IPv6 is the /64: a subscriber holds at least one, and picks any address in it.
- An address that cannot be read is one shared "unknown" address; what that means (and
  whether to warn) is for the caller to say.
Wider networks, as one subscriber or operator may hold them: an IPv4 /24, an IPv6 /48
(network_address).
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Why an address could not be read, as read_client_address says it.
UNREADABLE_CAUSES = ("missing", "unparsable", "proxy_chain")
# One person's address: an IPv4 address, an IPv6 /64.
PERSON_PREFIX = {4: 32, 6: 64}
# The networks one subscriber or operator typically holds: an IPv4 /24, an IPv6 /48.
NETWORK_PREFIX = {4: 24, 6: 48}
# What every unreadable address is grouped as: no address is written this way.
_UNKNOWN = "unknown"
# Well-known NAT64 prefix (RFC 6052): the last 32 bits are the IPv4 client.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def client_ip(request: HttpRequest) -> IPAddress | None:
    """The client's address, as the outermost of TRUSTED_PROXY_COUNT proxies saw it, or
    None when it cannot be read.

    Each trusted proxy appends the address it received from, so the client is the
    TRUSTED_PROXY_COUNT-th entry from the right of X-Forwarded-For; whatever a
    client wrote to the left of it is its own claim and ignored. With no trusted
    proxy the header is not read at all. Fewer entries than trusted proxies means
    the proxies are not the ones the settings describe: the address is not read.

    This is the address as written (IPv4 in any of its spellings, or IPv4-mapped,
    comes back as IPv4); who one person is goes further (moderation/readers.py).
    """
    return read_client_address(request)[0]


def read_client_address(request: HttpRequest) -> tuple[IPAddress | None, str]:
    """The client's address (client_ip), or None and why it could not be read, one of
    UNREADABLE_CAUSES: "missing" (nothing to read), "unparsable" (not an address),
    "proxy_chain" (fewer X-Forwarded-For entries than TRUSTED_PROXY_COUNT)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) < proxies:
            return None, "proxy_chain"
        candidate = hops[-proxies]
    else:
        candidate = request.META.get("REMOTE_ADDR", "")
    if not candidate.strip():
        return None, "missing"
    address = parse_ip(candidate)
    return address, "" if address is not None else "unparsable"


def person_address(address: IPAddress | None) -> str:
    """What one person's address is, as text: an IPv4 address (also when carried by an
    IPv6 transition address), an IPv6 /64, or "unknown" for every unreadable address."""
    return _block_of(address, PERSON_PREFIX)


def network_address(address: IPAddress | None) -> str:
    """The wider network one subscriber or operator may hold, as text: an IPv4 /24, an
    IPv6 /48 (an IPv4 address carried by a transition address counts as IPv4), or
    "unknown" for every unreadable address."""
    return _block_of(address, NETWORK_PREFIX)


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


def parse_ip(text: str) -> IPAddress | None:
    """An address as a proxy or a client may write it, or None.

    IPv6 with or without brackets, port or zone; IPv4 with or without port, in every
    spelling inet_aton reads (zero-padded, octal, hex, fewer than four parts); IPv4-mapped
    IPv6 comes back as IPv4.
    """
    text = text.strip()
    # "[2001:db8::1]:443" and "192.0.2.1:443" as some proxies write them.
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    # A zone ("fe80::1%eth0") names the server's interface, not the client.
    text = text.split("%", 1)[0]
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = _parse_ipv4_numbers(text)
        if address is None:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _parse_ipv4_numbers(text: str) -> ipaddress.IPv4Address | None:
    """IPv4 as inet_aton(3) reads it, which ipaddress refuses: one to four numbers, each
    decimal, octal (a leading 0) or hex (0x), the last filling the remaining bytes
    ("127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433")."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        number = _inet_aton_number(part)
        if number is None:
            return None
        numbers.append(number)
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _inet_aton_number(part: str) -> int | None:
    # isdigit() would take other scripts' digits, which no address parser does.
    if part[:2].lower() == "0x":
        digits, base, allowed = part[2:], 16, "0123456789abcdefABCDEF"
    elif part.startswith("0") and len(part) > 1:
        digits, base, allowed = part[1:], 8, "01234567"
    else:
        digits, base, allowed = part, 10, "0123456789"
    if not digits or len(digits) > 12 or any(char not in allowed for char in digits):
        return None
    return int(digits, base)
