"""The report endpoint under gunicorn, against a bare insert on the same server.

    .venv/bin/python bench/report_throughput.py [--requests 4000 --threads 16]

A private stack (bench/harness/): a fresh PostgreSQL database `signalement_bench_http`
on the server of DATABASE_URL, gunicorn with 2 sync workers, Redis databases 5 (broker)
and 4 (rate limits), and a Celery worker as in production. The same load generator
(`--threads` threads, each request from a new simulated reader: its own cookie jar, its own
minted CSRF token, its own address in X-Forwarded-For, in a /24 no other reader uses) sends
`POST /api/images/{id}/reports/` with `{"reason": "violence"}`, and the same body to the
floor, `POST /bench/floor/`: a bare csrf-exempt Django view behind the same middleware
that inserts one row and answers 201 (bench/urls.py).

Two scenarios, `--requests` reports and as many floor requests each, interleaved in
`--rounds` rounds (floor then reports, then reports then floor, ...), the worker drained
between rounds so that no round pays for another's tasks:

- many_images: `--images` images (2,000), request i reports image i mod images. Every
  image gets fewer reports than its threshold, every reader and every network is new,
  so the rate limits (10 a minute per reader and per address), the one-person-per-address
  rule and the grouped-reports rule never apply: every answer must be 201. The first
  report of each image asks whether a moderator wants its reason mailed at once (one
  query after commit), and enqueues the notification only then (the worker runs it).
- hot_image: every report on one image, from distinct readers in distinct networks: a
  brigade. The first reports are counted (201), the one reaching the threshold enqueues
  the block; reports landing before the worker has blocked are counted or held as grouped
  reports (201 as well, beyond BRIGADE_RATE_MIN in the window); once blocked, 200 and
  nothing counted. The answers are counted, and the stored outcomes read back.

Prints one JSON object (req/s, p50/p95/p99 latency, statuses and errors of each side, the
ratio report req/s / floor req/s, CPU per request of the web workers, the machine's load
average and CPU count); exits 1 on any error or failed check.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import Reader, Stack, log

BENCH = "report_throughput"
BODY = {"reason": "violence"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="reports per scenario")
    parser.add_argument("--threads", type=int, default=16, help="concurrent clients")
    parser.add_argument("--images", type=int, default=2000, help="images of many_images")
    parser.add_argument("--rounds", type=int, default=4, help="floor/report alternations")
    parser.add_argument(
        "--scenarios", default="many_images,hot_image", help="comma-separated, in this order"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=300, help="bound on each scenario's side"
    )
    harness.add_stack_arguments(
        parser, database="signalement_bench_http", redis_db=5, throttle_db=4
    )
    parser.add_argument("--warmup", type=int, default=64, help="unmeasured requests per side")
    args = parser.parse_args()
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - {"many_images", "hot_image"}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.requests < args.rounds or args.rounds < 1 or args.threads < 1:
        parser.error("--requests must be at least --rounds, both and --threads at least 1")
    harness.check_stack_arguments(parser, args)
    return args


class Readers:
    """Numbers the simulated readers of the whole run: no two share an address or a /24."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.count = 0

    def new(self) -> Reader:
        self.count += 1
        return Reader(self.base_url, self.count)


def report_job(reader: Reader, image_id: int):
    def job() -> int:
        try:
            return reader.post(f"/api/images/{image_id}/reports/", BODY).status_code
        finally:
            reader.close()

    return job


def floor_job(reader: Reader):
    def job() -> int:
        try:
            return reader.post("/bench/floor/", BODY).status_code
        finally:
            reader.close()

    return job


def run_side(stack: Stack, jobs, args, budget: float):
    meter = harness.CpuMeter(stack)
    meter.start()
    samples, wall, not_started = harness.run_closed(jobs, threads=args.threads, max_seconds=budget)
    cpu = meter.stop(len(samples))
    return samples, wall, not_started, cpu


