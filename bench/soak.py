"""Soak: mixed traffic at a steady rate for minutes, then errors, memory and consistency.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate R]      (make soak)

A private stack (bench/harness.py): a fresh PostgreSQL database `signalement_bench_soak` on
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
import random
import sys
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from bench import harness
from bench.harness import Reader, Stack, log

BENCH = "soak"
IMAGES_PER_ARTICLE = 4
REPORTS_PER_READER = 5
REASONS = ["violence", "violence", "nudity", "hate", "misleading", "spam", "copyright", "other"]
# kind: (share of the traffic, expected statuses)
MIX = {
    "article_page": (0.25, {200}),
    "home_page": (0.10, {200}),
    "image_api": (0.05, {200}),
    "media": (0.10, {200, 404}),
    "report": (0.45, {200, 201}),
    "moderator_list": (0.03, {200}),
    "moderator_decision": (0.02, {200, 201, 409}),
}


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


class ReaderPool:
    """Readers who report up to REPORTS_PER_READER times each, one request at a time."""

    def __init__(self, base_url: str, first: int):
        self.base_url = base_url
        self.next_n = first
        self.idle: deque[tuple[Reader, int, set[int]]] = deque()
        self.lock = threading.Lock()
        self.made = 0

    def take(self) -> tuple[Reader, int, set[int]]:
        with self.lock:
            if self.idle:
                return self.idle.popleft()
            self.next_n += 1
            self.made += 1
            return Reader(self.base_url, self.next_n), 0, set()

    def give_back(self, reader: Reader, uses: int, seen: set[int]) -> None:
        if uses >= REPORTS_PER_READER:
            reader.close()
            return
        with self.lock:
            self.idle.append((reader, uses, seen))


class Traffic:
    """Makes job i of the mix (deterministic per i, from the seed)."""

    def __init__(self, stack: Stack, args, slugs, images, media, token: str, first_reader: int):
        self.base = stack.base_url
        self.seed = args.seed
        self.slugs = slugs
        self.images = images
        self.hot = images[: max(1, len(images) // 10)]
        self.media_urls = media
        self.readers = ReaderPool(stack.base_url, first_reader)
        self.moderator_headers = {
            "Authorization": f"Token {token}",
            "X-Forwarded-For": "192.0.2.10",
        }
        self.candidates: deque[tuple[int, str, bool]] = deque(maxlen=40)
        self.decisions: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        kinds, weights = zip(*((k, v[0]) for k, v in MIX.items()), strict=True)
        self.kinds, self.weights = list(kinds), list(weights)

    def job(self, i: int):
        rng = random.Random(self.seed * 1_000_003 + i)
        kind = rng.choices(self.kinds, self.weights)[0]
        return kind, getattr(self, kind)(rng)

    # Pages and reads: a new visitor each time (gunicorn's sync workers close every
    # connection anyway).

    def _get(self, path: str, headers: dict | None = None) -> int:
        with requests.Session() as session:
            url = path if path.startswith("http") else self.base + path
            return session.get(url, headers=headers, timeout=30).status_code

    def article_page(self, rng):
        slug = rng.choice(self.slugs)
        return lambda: self._get(f"/articles/{slug}/")

    def home_page(self, rng):
        path = "/?page=2" if rng.random() < 0.1 else "/"
        return lambda: self._get(path)

    def image_api(self, rng):
        image_id = rng.choice(self.images)
        return lambda: self._get(f"/api/images/{image_id}/")

    def media(self, rng):
        url = rng.choice(self.media_urls)
        return lambda: self._get(url)

    def report(self, rng):
        pick_hot = rng.random() < 0.7
        choices = [rng.choice(self.hot if pick_hot else self.images) for _ in range(3)]
        reason = rng.choice(REASONS)

        def job() -> int:
            reader, uses, seen = self.readers.take()
            try:
                # A reader reports an image once; if all three picks were seen, the repeat
                # is sent anyway (it answers 200 and counts nothing, as for a real reader).
                image_id = next((c for c in choices if c not in seen), choices[0])
                seen.add(image_id)
                return reader.post(
                    f"/api/images/{image_id}/reports/", {"reason": reason}
                ).status_code
            finally:
                self.readers.give_back(reader, uses + 1, seen)

        return job

    def _list_queue(self) -> int:
        with requests.Session() as session:
            response = session.get(
                f"{self.base}/api/moderation/cases/?needs_review=true&page_size=20",
                headers=self.moderator_headers,
                timeout=30,
            )
        if response.status_code == 200:
            with self.lock:
                for case in response.json()["results"]:
                    self.candidates.append(
                        (case["id"], case["state"], bool(case["brigade_held_at"]))
                    )
        return response.status_code

    def moderator_list(self, rng):
        return self._list_queue

    def moderator_decision(self, rng):
        roll = rng.random()

        def job() -> int:
            with self.lock:
                candidate = self.candidates.popleft() if self.candidates else None
            if candidate is None:
                # Nothing to decide on: the moderator looks at the queue instead (200).
                with self.lock:
                    self.decisions["none to decide: listed the queue"] += 1
                return self._list_queue()
            case_id, state, held = candidate
            if state == "auto_blocked":
                action = "confirm" if roll < 0.5 else "restore"
            elif state == "blocked":
                action = "restore"
            elif held:
                action = "release" if roll < 0.4 else "dismiss" if roll < 0.8 else "confirm"
            else:
                action = "dismiss" if roll < 0.8 else "confirm"
            with requests.Session() as session:
                response = session.post(
                    f"{self.base}/api/moderation/cases/{case_id}/decisions/",
                    json={"action": action, "note": "soak"},
                    headers=self.moderator_headers,
                    timeout=30,
                )
            with self.lock:
                self.decisions[f"{action} {response.status_code}"] += 1
            return response.status_code

        return job


class MemorySampler(threading.Thread):
    """RSS of the web workers and of the Celery worker's processes every `every` seconds."""

    def __init__(self, stack: Stack, every: float):
        super().__init__(daemon=True)
        self.stack = stack
        self.every = every
        self.stop_event = threading.Event()
        self.started_at = time.perf_counter()
        self.web_pids = stack.web_pids()
        self.worker_pids = stack.worker_pids()
        self.samples: list[dict] = []
        self.replaced: list[str] = []

    def sample(self) -> None:
        now = round(time.perf_counter() - self.started_at, 1)
        web_now, worker_now = self.stack.web_pids(), self.stack.worker_pids()
        if web_now != self.web_pids:
            self.replaced.append(f"{now} s: gunicorn workers {self.web_pids} -> {web_now}")
            self.web_pids = web_now
        if worker_now != self.worker_pids:
            self.replaced.append(f"{now} s: celery processes {self.worker_pids} -> {worker_now}")
            self.worker_pids = worker_now
        rss = {}
        for n, pid in enumerate(web_now):
            rss[f"gunicorn_worker_{n + 1}"] = harness.rss_kb(pid)
        names = ["celery_main", *(f"celery_child_{n + 1}" for n in range(len(worker_now) - 1))]
        for name, pid in zip(names, worker_now, strict=True):
            rss[name] = harness.rss_kb(pid)
        self.samples.append({"t": now, "rss_kb": rss, "broker_queue": self.stack.queue_length()})

    def run(self) -> None:
        self.sample()
        while not self.stop_event.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self.stop_event.set()
        self.join()
        self.sample()

    def summary(self, seconds: float) -> dict:
        per_process: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for sample in self.samples:
            for name, kb in sample["rss_kb"].items():
                if kb is not None:
                    per_process[name].append((sample["t"], kb))
        out = {}
        for name, points in per_process.items():
            first = [kb for t, kb in points if t <= 60]
            last = [kb for t, kb in points if t >= seconds - 60]
            first_mean = sum(first) / len(first)
            last_mean = sum(last) / len(last)
            growth = last_mean - first_mean
            out[name] = {
                "first_minute_mean_kb": round(first_mean),
                "last_minute_mean_kb": round(last_mean),
                "growth_kb": round(growth),
                "growth_pct": round(100 * growth / first_mean, 1),
                "slope_kb_per_min": round(60 * _slope(points), 1),
                "max_kb": max(kb for _, kb in points),
                "flat": growth <= max(0.05 * first_mean, 4096),
            }
        return out


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope, kB per second."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else 0.0


