"""Fault tests: each starts its own redis-server and workers (tests/faults/processes.py),
breaks them, and stops them all before the test database is flushed."""

from collections.abc import Callable, Iterator

import pytest

from articles.models import Image
from moderation.services import outbox
from tests.factories import ImageFactory, PolicyFactory
from tests.faults.processes import AUTO_BLOCK, RedisServer, WebServer, Worker, process_env
from tests.readers import reports_by_new_readers


@pytest.fixture
def own_redis(transactional_db, tmp_path) -> Iterator[RedisServer]:
    """A redis-server of this test's own: the broker (db 0) and the rate limits (db 1)
    of the processes the test starts."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_worker(own_redis, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start real Celery workers against the test's Redis; all are stopped (and their
    pool children killed) at teardown, before the database is flushed."""
    workers: list[Worker] = []

    def start(name: str, *, concurrency: int = 1, include: str | None = None, **env) -> Worker:
        worker = Worker(
            tmp_path,
            name=name,
            env=process_env(own_redis, **env),
            concurrency=concurrency,
            include=include,
        )
        workers.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
def messages_sent(monkeypatch) -> list[tuple[str, int | list[int]]]:
    """The messages the test process's own report and block paths send, kept here instead
    of reaching a broker (a test forwards the ones it needs to its own Redis)."""
    sent: list[tuple[str, int | list[int]]] = []

    def enqueue(*, task_name, argument, if_lost) -> bool:
        sent.append((task_name, argument))
        return True

    monkeypatch.setattr(outbox, "enqueue", enqueue)
    return sent


@pytest.fixture
def start_web(own_redis, tmp_path) -> Iterator[Callable[..., WebServer]]:
    """Start the app under gunicorn against the test's Redis; stopped at teardown."""
    servers: list[WebServer] = []

    def start(**env) -> WebServer:
        server = WebServer(tmp_path, env=process_env(own_redis, **env))
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def due_image(messages_sent) -> Image:
    """A visible image that distinct readers reported up to the threshold (a global policy
    of 3) through the real report path, which asked for one auto_block; that message is
    in `messages_sent`, for the test to deliver to its own worker."""
    PolicyFactory(threshold=3)
    image = ImageFactory()
    reports_by_new_readers(image, 3)
    assert [m for m in messages_sent if m[0] == AUTO_BLOCK] == [(AUTO_BLOCK, image.pk)]
    return image
