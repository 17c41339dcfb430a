"""The Stack: a private deployment for one bench run (see the package's docstring)."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.harness.base import ROOT, VENV_BIN, BenchError, log
from bench.harness.databases import (
    RESERVED_REDIS_DBS,
    database_drop,
    database_recreate,
    redis_url,
    server_url,
    with_database,
)
from bench.harness.processes import _exit_on_sigterm, _stop, _tail, children_of, free_port


@dataclass
class Stack:
    """A private deployment for one bench run: see the module's docstring."""

    bench: str
    database: str
    redis_db: int
    throttle_db: int
    worker: bool = False
    static: bool = False
    web_workers: int = 2
    conn_max_age: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    base_url: str = ""
    tmp: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    gunicorn: subprocess.Popen | None = None
    celery: subprocess.Popen | None = None
    _db_created: bool = False
    _previous_sigterm: object = None

    # -- life cycle

    def __enter__(self) -> "Stack":
        # A bench stopped with SIGTERM (make's, a CI timeout) still cleans up.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.close()
        finally:
            signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)

    def prepare(self) -> None:
        """Database, Redis, directories; Django set up in this process on that database."""
        if "bench" not in self.database:
            raise BenchError("the database name must contain 'bench': the bench drops it")
        for db in (self.redis_db, self.throttle_db):
            if db in RESERVED_REDIS_DBS:
                raise BenchError(f"Redis database {db} belongs to make run or make test")
        if self.redis_db == self.throttle_db:
            raise BenchError("the broker and the rate limits need two Redis databases")
        url = server_url()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"signalement-{self.bench}-"))
        (self.tmp / "media").mkdir()
        (self.tmp / "logs").mkdir()
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": str(ROOT),
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-secret-key-not-for-production",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": with_database(url, self.database),
            "DATABASE_CONN_MAX_AGE": str(self.conn_max_age),
            "REDIS_URL": redis_url(self.redis_db),
            "THROTTLE_REDIS_URL": redis_url(self.throttle_db),
            "TRUSTED_PROXY_COUNT": "1",
            "HTTPS": "0",
            "READER_COOKIE_SECURE": "0",
            "MEDIA_ROOT": str(self.tmp / "media"),
            "STATIC_ROOT": str(self.tmp / "static"),
            "LOG_LEVEL": "WARNING",
            "BENCH_PORT": str(port),
            **self.extra_env,
        }
        self._flush_redis()
        log(self.bench, f"creating database {self.database}")
        database_recreate(url, self.database)
        self._db_created = True
        # This process talks to the same database and broker as the servers.
        os.environ.update(
            {k: v for k, v in self.env.items() if k not in ("PYTHONPATH", "BENCH_PORT")}
        )
        sys.path.insert(0, str(ROOT))
        import warnings

        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        import newsroom.celery  # noqa: F401  (the app the bench publishes with)

        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, payload text NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
        log(self.bench, f"migrated in {time.perf_counter() - started:.1f} s")
        if self.static:
            started = time.perf_counter()
            call_command("collectstatic", interactive=False, verbosity=0)
            log(self.bench, f"collectstatic in {time.perf_counter() - started:.1f} s")

    def start(self) -> None:
        """gunicorn (and the worker), once the content is in place; waits until both answer."""
        from django.db import connections

        # Nothing of this process's connections leaks into the timings.
        connections.close_all()
        port = self.env["BENCH_PORT"]
        self.gunicorn = self._spawn(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "newsroom.wsgi:application",
                "--workers",
                str(self.web_workers),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                # gunicorn 27's control socket lives at one path per user: two benches
                # (or a bench beside the fault tests) would share it.
                "--no-control-socket",
                "--chdir",
                str(ROOT),
            ],
        )
        if self.worker:
            self.celery = self._spawn(
                "celery",
                [
                    str(VENV_BIN / "celery"),
                    "-A",
                    "newsroom.celery:app",
                    "worker",
                    "-Q",
                    "moderation,images",
                    "--pool",
                    "prefork",
                    "--concurrency",
                    "1",
                    "-I",
                    "bench.tasks",
                    "--loglevel",
                    "WARNING",
                    "-n",
                    f"{self.bench}-{os.getpid()}@%h",
                ],
            )
        self._wait_for_web()
        if self.worker:
            self._wait_for_worker()

    def close(self) -> None:
        for name in ("celery", "gunicorn"):
            process = getattr(self, name)
            if process is not None and process.poll() is None:
                _stop(process, grace=20 if name == "celery" else 10)
                log(self.bench, f"{name} stopped")
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if self._db_created:
            try:
                database_drop(server_url(), self.database)
                log(self.bench, f"database {self.database} dropped")
            except Exception as error:  # the cleanup goes on
                log(self.bench, f"could not drop {self.database}: {error}")
        with contextlib.suppress(Exception):
            self._flush_redis()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        assert self.tmp is not None
        out = (self.tmp / "logs" / f"{name}.log").open("wb")
        log(self.bench, f"starting {name}")
        # A session of its own: a Ctrl-C in the terminal reaches the bench, which stops it.
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _died(self, name: str) -> BenchError:
        assert self.tmp is not None
        return BenchError(f"{name} exited:\n{_tail(self.tmp / 'logs' / f'{name}.log')}")

    def _wait_for_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise self._died("gunicorn")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base_url}/api/articles/", timeout=2).status_code == 200:
                    workers = self.web_pids()
                    if len(workers) == self.web_workers:
                        log(self.bench, f"gunicorn ready on {self.base_url}, workers {workers}")
                        return
            time.sleep(0.1)
        raise BenchError(f"gunicorn did not answer within {timeout} s")

    def _wait_for_worker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.celery.poll() is not None:
                raise self._died("celery")
            with contextlib.suppress(TimeoutError):
                self.noop_round_trip(timeout=1)
                log(self.bench, f"worker ready, pids {self.worker_pids()}")
                return
        raise BenchError(f"the worker ran no task within {timeout} s")

    def _flush_redis(self) -> None:
        import redis

        for db in (self.redis_db, self.throttle_db):
            redis.Redis.from_url(redis_url(db), socket_connect_timeout=2).flushdb()

    def check_alive(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is not None:
            raise self._died("gunicorn")
        if self.celery is not None and self.celery.poll() is not None:
            raise self._died("celery")

    def web_pids(self) -> list[int]:
        return children_of(self.gunicorn.pid) if self.gunicorn else []

    def worker_pids(self) -> list[int]:
        """The worker's main process, then its pool's children."""
        if not self.celery:
            return []
        return [self.celery.pid, *children_of(self.celery.pid)]

    # -- the broker

    _broker = None

    def broker(self):
        import redis

        if self._broker is None:
            # No socket timeout: a drain's BLPOP may wait for a long queue.
            self._broker = redis.Redis.from_url(self.env["REDIS_URL"], socket_timeout=None)
        return self._broker

    def noop_round_trip(self, timeout: float = 10) -> float:
        """Seconds from publishing `bench.noop` to its RPUSH waking our BLPOP."""
        from bench.tasks import noop

        key = f"bench:noop:{uuid.uuid4().hex}"
        started = time.perf_counter()
        noop.apply_async(kwargs={"key": key})
        if self.broker().blpop([key], timeout=timeout) is None:
            raise TimeoutError(f"bench.noop did not run within {timeout} s")
        return time.perf_counter() - started

    def drain(self, timeout: float = 120) -> float:
        """Wait until the worker has run what was queued before now (one task at a time,
        prefetch 1: a no-op published now runs after them). Returns the seconds waited."""
        return self.noop_round_trip(timeout=timeout)

    def queue_length(self) -> int:
        return int(self.broker().llen("moderation")) + int(self.broker().llen("images"))
