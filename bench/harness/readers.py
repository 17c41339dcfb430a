"""The simulated readers: a cookie jar, an address and a CSRF token of their own each."""

import secrets
import string

import requests


def reader_address(n: int) -> str:
    """A distinct IPv4 address in a distinct /24 for each n (10.0.0.7, 10.0.1.7, ...
    then 11.0.0.7 after 65,536 readers): neither the one-person-per-address rule nor the
    per-network allowance of grouped reports ever joins two simulated readers."""
    high, rest = divmod(n, 65_536)
    if high > 200:
        raise ValueError("too many readers for distinct /24 networks")
    return f"{10 + high}.{rest // 256}.{rest % 256}.7"


_TOKEN_CHARS = string.ascii_letters + string.digits


class Reader:
    """One simulated reader: their own cookie jar, their own address (X-Forwarded-For, as
    the one trusted proxy would append it), and a CSRF token they minted themselves as a
    double submit (cookie `csrftoken` and header `X-CSRFToken` agree), as tests/readers.py's
    LiveReader does: no page load is needed before a report."""

    def __init__(self, base_url: str, n: int, *, headers: dict[str, str] | None = None):
        self.base_url = base_url
        self.n = n
        self.session = requests.Session()
        self.session.headers["X-Forwarded-For"] = reader_address(n)
        self.session.headers.update(headers or {})
        self.csrf_token = "".join(secrets.choice(_TOKEN_CHARS) for _ in range(32))
        self.session.cookies.set("csrftoken", self.csrf_token)

    def post(self, path: str, body: dict, timeout: float = 30) -> requests.Response:
        return self.session.post(
            self.base_url + path,
            json=body,
            headers={"X-CSRFToken": self.csrf_token},
            timeout=timeout,
        )

    def get(self, path: str, timeout: float = 30, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else self.base_url + path
        return self.session.get(url, timeout=timeout, **kwargs)

    def close(self) -> None:
        self.session.close()
