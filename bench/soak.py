"""Soak: mixed traffic at a steady rate for minutes, then errors, memory and consistency.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate R]      (make soak)

A private stack (bench/harness/): a fresh PostgreSQL database `signalement_bench_soak` on
the server of DATABASE_URL, gunicorn with 2 sync workers, a Celery worker as in production,
Redis databases 3 (broker) and 2 (rate limits), `collectstatic` into a temporary
STATIC_ROOT and real rendition files in a temporary MEDIA_ROOT. Content: `--articles`
articles of 4 images each, one moderator with an API token.

Rate: `--rate` requests/s; by default half the report capacity measured at the start on
this same stack (`--calibrate` reports, as report_throughput's many_images scenario: each
from a new reader, on images of their own, `--threads` at once, as fast as answered).

Traffic, an open loop paced at the rate (request i is due at i / rate; at most `--threads`
in flight; a request that finds them all busy starts late, and its lateness is recorded):

    25 % GET /articles/{slug}/        10 % GET /          (1 in 10 of them ?page=2)
     5 % GET /api/images/{id}/        10 % GET a rendition's media URL (200, or 404 once
    45 % POST a report                     blocked)
     3 % GET /api/moderation/cases/?needs_review=true  (the moderator, with a token)
     2 % POST /api/moderation/cases/{id}/decisions/    on a case from the last list: confirm
         or restore an automatic block, restore a confirmed one, release, dismiss or confirm
         a held one, dismiss a flagged one (409 when it no longer applies: counted apart;
         with nothing listed to decide on, the moderator lists the queue instead: 200)

Reports come from readers who report up to 5 images each (their cookie jar kept, their own
address in a /24 of their own, never over the rate limits); 70 % of them go to a hot tenth
of the images, so images are blocked, held as grouped reports, restored and blocked again.

Every `--sample-seconds` (10) the RSS (VmRSS) of each gunicorn worker and of the Celery
worker's processes is sampled from /proc. At the end, once the worker is drained:

- errors: any answer outside each request's expected ones, or none; must be 0;
- memory: each process's mean RSS over the first and over the last minute, the growth and
  the least-squares slope; "flat" when the growth is within max(5 %, 4 MiB) (reported,
  not failed: the first minute includes the warm-up);
- consistency, in SQL: every case's `open_report_count` and `score` equal its stored open
  reports; blocks happened once each (per image, no automatic or hash block while already
  blocked: one `auto_block` per blocking episode, episodes ended by a restore); visibility
  agrees with the case's state; no case at or over its threshold left unblocked (neither
  protected nor held).

Prints one JSON object; exits 1 on an error, a process replaced or gone, or a failed check.
"""

import argparse
import contextlib
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench._soak_checks import consistency
from bench._soak_memory import MemorySampler
from bench._soak_traffic import MIX, REPORTS_PER_READER, Traffic
from bench.harness import Reader, Stack, log

BENCH = "soak"
IMAGES_PER_ARTICLE = 4


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument(
        "--rate", type=float, default=None, help="requests/s (default: half the capacity)"
    )
    parser.add_argument("--threads", type=int, default=16, help="requests in flight at most")
    parser.add_argument("--articles", type=int, default=60, help="4 images each")
    parser.add_argument(
        "--calibrate", type=int, default=600, help="reports of the capacity measurement"
    )
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--seed", type=int, default=42)
    harness.add_stack_arguments(
        parser, database="signalement_bench_soak", redis_db=3, throttle_db=2
    )
    args = parser.parse_args()
    if args.minutes <= 0 or args.threads < 1 or args.articles < 10:
        parser.error("--minutes > 0, --threads >= 1 and --articles >= 10, please")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    harness.check_stack_arguments(parser, args)
    return args


# --- the run ------------------------------------------------------------------------------


def calibrate(stack: Stack, args, image_ids: list[int]) -> dict:
    jobs = []
    for n in range(args.calibrate):
        reader = Reader(stack.base_url, n + 1)
        image_id = image_ids[n % len(image_ids)]

        def job(reader=reader, image_id=image_id) -> int:
            try:
                return reader.post(
                    f"/api/images/{image_id}/reports/", {"reason": "spam"}
                ).status_code
            finally:
                reader.close()

        jobs.append(("report", job))
    samples, wall, _ = harness.run_closed(jobs, threads=args.threads, max_seconds=120)
    summary = harness.summarize(samples, wall, {201})
    stack.drain(timeout=300)
    return summary


