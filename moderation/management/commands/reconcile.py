from django.core.management.base import BaseCommand

from moderation import services


class Command(BaseCommand):
    help = (
        "Run the sweeper once, as beat does: stop counting reports past their policy's "
        "window, apply every block that is due but was not applied, and say what was fixed. "
        "Blocks it has to apply are ones the broker path missed: they should be rare."
    )

    def handle(self, *args, **options) -> None:
        expired = services.reports_expire()
        # Its own expiry pass finds nothing left; what it blocks, the broker missed.
        blocked = services.sweep_due_blocks()
        if expired:
            self.stdout.write(f"Expired reports on {expired} case(s).")
        if blocked:
            listed = ", ".join(str(image_id) for image_id in blocked)
            self.stdout.write(
                self.style.WARNING(f"Blocked {len(blocked)} image(s) that were due: {listed}.")
            )
        if not expired and not blocked:
            self.stdout.write(self.style.SUCCESS("Nothing to fix."))
