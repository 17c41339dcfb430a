"""Time to block: from the answer to the report that crosses the threshold to the image's
media URL answering 404, with a real worker; beside a no-op task's round trip.

    .venv/bin/python bench/time_to_block.py [--images 200]

A private stack (bench/harness/): a fresh PostgreSQL database `signalement_bench_block`
on the server of DATABASE_URL, gunicorn with 2 sync workers, Redis databases 7 (broker)
and 6 (rate limits), a Celery worker as in production (prefork, one child, prefetch 1,
acks_late) that also loads `bench.tasks`. Each image is ready and visible, with real
rendition files in a temporary MEDIA_ROOT (a 1024 px JPEG the block hashes, as in
production) and its own random sha256 and pHash (so no block bans another image).

1. Every image gets threshold - 1 reports, each from a distinct reader in a /24 of its own,
   and the worker is drained (the first-report notifications it was sent, if a moderator
   wants their reason at once).
2. Then, one image at a time, on an idle worker:
   - noop: `bench.noop` published and waited for (the task RPUSHes a key on the broker's
     Redis, the bench BLPOPs it; see bench/tasks.py): publish, delivery, the prefork
     hand-off, an empty task, one Redis write. The floor;
   - block: the media URL is read from `GET /api/images/{id}/` and checked to answer 200;
     the threshold-crossing report is sent (201); from its answer, the bench polls
     `GET /api/images/{id}/` until `"visibility": "blocked"`, then the media URL until
     404, back to back (each poll is one request to gunicorn, a few ms: that is the
     resolution). The time recorded ends at the answer of the first 404.
   - the worker is drained again (the block sends the moderators' notification and the
     ban sweep), so the next image starts on an idle worker too.

Prints one JSON object: p50/p95/p99/max of the block and of the no-op, the ratio of their
p99s, the time to the API's "blocked", the polls, and the machine's load average and CPU
count. Exits 1 if an image is not blocked within `--timeout` seconds or any answer is
unexpected.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import Reader, log

BENCH = "time_to_block"
BODY = {"reason": "violence"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200, help="images blocked, one by one")
    parser.add_argument("--threads", type=int, default=8, help="for the first reports")
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait per block")
    harness.add_stack_arguments(
        parser, database="signalement_bench_block", redis_db=7, throttle_db=6
    )
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured blocks first")
    args = parser.parse_args()
    if args.images < 1 or args.warmup < 0:
        parser.error("--images must be at least 1")
    harness.check_stack_arguments(parser, args)
    return args


class BlockTimeout(Exception):
    pass


def block_one(
    reader: Reader, poller: Reader, image_id: int, timeout: float, poll_ms: list[float]
) -> tuple[float, float, int, float]:
    """The crossing report, then polls; returns (seconds to the media 404, seconds to the
    API's blocked, polls, the wall-clock time of the answer). Each poll's own latency goes
    to `poll_ms`."""
    detail = poller.get(f"/api/images/{image_id}/")
    media_url = detail.json()["url"]
    if detail.status_code != 200 or not media_url:
        raise BlockTimeout(f"image {image_id}: no media URL before the block ({detail.text})")
    before = poller.get(media_url)
    if before.status_code != 200:
        raise BlockTimeout(f"image {image_id}: its media URL answered {before.status_code}")
    response = reader.post(f"/api/images/{image_id}/reports/", BODY)
    answered = time.perf_counter()
    answered_wall = time.time()
    if response.status_code != 201:
        raise BlockTimeout(f"image {image_id}: the crossing report answered {response.status_code}")
    deadline = answered + timeout
    polls = 0
    api_blocked = None
    while time.perf_counter() < deadline:
        polls += 1
        poll_started = time.perf_counter()
        if api_blocked is None:
            state = poller.get(f"/api/images/{image_id}/")
            poll_ms.append((time.perf_counter() - poll_started) * 1000)
            if state.status_code != 200:
                raise BlockTimeout(f"image {image_id}: the API answered {state.status_code}")
            if state.json()["visibility"] == "blocked":
                api_blocked = time.perf_counter() - answered
            continue
        media = poller.get(media_url)
        poll_ms.append((time.perf_counter() - poll_started) * 1000)
        if media.status_code == 404:
            return time.perf_counter() - answered, api_blocked, polls, answered_wall
        if media.status_code != 200:
            raise BlockTimeout(f"image {image_id}: its media URL answered {media.status_code}")
    raise BlockTimeout(f"image {image_id}: not blocked {timeout} s after the crossing report")


def main() -> int:
    args = parse_args()
    load_at_start = os.getloadavg()
    started = time.perf_counter()
    with harness.stack_for(BENCH, args) as stack:
        stack.prepare()
        from django.conf import settings

        from moderation.models import ImageCase, ModerationAction

        threshold = settings.REPORT_THRESHOLD
        total = args.images + args.warmup
        ids = harness.content_create(articles=-(-total // 4), images_per_article=4, label="block")
        ids = ids[:total]
        written = harness.renditions_write(ids)
        log(BENCH, f"{len(ids)} images, {written / 1e6:.1f} MB of renditions")
        stack.start()

        readers = 0

        def new_reader() -> Reader:
            nonlocal readers
            readers += 1
            return Reader(stack.base_url, readers)

        def first_report(image_id: int):
            reader = new_reader()

            def job() -> int:
                try:
                    return reader.post(f"/api/images/{image_id}/reports/", BODY).status_code
                finally:
                    reader.close()

            return ("report", job)

        log(BENCH, f"{threshold - 1} reports on each image")
        jobs = [first_report(image_id) for image_id in ids for _ in range(threshold - 1)]
        samples, wall, _not_started = harness.run_closed(
            jobs, threads=args.threads, max_seconds=600
        )
        first = harness.summarize(samples, wall, {201})
        log(BENCH, f"  {first['requests']} in {wall:.1f} s; draining the worker")
        stack.drain(timeout=300)

        poller = Reader(stack.base_url, 0)
        block_s: list[float] = []
        api_s: list[float] = []
        noop_s: list[float] = []
        polls: list[int] = []
        poll_ms: list[float] = []
        answered_at: dict[int, float] = {}
        failures: list[str] = []
        for n, image_id in enumerate(ids):
            measured = n >= args.warmup
            try:
                noop = stack.noop_round_trip(timeout=args.timeout)
                reader = new_reader()
                try:
                    seconds, api_blocked, n_polls, answered_wall = block_one(
                        reader, poller, image_id, args.timeout, poll_ms
                    )
                finally:
                    reader.close()
            except (BlockTimeout, TimeoutError) as error:
                failures.append(str(error))
                log(BENCH, f"FAILED {error}")
                stack.check_alive()
                continue
            finally:
                stack.drain(timeout=60)
            if measured:
                noop_s.append(noop)
                block_s.append(seconds)
                api_s.append(api_blocked)
                polls.append(n_polls)
                answered_at[image_id] = answered_wall
            if (n + 1) % 50 == 0:
                log(BENCH, f"  {n + 1 - args.warmup} blocked")
        poller.close()

        # Without polling: the block's audit row is stamped in the worker's transaction.
        written_s = [
            created_at.timestamp() - answered_at[image_id]
            for image_id, created_at in ModerationAction.objects.filter(
                image_id__in=list(answered_at), action="auto_block"
            ).values_list("image_id", "created_at")
        ]
        auto_blocks = ModerationAction.objects.filter(image_id__in=ids, action="auto_block").count()
        blocked_cases = ImageCase.objects.filter(image_id__in=ids, state="auto_blocked").count()
        problems = []
        if auto_blocks != len(ids) - len(failures) or blocked_cases != auto_blocks:
            problems.append(
                f"{auto_blocks} auto_block actions and {blocked_cases} auto-blocked cases "
                f"for {len(ids) - len(failures)} blocks"
            )

        def ms(values: list[float]) -> dict:
            return harness.latency([v * 1000 for v in values])

        block = ms(block_s)
        noop = ms(noop_s)
        report = {
            **harness.header(BENCH, stack, load_at_start),
            "settings": {
                "images": args.images,
                "warmup_blocks": args.warmup,
                "threshold": threshold,
                "first_reports": first,
                "timeout_s": args.timeout,
            },
            "block": {
                "what": "crossing report's answer -> media URL answers 404 (polled)",
                **block,
            },
            "block_written": {
                "what": "crossing report's answer -> the worker stamps the auto_block row "
                "(inside its transaction; same machine clock, no polling)",
                **ms(written_s),
            },
            "api_blocked": {
                "what": "crossing report's answer -> GET /api/images/{id}/ says blocked",
                **ms(api_s),
            },
            "noop": {
                "what": "bench.noop published -> its RPUSH wakes the bench's BLPOP",
                **noop,
            },
            "ratio_p99": round(block["p99_ms"] / noop["p99_ms"], 1) if block_s else None,
            "ratio_p50": round(block["p50_ms"] / noop["p50_ms"], 1) if block_s else None,
            "polls_per_block": {
                "p50": harness.percentile(polls, 0.5) if polls else None,
                "max": max(polls) if polls else None,
            },
            "poll": {"what": "one poll's own latency: the resolution", **harness.latency(poll_ms)},
            "failures": failures,
            "problems": problems,
            "total_seconds": round(time.perf_counter() - started, 1),
        }
    harness.emit(report)
    return 1 if failures or problems or first["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