def main() -> int:
    args = parse_args()
    load_at_start = os.getloadavg()
    started = time.perf_counter()
    with harness.stack_for(BENCH, args, static=True) as stack:
        stack.prepare()
        from django.conf import settings

        from articles.models import Article, Image

        images = harness.content_create(
            articles=args.articles, images_per_article=IMAGES_PER_ARTICLE, label="soak"
        )
        calibration_images = harness.content_create(
            articles=-(-args.calibrate // 8), images_per_article=4, label="calibration"
        )
        harness.renditions_write(images)
        slugs = list(
            Article.objects.filter(slug__startswith="soak-").values_list("slug", flat=True)
        )
        media = [
            f"{stack.base_url}{settings.MEDIA_URL}{name}"
            for name in Image.objects.filter(pk__in=images).values_list("rendition", flat=True)
        ]
        token = harness.moderator_create()
        stack.start()

        calibration = None
        rate = args.rate
        if rate is None:
            log(BENCH, f"measuring the report capacity: {args.calibrate} reports")
            calibration = calibrate(stack, args, calibration_images)
            rate = round(calibration["req_per_s"] / 2, 1)
            log(BENCH, f"  {calibration['req_per_s']} reports/s: soaking at {rate} req/s")
            if calibration["errors"]:
                log(BENCH, f"  calibration errors: {calibration.get('error_examples')}")
        seconds = args.minutes * 60
        traffic = Traffic(stack, args, slugs, images, media, token, args.calibrate + 1)
        sampler = MemorySampler(stack, args.sample_seconds)
        sampler.start()
        done_so_far: list[int] = [0]

        def tick(elapsed: float) -> None:
            if int(elapsed) % 30 == 0 and int(elapsed) != done_so_far[0]:
                done_so_far[0] = int(elapsed)
                log(BENCH, f"  {int(elapsed)} s of {int(seconds)}")

        log(BENCH, f"soaking: {args.minutes} min at {rate} req/s, {args.threads} threads")
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(sampler.stop)
            samples, wall = harness.run_paced(
                traffic.job, rate=rate, seconds=seconds, threads=args.threads, on_tick=tick
            )
        stack.check_alive()
        drained = stack.drain(timeout=300)
        log(BENCH, f"worker drained in {drained:.1f} s; checking")

        by_kind: dict[str, list] = defaultdict(list)
        for sample in samples:
            by_kind[sample.kind].append(sample)
        kinds = {
            kind: harness.summarize(by_kind[kind], wall, MIX[kind][1])
            for kind in MIX
            if by_kind[kind]
        }
        errors = sum(k["errors"] for k in kinds.values())
        checks = consistency()
        memory = sampler.summary(wall)
        late = [s.late_ms for s in samples]
        report = {
            **harness.header(BENCH, stack, load_at_start),
            "settings": {
                "minutes": args.minutes,
                "threads": args.threads,
                "images": len(images),
                "articles": args.articles,
                "threshold": settings.REPORT_THRESHOLD,
                "mix": {kind: share for kind, (share, _) in MIX.items()},
                "reports_per_reader": REPORTS_PER_READER,
            },
            "rate": {
                "target_req_per_s": rate,
                "default": "half the report capacity measured at the start"
                if args.rate is None
                else "given",
                "calibration": calibration,
                "achieved_req_per_s": round(len(samples) / wall, 1),
                "lateness": harness.latency(late),
            },
            "requests": len(samples),
            "errors": errors,
            "by_kind": kinds,
            "moderator_decisions": dict(sorted(traffic.decisions.items())),
            "readers": traffic.readers.made,
            "memory": {
                "every_s": args.sample_seconds,
                "processes": memory,
                "all_flat": all(p["flat"] for p in memory.values()),
                "processes_replaced": sampler.replaced,
                "samples": sampler.samples,
            },
            "worker_drained_after_s": round(drained, 1),
            "consistency": checks,
            "total_seconds": round(time.perf_counter() - started, 1),
        }
    harness.emit(report)
    failed = errors or not samples or sampler.replaced or not checks["ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
