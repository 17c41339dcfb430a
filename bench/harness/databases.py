"""A stack's PostgreSQL database (dropped and recreated, its name must contain "bench") and
its Redis databases (never those of make run or make test)."""

import os
from urllib.parse import urlsplit, urlunsplit

from bench.harness.base import BenchError

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# make run uses Redis databases 0 and 1, make test 14 and 15: never flush those.
RESERVED_REDIS_DBS = {0, 1, 14, 15}


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
