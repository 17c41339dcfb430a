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

The package, by role: `base` (paths, the log, BenchError), `databases` (the database and
Redis of a stack), `processes` (/proc readings, ports, stopping a process), `stack` (the
Stack), `content` (what the benches serve), `readers` (the simulated readers), `load` (the
generator and its CPU meter), `stats` (percentiles and summaries) and `report` (the options
and the JSON's header). The benches use its names from here: `harness.Stack`,
`harness.run_closed`, ...
"""

from bench.harness.base import ROOT, VENV_BIN, BenchError, log
from bench.harness.content import (
    BODY,
    RENDITION_NAMES,
    content_create,
    moderator_create,
    random_phash,
    renditions_write,
)
from bench.harness.databases import (
    DEFAULT_SERVER_URL,
    RESERVED_REDIS_DBS,
    database_drop,
    database_recreate,
    redis_url,
    server_url,
    with_database,
)
from bench.harness.load import CpuMeter, Job, Sample, run_closed, run_paced
from bench.harness.processes import (
    CLOCK_TICKS,
    children_of,
    cpu_seconds,
    free_port,
    machine_cpu,
    rss_kb,
)
from bench.harness.readers import Reader, reader_address
from bench.harness.report import (
    add_stack_arguments,
    check_stack_arguments,
    code_version,
    emit,
    header,
    machine,
    stack_for,
)
from bench.harness.stack import Stack
from bench.harness.stats import latency, percentile, summarize

__all__ = [
    "BODY",
    "CLOCK_TICKS",
    "DEFAULT_SERVER_URL",
    "RENDITION_NAMES",
    "RESERVED_REDIS_DBS",
    "ROOT",
    "VENV_BIN",
    "BenchError",
    "CpuMeter",
    "Job",
    "Reader",
    "Sample",
    "Stack",
    "add_stack_arguments",
    "check_stack_arguments",
    "children_of",
    "code_version",
    "content_create",
    "cpu_seconds",
    "database_drop",
    "database_recreate",
    "emit",
    "free_port",
    "header",
    "latency",
    "log",
    "machine",
    "machine_cpu",
    "moderator_create",
    "percentile",
    "random_phash",
    "reader_address",
    "redis_url",
    "renditions_write",
    "rss_kb",
    "run_closed",
    "run_paced",
    "server_url",
    "stack_for",
    "summarize",
    "with_database",
]