# --- the checks ---------------------------------------------------------------------------


# Each case beside what it should count (r.n, r.w): its open reports; on a confirmed
# block, the upheld reports that made it (confirm judges them and keeps the count).
CASES_WITH_THEIR_REPORTS = """
FROM moderation_imagecase c
LEFT JOIN (
    SELECT image_id,
           count(*) FILTER (WHERE outcome = 'open') AS open_n,
           sum(weight) FILTER (WHERE outcome = 'open') AS open_w,
           count(*) FILTER (WHERE outcome = 'upheld') AS upheld_n,
           sum(weight) FILTER (WHERE outcome = 'upheld') AS upheld_w
    FROM moderation_report GROUP BY image_id
) r0 ON r0.image_id = c.image_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.state = 'blocked' THEN r0.upheld_n ELSE r0.open_n END AS n,
           CASE WHEN c.state = 'blocked' THEN r0.upheld_w ELSE r0.open_w END AS w
) r
"""


def consistency() -> dict:
    from django.conf import settings
    from django.db import connection

    def rows(sql: str, params=None) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchall()

    counts = rows(
        """
        SELECT c.state, count(*),
               count(*) FILTER (WHERE c.open_report_count <> COALESCE(r.n, 0)),
               count(*) FILTER (WHERE c.score <> COALESCE(r.w, 0))
        """
        + CASES_WITH_THEIR_REPORTS
        + "GROUP BY c.state ORDER BY c.state"
    )
    count_mismatch = {
        state: {"cases": n, "count_differs": bad_n, "score_differs": bad_w}
        for state, n, bad_n, bad_w in counts
        if bad_n or bad_w
    }
    mismatch_examples = rows(
        """
        SELECT c.image_id, c.state, c.open_report_count, COALESCE(r.n, 0), c.score,
               COALESCE(r.w, 0)
        """
        + CASES_WITH_THEIR_REPORTS
        + """
        WHERE c.open_report_count <> COALESCE(r.n, 0) OR c.score <> COALESCE(r.w, 0)
        ORDER BY c.image_id LIMIT 5
        """
    )

    # Blocks once each: walk every image's blocking actions in order.
    actions = rows(
        """
        SELECT image_id, action, details->>'previous_state'
        FROM moderation_moderationaction
        WHERE action IN ('auto_block', 'hash_block', 'block', 'confirm', 'restore')
        ORDER BY image_id, id
        """
    )
    blocked: dict[int, bool] = defaultdict(bool)
    twice: list[str] = []
    machine_blocks = restores = reblocks = 0
    episodes: dict[int, int] = defaultdict(int)
    for image_id, action, previous in actions:
        if action in ("auto_block", "hash_block"):
            machine_blocks += 1
            if blocked[image_id]:
                twice.append(f"image {image_id}: {action} while blocked")
            episodes[image_id] += 1
            if episodes[image_id] > 1:
                reblocks += 1
            blocked[image_id] = True
        elif action == "block" or (action == "confirm" and previous in ("flagged", "restored")):
            if blocked[image_id]:
                twice.append(f"image {image_id}: {action} while blocked")
            blocked[image_id] = True
        elif action == "restore":
            restores += 1
            blocked[image_id] = False
    visibility = dict(rows("SELECT id, visibility FROM articles_image"))
    walk_disagrees = [
        image_id
        for image_id, is_blocked in blocked.items()
        if is_blocked != (visibility.get(image_id) == "blocked")
    ]
    state_disagrees = rows(
        """
        SELECT count(*) FROM moderation_imagecase c JOIN articles_image i ON i.id = c.image_id
        WHERE (c.state IN ('auto_blocked', 'blocked')) <> (i.visibility = 'blocked')
        """
    )[0][0]
    due_unblocked = rows(
        """
        SELECT count(*) FROM moderation_imagecase c
        JOIN articles_image i ON i.id = c.image_id
        JOIN articles_article a ON a.id = i.article_id
        LEFT JOIN moderation_policy ps ON ps.source_id = a.source_id
        LEFT JOIN moderation_policy pg ON pg.source_id IS NULL
        WHERE c.state IN ('flagged', 'restored') AND NOT c.protected
          AND c.brigade_held_at IS NULL
          AND c.open_report_count >= COALESCE(ps.threshold, pg.threshold, %s)
          AND c.score >= COALESCE(ps.threshold, pg.threshold, %s)
        """,
        [settings.REPORT_THRESHOLD, settings.REPORT_THRESHOLD],
    )[0][0]
    cases_by_state = dict(rows("SELECT state, count(*) FROM moderation_imagecase GROUP BY 1"))
    reports_by_outcome = dict(
        rows("SELECT outcome, count(*) FROM moderation_report GROUP BY 1 ORDER BY 2 DESC")
    )
    actions_by_kind = dict(
        rows("SELECT action, count(*) FROM moderation_moderationaction GROUP BY 1 ORDER BY 2 DESC")
    )
    strict_mismatch = count_mismatch
    return {
        "ok": not strict_mismatch
        and not twice
        and not walk_disagrees
        and not state_disagrees
        and not due_unblocked,
        "count_equals_open_reports": {
            "ok": not strict_mismatch,
            "mismatches_by_state": count_mismatch,
            "examples (image, state, count, open reports, score, open weight)": [
                [r[0], r[1], r[2], r[3], float(r[4]), float(r[5])] for r in mismatch_examples
            ],
            "note": "a confirmed case (state blocked) counts the upheld reports of its block",
        },
        "blocks_once_each": {
            "ok": not twice,
            "machine_blocks": machine_blocks,
            "reblocks_after_restore": reblocks,
            "restores": restores,
            "violations": twice[:10],
        },
        "blocks_agree_with_visibility": {"ok": not walk_disagrees, "images": walk_disagrees[:10]},
        "state_agrees_with_visibility": {"ok": not state_disagrees, "cases": state_disagrees},
        "due_but_not_blocked": due_unblocked,
        "cases_by_state": cases_by_state,
        "reports_by_outcome": reports_by_outcome,
        "actions_by_kind": actions_by_kind,
    }


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
