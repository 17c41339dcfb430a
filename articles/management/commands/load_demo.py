from django.core.management.base import BaseCommand

from articles.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo sources, articles and images; running it again creates nothing."

    def handle(self, *args, **options) -> None:
        # One line per created row only when asked for (-v 2); the summary always.
        progress = self.stdout if options["verbosity"] >= 2 else None
        summary = load_demo(stdout=progress)
        self.stdout.write(self.style.SUCCESS(summary.as_line()))
