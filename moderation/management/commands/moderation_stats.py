import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from moderation.selectors import moderation_stats


class Command(BaseCommand):
    help = (
        "What moderation did over a period: reports, images reported, blocks by kind, "
        "restores, dismissals, and the median time to block and to review."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", type=int, default=7, help="The period: the last this many days (7)."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of text.")

    def handle(self, *args, days: int, json: bool, **options) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        until = timezone.now()
        stats = moderation_stats(since=until - timedelta(days=days), until=until)
        if json:
            self.stdout.write(_json(stats))
            return
        blocks = ", ".join(f"{kind} {n}" for kind, n in sorted(stats.blocks_by_kind.items()))
        outcomes = ", ".join(f"{o} {n}" for o, n in sorted(stats.reports_by_outcome.items()))
        lines = [
            f"Last {days} day(s), from {timezone.localtime(stats.since):%Y-%m-%d %H:%M}:",
            f"  reports: {stats.reports} ({outcomes or 'none'}) "
            f"on {stats.images_reported} image(s)",
            f"  blocks: {blocks or 'none'}",
            f"  restores: {stats.restores}, dismissals: {stats.dismissals}",
            f"  median time to block: {_duration(stats.median_time_to_block)}",
            f"  median time to review a machine block: {_duration(stats.median_time_to_review)}",
        ]
        self.stdout.write("\n".join(lines))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "nothing measured"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 3600:
        return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _json(stats) -> str:
    fields = dict(vars(stats))
    fields["since"], fields["until"] = stats.since.isoformat(), stats.until.isoformat()
    return json.dumps(fields, indent=2, sort_keys=True)
