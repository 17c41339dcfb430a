"""What refused report attempts cost the rate limiter's Redis, in bytes.

    .venv/bin/python bench/limiter_memory.py [--attempts 100000]

It starts a private redis-server with the shipped throttles' configuration
(deploy/redis/signalement-cache.conf, on a free 127.0.0.1 port, files in a temporary
directory), then plays an attacker who clears their cookies before each attempt: every
attempt comes from one address and brings no cookie, so `moderation.readers` draws a new
reader id for each, exactly as for a request (a RequestFactory request through
`reader_from_request`), and `moderation.limits.report_limits_check` counts it against
REPORT_RATE_LIMITS (the environment's, else the default 10/minute,100/day).

Floors, from the same server in the same run: Redis empty, then holding the counters of
one address after its first attempt. Measured: `used_memory` after all the attempts, and
the bytes each refused attempt added beyond the floor. Then, on the emptied server, the
keying the limiter had before (every attempt counted under its reader id too, so a new
reader's counters per attempt), sent through the same MULTI/EXEC as the limiter's
(`limits._count`), for what that behaviour cost: its minute counters expire during a run
this long while its day counters stay, so that figure depends on the attempts' rate.

Prints one JSON object on stdout (progress on stderr); exits 1 if the limiter left more
than the address's counters, or a counter without an expiry.
"""

import argparse
import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import code_version, emit, free_port, log  # noqa: E402

BENCH = "limiter_memory"
CACHE_CONF = ROOT / "deploy" / "redis" / "signalement-cache.conf"
ATTACKER = "203.0.113.66"


@contextlib.contextmanager
def private_redis():
    """redis-server with the shipped cache conf, on loopback only, gone afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="signalement-limiter-memory-"))
    port = free_port()
    # The conf's own lines, then what differs on a bench machine (later arguments win).
    argv = [binary, str(CACHE_CONF), "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--dir", str(tmp), "--pidfile", str(tmp / "redis.pid"), "--supervised", "no"]
    argv += ["--logfile", str(tmp / "redis.log")]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"redis-server did not start: {tmp / 'redis.log'}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", client
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def used_memory(client) -> int:
    return int(client.info("memory")["used_memory"])


def keys_without_expiry(client) -> int:
    missing = 0
    batch = []
    for key in client.scan_iter(count=1000):
        batch.append(key)
        if len(batch) == 1000:
            missing += _count_persistent(client, batch)
            batch = []
    return missing + _count_persistent(client, batch)


def _count_persistent(client, keys) -> int:
    if not keys:
        return 0
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.pttl(key)
        # -1: no expiry; -2 is a key that expired between SCAN and PTTL.
        return sum(1 for ttl in pipe.execute() if ttl == -1)


def cookie_less_reader():
    from django.test import RequestFactory

    from moderation.readers import reader_from_request

    request = RequestFactory().post("/api/images/1/reports/", REMOTE_ADDR=ATTACKER)
    return reader_from_request(request)


def attack(client, attempts: int, count_one) -> dict:
    """`attempts` cookie-less attempts from one address, each counted by `count_one`;
    memory is read against the floor of the first attempt's counters."""
    client.flushall()
    empty = used_memory(client)
    allowed = int(count_one(cookie_less_reader()) is None)
    one_address = used_memory(client)
    keys_one_address = client.dbsize()
    started = time.perf_counter()
    for n in range(1, attempts):
        allowed += count_one(cookie_less_reader()) is None
        if n % 20_000 == 0:
            log(BENCH, f"{n} attempts")
    seconds = time.perf_counter() - started
    after = used_memory(client)
    refused = attempts - allowed
    return {
        "attempts": attempts,
        "allowed": allowed,
        "refused": refused,
        "floor_empty_bytes": empty,
        "floor_one_address_bytes": one_address,
        "floor_one_address_keys": keys_one_address,
        "used_memory_bytes": after,
        "keys": client.dbsize(),
        "keys_per_refused_attempt": (
            round((client.dbsize() - keys_one_address) / refused, 3) if refused else None
        ),
        "keys_without_expiry": keys_without_expiry(client),
        "bytes_per_refused_attempt": round((after - one_address) / refused, 2) if refused else None,
        "attempts_per_s": round((attempts - 1) / seconds, 1) if seconds else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    args = parser.parse_args()

    with private_redis() as (url, client):
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "newsroom.settings",
                "THROTTLE_REDIS_URL": url,
                "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-secret-key-not-for-production",
                "DEBUG": "0",
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.conf import settings

        from moderation import limits

        windows = limits._limits_by_window()
        if not windows:
            raise SystemExit("REPORT_RATE_LIMITS is empty: nothing would be counted")

        # The limiter's connection is open before the first floor: its buffers are not
        # the counters' cost.
        limits._redis().ping()

        def old_keying(reader):
            # Before: every attempt counted under its reader id as well as its address.
            scopes = [f"ip:{reader.ip_hash}", f"reader:{reader.reporter_key}"]
            return limits._count(scopes=scopes, windows=windows)

        # Redis allocates some structures on the first writes and keeps them: a short run
        # first, so that the floors measured next are those of a server in use.
        attack(client, 1000, lambda reader: limits.report_limits_check(reader=reader))
        log(BENCH, f"{args.attempts} cookie-less attempts from one address, as the limiter counts")
        now = attack(
            client, args.attempts, lambda reader: limits.report_limits_check(reader=reader)
        )
        log(BENCH, "the same with the keying of before (a reader's counters per attempt)")
        before = attack(client, args.attempts, old_keying)
        client.flushall()
        server = client.info("server")
        config = client.config_get("maxmemory*")

    report = {
        "bench": BENCH,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([f"bench/{BENCH}.py", *sys.argv[1:]]),
        "code": code_version(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "redis": server["redis_version"],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "redis_conf": {
            "file": str(CACHE_CONF.relative_to(ROOT)),
            "maxmemory": int(config["maxmemory"]),
            "maxmemory-policy": config["maxmemory-policy"],
        },
        "rate_limits": [f"{limit}/{seconds}s" for limit, seconds in settings.REPORT_RATE_LIMITS],
        "limiter": now,
        "keying_before": before,
        "bytes_saved_per_refused_attempt": (
            round(before["bytes_per_refused_attempt"] - now["bytes_per_refused_attempt"], 2)
            if now["refused"] and before["refused"]
            else None
        ),
    }
    emit(report)
    bounded = now["keys"] == len(windows) and now["keys_without_expiry"] == 0
    return 0 if bounded else 1


if __name__ == "__main__":
    sys.exit(main())
