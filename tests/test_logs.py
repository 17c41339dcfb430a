"""Log lines: JSON with the request id, the access line, and nothing personal in them.

tests/test_operations.py follows a request id into a real worker's lines and reads
every line of gunicorn and Celery for addresses, cookies and secrets."""

import json
import logging
import uuid

import pytest
from django.test import Client

from newsroom.logs import JsonFormatter, PlainFormatter, RequestIdFilter, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("report from 203.0.113.9 refused", "report from [ip] refused"),
        ("client 2001:db8::7 and ::1", "client [ip] and [ip]"),
        ("mapped ::ffff:198.51.100.4", "mapped ::ffff:[ip]"),
        ("fe80::1%eth0 says hello", "[ip] says hello"),
        ("at 23:56:35 on Django 5.2.19", "at 23:56:35 on Django 5.2.19"),
        ("not an address: 300.1.2.3", "not an address: 300.1.2.3"),
        ("redis://:s3cret-pass@cache:6379/1", "redis://:[secret]@cache:6379/1"),
        ("postgres://app:pw0rd@db/signalement", "postgres://app:[secret]@db/signalement"),
    ],
)
def test_addresses_and_url_passwords_are_masked_and_nothing_else(text, expected):
    assert redact(text) == expected


def test_the_values_of_secret_settings_are_masked(settings):
    settings.IP_HASH_KEY = "ip-hash-key-value-123"
    settings.METRICS_TOKEN = "token-value-456"

    assert redact("key=ip-hash-key-value-123 token-value-456") == "key=[secret] [secret]"


def record(message: str, *args, **extra) -> logging.LogRecord:
    made = logging.LogRecord("moderation.services", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    RequestIdFilter().filter(made)
    return made


def test_a_json_line_has_the_fields_operators_search_on():
    line = JsonFormatter().format(
        record("image %s blocked from %s", 7, "198.51.100.4", path="/x", status=201)
    )

    parsed = json.loads(line)
    assert parsed["message"] == "image 7 blocked from [ip]"
    assert (parsed["level"], parsed["logger"]) == ("INFO", "moderation.services")
    assert (parsed["path"], parsed["status"]) == ("/x", 201)
    assert "request_id" in parsed and parsed["time"]
    assert "\n" not in line


def test_an_exception_is_one_json_line_with_its_traceback_redacted():
    try:
        raise ConnectionError("cannot reach 10.1.2.3:6379")
    except ConnectionError:
        failed = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "broker down", (), __import__("sys").exc_info()
        )
    RequestIdFilter().filter(failed)

    line = JsonFormatter().format(failed)

    assert "\n" not in line
    parsed = json.loads(line)
    assert "ConnectionError: cannot reach [ip]:6379" in parsed["exc_info"]


def test_plain_lines_are_redacted_too():
    assert PlainFormatter().format(record("from %s", "203.0.113.200")).endswith("from [ip]")


# --- the request id and the access line -------------------------------------------------


@pytest.mark.django_db
def test_each_answer_carries_a_request_id_the_proxys_when_it_is_a_uuid():
    given = uuid.uuid4().hex
    client = Client()

    kept = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    made_up = client.get("/healthz")

    assert kept["X-Request-ID"] == given
    assert replaced["X-Request-ID"] != "<script>"
    assert len(replaced["X-Request-ID"]) == len(made_up["X-Request-ID"]) == 32
    assert replaced["X-Request-ID"] != made_up["X-Request-ID"]


class Lines(logging.Handler):
    """The JSON lines a logger writes, through the production filter and formatter."""

    def __init__(self):
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.mark.django_db
def test_the_access_line_names_the_request_but_not_its_query_headers_or_client():
    request_id = uuid.uuid4().hex
    lines = Lines()
    access = logging.getLogger("newsroom.access")
    access.addHandler(lines)
    try:
        Client(REMOTE_ADDR="203.0.113.50").get(
            "/healthz?email=reader@example.org",
            HTTP_X_REQUEST_ID=request_id,
            HTTP_COOKIE="sessionid=abcdef123456",
        )
    finally:
        access.removeHandler(lines)

    [line] = lines.lines
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert line["request_id"] == request_id and line["duration_ms"] >= 0
    for private in ("reader@example.org", "abcdef123456", "203.0.113.50"):
        assert private not in json.dumps(line)
