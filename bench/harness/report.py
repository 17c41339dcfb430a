"""The options every HTTP bench places its stack with, and its JSON: the header (code,
machine, server) and the printing."""

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime

from bench.harness.base import ROOT
from bench.harness.stack import Stack


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
