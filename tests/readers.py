"""Readers as the server tells them apart: each with their own cookies and their own
address (an anonymous reader is one person per IP, and per image a network may only
count so many: moderation.readers, moderation.services.report_create)."""

import hashlib
import uuid

import requests
from django.conf import settings
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from moderation import services
from moderation.models import ImageCase
from tests.factories import ImageFactory

# The network every report of a burst comes from (one /24, say).
BURST_NETWORK = hashlib.sha256(b"network 192.0.2.0/24").hexdigest()


def ip_hash_of(reader: str) -> str:
    """What a report stores about its reader's address (and must never leave the
    server): one address per anonymous reader, or they would be one person."""
    return hashlib.sha256(f"ip of {reader}".encode()).hexdigest()


def reports_by_new_readers(
    image, count: int, *, reason: str = "violence", network_hash: str = ""
) -> None:
    """`count` anonymous readers, each with their own cookie and address, report the
    image through the real report path."""
    for _ in range(count):
        reader = uuid.uuid4().hex
        services.report_create(
            image_id=image.pk,
            reporter_key=f"reader:{reader}",
            reason=reason,
            ip_hash=ip_hash_of(reader),
            network_hash=network_hash,
        )


def held_case(image=None, *, held_reports: int = 2) -> ImageCase:
    """A burst from one network, through the real report path: the first
    BRIGADE_NETWORK_ALLOWANCE reports count, the next `held_reports` are held as
    grouped reports and hold the automatic block. Each reader has their own address."""
    image = image or ImageFactory()
    reports_by_new_readers(
        image, settings.BRIGADE_NETWORK_ALLOWANCE + held_reports, network_hash=BURST_NETWORK
    )
    case = ImageCase.objects.get(image=image)
    assert case.brigade_held_at is not None
    assert case.open_report_count == settings.BRIGADE_NETWORK_ALLOWANCE
    return case


def reader_address(n: int) -> str:
    """A distinct IPv4 address, in a distinct /24, for each n in 0..65535."""
    return f"10.{n // 256}.{n % 256}.7"


def reader_client(n: int, **defaults) -> APIClient:
    """An API client of its own (own cookies) calling from reader n's address."""
    return APIClient(REMOTE_ADDR=reader_address(n), **defaults)


class LiveReader:
    """A reader without a browser against a live server (TRUSTED_PROXY_COUNT = 1):
    their own cookie jar, their address in X-Forwarded-For as a proxy would append it,
    and a CSRF token sent both as the cookie and as the header.

    Django's CSRF check is a double submit: any well-formed token will do as long as
    cookie and header agree, which a page on another site cannot arrange (it can
    neither read nor set this site's cookies). Browser tests (tests/e2e) take the
    token from the page as readers do; here it is minted, to spare a page load per
    reader.
    """

    def __init__(self, base_url: str, n: int):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["X-Forwarded-For"] = reader_address(n)
        self.csrf_token = get_random_string(32)
        self.session.cookies.set(settings.CSRF_COOKIE_NAME, self.csrf_token)

    def __enter__(self) -> "LiveReader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.close()

    def report(self, image_id: int, reason: str = "violence", **body) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/api/images/{image_id}/reports/",
            json={"reason": reason, **body},
            headers={"X-CSRFToken": self.csrf_token},
            timeout=30,
        )
