"""The counts a report's burst is judged by (rules.burst_of), in one statement."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from moderation.rules import BurstCounts

# Every report runs this under its case's lock, so it is kept to one plain statement
# (the ORM's aggregate() compiles a subquery-shaped query each time). LEAST is spelled
# as CASE, which SQLite also speaks. A report without a network (made by a service call
# rather than a request, or purged of its personal data) is no network's.
_BURST_SQL = """
SELECT COALESCE(SUM(CASE WHEN network_hash = '' OR recent <= %(allowance)s
                         THEN recent ELSE %(allowance)s END), 0),
       COALESCE(SUM(CASE WHEN network_hash = '' OR earlier <= %(allowance)s
                         THEN earlier ELSE %(allowance)s END), 0),
       (SELECT count(*) FROM moderation_report
        WHERE image_id = %(image_id)s AND network_hash = %(network)s AND network_hash <> ''
          AND outcome = 'open')
FROM (
    SELECT network_hash,
           count(*) FILTER (WHERE created_at >= %(window_start)s) AS recent,
           count(*) FILTER (WHERE created_at < %(window_start)s) AS earlier
    FROM moderation_report
    WHERE image_id = %(image_id)s AND created_at >= %(day_start)s
    GROUP BY network_hash
) AS per_network
"""


def report_burst_counts(
    *, image_id: int, network_hash: str, now: datetime, allowance: int
) -> BurstCounts:
    """An image's reports in the brigade window and in the day before it, each network
    counting for at most `allowance`, and the open reports of one network, in one query."""
    window_start = now - timedelta(seconds=settings.BRIGADE_WINDOW_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            _BURST_SQL,
            {
                "image_id": image_id,
                "network": network_hash,
                "allowance": allowance,
                "window_start": window_start,
                "day_start": window_start - timedelta(days=1),
            },
        )
        recent, earlier, network_counted = cursor.fetchone()
    # PostgreSQL sums bigints into numeric.
    return BurstCounts(recent=int(recent), earlier=int(earlier), network_counted=network_counted)
