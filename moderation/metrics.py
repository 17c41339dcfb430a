"""What operators watch: reports in, blocks out, and how long a block takes.

The figures are counted where the work happens (services, and the views for what
they refuse), in whichever process does it: a gunicorn worker, a Celery pool
process. With PROMETHEUS_MULTIPROC_DIR set, every process of a machine writes
its figures to that directory and /metrics adds them up (newsroom/metrics.py).
"""

from datetime import datetime

from django.utils import timezone
from prometheus_client import Counter, Histogram

from common.client_address import UNREADABLE_CAUSES

REFUSAL_REASONS = ("throttled", "invalid", "not_found", "already_blocked")
BLOCK_KINDS = ("auto", "moderator", "hash")
RECEIVED_OUTCOMES = ("open", "held", "muted")

REPORTS_RECEIVED = Counter(
    "signalement_reports_received",
    "New reports recorded, by what became of them: open (counted), held (a burst of "
    "grouped reports), muted (its reporter is muted).",
    ["outcome"],
)
REPORT_REPEATS = Counter(
    "signalement_report_repeats",
    "Reports by a reader on an image they had reported already: thanked, not counted.",
)
REPORTS_REFUSED = Counter(
    "signalement_reports_refused",
    "Report attempts not recorded: throttled (429), invalid (400, or 413 for a body too "
    "large), not_found (404: no such image, or one not processed yet), "
    "already_blocked (the image was blocked meanwhile; the reader is thanked).",
    ["reason"],
)
BLOCKS = Counter(
    "signalement_blocks",
    "Images blocked: auto (enough readers), moderator (a moderator's confirm before the "
    "threshold), hash (matches a banned hash).",
    ["kind"],
)
TIME_TO_BLOCK = Histogram(
    "signalement_time_to_block_seconds",
    "Automatic blocks: seconds from the last counted report to the block written.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
SWEEPER_REPAIRS = Counter(
    "signalement_sweeper_repairs",
    "Due blocks the sweeper had to apply because the broker path missed them: should stay 0.",
)
CLIENT_ADDRESS_UNREADABLE = Counter(
    "signalement_client_address_unreadable",
    "Readers whose address could not be read, counted as one shared 'unknown' address: "
    "missing (none), unparsable (not an address), proxy_chain (fewer X-Forwarded-For "
    "entries than TRUSTED_PROXY_COUNT). Should stay 0: else the proxy settings are wrong.",
    ["cause"],
)

# Every series exists from the start at 0, so that rate() and alerts see it
# before the first event.
for _outcome in RECEIVED_OUTCOMES:
    REPORTS_RECEIVED.labels(outcome=_outcome)
for _reason in REFUSAL_REASONS:
    REPORTS_REFUSED.labels(reason=_reason)
for _kind in BLOCK_KINDS:
    BLOCKS.labels(kind=_kind)
for _cause in UNREADABLE_CAUSES:
    CLIENT_ADDRESS_UNREADABLE.labels(cause=_cause)


def report_received(*, outcome: str) -> None:
    REPORTS_RECEIVED.labels(outcome=outcome).inc()


def report_repeated() -> None:
    REPORT_REPEATS.inc()


def report_refused(*, reason: str) -> None:
    if reason not in REFUSAL_REASONS:
        raise ValueError(f"unknown refusal reason {reason!r}")
    REPORTS_REFUSED.labels(reason=reason).inc()


def image_blocked(*, kind: str, due_since: datetime | None = None) -> None:
    if kind not in BLOCK_KINDS:
        raise ValueError(f"unknown block kind {kind!r}")
    BLOCKS.labels(kind=kind).inc()
    if due_since is not None:
        TIME_TO_BLOCK.observe(max(0.0, (timezone.now() - due_since).total_seconds()))


def sweeper_repaired(*, count: int) -> None:
    SWEEPER_REPAIRS.inc(count)


def client_address_unreadable(*, cause: str) -> None:
    if cause not in UNREADABLE_CAUSES:
        raise ValueError(f"unknown cause {cause!r}")
    CLIENT_ADDRESS_UNREADABLE.labels(cause=cause).inc()
