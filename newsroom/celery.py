"""The Celery application: `celery -A newsroom.celery:app worker`."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

app = Celery("newsroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _log_as_django_does(**kwargs) -> None:
    # Workers and beat write the web's JSON lines (newsroom/logs.py), with the
    # request id django-guid carries in the task's headers; connecting here
    # keeps Celery from installing its own handlers.
    from django.conf import settings

    from newsroom.logs import configure

    configure(settings.LOGGING)
