"""The client's address, read behind exactly TRUSTED_PROXY_COUNT proxies: the address
the readers' one-person rule (moderation/readers.py), the staff sign-in lockout and
/metrics all go by.

Only the reading is here. What one person's address is (an IPv6 /64, the IPv4 client
behind a transition address) is moderation's rule, and what an unreadable address means
is for the caller to say.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Why an address could not be read, as read_client_address says it.
UNREADABLE_CAUSES = ("missing", "unparsable", "proxy_chain")


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
