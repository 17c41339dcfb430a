from django.core.management.base import BaseCommand

from articles import services as articles_services
from moderation import services


class Command(BaseCommand):
    help = (
        "Run the sweepers once, as beat does: stop counting reports past their policy's "
        "window, apply every block that is due but was not applied, send uploads left "
        "pending past IMAGE_PROCESSING_GRACE_SECONDS for processing again (or give them up "
        "as failed when their attempts are used up), and say what was fixed. What it has "
        "to fix is what the broker path missed: it should be rare."
    )

    def handle(self, *args, **options) -> None:
        expired = services.reports_expire()
        # Its own expiry pass finds nothing left; what it blocks, the broker missed.
        blocked = services.sweep_due_blocks()
        stuck = articles_services.images_requeue_stuck()
        if expired:
            self.stdout.write(f"Expired reports on {expired} case(s).")
        # What the broker path missed, by image id.
        fixed = [
            (self.style.WARNING, blocked, "Blocked {n} image(s) that were due"),
            (
                self.style.WARNING,
                stuck.requeued,
                "Sent {n} image(s) left pending for processing again",
            ),
            (
                self.style.ERROR,
                stuck.not_sent,
                "Could not send {n} image(s) left pending (is the broker up?)",
            ),
            (
                self.style.ERROR,
                stuck.failed,
                "Gave up {n} image(s) as failed, their processing attempts used up",
            ),
        ]
        for style, image_ids, what in fixed:
            if image_ids:
                listed = ", ".join(str(image_id) for image_id in image_ids)
                self.stdout.write(style(f"{what.format(n=len(image_ids))}: {listed}."))
        if stuck.more:
            self.stdout.write("More images are left pending: run it again.")
        if not expired and not any(image_ids for _style, image_ids, _what in fixed):
            self.stdout.write(self.style.SUCCESS("Nothing to fix."))
