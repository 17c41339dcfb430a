"""/healthz and /readyz against the real database, broker and worker."""

import threading

import pytest
from django.db import OperationalError, connections
from django.db.backends.utils import CursorWrapper
from django.test import Client

from newsroom import health
from newsroom.health import Readiness, SharedCheck
from tests.servers import free_port
from tests.waiting import wait_until

CALLERS = 50


@pytest.fixture(autouse=True)
def readiness_forgotten():
    # A result another test cached must not answer this test's calls.
    health._readiness.forget()
    yield
    health._readiness.forget()


class FrozenClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The view's shared result on a frozen clock."""
    frozen = FrozenClock()
    monkeypatch.setattr(
        health, "_readiness", SharedCheck(lambda: health.readiness_check(), clock=frozen)
    )
    return frozen


@pytest.fixture
def checks_run(monkeypatch):
    """Counts the runs of the readiness checks (the real ones)."""
    runs = []
    check = health.readiness_check

    def counted():
        runs.append(threading.get_ident())
        return check()

    monkeypatch.setattr(health, "readiness_check", counted)
    return runs


def in_threads(count, call):
    """Runs `call()` in `count` threads released together; returns their results."""
    start = threading.Barrier(count)
    results = [None] * count

    def run(n):
        start.wait()
        try:
            results[n] = call()
        except Exception as error:
            results[n] = error
        finally:
            # The test client keeps a thread's database connection open; the test
            # database could not be dropped.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def a_result(n=0):
    return Readiness(ready=True, checks={"run": n}, checked_at=f"run {n}")


def test_healthz_answers_without_touching_anything():
    # (no database access is allowed in this test: pytest-django would fail it)
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_readyz_is_ok_with_the_database_the_broker_and_a_worker(celery_worker):
    response = Client().get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "workers": True,
    }
    assert body["checks"]["workers"]["workers"] >= 1


@pytest.mark.django_db
def test_readyz_is_503_naming_the_workers_when_none_answers():
    # given the database and the broker, and no worker running (this test starts none)
    response = Client().get("/readyz")

    # then not ready, and the workers are what failed, within the ping's second
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert (checks["database"]["ok"], checks["broker"]["ok"]) == (True, True)
    assert checks["workers"] == {
        "ok": False,
        "error": "WorkersUnavailable",
        "ms": checks["workers"]["ms"],
    }
    assert checks["workers"]["ms"] < 3000


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_redis_does_not_answer(settings):
    # given a broker URL where nothing listens
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["workers"] == {"ok": False, "error": "no broker"}
    # and no host, port or credential leaks into the answer
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_fails(monkeypatch):
    # given a database that refuses every statement
    def refuse(self, sql, params=None):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "ms": response.json()["checks"]["database"]["ms"],
    }


# --- one run of the checks for many callers ----------------------------------------------


def test_concurrent_callers_share_one_run_even_with_nothing_cached():
    # given a check that holds until every other caller is waiting for it, and no cache
    runs = []

    def slow_check():
        runs.append(1)
        wait_until(lambda: shared.waiting == CALLERS - 1)
        return a_result(len(runs))

    shared = SharedCheck(slow_check, clock=FrozenClock())

    # when 50 callers ask at once
    results = in_threads(CALLERS, lambda: shared.get(max_age=0))

    # then the check ran once, and every caller got its result
    assert len(runs) == 1
    assert {id(result) for result, _age in results} == {id(results[0][0])}
    assert results[0][0].checks == {"run": 1}


def test_a_run_that_raises_leaves_the_next_run_to_a_waiting_caller():
    # given a check whose first run fails once a second caller waits for it
    runs = []

    def check():
        runs.append(1)
        if len(runs) == 1:
            wait_until(lambda: shared.waiting == 1)
            raise RuntimeError("the check itself broke")
        return a_result(len(runs))

    shared = SharedCheck(check, clock=FrozenClock())

    # when two callers ask at once
    results = in_threads(2, lambda: shared.get(max_age=2))

    # then the first got the failure, the waiter ran the check again and got its result
    assert len(runs) == 2
    assert sum(isinstance(result, RuntimeError) for result in results) == 1
    (answer,) = [result for result in results if not isinstance(result, RuntimeError)]
    assert answer[0].checks == {"run": 2}


@pytest.mark.django_db
def test_fifty_parallel_calls_to_readyz_run_the_checks_once(monkeypatch, checks_run):
    # given checks (the real ones: no worker runs, so not ready) that hold until every
    # other caller waits for them, so that all 50 calls are in flight together
    check = health.readiness_check

    def held():
        result = check()
        wait_until(lambda: health._readiness.waiting == CALLERS - 1)
        return result

    monkeypatch.setattr(health, "readiness_check", held)

    # when 50 probes call /readyz at once
    responses = in_threads(CALLERS, lambda: Client().get("/readyz"))

    # then one run of the checks answered them all, with the same result
    assert len(checks_run) == 1
    assert {response.status_code for response in responses} == {503}
    bodies = [response.json() for response in responses]
    assert len({body["checked_at"] for body in bodies}) == 1
    assert all(body["checks"]["workers"]["error"] == "WorkersUnavailable" for body in bodies)


@pytest.mark.django_db
@pytest.mark.parametrize("seconds, runs", [(2, 1), (0, 5)])
def test_readyz_runs_its_checks_once_per_cache_period(settings, clock, checks_run, seconds, runs):
    # given READYZ_CACHE_SECONDS, on a clock that does not move
    settings.READYZ_CACHE_SECONDS = seconds

    # when a probe calls five times in a row
    answers = [Client().get("/readyz").json() for _ in range(5)]

    # then the checks ran once within the period (every time when it is 0)
    assert len(checks_run) == runs
    assert len({answer["checked_at"] for answer in answers}) == runs


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_cached_503_turns_200_once_its_cause_is_repaired_and_the_period_over(
    settings, clock, checks_run, celery_worker
):
    # given a worker, a broker URL where nothing listens, and a 2 s period
    settings.READYZ_CACHE_SECONDS = 2
    working_url = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    first = Client().get("/readyz")
    assert first.status_code == 503
    assert first.json()["checks"]["broker"]["ok"] is False

    # when the broker is repaired, within the period
    settings.REDIS_URL = working_url
    clock.now += 1.5
    cached = Client().get("/readyz")

    # then the answer is still the cached one, and says how old it is
    assert cached.status_code == 503
    assert cached.json()["checked_at"] == first.json()["checked_at"]
    assert cached.json()["age_ms"] == 1500.0
    assert len(checks_run) == 1

    # when the period is over
    clock.now += 0.5
    fresh = Client().get("/readyz")

    # then the checks ran again and found everything ready
    assert fresh.status_code == 200
    assert fresh.json()["age_ms"] == 0.0
    assert fresh.json()["checked_at"] != first.json()["checked_at"]
    assert len(checks_run) == 2
