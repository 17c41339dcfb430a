"""What the HTTP benches share: a private stack of real processes, readers, a bounded
load generator and its statistics.

A `Stack` is what production runs, on this machine and on 127.0.0.1 only:

- a PostgreSQL database of its own on the server of `DATABASE_URL` (default
  postgres://postgres@127.0.0.1:5432/postgres; only the server and credentials are used):
  dropped and recreated (its name must contain "bench"), migrated, with the floor's
  table `bench_floor`; dropped again at the end;
- two Redis databases of its own on the Redis of `REDIS_URL` (default 127.0.0.1:6379):
  the broker and the rate limits' counters, flushed before and after (never 0, 1, 14 or
  15, which `make run` and `make test` use);
- gunicorn with 2 sync workers (`newsroom.wsgi`) on a free 127.0.0.1 port, with
  DJANGO_SETTINGS_MODULE=bench.settings (the project's settings, plus the floor's route),
  DEBUG=0, TRUSTED_PROXY_COUNT=1 (each simulated reader sends its own address in
  X-Forwarded-For, as nginx would append it), HTTPS=0 and READER_COOKIE_SECURE=0
  (plain HTTP: no redirect, no Secure cookies);
- optionally a Celery worker as in production (`-Q moderation,images`, prefork, 1 child),
  which also loads `bench.tasks` (the no-op task the benches time the broker with);
- media (and, for the pages, `collectstatic`'s output) in a temporary directory.

The bench's own process uses the same database through the ORM (to create content and
check it afterwards). Everything is stopped, dropped and removed in `close()`, which the
context manager calls whatever happens (SIGTERM included).
"""

