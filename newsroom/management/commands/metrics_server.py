import os
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.core.management.base import BaseCommand, CommandError
from prometheus_client.exposition import ThreadingWSGIServer

from newsroom.metrics import exporter_app


class _QuietHandler(WSGIRequestHandler):
    # wsgiref would write one line per scrape to stderr, the scraper's address first.
    def log_message(self, format, *args) -> None:
        pass


class Command(BaseCommand):
    help = (
        "Serve this machine's figures at http://ADDRESS:PORT/metrics, for a machine that "
        "runs Celery workers or beat but no web process. It reads the files every process "
        "of the machine writes under PROMETHEUS_MULTIPROC_DIR; the same rules as the web "
        "app's /metrics decide who may read (METRICS_ALLOWED_NETWORKS, METRICS_TOKEN)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--address", default="127.0.0.1", help="Default: 127.0.0.1.")
        parser.add_argument("--port", type=int, default=9808, help="Default: 9808.")

    def handle(self, *args, address: str, port: int, **options) -> None:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory or not os.path.isdir(directory):
            raise CommandError(
                "PROMETHEUS_MULTIPROC_DIR must name the directory this machine's workers "
                f"write their figures to (got {directory!r})."
            )
        try:
            server = make_server(
                address, port, exporter_app, ThreadingWSGIServer, handler_class=_QuietHandler
            )
        except OSError as error:
            raise CommandError(f"cannot listen on {address}:{port}: {error.strerror}") from None
        # (the address stays out: journald keeps this line, and no line names an IP)
        self.stdout.write(f"Serving the figures in {directory} on port {port}, at /metrics")
        with server:
            server.serve_forever()
