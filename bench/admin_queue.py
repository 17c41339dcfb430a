"""The moderators' queue at scale: build a large database, then time its pages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sig_bench \\
        .venv/bin/python bench/admin_queue.py [--cases 100000 --reports 1000000]

DATABASE_URL gives the PostgreSQL server and credentials only: the bench drops and
recreates its own database (`--database`, default `signalement_bench`; the name must
contain "bench") and touches no other. It migrates it, fills it with set-based SQL
(sources, articles, one image and one ImageCase per case in realistic states, the
reports behind every count, policies, the audit trail), runs VACUUM ANALYZE, then
times each page through Django's test client in this same process:

- floor: a bare staff-only view that runs `SELECT 1` and renders a tiny template,
  through the same middleware, session and user loading as the other pages;
- the admin index (a second reference);
- the queue (`/admin/moderation/imagecase/`), its "needs review" filter and a search;
- two case pages: a usual auto-blocked case, and the case with the most reports;
- the moderator API list (`/api/moderation/cases/`), plain and filtered by reason;
- the moderators' workspace (`/admin/moderation/workspace/`), its live counter's summary
  (`/api/moderation/queue/summary/`), and a decision (an API dismissal, each one undone
  untimed so that every run finds the case as it was).

Issue 15's goals are printed beside each of the last three (`goals`): at most 12 queries,
workspace p50 <= 150 ms, summary <= 30 ms, decision <= 50 ms, each also as a multiple of
the floor measured in the same run.

Pages that don't exist yet (the admin or the API not landed) are listed as skipped.

It prints one JSON object on stdout (progress goes to stderr) and exits 1 if any page
answers anything but 200. Pages slower than `--profile-ms` get the EXPLAIN ANALYZE of
their slowest queries and a cProfile summary on stderr.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._admin_queue_db import (
    build,
    check_consistency,
    configure_django,
    data_sizes,
    database_exists,
    ensure_users,
    log,
    recreate_database,
    server_url,
    vacuum_analyze,
    with_database,
)
from bench._admin_queue_pages import (
    PageError,
    decision_case_id,
    install_urlconf,
    measure,
    measure_decision,
    pages,
    profile_page,
)

# Issue 15: (p50 in ms, queries) at most, at 100k cases and 1M reports.
GOALS = {"workspace": (150.0, 12), "queue_summary": (30.0, 12), "decision": (50.0, 12)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="images, one case each")
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in all")
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--database", default="signalement_bench", help="dropped and recreated")
    parser.add_argument("--reuse", action="store_true", help="keep the database if built")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument(
        "--page-budget", type=float, default=25.0, help="seconds of timed runs per page at most"
    )
    parser.add_argument("--search", default="marseille", help="the queue search term")
    parser.add_argument("--seed", type=float, default=0.42, help="PostgreSQL setseed()")
    parser.add_argument(
        "--profile-ms", type=float, default=300.0, help="profile pages whose p50 exceeds this"
    )
    args = parser.parse_args()
    if args.sources < 3:
        parser.error("--sources must be at least 3 (three have their own policy)")
    if args.cases < 10:
        parser.error("--cases must be at least 10")
    if args.reports < 3 * args.cases:
        parser.error("--reports must be at least 3 times --cases (every case has open reports)")
    if "bench" not in args.database:
        parser.error("--database must contain 'bench': the bench drops it")
    return args


def machine(build_db: str) -> dict:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        settings_ = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit"):
            cursor.execute(f"SHOW {name}")
            settings_[name] = cursor.fetchone()[0]
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg_version,
        "postgresql_settings": settings_,
        "database": build_db,
        "loadavg_1m_at_start": LOADAVG_AT_START,
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


LOADAVG_AT_START = round(os.getloadavg()[0], 2)


def main() -> int:
    args = parse_args()
    url = server_url()
    started = time.perf_counter()
    build_seconds: dict[str, float] = {}
    reuse = args.reuse and database_exists(url, args.database)
    if not reuse:
        log(f"recreating database {args.database}")
        recreate_database(url, args.database)
    configure_django(with_database(url, args.database))

    from django.core.management import call_command
    from django.test import Client

    from moderation.models import ImageCase
    from moderation.services import needs_review_refresh_all

    step = time.perf_counter()
    call_command("migrate", verbosity=0)
    build_seconds["migrate"] = round(time.perf_counter() - step, 2)
    moderator, reviewer_ids, role = ensure_users()
    if not (reuse and ImageCase.objects.exists()):
        log(f"filling: {args.cases} cases, {args.reports} reports")
        step = time.perf_counter()
        build_seconds["steps"] = build(args, reviewer_ids)
        build_seconds["fill"] = round(time.perf_counter() - step, 2)
        step = time.perf_counter()
        needs_review_refresh_all()
        build_seconds["needs_review_refresh_all"] = round(time.perf_counter() - step, 2)
        step = time.perf_counter()
        vacuum_analyze()
        build_seconds["vacuum_analyze"] = round(time.perf_counter() - step, 2)
    build_seconds["total"] = round(time.perf_counter() - started, 2)
    log(f"built in {build_seconds['total']} s")

    problems = check_consistency()
    sizes = data_sizes()

    install_urlconf()
    client = Client()
    client.force_login(moderator)
    # Importable now that setup put the project on sys.path.
    from bench import harness

    found, skipped = pages(moderator, args.search)
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for name, path in found.items():
        log(f"measuring {name}: {path}")
        try:
            results[name] = measure(client, path, args)
        except PageError as error:
            errors[name] = str(error)
            log(f"ERROR {error}")
    case_id = decision_case_id()
    if case_id is None:
        skipped["decision"] = "no flagged case awaiting review"
    else:
        log(f"measuring decision on case {case_id}")
        try:
            results["decision"] = measure_decision(client, case_id, args)
        except PageError as error:
            errors["decision"] = str(error)
            log(f"ERROR {error}")
    floor = results.get("floor")
    for name, page in results.items():
        if floor:
            page["ratio_to_floor"] = round(page["p50_ms"] / floor["p50_ms"], 1)
        if page["p50_ms"] > args.profile_ms:
            page["slowest_queries"] = profile_page(client, name, page)
    for page in results.values():
        page.pop("_captured")
    goals = {
        name: {
            "p50_ms": results[name]["p50_ms"],
            "goal_p50_ms": goal_ms,
            "queries": results[name]["queries"],
            "goal_queries": goal_queries,
            "met": results[name]["p50_ms"] <= goal_ms and results[name]["queries"] <= goal_queries,
        }
        for name, (goal_ms, goal_queries) in GOALS.items()
        if name in results
    }

    report = {
        "bench": "admin_queue",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/admin_queue.py", *sys.argv[1:]]),
        "code": harness.code_version(),
        "machine": machine(args.database),
        "moderator": role,
        "data": sizes,
        "data_problems": problems,
        "build_seconds": build_seconds,
        "warmups": args.warmups,
        "pages": results,
        "goals": goals,
        "skipped": skipped,
        "errors": errors,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
