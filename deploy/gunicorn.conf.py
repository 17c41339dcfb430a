"""gunicorn in production: `gunicorn -c deploy/gunicorn.conf.py newsroom.wsgi`.

Every value can be changed from the environment (docs/operations.md).
"""

import logging
import multiprocessing
import os

from newsroom.logs import logging_config

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
# Threads: a report waits on PostgreSQL and Redis, not on the CPU.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
# Behind nginx on the same machine; nginx's buffering shields gunicorn from slow clients.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Several gunicorn masters on one machine would fight over one control socket.
control_socket_disable = True

# Django writes the access line (newsroom.logs.AccessLogMiddleware), with the
# request id and without the client's address; gunicorn's own lines go through
# the same JSON formatter.
accesslog = None
logconfig_dict = logging_config(
    log_format=os.environ.get("LOG_FORMAT", "json"), level=os.environ.get("LOG_LEVEL", "INFO")
)


def on_starting(server):
    # Python's warnings as JSON lines too, before the app is loaded.
    logging.captureWarnings(True)


def child_exit(server, worker):
    # A dead worker's live gauges must not be summed with the living ones'.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