import contextlib
import io
import json
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# make run uses Redis databases 0 and 1, make test 14 and 15: never flush those.
RESERVED_REDIS_DBS = {0, 1, 14, 15}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(bench: str, message: str) -> None:
    print(f"[{bench}] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """The stack could not be set up, or a process died."""


# --- the database and Redis ----------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise BenchError("DATABASE_URL must point at a PostgreSQL server")
    return url


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def redis_url(db: int) -> str:
    """The Redis of REDIS_URL (default 127.0.0.1:6379), database `db`."""
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit(base._replace(path=f"/{db}"))


def _admin_connect(url: str):
    import psycopg

    return psycopg.connect(with_database(url, "postgres"), autocommit=True)


def database_recreate(url: str, name: str) -> None:
    from psycopg import sql

    if "bench" not in name:
        raise BenchError(f"refusing to drop {name!r}: a bench database's name contains 'bench'")
    with _admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(url: str, name: str) -> None:
    from psycopg import sql

    if "bench" not in name:
        raise BenchError(f"refusing to drop {name!r}: a bench database's name contains 'bench'")
    with _admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- processes --------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Direct children of a process, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.extend(int(p) for p in (task / "children").read_text().split())
    return sorted(set(found))


def rss_kb(pid: int) -> int | None:
    """VmRSS of a process in kB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not of its children), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command: state is fields[0], utime and stime are the 14th and 15th fields.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, already counted in user
    return total - idle, total


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


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


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _stop(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM (gunicorn and Celery stop gracefully), then SIGKILL of its own process group."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    # Children the master did not take down (it was killed): its process group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


# --- content ----------------------------------------------------------------------------

BODY = (
    "Les faits se sont produits en fin de journée, selon plusieurs témoins joints par la "
    "rédaction. Les autorités locales ont confirmé l'information.\n\n"
    "## Ce que disent les responsables\n\n"
    "Le maire a pris la parole devant la presse pour appeler au calme.\n\n"
    "## Et maintenant\n\n"
    "Une enquête a été ouverte ; les conclusions sont attendues d'ici la fin du mois."
)
RENDITION_NAMES = {
    "thumbnail": "t.jpg",
    "rendition": "r.jpg",
    "thumbnail_webp": "t.webp",
    "rendition_webp": "r.webp",
}


def random_phash(rng: random.Random) -> int:
    """A 64-bit hash with 32 bits set, signed as the database stores it: two such random
    hashes are never within the ban bound of each other, so a block bans nothing else."""
    value = sum(1 << bit for bit in rng.sample(range(64), 32))
    return value - (1 << 64) if value >= 1 << 63 else value


def content_create(*, articles: int, images_per_article: int, label: str = "bench") -> list[int]:
    """Sources, articles and ready, visible images (every rendition named, no file written:
    see renditions_write). Each image has its own random sha256 and pHash (from the system's
    randomness: a seeded generator would repeat them from one call to the next), so that
    blocking one bans nothing another matches. Returns the image ids in order."""
    from django.utils import timezone

    from articles.models import Article, Image, Source

    rng = random.SystemRandom()
    source, _created = Source.objects.get_or_create(
        slug="bench-source",
        defaults={"name": "Le Quotidien du Banc", "site_url": "https://bench.example.org/"},
    )
    now = timezone.now()
    first = Article.objects.count()
    made = Article.objects.bulk_create(
        Article(
            source=source,
            title=f"{label.capitalize()} : article {first + n}",
            slug=f"{label}-article-{first + n}",
            byline="La rédaction",
            published_at=now - timedelta(minutes=first + n),
            body=BODY,
            original_url=f"https://bench.example.org/articles/{first + n}",
        )
        for n in range(articles)
    )
    images = []
    for article in made:
        for position in range(images_per_article):
            key = f"{article.slug}-{position}"
            images.append(
                Image(
                    article=article,
                    position=position,
                    caption=f"Photo {position + 1} de l'article",
                    credit="Photo de la rédaction",
                    original=f"originals/bench/{key}.jpg",
                    width=1024,
                    height=683,
                    format="JPEG",
                    byte_size=100_000,
                    sha256=rng.randbytes(32).hex(),
                    # Both hashes, as processing stores them (a block bans them as they are).
                    phash=random_phash(rng),
                    phash_mirror=random_phash(rng),
                    visibility=Image.Visibility.VISIBLE,
                    status=Image.Status.READY,
                    processed_at=now,
                    **{
                        field_name: f"renditions/bench/{key}-{suffix}"
                        for field_name, suffix in RENDITION_NAMES.items()
                    },
                )
            )
    return [image.pk for image in Image.objects.bulk_create(images)]


_RENDITION_BYTES: dict[str, bytes] = {}


def _rendition_bytes() -> dict[str, bytes]:
    """A photo-like 1024 x 683 rendition and a 320 px thumbnail, JPEG and WebP."""
    if _RENDITION_BYTES:
        return _RENDITION_BYTES
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFilter

    size = (1024, 683)
    sky = PILImage.linear_gradient("L").resize(size)
    picture = PILImage.merge(
        "RGB",
        (
            sky.point(lambda v: 40 + v * 0.6),
            sky.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT).point(lambda v: 60 + v * 0.5),
            PILImage.radial_gradient("L").resize(size).point(lambda v: 255 - v * 0.7),
        ),
    )
    draw = ImageDraw.Draw(picture)
    for n in range(20):
        x, y = (n * 157) % size[0], (n * 97) % size[1]
        draw.ellipse((x, y, x + 60 + n * 4, y + 40 + n * 3), fill=(n * 12 % 255, 120, 200 - n))
    picture = picture.filter(ImageFilter.GaussianBlur(1))
    thumb = picture.copy()
    thumb.thumbnail((320, 320))
    for name, (image, fmt) in {
        "r.jpg": (picture, "JPEG"),
        "r.webp": (picture, "WEBP"),
        "t.jpg": (thumb, "JPEG"),
        "t.webp": (thumb, "WEBP"),
    }.items():
        out = io.BytesIO()
        image.save(out, fmt, quality=82)
        _RENDITION_BYTES[name] = out.getvalue()
    return _RENDITION_BYTES


def renditions_write(image_ids: Iterable[int]) -> int:
    """Write the four rendition files of these images into MEDIA_ROOT (the same pixels for
    all; their stored hashes differ). Returns the bytes written."""
    from django.conf import settings

    from articles.models import Image

    payloads = _rendition_bytes()
    written = 0
    fields = list(RENDITION_NAMES)
    for row in Image.objects.filter(pk__in=list(image_ids)).values(*fields):
        for field_name, suffix in RENDITION_NAMES.items():
            path = Path(settings.MEDIA_ROOT) / row[field_name]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payloads[suffix])
            written += len(payloads[suffix])
    return written


