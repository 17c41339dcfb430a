"""/healthz and /readyz against the real database, broker and worker."""

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from tests.servers import free_port


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
