"""Latency percentiles and the summary of a run's samples."""

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence

from bench.harness.load import Sample


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (values need not be sorted)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(values_ms: Sequence[float]) -> dict:
    if not values_ms:
        return {"n": 0}
    return {
        "n": len(values_ms),
        "p50_ms": round(statistics.median(values_ms), 2),
        "p95_ms": round(percentile(values_ms, 0.95), 2),
        "p99_ms": round(percentile(values_ms, 0.99), 2),
        "max_ms": round(max(values_ms), 2),
    }


def summarize(samples: Sequence[Sample], wall_seconds: float, expected: Iterable[int]) -> dict:
    """Requests, req/s over the wall time, latency percentiles, statuses, and errors: any
    answer not in `expected`, and no answer at all (status 0)."""
    expected = set(expected)
    statuses = Counter(s.status for s in samples)
    errors = [s for s in samples if s.status not in expected]
    out = {
        "requests": len(samples),
        "seconds": round(wall_seconds, 2),
        "req_per_s": round(len(samples) / wall_seconds, 1) if wall_seconds else None,
        **latency([s.ms for s in samples]),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": len(errors),
    }
    if errors:
        out["error_examples"] = sorted({s.error or f"HTTP {s.status}" for s in errors})[:5]
    return out