def moderator_create(username: str = "bench-moderator") -> str:
    """A moderator (staff, in the Moderators group) and their API token's key."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from moderation.models import MODERATORS_GROUP

    user = get_user_model().objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    return Token.objects.create(user=user).key


# --- readers ----------------------------------------------------------------------------


def reader_address(n: int) -> str:
    """A distinct IPv4 address in a distinct /24 for each n (10.0.0.7, 10.0.1.7, ...
    then 11.0.0.7 after 65,536 readers): neither the one-person-per-address rule nor the
    per-network allowance of grouped reports ever joins two simulated readers."""
    high, rest = divmod(n, 65_536)
    if high > 200:
        raise ValueError("too many readers for distinct /24 networks")
    return f"{10 + high}.{rest // 256}.{rest % 256}.7"


_TOKEN_CHARS = string.ascii_letters + string.digits


class Reader:
    """One simulated reader: their own cookie jar, their own address (X-Forwarded-For, as
    the one trusted proxy would append it), and a CSRF token they minted themselves as a
    double submit (cookie `csrftoken` and header `X-CSRFToken` agree), as tests/readers.py's
    LiveReader does: no page load is needed before a report."""

    def __init__(self, base_url: str, n: int, *, headers: dict[str, str] | None = None):
        self.base_url = base_url
        self.n = n
        self.session = requests.Session()
        self.session.headers["X-Forwarded-For"] = reader_address(n)
        self.session.headers.update(headers or {})
        self.csrf_token = "".join(secrets.choice(_TOKEN_CHARS) for _ in range(32))
        self.session.cookies.set("csrftoken", self.csrf_token)

    def post(self, path: str, body: dict, timeout: float = 30) -> requests.Response:
        return self.session.post(
            self.base_url + path,
            json=body,
            headers={"X-CSRFToken": self.csrf_token},
            timeout=timeout,
        )

    def get(self, path: str, timeout: float = 30, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else self.base_url + path
        return self.session.get(url, timeout=timeout, **kwargs)

    def close(self) -> None:
        self.session.close()


# --- the load generator -----------------------------------------------------------------

# A job makes one request and returns its status code; the generator times it.
Job = Callable[[], int]


@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (connection error, timeout)
    ms: float
    started: float  # time.perf_counter() at the start
    late_ms: float = 0.0  # paced runs: how late it started against its schedule
    error: str = ""


@dataclass
class CpuMeter:
    """CPU used during a phase: the whole machine, the web workers, the Celery worker,
    and this process (the load generator)."""

    stack: Stack | None = None
    _start: dict = field(default_factory=dict)

    def _read(self) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, total = machine_cpu()
        stack = self.stack
        return {
            "busy": busy,
            "total": total,
            "web": sum(cpu_seconds(pid) for pid in stack.web_pids()) if stack else 0.0,
            "worker": sum(cpu_seconds(pid) for pid in stack.worker_pids()) if stack else 0.0,
            "client": usage.ru_utime + usage.ru_stime,
        }

    def start(self) -> None:
        self._start = self._read()

    def stop(self, requests_made: int) -> dict:
        end, start = self._read(), self._start
        total = end["total"] - start["total"]
        out = {
            "machine_busy_pct": round(100 * (end["busy"] - start["busy"]) / total, 1)
            if total
            else None,
            "web_cpu_s": round(end["web"] - start["web"], 2),
            "worker_cpu_s": round(end["worker"] - start["worker"], 2),
            "generator_cpu_s": round(end["client"] - start["client"], 2),
        }
        if requests_made:
            out["web_cpu_ms_per_request"] = round(1000 * out["web_cpu_s"] / requests_made, 2)
        return out


def _timed(kind: str, job: Job, scheduled: float | None = None) -> Sample:
    started = time.perf_counter()
    late = max(0.0, (started - scheduled) * 1000) if scheduled is not None else 0.0
    try:
        status = job()
        error = ""
    except Exception as exc:  # no answer, or a bug in the job: an error either way
        status, error = 0, f"{type(exc).__name__}: {str(exc)[:200]}"
    return Sample(kind, status, (time.perf_counter() - started) * 1000, started, late, error)


def run_closed(
    jobs: Sequence[tuple[str, Job]], *, threads: int, max_seconds: float
) -> tuple[list[Sample], float, int]:
    """Run (kind, job) pairs from `threads` threads as fast as the server answers.

    Bounded: no job starts after `max_seconds`. Returns the samples, the wall time from
    the first start to the last end, and how many jobs were not started.
    """
    lock = threading.Lock()
    position = 0
    samples: list[Sample] = []
    started = time.perf_counter()
    deadline = started + max_seconds

    def work() -> None:
        nonlocal position
        mine: list[Sample] = []
        while True:
            with lock:
                if position >= len(jobs) or time.perf_counter() > deadline:
                    break
                kind, job = jobs[position]
                position += 1
            mine.append(_timed(kind, job))
        with lock:
            samples.extend(mine)

    _run_threads(work, threads)
    wall = time.perf_counter() - started
    return samples, wall, len(jobs) - position


def run_paced(
    next_job: Callable[[int], tuple[str, Job]],
    *,
    rate: float,
    seconds: float,
    threads: int,
    on_tick: Callable[[float], None] | None = None,
) -> tuple[list[Sample], float]:
    """An open loop: job i is due at start + i / rate, for `seconds`; at most `threads`
    requests are in flight. A job that finds every thread busy starts late (its `late_ms`);
    nothing is dropped, so a server slower than the rate shows as lateness and a lower
    achieved rate. `on_tick(elapsed)` is called about once a second from its own thread."""
    lock = threading.Lock()
    index = 0
    samples: list[Sample] = []
    started = time.perf_counter()
    total = int(rate * seconds)
    done = threading.Event()

    def work() -> None:
        nonlocal index
        mine: list[Sample] = []
        while True:
            with lock:
                i = index
                index += 1
            if i >= total:
                break
            due = started + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            kind, job = next_job(i)
            mine.append(_timed(kind, job, scheduled=due))
        with lock:
            samples.extend(mine)

    def ticker() -> None:
        while not done.wait(1.0):
            if on_tick:
                on_tick(time.perf_counter() - started)

    tick_thread = threading.Thread(target=ticker, daemon=True)
    tick_thread.start()
    try:
        _run_threads(work, threads)
    finally:
        done.set()
        tick_thread.join()
    return samples, time.perf_counter() - started


def _run_threads(work: Callable[[], None], threads: int) -> None:
    """Run `work` in `threads` threads; if one raises (a bug of the generator itself, not a
    failed request: those are samples), it is raised here once the others are done."""
    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:
            failures.append(exc)

    pool = [threading.Thread(target=guarded, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise BenchError(f"the load generator failed: {failures[0]!r}") from failures[0]


# --- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (values need not be sorted)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(values_ms: Sequence[float]) -> dict:
    if not values_ms:
        return {"n": 0}
    return {
        "n": len(values_ms),
        "p50_ms": round(statistics.median(values_ms), 2),
        "p95_ms": round(percentile(values_ms, 0.95), 2),
        "p99_ms": round(percentile(values_ms, 0.99), 2),
        "max_ms": round(max(values_ms), 2),
    }


def summarize(samples: Sequence[Sample], wall_seconds: float, expected: Iterable[int]) -> dict:
    """Requests, req/s over the wall time, latency percentiles, statuses, and errors: any
    answer not in `expected`, and no answer at all (status 0)."""
    expected = set(expected)
    statuses = Counter(s.status for s in samples)
    errors = [s for s in samples if s.status not in expected]
    out = {
        "requests": len(samples),
        "seconds": round(wall_seconds, 2),
        "req_per_s": round(len(samples) / wall_seconds, 1) if wall_seconds else None,
        **latency([s.ms for s in samples]),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": len(errors),
    }
    if errors:
        out["error_examples"] = sorted({s.error or f"HTTP {s.status}" for s in errors})[:5]
    return out


# --- the report ---------------------------------------------------------------------------


def add_stack_arguments(parser, *, database: str, redis_db: int, throttle_db: int) -> None:
    """The options every HTTP bench places its stack with: its database, its two Redis
    databases, and the servers' DATABASE_CONN_MAX_AGE."""
    parser.add_argument("--database", default=database)
    parser.add_argument("--redis-db", type=int, default=redis_db, help="the broker's database")
    parser.add_argument(
        "--throttle-db", type=int, default=throttle_db, help="the rate limits' database"
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=int(os.environ.get("DATABASE_CONN_MAX_AGE") or 0),
        help="DATABASE_CONN_MAX_AGE of the servers (default: the environment's, else 0 "
        "as in production's default)",
    )


