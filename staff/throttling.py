"""What django-axes is told: the address of a login attempt, and the page a
locked-out attempt gets.

The address axes counts and stores is a keyed pseudonym of the client's address,
never the address itself: staff addresses are personal data, kept no more than
readers' are (docs/anti-gaming.md, "Privacy"). axes' column is an IP address field (`inet` on
PostgreSQL), so the pseudonym is written as one: an IPv6 address in the private
fd00::/8 range, whose other 120 bits are an HMAC-SHA256 of the address under
IP_HASH_KEY (or a key derived from SECRET_KEY). Equal addresses get equal
pseudonyms, so the per-address lockout works on them as on addresses.
"""

import ipaddress
import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

from common.client_address import client_ip, person_address

_PSEUDONYM_SALT = "signalement.staff-login-address"
_PRIVATE_PREFIX = b"\xfd"


def login_address(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the pseudonym of the address the project trusts
    (common.client_address.client_ip, behind TRUSTED_PROXY_COUNT proxies), grouped as the
    readers' one-person rule groups it: an IPv4 address in any spelling, an IPv6 /64,
    and one shared "unknown" address for every unreadable one, still counted and locked."""
    return address_pseudonym(person_address(client_ip(request)))


def address_pseudonym(text: str) -> str:
    digest = salted_hmac(
        _PSEUDONYM_SALT,
        text,
        secret=settings.IP_HASH_KEY or settings.SECRET_KEY,
        algorithm="sha256",
    ).digest()
    return ipaddress.IPv6Address(_PRIVATE_PREFIX + digest[:15]).compressed


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429, in the admin's look and the visitor's language,
    with how long to wait."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds())
    context = {
        **admin.site.each_context(request),
        "title": gettext("Too many failed sign-ins"),
        "cooloff_minutes": math.ceil(seconds / 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "login_url": reverse("admin:login"),
    }
    response = TemplateResponse(request, "staff/lockout.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response.render()
