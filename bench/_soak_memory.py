"""bench/soak.py's memory: the processes' RSS sampled from /proc, and its growth."""

import threading
import time
from collections import defaultdict

from bench import harness
from bench.harness import Stack


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
