"""Ban matching at scale: HashIndex lookups beside a plain linear scan, in the same run.

    .venv/bin/python bench/hash_match.py [--sizes 10000 100000 1000000 --queries 300]

For each bank size it builds a HashIndex from random 64-bit hashes (each with 32 bits set,
as every pHash has) and times `nearest(hash, MATCH_DISTANCE)` for queries of which half lie
within the bound of a banned hash (hits) and half are random (misses, the usual case). The
reference is `linear_nearest`, the pure-Python loop over ints: it is the floor to beat. The
index is itself a linear scan, vectorised (XOR and POPCOUNT over a packed uint64 array), so
the comparison measures what numpy buys, not an algorithmic change. The pure-Python scan
gets fewer queries at large sizes so the run stays under two minutes.

It prints one JSON object on stdout (progress on stderr) and exits 1 if the index and the
linear scan disagree on any query both answered.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from moderation.hashing import MATCH_DISTANCE, HashIndex, linear_nearest, to_signed

# Pure-Python scans per size: about 0.1 s each per million hashes.
LINEAR_QUERIES = {10_000: 200, 100_000: 40, 1_000_000: 8}


def balanced_hashes(rng: np.random.Generator, n: int) -> list[int]:
    """n random 64-bit hashes with exactly 32 bits set, as signed ints."""
    keys = rng.random((n, 64)).argsort(axis=1)[:, :32]
    bits = np.zeros((n, 64), dtype=np.uint8)
    np.put_along_axis(bits, keys, 1, axis=1)
    packed = np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)
    return [to_signed(int(v)) for v in packed]


def queries_for(rnd: random.Random, banned: list[int], count: int) -> list[int]:
    out = []
    for i in range(count):
        if i % 2:
            out.append(to_signed(rnd.getrandbits(64)))
            continue
        value = rnd.choice(banned) & ((1 << 64) - 1)
        for bit in rnd.sample(range(64), rnd.randint(0, MATCH_DISTANCE)):
            value ^= 1 << bit
        out.append(to_signed(value))
    return out


def percentiles_us(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(p99 * 1e6, 1),
        "queries": len(ordered),
    }


def timed(fn, queries):
    answers, samples = [], []
    for q in queries:
        start = time.perf_counter()
        answers.append(fn(q))
        samples.append(time.perf_counter() - start)
    return answers, samples


def run_size(n: int, queries: int, seed: int) -> tuple[dict, bool]:
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    entries = list(enumerate(balanced_hashes(rng, n), start=1))
    banned = [h for _, h in entries]
    qs = queries_for(rnd, banned, queries)

    tracemalloc.start()
    start = time.perf_counter()
    index = HashIndex(entries)
    build_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    index.nearest(qs[0], MATCH_DISTANCE)  # warm up
    index_answers, index_samples = timed(lambda q: index.nearest(q, MATCH_DISTANCE), qs)
    n_linear = min(LINEAR_QUERIES.get(n, 20), len(qs))
    linear_answers, linear_samples = timed(
        lambda q: linear_nearest(entries, q, MATCH_DISTANCE), qs[:n_linear]
    )
    agree = index_answers[:n_linear] == linear_answers
    index_p = percentiles_us(index_samples)
    linear_p = percentiles_us(linear_samples)
    return {
        "banned": n,
        "hash_index": {
            **index_p,
            "hits": sum(a is not None for a in index_answers),
            "build_ms": round(build_s * 1e3, 1),
            "index_bytes": index.nbytes,
            "build_peak_bytes": peak,
        },
        "linear_python": linear_p,
        "speedup_p50": round(linear_p["p50_us"] / index_p["p50_us"], 1),
        "agree": agree,
    }, agree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300, help="index queries per size")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    results, ok = [], True
    for n in args.sizes:
        print(f"{n:,} banned hashes…", file=sys.stderr)
        result, agree = run_size(n, args.queries, args.seed)
        results.append(result)
        ok &= agree
    print(
        json.dumps(
            {
                "bench": "hash_match",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "numpy": np.__version__,
                "load_average": os.getloadavg(),
                "max_distance": MATCH_DISTANCE,
                "index": "HashIndex: numpy XOR + bitwise_count over packed uint64 (vectorised "
                "linear scan)",
                "floor": "linear_nearest: pure-Python loop over ints",
                "results": results,
                "total_s": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
