"""Health for load balancers and orchestrators.

`/healthz` says the process answers (nothing else is touched: a database outage must not
get healthy web processes restarted). `/readyz` says whether this process can do its work
now: the database answers, the broker answers, and at least one Celery worker answers a
ping, each within a second. Both answer JSON; `/readyz` 503 names what failed.

The checks cost up to seconds (no worker answering costs the ping's whole second), so
`/readyz` answers from a result shared by the process: its checks run at most once per
READYZ_CACHE_SECONDS in each process, and callers that arrive while they run wait for that
run and share its result instead of starting their own. A burst of probes (many load
balancers, or anyone who found the URL) then costs each process one run of the checks, not
one per call, and the web workers stay free for readers. The answer says when its checks
ran (`checked_at`) and how old the result is (`age_ms`).
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from newsroom.celery import app as celery_app

# Each check gives up after this long: a probe must answer before the prober's own timeout.
CHECK_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict
    checked_at: str  # when the checks started, ISO 8601 UTC


class SharedCheck:
    """One run of `check` at a time in this process, its result reused while it is young.

    `get(max_age=...)` returns the last result if it ended less than `max_age` seconds ago;
    else, if a run is under way, waits for that run and returns its result (whatever
    `max_age`: concurrent callers share one run); else runs `check` itself. A run that
    raises hands nothing to its waiters: one of them runs `check` in its turn.
    """

    def __init__(self, check: Callable[[], Readiness], *, clock: Callable[[], float]):
        self._check = check
        self._clock = clock
        self._condition = threading.Condition()
        self._result: Readiness | None = None
        self._ended_at = 0.0
        self._runs = 0
        self._running = False
        self.waiting = 0  # callers waiting for a run under way (read by the tests)

    def get(self, *, max_age: float) -> tuple[Readiness, float]:
        """The result and its age in seconds."""
        with self._condition:
            while True:
                if self._result is not None and self._clock() - self._ended_at < max_age:
                    return self._result, self._clock() - self._ended_at
                if not self._running:
                    self._running = True
                    break
                runs = self._runs
                self.waiting += 1
                try:
                    self._condition.wait_for(lambda: not self._running)
                finally:
                    self.waiting -= 1
                # (None if forget() came meanwhile: then this caller runs the checks.)
                if self._runs != runs and self._result is not None:
                    return self._result, self._clock() - self._ended_at
        result = None
        try:
            result = self._check()
        finally:
            with self._condition:
                if result is not None:
                    self._result, self._ended_at = result, self._clock()
                    self._runs += 1
                self._running = False
                self._condition.notify_all()
        return result, 0.0

    def forget(self) -> None:
        """Drop the last result: the next caller runs the checks (tests)."""
        with self._condition:
            self._result = None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    result, age = _readiness.get(max_age=settings.READYZ_CACHE_SECONDS)
    return JsonResponse(
        {
            "status": "ok" if result.ready else "unavailable",
            "checks": result.checks,
            "checked_at": result.checked_at,
            "age_ms": round(age * 1000, 1),
        },
        status=200 if result.ready else 503,
    )


def readiness_check() -> Readiness:
    checked_at = datetime.now(UTC).isoformat(timespec="microseconds")
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    # Workers are pinged through the broker: without one, asking would only wait.
    checks["workers"] = (
        _timed(_workers) if checks["broker"]["ok"] else {"ok": False, "error": "no broker"}
    )
    return Readiness(
        ready=all(result["ok"] for result in checks.values()),
        checks=checks,
        checked_at=checked_at,
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
    # limit=1: the first reply is enough. Without a limit, the broadcast collects replies
    # until its timeout, so a ready check always took the whole second.
    replies = celery_app.control.ping(timeout=CHECK_TIMEOUT_SECONDS, limit=1)
    if not replies:
        raise WorkersUnavailable
    return {"workers": len(replies)}


class WorkersUnavailable(Exception):
    """No Celery worker answered the ping in time."""


# One per process (each gunicorn worker imports this module itself); readiness_check is
# looked up at each run, so that a test may count or replace it.
_readiness = SharedCheck(lambda: readiness_check(), clock=time.monotonic)