def check_stack_arguments(parser, args) -> None:
    if "bench" not in args.database:
        parser.error("--database must contain 'bench': the bench drops it")


def stack_for(bench: str, args, **options) -> "Stack":
    """The Stack the options of add_stack_arguments describe, with a real worker."""
    return Stack(
        bench=bench,
        database=args.database,
        redis_db=args.redis_db,
        throttle_db=args.throttle_db,
        worker=True,
        conn_max_age=args.conn_max_age,
        **options,
    )


def code_version() -> dict:
    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--", ".", ":(exclude)bench")
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None}
    return {"commit": commit, "files_changed_outside_bench": len(changed.splitlines())}


def machine(load_at_start: tuple[float, float, float]) -> dict:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (pg_version,) = cursor.fetchone()
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg_version,
        "load_average_at_start": [round(v, 2) for v in load_at_start],
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
    }


def header(bench: str, stack: Stack, load_at_start: tuple[float, float, float]) -> dict:
    return {
        "bench": bench,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([f"bench/{bench}.py", *sys.argv[1:]]),
        "code": code_version(),
        "machine": machine(load_at_start),
        "server": {
            "gunicorn_workers": stack.web_workers,
            "worker": "celery prefork, 1 child, -Q moderation,images" if stack.worker else None,
            "database_conn_max_age": stack.conn_max_age,
            "database": stack.database,
            "redis_dbs": {"broker": stack.redis_db, "rate_limits": stack.throttle_db},
        },
    }


def emit(report: dict) -> None:
    print(json.dumps(report, indent=2, ensure_ascii=False), flush=True)
