"""A circuit breaker for a dependency whose failures are slow: after a failure, leave it
alone for a while, so that each request does not pay its timeout again.

The two users are the broker (common/publishing.py: one publish against a dead Redis
costs seconds of connection retries) and the limiter's Redis (moderation/limits.py). Both
answer without it (a message is recovered later, an attempt is allowed), so a refused call
costs nothing but a log line.

One failure opens the breaker. While it is open, `open_since()` says for how long, and the
caller does not try. Once `retry_after()` seconds have passed it is half-open: the next
calls try again (all of them, each process for itself: no single probe is elected, the
pause only spares the calls in between). A failure opens it again from then; a success
closes it.
"""

import threading
import time
from collections.abc import Callable


class Breaker:
    def __init__(
        self,
        *,
        retry_after: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A callable, read at each call: the pause is a setting, and tests change it.
        self._retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    def retry_after(self) -> float:
        """How long, in seconds, the breaker stays open after a failure."""
        return self._retry_after()

    def open_since(self) -> float | None:
        """Seconds since the failure that opened the breaker, while it is open; None when
        the call may be tried (closed, or half-open once the pause is over)."""
        with self._lock:
            failed_at = self._failed_at
        if failed_at is None:
            return None
        since = self._clock() - failed_at
        return since if since < self._retry_after() else None

    def is_open(self) -> bool:
        return self.open_since() is not None

    def failed(self) -> None:
        """A call failed: open the breaker from now."""
        with self._lock:
            self._failed_at = self._clock()

    def succeeded(self) -> None:
        """A call went through: close the breaker."""
        with self._lock:
            self._failed_at = None

    def reset(self) -> None:
        """Try again at the next call (tests, and after a known repair)."""
        self.succeeded()
