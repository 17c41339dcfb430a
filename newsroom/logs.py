"""Log lines: JSON or plain, each with the request id, none with personal data.

Every handler of the web processes, the Celery workers, beat and gunicorn formats
through `JsonFormatter` or `PlainFormatter`, and both redact before anything is
written: IP addresses (a reader's is personal data; the log is kept longer than
the reports' hashes are) and the values of the secret settings. Cookies are never
logged in the first place: the access line names the method, path, status and
duration, nothing from the headers.

The request id comes from django-guid: nginx's `X-Request-ID` when it is a UUID,
a fresh one otherwise; django-guid carries it in the headers of the Celery
tasks a request enqueues, so a task's lines carry the id of the request that
caused them.
"""

import ipaddress
import logging
import logging.config
import re
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

IP_PLACEHOLDER = "[ip]"
SECRET_PLACEHOLDER = "[secret]"
# Settings whose values never appear in a log line.
SECRET_SETTINGS = ("SECRET_KEY", "IP_HASH_KEY", "METRICS_TOKEN", "EMAIL_HOST_PASSWORD")
# Shorter values are not redacted: they would match ordinary words.
_MIN_SECRET_LENGTH = 6

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
# Candidates only: each is checked with ipaddress, so "23:56:35" stays a time.
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")
# The password in a URL (redis://:password@host, postgres://user:password@host).
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@")


def _mask_ip(match: re.Match) -> str:
    candidate = match.group(0)
    try:
        ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return candidate
    return IP_PLACEHOLDER


def _secret_values() -> tuple[str, ...]:
    from django.conf import settings

    # Before settings are configured (gunicorn's master starting) there is nothing
    # to redact yet but addresses; nothing is remembered either.
    return _configured_secret_values() if settings.configured else ()


@cache
def _configured_secret_values() -> tuple[str, ...]:
    from django.conf import settings

    values = []
    for name in SECRET_SETTINGS:
        value = str(getattr(settings, name, "") or "")
        if len(value) >= _MIN_SECRET_LENGTH:
            values.append(value)
    # Longest first, so that a secret containing another is masked whole.
    return tuple(sorted(values, key=len, reverse=True))


@receiver(setting_changed)
def _forget_secret_values(*, setting: str, **kwargs: Any) -> None:
    if setting in SECRET_SETTINGS:
        _configured_secret_values.cache_clear()


def redact(text: str, *, secrets: tuple[str, ...] | None = None) -> str:
    """`text` with IP addresses, URL passwords and secret settings' values masked."""
    for secret in _secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, SECRET_PLACEHOLDER)
    # Each pattern only where it could match: scanning costs ~10 µs per line each.
    if "@" in text:
        text = _URL_PASSWORD.sub(rf"\g<scheme>:{SECRET_PLACEHOLDER}@", text)
    if "." in text:
        text = _IPV4.sub(_mask_ip, text)
    if ":" in text:
        text = _IPV6.sub(_mask_ip, text)
    return text


# Fields this module or django-guid (a validated UUID) writes: nothing of a client's
# or an exception's can be in them.
_TRUSTED_FIELDS = frozenset({"level", "logger", "time", "request_id", "status", "duration_ms"})


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, and
    the record's extra fields; every other string redacted."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        secrets = _secret_values()
        return {
            key: value if key in _TRUSTED_FIELDS else _redacted(value, secrets)
            for key, value in log_data.items()
        }


def _redacted(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets=secrets)
    if isinstance(value, dict):
        return {key: _redacted(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, secrets) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value), secrets=secrets)


class PlainFormatter(logging.Formatter):
    """Text lines for a developer's terminal, redacted as the JSON ones are."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RequestIdFilter(logging.Filter):
    """Puts the current request id (None outside a request or task) on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The bare context variable: gunicorn's master logs before Django is set up.
        from django_guid.context import guid

        record.request_id = guid.get()
        return True


def configure(config: dict[str, Any]) -> None:
    """LOGGING_CONFIG: the LOGGING dict, and Python's warnings as log lines too
    (a warning printed as it is would be the one unformatted, unredacted line)."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting; gunicorn (deploy/gunicorn.conf.py) and Celery use it too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "newsroom.logs.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "newsroom.logs.JsonFormatter"},
            "plain": {"()": "newsroom.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default handlers would print some lines a second time, unformatted.
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "django.server": {"handlers": ["console"], "level": level, "propagate": False},
            # django-guid says at INFO each id it sets: one line per request and task.
            "django_guid": {"level": "WARNING"},
            # Gunicorn's own lines, through the same handler (deploy/gunicorn.conf.py).
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": [], "propagate": False},
        },
    }


access_logger = logging.getLogger("newsroom.access")


class AccessLogMiddleware:
    """One line per request: method, path, status, duration. No address, no header,
    no query string (it may hold a reader's search or a token in a careless link)."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response
