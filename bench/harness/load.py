"""The bounded load generator (a closed loop, or an open loop paced at a rate) and the CPU
meter of a phase."""

import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.harness.base import BenchError
from bench.harness.processes import cpu_seconds, machine_cpu
from bench.harness.stack import Stack

# A job makes one request and returns its status code; the generator times it.
Job = Callable[[], int]


@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (connection error, timeout)
    ms: float
    started: float  # time.perf_counter() at the start
    late_ms: float = 0.0  # paced runs: how late it started against its schedule
    error: str = ""


@dataclass
class CpuMeter:
    """CPU used during a phase: the whole machine, the web workers, the Celery worker,
    and this process (the load generator)."""

    stack: Stack | None = None
    _start: dict = field(default_factory=dict)

    def _read(self) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, total = machine_cpu()
        stack = self.stack
        return {
            "busy": busy,
            "total": total,
            "web": sum(cpu_seconds(pid) for pid in stack.web_pids()) if stack else 0.0,
            "worker": sum(cpu_seconds(pid) for pid in stack.worker_pids()) if stack else 0.0,
            "client": usage.ru_utime + usage.ru_stime,
        }

    def start(self) -> None:
        self._start = self._read()

    def stop(self, requests_made: int) -> dict:
        end, start = self._read(), self._start
        total = end["total"] - start["total"]
        out = {
            "machine_busy_pct": round(100 * (end["busy"] - start["busy"]) / total, 1)
            if total
            else None,
            "web_cpu_s": round(end["web"] - start["web"], 2),
            "worker_cpu_s": round(end["worker"] - start["worker"], 2),
            "generator_cpu_s": round(end["client"] - start["client"], 2),
        }
        if requests_made:
            out["web_cpu_ms_per_request"] = round(1000 * out["web_cpu_s"] / requests_made, 2)
        return out


def _timed(kind: str, job: Job, scheduled: float | None = None) -> Sample:
    started = time.perf_counter()
    late = max(0.0, (started - scheduled) * 1000) if scheduled is not None else 0.0
    try:
        status = job()
        error = ""
    except Exception as exc:  # no answer, or a bug in the job: an error either way
        status, error = 0, f"{type(exc).__name__}: {str(exc)[:200]}"
    return Sample(kind, status, (time.perf_counter() - started) * 1000, started, late, error)


def run_closed(
    jobs: Sequence[tuple[str, Job]], *, threads: int, max_seconds: float
) -> tuple[list[Sample], float, int]:
    """Run (kind, job) pairs from `threads` threads as fast as the server answers.

    Bounded: no job starts after `max_seconds`. Returns the samples, the wall time from
    the first start to the last end, and how many jobs were not started.
    """
    lock = threading.Lock()
    position = 0
    samples: list[Sample] = []
    started = time.perf_counter()
    deadline = started + max_seconds

    def work() -> None:
        nonlocal position
        mine: list[Sample] = []
        while True:
            with lock:
                if position >= len(jobs) or time.perf_counter() > deadline:
                    break
                kind, job = jobs[position]
                position += 1
            mine.append(_timed(kind, job))
        with lock:
            samples.extend(mine)

    _run_threads(work, threads)
    wall = time.perf_counter() - started
    return samples, wall, len(jobs) - position


def run_paced(
    next_job: Callable[[int], tuple[str, Job]],
    *,
    rate: float,
    seconds: float,
    threads: int,
    on_tick: Callable[[float], None] | None = None,
) -> tuple[list[Sample], float]:
    """An open loop: job i is due at start + i / rate, for `seconds`; at most `threads`
    requests are in flight. A job that finds every thread busy starts late (its `late_ms`);
    nothing is dropped, so a server slower than the rate shows as lateness and a lower
    achieved rate. `on_tick(elapsed)` is called about once a second from its own thread."""
    lock = threading.Lock()
    index = 0
    samples: list[Sample] = []
    started = time.perf_counter()
    total = int(rate * seconds)
    done = threading.Event()

    def work() -> None:
        nonlocal index
        mine: list[Sample] = []
        while True:
            with lock:
                i = index
                index += 1
            if i >= total:
                break
            due = started + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            kind, job = next_job(i)
            mine.append(_timed(kind, job, scheduled=due))
        with lock:
            samples.extend(mine)

    def ticker() -> None:
        while not done.wait(1.0):
            if on_tick:
                on_tick(time.perf_counter() - started)

    tick_thread = threading.Thread(target=ticker, daemon=True)
    tick_thread.start()
    try:
        _run_threads(work, threads)
    finally:
        done.set()
        tick_thread.join()
    return samples, time.perf_counter() - started


def _run_threads(work: Callable[[], None], threads: int) -> None:
    """Run `work` in `threads` threads; if one raises (a bug of the generator itself, not a
    failed request: those are samples), it is raised here once the others are done."""
    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:
            failures.append(exc)

    pool = [threading.Thread(target=guarded, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise BenchError(f"the load generator failed: {failures[0]!r}") from failures[0]
