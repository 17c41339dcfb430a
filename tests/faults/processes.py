"""Processes a fault test owns: its own redis-server, Celery workers and web server.

Each is started in its own session (its own process group), so a test can SIGKILL a
worker's main process and pool children at once without touching anything else, and
teardown can make sure nothing it started outlives the test. The machine's shared
PostgreSQL and Redis are never stopped: only the test database is shared with them.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import redis
import requests
from celery import Celery
from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import QuerySet
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.servers import database_url, free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"
AUTO_BLOCK = "moderation.tasks.case_auto_block"
SWEEP_DUE_BLOCKS = "moderation.tasks.sweep_due_blocks"
PROCESS_IMAGE = "articles.tasks.process_image"
REQUEUE_STUCK_IMAGES = "articles.tasks.images_requeue_stuck"
# The test-only module a worker loads to pause inside a block (tests/faults/hooks.py).
HOOKS = "tests.faults.hooks"


def _stop_group(process: subprocess.Popen, *, grace: float) -> None:
    """Stop a process started with start_new_session=True and everything in its group."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # A worker's pool children live in the same group; leave none behind.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class RedisServer:
    """A redis-server of the test's own, on a free port, keeping nothing on disk: a
    restart on the same port comes back empty, as a crashed cache node would."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        with (self.directory / "redis.log").open("a") as log:
            self.process = subprocess.Popen(
                [
                    *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self.answers, timeout=10, every=0.05)

    def answers(self) -> bool:
        # One try: redis-py's default retries take seconds to say a port is closed.
        client = redis.Redis(
            port=self.port, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
        )
        try:
            return client.ping()
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, with whatever it held."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        assert not self.answers()

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, grace=5)


class Worker:
    """`celery worker` in a subprocess (prefork), against the test's Redis and database."""

    def __init__(
        self,
        directory: Path,
        *,
        name: str,
        env: dict[str, str],
        concurrency: int = 1,
        include: str | None = None,
        queues: str = "moderation,images",
    ):
        self.directory = directory
        self.name = name
        self.env = env
        self.concurrency = concurrency
        self.include = include
        self.queues = queues
        self.log_path = directory / f"worker-{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> "Worker":
        command = [
            # --quiet: no banner, which prints the broker's address outside the log lines.
            *(sys.executable, "-m", "celery", "-A", "newsroom.celery:app", "--quiet", "worker"),
            *("--pool", "prefork", "--concurrency", str(self.concurrency)),
            *("--queues", self.queues, "--loglevel", "INFO"),
            *("--hostname", f"{self.name}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        if self.include:
            command += ["--include", self.include]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(lambda: f"{self.name}@" in self.log() and " ready." in self.log(), timeout=30)
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def messages(self) -> list[str]:
        """The message of each line the worker logged (its lines are JSON)."""
        return [json_message(line) for line in self.log().splitlines()]

    def results(self, task: str, task_id: str | None = None) -> list[str]:
        """What each run of one task message (or of every message of the task)
        returned, as the worker logs it."""
        named = re.escape(task_id) if task_id is not None else r"[^\]]+"
        pattern = rf"{re.escape(task)}\[{named}\] succeeded in [0-9.e-]+s: (.*)"
        return [found for message in self.messages() for found in re.findall(pattern, message)]

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_all(self) -> None:
        """SIGKILL the main process and its pool children at once: nothing acks,
        nothing hands a message back."""
        assert self.process is not None
        os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, grace=20)


class WebServer:
    """The app under gunicorn (threaded workers), as in production."""

    def __init__(
        self,
        directory: Path,
        *,
        env: dict[str, str],
        workers: int = 2,
        config: Path | None = None,
    ):
        self.directory = directory
        self.env = env
        self.workers = workers
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "web.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "WebServer":
        command = [
            *(sys.executable, "-m", "gunicorn", "newsroom.wsgi"),
            *("--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)),
            *("--worker-class", "gthread", "--threads", "4", "--timeout", "60"),
            *("--error-logfile", "-", "--no-control-socket"),
        ]
        if self.config is not None:
            # The shipped file's settings, then the test's own bind and workers.
            command[3:3] = ["--config", str(self.config)]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self.answers, timeout=30, every=0.1)
        return self

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/articles/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, grace=10)


def json_message(line: str) -> str:
    """The message of a JSON log line; any other line as it is."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    return record.get("message", line) if isinstance(record, dict) else line


def process_env(redis_server: RedisServer, **extra: str) -> dict[str, str]:
    """The environment of a process of the test: the test database, the test's own
    Redis (broker in db 0, rate limits in db 1) and media root."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_server.url(0),
        "THROTTLE_REDIS_URL": redis_server.url(1),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": "faults-test",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "0",
        "READER_COOKIE_SECURE": "0",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def broker_app(redis_server: RedisServer) -> Celery:
    """A Celery app that only publishes, to the test's own broker, as the report path
    does: task name and arguments, on the `moderation` queue."""
    app = Celery("faults", broker=redis_server.url(0), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        task_default_queue="moderation",
        broker_connection_retry_on_startup=False,
    )
    return app


def manage(redis_server: RedisServer, *arguments: str, **env: str) -> subprocess.CompletedProcess:
    """Run `manage.py` as an operator would, against the test's database and Redis."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=process_env(redis_server, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def is_locked(rows: QuerySet) -> bool:
    """Whether another transaction holds a row lock on these rows (a worker's, inside
    the step it paused in)."""
    try:
        with transaction.atomic():
            list(rows.select_for_update(nowait=True))
    except OperationalError:
        return True
    return False


def unacked_task_ids(client: redis.Redis) -> list[str]:
    """The task ids of the messages Redis holds as delivered but never acknowledged."""
    return [json.loads(payload)[0]["headers"]["id"] for payload in client.hvals("unacked")]


def process_alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for_file(path: Path, *, timeout: float = 20) -> float:
    """Wait until `path` exists; return its modification time (epoch seconds)."""
    wait_until(path.exists, timeout=timeout, every=0.02)
    return path.stat().st_mtime
