"""/readyz under 50 parallel callers: wall time and the checks actually run, beside /healthz
under the same 50 calls (the floor), in the same run.

    .venv/bin/python bench/readyz.py [--callers 50 --rounds 5]

A private stack (bench/harness/): a fresh PostgreSQL database `signalement_bench_readyz`
on the server of DATABASE_URL, Redis databases 9 (broker) and 8 (rate limits), a Celery
worker, and gunicorn with 2 workers of 4 threads each, as production runs it
(deploy/gunicorn.conf.py: gthread, GUNICORN_THREADS=4; the harness asks for sync workers,
and GUNICORN_CMD_ARGS="--threads 4" makes them gthread).

Each round waits until every process's cached result is older than READYZ_CACHE_SECONDS,
then sends `--callers` GET /readyz at once (one thread each, released together), then the
same number of GET /healthz (which touches nothing: the floor). The checks actually run
are counted from the answers: each carries `checked_at`, when the run that produced it
started, so distinct values are distinct runs. Two scenarios:

- `ready`: the worker answers its ping, a run of the checks takes a few ms;
- `workers_down`: the worker is stopped, so every run waits the ping's whole second (the
  slow case a prober, or an attacker, would pile calls onto).

All of it twice: with READYZ_CACHE_SECONDS as shipped (`cached`), then on a second stack
with READYZ_CACHE_SECONDS=0 (`shared_only`: no result is reused once its run has ended, but
the calls a process receives during a run still share it). Neither is the behaviour before
(each call its own run): its cost is one run per call, `one_run_of_the_checks_ms_median`
each, on 8 threads.

Prints one JSON object; exits 1 on an unexpected answer (anything but 200 from /healthz,
200 from a ready /readyz, 503 from one whose workers are down).
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import log

BENCH = "readyz"
THREADS_PER_WORKER = 4


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=50, help="parallel calls per burst")
    parser.add_argument("--rounds", type=int, default=5, help="bursts per scenario")
    harness.add_stack_arguments(
        parser, database="signalement_bench_readyz", redis_db=9, throttle_db=8
    )
    args = parser.parse_args()
    if args.callers < 1 or args.rounds < 1:
        parser.error("--callers and --rounds must be at least 1")
    harness.check_stack_arguments(parser, args)
    return args


def burst(stack: harness.Stack, path: str, callers: int) -> tuple[dict, set[str], list[float]]:
    """`callers` GETs of `path` at once; their summary, the distinct `checked_at` of the
    answers, and the checks' own time (ms) each answer reports."""
    checked_at: set[str] = set()
    check_ms: list[float] = []
    lock = threading.Lock()
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=callers)
    session.mount("http://", adapter)

    def job() -> int:
        response = session.get(stack.base_url + path, timeout=60)
        if path == "/readyz":
            body = response.json()
            with lock:
                checked_at.add(body["checked_at"])
                check_ms.append(sum(check["ms"] for check in body["checks"].values()))
        return response.status_code

    meter = harness.CpuMeter(stack)
    meter.start()
    samples, wall, _ = harness.run_closed([(path, job)] * callers, threads=callers, max_seconds=120)
    summary = {**harness.summarize(samples, wall, {200, 503}), **meter.stop(len(samples))}
    session.close()
    return summary, checked_at, check_ms


def scenario(stack: harness.Stack, args, *, cache_seconds: int, expected: int) -> dict:
    rounds = []
    for n in range(args.rounds):
        # Every process's cached result has expired: the burst starts cold.
        time.sleep(cache_seconds + 0.5)
        ready, runs, check_ms = burst(stack, "/readyz", args.callers)
        floor, _, _ = burst(stack, "/healthz", args.callers)
        rounds.append((ready, len(runs), check_ms, floor))
        log(
            BENCH,
            f"  round {n + 1}: /readyz {ready['seconds']} s, {len(runs)} runs of the checks; "
            f"/healthz {floor['seconds']} s",
        )
    statuses_ok = all(
        set(ready["statuses"]) == {str(expected)} and set(floor["statuses"]) == {"200"}
        for ready, _, _, floor in rounds
    )
    walls = [ready["seconds"] for ready, _, _, _ in rounds]
    floor_walls = [floor["seconds"] for _, _, _, floor in rounds]
    all_check_ms = [ms for _, _, check_ms, _ in rounds for ms in check_ms]
    return {
        "expected_status": expected,
        "statuses_as_expected": statuses_ok,
        "readyz_wall_s_median": round(statistics.median(walls), 3),
        "readyz_wall_s": walls,
        "checks_run_per_burst": [runs for _, runs, _, _ in rounds],
        "one_run_of_the_checks_ms_median": (
            round(statistics.median(all_check_ms), 1) if all_check_ms else None
        ),
        "healthz_wall_s_median": round(statistics.median(floor_walls), 3),
        "healthz_wall_s": floor_walls,
        "ratio_wall_median": round(statistics.median(walls) / statistics.median(floor_walls), 2),
        "last_round": {"readyz": rounds[-1][0], "healthz": rounds[-1][3]},
    }


def run_stack(args, *, label: str, cache_seconds: int | None) -> tuple[dict, dict]:
    extra_env = {"GUNICORN_CMD_ARGS": f"--threads {THREADS_PER_WORKER}"}
    if cache_seconds is not None:
        extra_env["READYZ_CACHE_SECONDS"] = str(cache_seconds)
    load_at_start = os.getloadavg()
    with harness.stack_for(BENCH, args, extra_env=extra_env) as stack:
        stack.prepare()
        from django.conf import settings

        seconds = cache_seconds if cache_seconds is not None else settings.READYZ_CACHE_SECONDS
        stack.start()
        log(BENCH, f"{label}: READYZ_CACHE_SECONDS={seconds}, worker up")
        results = {
            "readyz_cache_seconds": seconds,
            "ready": scenario(stack, args, cache_seconds=seconds, expected=200),
        }
        stack.celery.terminate()
        stack.celery.wait(timeout=30)
        stack.celery = None
        log(BENCH, f"{label}: worker stopped")
        results["workers_down"] = scenario(stack, args, cache_seconds=seconds, expected=503)
        head = harness.header(BENCH, stack, load_at_start)
    return results, head


def main() -> int:
    args = parse_args()
    cached, head = run_stack(args, label="cached", cache_seconds=None)
    shared_only, _ = run_stack(args, label="shared_only", cache_seconds=0)
    head["server"]["gunicorn_threads"] = THREADS_PER_WORKER
    report = {**head, "callers": args.callers, "rounds": args.rounds}
    report["cached"] = cached
    report["shared_only"] = shared_only
    harness.emit(report)
    ok = all(
        results[name]["statuses_as_expected"]
        for results in (cached, shared_only)
        for name in ("ready", "workers_down")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
