"""Health for load balancers and orchestrators.

`/healthz` says the process answers (nothing else is touched: a database outage must not
get healthy web processes restarted). `/readyz` says whether this process can do its work
now: the database answers, the broker answers, and at least one Celery worker answers a
ping, each within a second. Both answer JSON; `/readyz` 503 names what failed.
"""

import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from newsroom.celery import app as celery_app

# Each check gives up after this long: a probe must answer before the prober's own timeout.
CHECK_TIMEOUT_SECONDS = 1.0


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    # Workers are pinged through the broker: without one, asking would only wait.
    checks["workers"] = (
        _timed(_workers) if checks["broker"]["ok"] else {"ok": False, "error": "no broker"}
    )
    ready = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _timed(check: Callable[[], dict]) -> dict:
    started = time.monotonic()
    try:
        result = {"ok": True, **check()}
    except Exception as error:
        # The class only: messages can carry hosts and credentials.
        result = {"ok": False, "error": type(error).__name__}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _broker() -> dict:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _workers() -> dict:
    replies = celery_app.control.ping(timeout=CHECK_TIMEOUT_SECONDS)
    if not replies:
        raise WorkersUnavailable
    return {"workers": len(replies)}


class WorkersUnavailable(Exception):
    """No Celery worker answered the ping in time."""
