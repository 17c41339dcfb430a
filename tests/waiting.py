import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], bool], *, timeout: float = 10.0, every: float = 0.02
) -> float:
    """Poll until `condition()` holds; return the seconds it took. Fails on timeout."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
    return time.monotonic() - start
