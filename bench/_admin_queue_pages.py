"""bench/admin_queue.py's measuring: the floor view and its URLconf, the pages to time,
timing one page through the test client, and profiling a slow one."""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time

from bench._admin_queue_db import log

# --- the pages ------------------------------------------------------------------------


def floor_view(request):
    """The floor: what any staff page costs before it does its own work."""
    from django.db import connection
    from django.http import HttpResponse
    from django.template import engines

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    template = engines["django"].from_string(
        "<!doctype html><title>floor</title><p>{{ request.user.get_username }}: {{ one }}</p>"
    )
    return HttpResponse(template.render({"one": one}, request))


def install_urlconf() -> None:
    """newsroom.urls plus /bench/floor/, as a module ROOT_URLCONF can name."""
    import types

    from django.contrib.admin.views.decorators import staff_member_required
    from django.test.utils import override_settings
    from django.urls import include, path

    module = types.ModuleType("bench_admin_queue_urls")
    module.urlpatterns = [
        path("bench/floor/", staff_member_required(floor_view)),
        path("", include("newsroom.urls")),
    ]
    sys.modules[module.__name__] = module
    override_settings(
        ROOT_URLCONF=module.__name__,
        # {% static %} without the collectstatic manifest, as in the tests.
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()


def needs_review_query(moderator) -> tuple[str | None, str]:
    """Find the admin queue's "needs review" filter among its list_filter."""
    from django.contrib import admin
    from django.test import RequestFactory

    from moderation.models import ImageCase

    model_admin = admin.site._registry.get(ImageCase)
    if model_admin is None:
        return None, "ImageCase is not registered in the admin"
    request = RequestFactory().get("/admin/moderation/imagecase/")
    request.user = moderator
    for item in model_admin.get_list_filter(request):
        if not (isinstance(item, type) and issubclass(item, admin.SimpleListFilter)):
            continue
        list_filter = item(request, {}, ImageCase, model_admin)
        for value, label in list_filter.lookup_choices:
            if "review" in f"{value} {list_filter.parameter_name}".lower() or "review" in str(
                label
            ):
                return f"{list_filter.parameter_name}={value}", ""
    return None, "no list filter with a 'review' lookup"


def pages(moderator, search: str) -> tuple[dict[str, str], dict[str, str]]:
    """The pages to time, and those skipped with why."""
    from django.contrib import admin
    from django.db.models import Count
    from django.urls import Resolver404, resolve

    from moderation.models import ImageCase, Report

    # Moderators land on the workspace: the index is ?index=1 for them.
    found = {"floor": "/bench/floor/", "admin_index": "/admin/?index=1"}
    skipped = {}
    queue = "/admin/moderation/imagecase/"
    if ImageCase in admin.site._registry:
        found["queue"] = queue
        query, why = needs_review_query(moderator)
        if query:
            found["queue_needs_review"] = f"{queue}?{query}"
        else:
            skipped["queue_needs_review"] = why
        found["queue_search"] = f"{queue}?q={search}"
        # What a moderator opens most: an auto-blocked case with a usual number of
        # reports; and the case with the most reports of all (a brigade's target).
        blocked = ImageCase.objects.filter(state="auto_blocked").order_by("score", "pk")
        if n_blocked := blocked.count():
            typical = blocked.values_list("pk", flat=True)[n_blocked // 2]
            found["case_page_typical"] = f"{queue}{typical}/change/"
        most = (
            Report.objects.values("image_id").annotate(n=Count("id")).order_by("-n", "image_id")
        )[0]["image_id"]
        biggest = ImageCase.objects.get(image_id=most).pk
        found["case_page_largest"] = f"{queue}{biggest}/change/"
    else:
        skipped["queue"] = "ImageCase is not registered in the admin yet"
    for name, path in (
        ("workspace", "/admin/moderation/workspace/"),
        ("queue_summary", "/api/moderation/queue/summary/"),
    ):
        try:
            resolve(path)
        except Resolver404:
            skipped[name] = f"no {path} route yet"
        else:
            found[name] = path
    api = "/api/moderation/cases/"
    try:
        resolve(api)
    except Resolver404:
        skipped["api_cases"] = "no /api/moderation/cases/ route yet"
    else:
        found["api_cases"] = api
        found["api_cases_reason"] = f"{api}?reason=violence&state=flagged"
    return found, skipped


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks."""
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def measure(client, path: str, args: argparse.Namespace) -> dict:
    def get():
        response = client.get(path)
        if response.status_code != 200:
            raise PageError(f"{path} answered {response.status_code}")
        return response

    for _ in range(args.warmups):
        get()
    response, captured = captured_call(get)
    times = timed_runs(get, args)
    return {
        "path": path,
        **summary(times),
        "queries": len(captured),
        "db_ms": round(sum(q["ms"] for q in captured), 2),
        "bytes": len(response.content),
        "_captured": captured,
    }


def captured_call(call):
    """Call once with the queries counted (the timed runs go without capture): the
    answer, and each query's SQL and milliseconds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = call()
    # Copied now: the next request resets connection.queries, which this reads.
    return result, [
        {"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"]} for q in queries.captured_queries
    ]


def timed_runs(call, args: argparse.Namespace, after=None) -> list[float]:
    """`args.runs` timed calls (at least 5, within `args.page_budget` seconds), each
    followed by `after` untimed; sorted milliseconds."""
    times = []
    budget_end = time.perf_counter() + args.page_budget
    for _ in range(args.runs):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
        if after is not None:
            after(result)
        if time.perf_counter() > budget_end and len(times) >= 5:
            break
    return sorted(times)


def summary(times: list[float]) -> dict:
    return {
        "runs": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(times[-1], 2),
    }


def decision_case_id() -> int | None:
    """A case a moderator would dismiss: flagged, awaiting review, with open reports."""
    from moderation.models import ImageCase

    return (
        ImageCase.objects.filter(state="flagged", needs_review=True, open_report_count__gt=0)
        .order_by("-score", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def measure_decision(client, case_id: int, args: argparse.Namespace) -> dict:
    """Time a moderator's decision through the API (a dismissal of a case's open reports),
    each one undone afterwards, untimed, so that every run finds the case as it was."""
    path = f"/api/moderation/cases/{case_id}/decisions/"

    def decide() -> int:
        response = client.post(path, {"action": "dismiss"}, content_type="application/json")
        if response.status_code != 201:
            raise PageError(f"{path} answered {response.status_code}: {response.content[:200]}")
        return response.json()["id"]

    def undo(action_id: int) -> None:
        response = client.post(f"/api/moderation/actions/{action_id}/undo/")
        if response.status_code != 201:
            raise PageError(f"undo of {action_id} answered {response.status_code}")

    for _ in range(args.warmups):
        undo(decide())
    action_id, captured = captured_call(decide)
    undo(action_id)
    times = timed_runs(decide, args, after=undo)
    return {
        "path": f"POST {path}",
        **summary(times),
        # A write: its queries include the transaction's BEGIN and COMMIT.
        "queries": len(captured),
        "db_ms": round(sum(q["ms"] for q in captured), 2),
        "_captured": captured,
    }


class PageError(Exception):
    pass


def profile_page(client, name: str, page: dict) -> list[dict]:
    """EXPLAIN ANALYZE the slowest queries and cProfile one request, on stderr."""
    from django.db import connection

    slow = sorted(page["_captured"], key=lambda q: q["ms"], reverse=True)[:3]
    log(f"--- {name}: {page['path']} p50 {page['p50_ms']} ms, db {page['db_ms']} ms")
    with connection.cursor() as cursor:
        for query in slow:
            if query["ms"] < 5 or not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            log(f"{query['ms']} ms: {query['sql'][:2000]}\n{plan}\n")
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(page["path"])
    profiler.disable()
    out = io.StringIO()
    # Own time first (where the CPU goes), then the cumulative view from the app's code.
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    app_code = r"/work/|contrib/admin|rest_framework|template"
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(app_code, 25)
    log(out.getvalue())
    return [{"ms": q["ms"], "sql": q["sql"][:300]} for q in slow]