def add_cpu(total: dict, part: dict) -> None:
    for key in ("web_cpu_s", "worker_cpu_s", "generator_cpu_s"):
        total[key] = round(total.get(key, 0) + part[key], 2)
    total.setdefault("machine_busy_pct_by_round", []).append(part["machine_busy_pct"])


def scenario(stack: Stack, readers: Readers, args, name: str, image_ids: list[int]) -> dict:
    n = args.requests
    per_round = [n // args.rounds + (1 if r < n % args.rounds else 0) for r in range(args.rounds)]
    sides = {"report": {"samples": [], "wall": 0.0, "not_started": 0, "cpu": {}}}
    sides["floor"] = {"samples": [], "wall": 0.0, "not_started": 0, "cpu": {}}
    sent = 0
    for r, size in enumerate(per_round):
        reports = [
            ("report", report_job(readers.new(), image_ids[(sent + i) % len(image_ids)]))
            for i in range(size)
        ]
        floors = [("floor", floor_job(readers.new())) for _ in range(size)]
        sent += size
        order = [("floor", floors), ("report", reports)]
        if r % 2:
            order.reverse()
        for side, jobs in order:
            stack.drain()
            samples, wall, not_started, cpu = run_side(
                stack, jobs, args, args.max_seconds / args.rounds
            )
            entry = sides[side]
            entry["samples"] += samples
            entry["wall"] += wall
            entry["not_started"] += not_started
            add_cpu(entry["cpu"], cpu)
            log(BENCH, f"{name} round {r + 1}: {side} {len(samples)} in {wall:.1f} s")
        stack.check_alive()
    drained = stack.drain()
    expected = {"many_images": {201}, "hot_image": {200, 201}}[name]
    out: dict = {}
    for side, entry in sides.items():
        summary = harness.summarize(
            entry["samples"], entry["wall"], expected if side == "report" else {201}
        )
        summary["not_started"] = entry["not_started"]
        cpu = entry["cpu"]
        if summary["requests"]:
            cpu["web_cpu_ms_per_request"] = round(1000 * cpu["web_cpu_s"] / summary["requests"], 2)
            cpu["worker_cpu_ms_per_request"] = round(
                1000 * cpu["worker_cpu_s"] / summary["requests"], 2
            )
        summary["cpu"] = cpu
        out[side] = summary
    report, floor = out["report"], out["floor"]
    out["ratio_req_per_s"] = round(report["req_per_s"] / floor["req_per_s"], 2)
    out["ratio_p50"] = round(report["p50_ms"] / floor["p50_ms"], 2)
    if floor["cpu"].get("web_cpu_ms_per_request"):
        out["ratio_web_cpu_per_request"] = round(
            report["cpu"]["web_cpu_ms_per_request"] / floor["cpu"]["web_cpu_ms_per_request"], 2
        )
    out["worker_drained_after_s"] = round(drained, 2)
    return out


def hot_image_facts(image_id: int) -> dict:
    from django.db.models import Count

    from moderation.models import ImageCase, ModerationAction, Report

    case = ImageCase.objects.get(image_id=image_id)
    outcomes = dict(
        Report.objects.filter(image_id=image_id)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "image_id": image_id,
        "reports_stored_by_outcome": outcomes,
        "case_state": case.state,
        "case_open_report_count": case.open_report_count,
        "grouped_reports_held": case.brigade_held_at is not None,
        "auto_block_actions": ModerationAction.objects.filter(
            image_id=image_id, action="auto_block"
        ).count(),
    }


def many_images_check(image_ids: list[int], created: int) -> list[str]:
    from django.db.models import Sum

    from moderation.models import ImageCase, Report

    problems = []
    stored = Report.objects.filter(image_id__in=image_ids).count()
    counted = (
        ImageCase.objects.filter(image_id__in=image_ids).aggregate(n=Sum("open_report_count"))["n"]
        or 0
    )
    if stored != created or counted != created:
        problems.append(
            f"many_images: {created} answered 201, {stored} reports stored, {counted} counted"
        )
    return problems


def main() -> int:
    args = parse_args()
    load_at_start = os.getloadavg()
    started = time.perf_counter()
    with harness.stack_for(BENCH, args) as stack:
        stack.prepare()
        from django.conf import settings

        many = harness.content_create(
            articles=-(-args.images // 4), images_per_article=4, label="many"
        )[: args.images]
        (hot,) = harness.content_create(articles=1, images_per_article=1, label="hot")
        warm = harness.content_create(articles=8, images_per_article=4, label="warmup")
        # The block hashes the hot image's rendition: give it real files.
        harness.renditions_write([hot])
        stack.start()
        readers = Readers(stack.base_url)

        # Unmeasured: imports, connections and caches of both workers warmed on both paths
        # (warm-up images get at most 2 reports each, below any threshold).
        warmup = [
            ("report", report_job(readers.new(), warm[i % len(warm)])) for i in range(args.warmup)
        ] + [("floor", floor_job(readers.new())) for _ in range(args.warmup)]
        samples, _, _ = harness.run_closed(warmup, threads=args.threads, max_seconds=60)
        warm_errors = [s for s in samples if s.status != 201]
        if warm_errors:
            log(BENCH, f"warm-up errors: {warm_errors[:3]}")

        results = {}
        problems = []
        for name in args.scenarios:
            log(BENCH, f"scenario {name}: {args.requests} reports, {args.threads} threads")
            ids = many if name == "many_images" else [hot]
            results[name] = scenario(stack, readers, args, name, ids)
            if name == "many_images":
                created = results[name]["report"]["statuses"].get("201", 0)
                problems += many_images_check(many, created)
            else:
                facts = hot_image_facts(hot)
                statuses = results[name]["report"]["statuses"]
                results[name]["answers"] = {
                    "201_counted_or_held": statuses.get("201", 0),
                    "200_after_block_or_repeat": statuses.get("200", 0),
                }
                results[name]["stored"] = facts
                # Either the worker blocked it once, or a burst of grouped reports got in
                # first and holds the block for a moderator: both are the rules at work.
                blocked_once = facts["case_state"] == "auto_blocked" and (
                    facts["auto_block_actions"] == 1
                )
                held = facts["grouped_reports_held"] and facts["auto_block_actions"] == 0
                if not (blocked_once or held):
                    problems.append(f"hot_image: {facts}")
                stored = sum(facts["reports_stored_by_outcome"].values())
                if stored != statuses.get("201", 0):
                    problems.append(
                        f"hot_image: {statuses.get('201', 0)} answered 201, {stored} stored"
                    )

        errors = sum(r[side]["errors"] for r in results.values() for side in ("report", "floor"))
        report = {
            **harness.header(BENCH, stack, load_at_start),
            "settings": {
                "requests_per_scenario_and_side": args.requests,
                "threads": args.threads,
                "rounds": args.rounds,
                "images": len(many),
                "threshold": settings.REPORT_THRESHOLD,
                "rate_limits": os.environ.get("REPORT_RATE_LIMITS", "10/minute,100/day"),
                "brigade_rate_min": settings.BRIGADE_RATE_MIN,
                "warmup_per_side": args.warmup,
            },
            "readers": (
                "every request is a new simulated reader: own cookie jar and minted CSRF "
                "token, own address in X-Forwarded-For (TRUSTED_PROXY_COUNT=1), each in a /24 "
                "of its own (10.b.c.7); so no rate limit, one-person-per-address or grouped-"
                "reports rule applies except the hot image's rate rule"
            ),
            "floor": "POST /bench/floor/: csrf-exempt Django view, same middleware, one INSERT",
            "scenarios": results,
            "errors": errors,
            "warmup_errors": len(warm_errors),
            "problems": problems,
            "total_seconds": round(time.perf_counter() - started, 1),
        }
    harness.emit(report)
    return 1 if errors or problems or warm_errors else 0


if __name__ == "__main__":
    sys.exit(main())
