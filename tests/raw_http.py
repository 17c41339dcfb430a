"""Requests as an attacker sends them: bytes written to a socket, so that the server's WSGI
layer decodes the path and the query string (a NUL byte, invalid UTF-8, %-escapes of
either), where a client library would encode them, refuse them, or the test client would
hand Django a WSGI environment it made itself."""

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

# Any well-formed token will do for Django's double submit, as long as the cookie and the
# form field (or header) agree; a fixed one keeps generated requests the same every run.
CSRF_TOKEN = "rawrawrawrawrawrawrawrawrawrawra"
FORM = "application/x-www-form-urlencoded"

# Hostile values as they go on the wire, by class: what the attacks of issue 13 sent.
NULS = (b"%00", b"\x00", b"a%00b", b"%00%00", b"x\x00")
NOT_UTF8 = (b"%C0%AF", b"%FF", b"\xff", b"%ED%A0%80", b"%E2%82", b"\xc0\xaf", b"%F8%88%80%80%80")
OUT_OF_RANGE = (
    b"2147483648",
    b"9223372036854775808",
    b"99999999999999999999",
    b"-1",
    b"-99999999999999999999",
    b"1e9",
    b"NaN",
    b"",
)


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def raw_request(
    base_url: str,
    method: str,
    target: bytes,
    *,
    cookies: dict[str, str] | None = None,
    body: bytes | None = None,
    content_type: str = FORM,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> RawResponse:
    """Send `method target HTTP/1.1` as given, byte for byte, with the CSRF cookie (and any
    other `cookies`), and read the whole answer (the connection is closed after it)."""
    url = urlsplit(base_url)
    jar = {"csrftoken": CSRF_TOKEN, **(cookies or {})}
    lines = [
        f"Host: {url.netloc}",
        "Connection: close",
        "Cookie: " + "; ".join(f"{name}={value}" for name, value in jar.items()),
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    if body is not None:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    head = method.encode() + b" " + target + b" HTTP/1.1\r\n"
    head += "".join(f"{line}\r\n" for line in lines).encode("latin-1") + b"\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(head + (body or b""))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    header_block, _, content = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return RawResponse(status=int(status_line.split()[1]), headers=parsed, body=content)


def form_body(fields: dict[bytes, bytes], *, csrf: bool = True) -> bytes:
    """An urlencoded body from fields given as they go on the wire (escaped or raw)."""
    if csrf:
        fields = {**fields, b"csrfmiddlewaretoken": CSRF_TOKEN.encode()}
    return b"&".join(name + b"=" + value for name, value in fields.items())
