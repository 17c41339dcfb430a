"""Readers as the server tells them apart: each with their own cookies and their own
address (an anonymous reader is one person per IP, and per image a network may only
count so many: moderation.readers, moderation.services.report_create)."""

import requests
from django.conf import settings
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient


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
