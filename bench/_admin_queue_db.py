"""bench/admin_queue.py's database: recreate it, set Django up on it, fill it with
set-based SQL (bench/_admin_queue_plan.py and bench/_admin_queue_rows.py), the users it
needs, then its sizes and the invariants the data must hold."""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench._admin_queue_plan import plan_statements
from bench._admin_queue_rows import row_statements
from bench._admin_queue_words import (
    BODY,
    CAPTIONS,
    COMMENTS,
    CREDITS,
    IMAGES_PER_ARTICLE,
    PLACES,
    QUALIFIERS,
    REASONS_WEIGHTED,
    SOURCE_NAMES,
    SUBJECTS,
)

ROOT = Path(__file__).resolve().parent.parent
MODERATOR_USERNAME = "bench-moderator"
REVIEWERS = ["moderator-1", "moderator-2", "moderator-3", "moderator-4"]
MODERATORS_MIGRATION = ROOT / "moderation" / "migrations" / "0004_moderators_group.py"


def log(message: str) -> None:
    print(f"[admin_queue] {message}", file=sys.stderr, flush=True)


# --- the database -----------------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        sys.exit("admin_queue: DATABASE_URL must point at PostgreSQL")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return row is not None


def recreate_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def configure_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ["DEBUG"] = "0"
    # The test client speaks plain HTTP: no redirect to HTTPS.
    os.environ["HTTPS"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    sys.path.insert(0, str(ROOT))
    # whitenoise warns that STATIC_ROOT is missing: collectstatic is production's step.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)

    import django

    django.setup()


def fill_statements(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The set-based SQL that fills the database, as (label, statement) in order.

    Every image has one case; each case gets a kind that fixes its state and how
    many reports of each outcome it has. Open, upheld and dismissed counts start at
    what the state needs (a blocked case reached its threshold); the rest of the
    report budget is spread over the cases with heavy-tailed weights (a few images
    draw thousands of reports) and lands where the state says it would: expired
    reports on flagged cases, the brigade's margin on auto-blocked ones, upheld on
    confirmed blocks, dismissed on restored images, open on protected ones. The
    case's count, score and report times are then computed from its reports.
    """
    return plan_statements() + row_statements()


def build(args: argparse.Namespace, reviewer_ids: list[int]) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection, transaction

    articles = -(-args.cases // IMAGES_PER_ARTICLE)
    params = {
        "seed": args.seed,
        "sources": args.sources,
        "articles": articles,
        "cases": args.cases,
        "reports": args.reports,
        "per_article": IMAGES_PER_ARTICLE,
        "default_threshold": settings.REPORT_THRESHOLD,
        "default_window": settings.REPORT_WINDOW_DAYS,
        "source_names": SOURCE_NAMES,
        "body": BODY,
        "subjects": SUBJECTS,
        "n_subjects": len(SUBJECTS),
        "places": PLACES,
        "n_places": len(PLACES),
        "qualifiers": QUALIFIERS,
        "n_qualifiers": len(QUALIFIERS),
        "captions": CAPTIONS,
        "n_captions": len(CAPTIONS),
        "credits": CREDITS,
        "n_credits": len(CREDITS),
        "reasons": REASONS_WEIGHTED,
        "n_reasons": len(REASONS_WEIGHTED),
        "comments": COMMENTS,
        "n_comments": len(COMMENTS),
        "reviewer_ids": reviewer_ids,
        "n_reviewers": len(reviewer_ids),
        # About four reports per reader; never fewer readers than a case's reports.
        "readers": max(args.reports // 4, args.cases),
    }
    seconds: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # A bench database: don't wait for the WAL flush of half a gigabyte at commit.
        cursor.execute("SET LOCAL synchronous_commit = off")
        for label, statement in fill_statements(args):
            started = time.perf_counter()
            if label == "reports":
                cursor.execute("SELECT max(n_total) FROM bench_case")
                params["readers"] = max(params["readers"], cursor.fetchone()[0])
            for part in statement.split(";\n"):
                if part.strip():
                    cursor.execute(part, params)
            seconds[label] = round(time.perf_counter() - started, 2)
            log(f"  {label}: {seconds[label]} s")
        started = time.perf_counter()
    # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: they are checked here.
    seconds["commit (deferred foreign key checks)"] = round(time.perf_counter() - started, 2)
    return seconds


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "articles_source",
            "articles_article",
            "articles_image",
            "moderation_policy",
            "moderation_report",
            "moderation_imagecase",
            "moderation_moderationaction",
            "auth_user",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def ensure_users() -> tuple:
    """The measuring moderator and the reviewers named on decided cases."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    group = None
    if MODERATORS_MIGRATION.exists():
        group = Group.objects.filter(name="Moderators").first()
    user_model = get_user_model()
    users = []
    for username in [MODERATOR_USERNAME, *REVIEWERS]:
        user, _ = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@example.org"}
        )
        if group is not None:
            user.groups.add(group)
        elif not user.is_superuser:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        users.append(user)
    role = "staff + Moderators group" if group is not None else "superuser (no Moderators group)"
    return users[0], [u.pk for u in users[1:]], role


def data_sizes() -> dict:
    from django.db import connection

    def rows(sql: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def scalar(sql: str):
        return rows(sql)[0][0]

    return {
        "sources": scalar("SELECT count(*) FROM articles_source"),
        "articles": scalar("SELECT count(*) FROM articles_article"),
        "images": scalar("SELECT count(*) FROM articles_image"),
        "cases": scalar("SELECT count(*) FROM moderation_imagecase"),
        "cases_by_state": dict(
            rows("SELECT state, count(*) FROM moderation_imagecase GROUP BY 1 ORDER BY 2 DESC")
        ),
        "cases_protected": scalar("SELECT count(*) FROM moderation_imagecase WHERE protected"),
        "cases_auto_blocked_unreviewed": scalar(
            "SELECT count(*) FROM moderation_imagecase WHERE state = 'auto_blocked' "
            "AND (reviewed_at IS NULL OR reviewed_at < blocked_at)"
        ),
        "reports": scalar("SELECT count(*) FROM moderation_report"),
        "reports_by_outcome": dict(
            rows("SELECT outcome, count(*) FROM moderation_report GROUP BY 1 ORDER BY 2 DESC")
        ),
        "reports_per_case_max": scalar(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM moderation_report GROUP BY image_id) s"
        ),
        "policies": scalar("SELECT count(*) FROM moderation_policy"),
        "moderation_actions": scalar("SELECT count(*) FROM moderation_moderationaction"),
        "database_mb": round(scalar("SELECT pg_database_size(current_database())") / 2**20),
    }


def check_consistency() -> list[str]:
    """The invariants the data must hold; any line returned is a bench bug."""
    from django.db import connection

    checks = {
        "count or score differs from the reports": """
            SELECT count(*) FROM moderation_imagecase c
            LEFT JOIN (
                SELECT image_id,
                       count(*) FILTER (WHERE outcome = 'open') AS open_n,
                       COALESCE(sum(weight) FILTER (WHERE outcome = 'open'), 0) AS open_w,
                       count(*) FILTER (WHERE outcome = 'upheld') AS upheld_n,
                       COALESCE(sum(weight) FILTER (WHERE outcome = 'upheld'), 0) AS upheld_w
                FROM moderation_report GROUP BY image_id
            ) r ON r.image_id = c.image_id
            WHERE (c.state = 'blocked' AND (c.open_report_count, c.score)
                       IS DISTINCT FROM (r.upheld_n, r.upheld_w))
               OR (c.state <> 'blocked' AND (c.open_report_count, c.score)
                       IS DISTINCT FROM (r.open_n, r.open_w))
        """,
        "visibility differs from the state": """
            SELECT count(*) FROM moderation_imagecase c JOIN articles_image i ON i.id = c.image_id
            WHERE (c.state IN ('auto_blocked', 'blocked')) <> (i.visibility = 'blocked')
        """,
        "flagged case at or over its threshold and not protected": """
            SELECT count(*) FROM moderation_imagecase c
            JOIN articles_image i ON i.id = c.image_id
            JOIN articles_article a ON a.id = i.article_id
            LEFT JOIN moderation_policy ps ON ps.source_id = a.source_id
            LEFT JOIN moderation_policy pg ON pg.source_id IS NULL
            WHERE c.state IN ('flagged', 'restored') AND NOT c.protected
              AND c.open_report_count >= COALESCE(ps.threshold, pg.threshold)
              AND c.score >= COALESCE(ps.threshold, pg.threshold)
        """,
        "open report older than its window": """
            SELECT count(*) FROM moderation_report r
            JOIN articles_image i ON i.id = r.image_id
            JOIN articles_article a ON a.id = i.article_id
            LEFT JOIN moderation_policy ps ON ps.source_id = a.source_id
            LEFT JOIN moderation_policy pg ON pg.source_id IS NULL
            WHERE r.outcome = 'open'
              AND r.created_at < now() - COALESCE(ps.window_days, pg.window_days)
                                        * interval '1 day'
        """,
        "report in the future": "SELECT count(*) FROM moderation_report WHERE created_at > now()",
    }
    problems = []
    with connection.cursor() as cursor:
        for label, sql in checks.items():
            cursor.execute(sql)
            n = cursor.fetchone()[0]
            if n:
                problems.append(f"{label}: {n}")
    return problems
