import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connections

from common import publishing
from moderation import limits
from newsroom.celery import app as celery_app
from tests.factories import ModeratorFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def broker_failures_forgotten():
    # A test that breaks the broker must not silence the next test's messages.
    publishing.forget_failures()
    yield
    publishing.forget_failures()


@pytest.fixture(autouse=True)
def rate_limits_reset(request):
    # Counters, or a limiter paused by a failure, left by one test must not refuse or let
    # through the next test's reports. A fast test reaches no Redis, nor may this.
    if request.node.get_closest_marker("fast"):
        return
    limits.limits_reset()
    limits.forget_failures()


@pytest.fixture
def moderator(db):
    return ModeratorFactory(username="modo")


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker, in a thread, consuming the real Redis broker.

    Queues are purged first so that messages left by another test can't act
    on this test's rows.
    """
    celery_app.control.purge()
    with start_worker(
        celery_app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["moderation", "images"],
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as worker:
        yield worker
    # The worker's thread opened its own database connections; close them so
    # the test database can be flushed and dropped.
    connections.close_all()


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Serve static files by their plain names in tests.

    Production's CompressedManifestStaticFilesStorage needs `collectstatic` to
    have run before `{% static %}` can name a file; tests/articles/test_static.py
    switches it back on, after running collectstatic.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# Fixtures that reach PostgreSQL, Redis, a worker or a browser (directly or through the
# fixtures it uses: item.fixturenames is the whole closure): a test that asks for none of
# them (and carries none of the markers below) runs in `make test-fast` with nothing running.
SERVICE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
        "celery_worker",
    }
)
SERVICE_MARKERS = frozenset({"django_db", "redis", "worker", "e2e", "faults", "fuzz"})


def pytest_collection_modifyitems(items):
    for item in items:
        markers = {marker.name for marker in item.iter_markers()}
        if not (SERVICE_FIXTURES & set(item.fixturenames) or SERVICE_MARKERS & markers):
            item.add_marker(pytest.mark.fast)
