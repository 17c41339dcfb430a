"""Settings of the HTTP benches: the project's, plus the floor's route (bench/urls.py).

gunicorn and the Celery worker of a bench run with DJANGO_SETTINGS_MODULE=bench.settings;
nothing else differs from production's settings, which still come from the environment
(bench/harness/stack.py sets it).
"""

from newsroom.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
