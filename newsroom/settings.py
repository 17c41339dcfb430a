"""Settings for Signalement, read from the environment with safe defaults.

Every knob an operator may turn is read here and listed in docs/configuration.md. What
no environment variable changes and would only lengthen this page lives beside it:
settings_apps (apps, middleware, templates, authentication), settings_api (the OpenAPI
schema) and settings_celery (queues, routes, the beat schedule).
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

from newsroom.env import env_bool, env_decimal, env_int, env_list, env_str, parse_rates
from newsroom.logs import logging_config
from newsroom.settings_api import SPECTACULAR_SETTINGS  # noqa: F401
from newsroom.settings_apps import (  # noqa: F401
    AUTH_PASSWORD_VALIDATORS,
    AUTHENTICATION_BACKENDS,
    INSTALLED_APPS,
    MIDDLEWARE,
    TEMPLATES,
)
from newsroom.settings_celery import (  # noqa: F401
    CELERY_TASK_QUEUES,
    CELERY_TASK_ROUTES,
    beat_schedule,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS and browser security -------------------------------------------
# The site is served over HTTPS by the proxy; plain HTTP only redirects there.
# HTTPS=0 is for local runs and the tests, which speak plain HTTP with DEBUG off.
HTTPS = env_bool("HTTPS", not DEBUG)
# Proxies in front of the app that append to X-Forwarded-For (nginx: 1). The
# client is the address the outermost trusted proxy saw; with 0 the header is
# ignored, so a forged one changes nothing. With a proxy, its X-Forwarded-Proto
# says whether the client spoke HTTPS: nginx sets it from $scheme, overwriting
# whatever the client sent (deploy/nginx/signalement.conf); without one the
# header is the client's claim and is not read.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
SECURE_SSL_REDIRECT = HTTPS
# Load balancers' probes and Prometheus speak plain HTTP on the private network:
# they get their answer, not a redirect (patterns match the path without its "/").
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: the report dialog (articles/static/articles/js/
# report.js) sends the form's csrfmiddlewaretoken, Swagger UI the token rendered
# into its init script, the admin posts plain forms.
CSRF_COOKIE_HTTPONLY = True
# HSTS, sent on HTTPS answers only: browsers then refuse plain HTTP to this host
# (and, with includeSubDomains, to every name under it) for HSTS_SECONDS.
# `preload` consents to the domain being compiled into the browsers' built-in
# HTTPS-only list (hstspreload.org, which takes registrable domains: example.org,
# not news.example.org): once listed, no browser reaches the domain or any of its
# subdomains over plain HTTP, even on a first visit, and getting off the list
# takes months of browser releases. Set HSTS_PRELOAD=0 unless the whole domain
# is committed to HTTPS.
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", HTTPS)
# `check --deploy` warns (security.W021) whenever preload is off; turning it off
# with HSTS_PRELOAD=0 is a decision, so that warning says nothing then.
SILENCED_SYSTEM_CHECKS = ["security.W021"] if HTTPS and not SECURE_HSTS_PRELOAD else []
SECURE_CONTENT_TYPE_NOSNIFF = True
# Links to the publications tell them the reader came from this site (the
# origin), never which page.
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp 4): the site's own scripts, styles and
# images only, no inline script or style, no framing. Templates keep scripts
# and styles in static files; Swagger UI loads its init script from
# /api/docs/?script (SpectacularSwaggerSplitView).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Swagger UI's and the admin's icons are data: URIs in their CSS.
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Request sizes. The one large body is the image upload, multipart: its file
# does not count toward DATA_UPLOAD_MAX_MEMORY_SIZE, is checked against
# IMAGE_UPLOAD_MAX_BYTES (10 MiB, below) and, past FILE_UPLOAD_MAX_MEMORY_SIZE,
# is spooled to a temporary file rather than held in memory. Every other body
# (a report's JSON, a form) fits in DATA_UPLOAD_MAX_MEMORY_SIZE; larger ones are
# a 413. In front, nginx refuses bodies over client_max_body_size 11m
# (deploy/nginx/signalement.conf: IMAGE_UPLOAD_MAX_BYTES plus room for the
# multipart envelope) before they reach the app: change both together.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MiB
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MiB

# INSTALLED_APPS, MIDDLEWARE, TEMPLATES and the authentication backends:
# newsroom/settings_apps.py.
ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"

# Database: SQLite by default (make run), PostgreSQL in tests and production.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes SQLite's write lock at BEGIN, so concurrent writers queue
    # behind each other instead of failing with "database is locked" when a
    # read transaction tries to upgrade.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The readers' site speaks French first.
LANGUAGE_CODE = "fr"
LANGUAGES = [
    ("fr", "Français"),
    ("en", "English"),
    ("es", "Español"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Serve media through Django's visibility-checking view: only renditions of
# visible, processed images; never an original. Keep it on behind nginx too.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
# Empty: the media view streams the file itself. Behind nginx, the prefix of its
# `internal` location (e.g. "/protected-media/"): the view answers the visibility
# check with X-Accel-Redirect and no body, nginx sends the bytes
# (deploy/nginx/signalement.conf).
MEDIA_ACCEL_REDIRECT_PREFIX = env_str("MEDIA_ACCEL_REDIRECT_PREFIX", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Moderators' scripts: `Authorization: Token <key>` (manage.py drf_create_token).
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "common.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 20, minimum=1),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- Image uploads --------------------------------------------------------
# Larger uploads are refused with 413; images with more pixels (read from the
# header, before decoding) with 400.
IMAGE_UPLOAD_MAX_BYTES = env_int("IMAGE_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000, minimum=1)

# --- Moderation -----------------------------------------------------------
# Distinct reporters that block an image when no Policy row says otherwise.
REPORT_THRESHOLD = env_int("REPORT_THRESHOLD", 5, minimum=1)
# Days in which a report counts, when no Policy row says otherwise.
REPORT_WINDOW_DAYS = env_int("REPORT_WINDOW_DAYS", 30, minimum=1)
# How often beat runs the sweeper that applies blocks the broker missed.
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 60, minimum=1)
# The anonymous reader's id lives in a signed cookie.
READER_COOKIE_NAME = env_str("READER_COOKIE_NAME", "signalement_reader")
READER_COOKIE_MAX_AGE = env_int("READER_COOKIE_MAX_AGE", 365 * 24 * 3600, minimum=60)
READER_COOKIE_SECURE = env_bool("READER_COOKIE_SECURE", HTTPS)
# Reports one reader, and one IP, may attempt per window ("10/minute,100/day";
# N/second|minute|hour|day or N/<k>s); refused attempts count too. Empty: no limit.
REPORT_RATE_LIMITS = parse_rates(env_str("REPORT_RATE_LIMITS", "10/minute,100/day"))
# The limiter's counters: a Redis database apart from the broker's, shared by
# every web process so that a limit holds across all of them.
THROTTLE_REDIS_URL = env_str("THROTTLE_REDIS_URL", "redis://127.0.0.1:6379/1")

# --- Who is a reader, their weight, and their privacy ---------------------
# TRUSTED_PROXY_COUNT, the proxies in front of the app, is read with HTTPS above.
# IPs are kept only as HMAC-SHA256 under this key. Rotating it makes new
# hashes unlinkable to old ones (same-IP reports and limits start afresh).
IP_HASH_KEY = env_str("IP_HASH_KEY", "")
# Reports' personal data (IP hashes, comment) are erased after this many days.
REPORT_PERSONAL_DATA_DAYS = env_int("REPORT_PERSONAL_DATA_DAYS", 90, minimum=1)
# Reputation: a reader's weight moves with the moderators' verdicts on their
# last REPUTATION_HISTORY decided reports, within [floor, max]; staff start higher.
REPUTATION_HISTORY = env_int("REPUTATION_HISTORY", 100, minimum=1)
REPORT_WEIGHT_FLOOR = env_decimal("REPORT_WEIGHT_FLOOR", "0.25", minimum="0.25")
REPORT_WEIGHT_MAX = env_decimal("REPORT_WEIGHT_MAX", "3", minimum="1")
REPORT_WEIGHT_STAFF = env_decimal("REPORT_WEIGHT_STAFF", "2", minimum="1")
# Brigades: one network's (/24, /48) open reports on one image beyond
# BRIGADE_NETWORK_ALLOWANCE (and never as many as the threshold) are held for a
# moderator instead of counted; beyond max(BRIGADE_RATE_MIN, BRIGADE_RATE_FACTOR x
# the image's usual rate over the day before) reports within BRIGADE_WINDOW_SECONDS,
# each network counting for its allowance at most, the case's automatic block is held.
BRIGADE_WINDOW_SECONDS = env_int("BRIGADE_WINDOW_SECONDS", 600, minimum=1)
BRIGADE_NETWORK_ALLOWANCE = env_int("BRIGADE_NETWORK_ALLOWANCE", 3, minimum=1)
BRIGADE_RATE_MIN = env_int("BRIGADE_RATE_MIN", 20, minimum=1)
BRIGADE_RATE_FACTOR = env_int("BRIGADE_RATE_FACTOR", 10, minimum=1)

# The moderators' workspace: opening a case claims it for MODERATION_CLAIM_SECONDS
# (others skip it meanwhile); a decision can be undone for MODERATION_UNDO_SECONDS.
MODERATION_CLAIM_SECONDS = env_int("MODERATION_CLAIM_SECONDS", 300, minimum=10)
MODERATION_UNDO_SECONDS = env_int("MODERATION_UNDO_SECONDS", 10, minimum=1)

# --- Email to the moderators ----------------------------------------------
# The console backend prints mail in the worker's output; production sets
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the server.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Well under the tasks' soft time limit: a hung mail server fails the send, and
# the task retries it.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Signalement <signalement@localhost>")
EMAIL_SUBJECT_PREFIX = env_str("EMAIL_SUBJECT_PREFIX", "[Signalement] ")
# Addresses mailed besides the active members of the Moderators group.
MODERATION_NOTIFY_EMAILS = env_list("MODERATION_NOTIFY_EMAILS", [])
# Emails link to the admin's case pages under this address.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The daily digest of what waits for review, at this local time (HH:MM, in
# TIME_ZONE); empty turns it off.
MODERATION_DIGEST_TIME = env_str("MODERATION_DIGEST_TIME", "07:00").strip()

# --- Celery ---------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Tasks are idempotent, so a message is acknowledged only once the work is
# done, and a worker that dies mid-task hands the message back to the broker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 50, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis redelivers an unacknowledged message after this many seconds; it
    # must exceed every task's hard time limit or a slow task runs twice.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
    # A report must be answered even when Redis is down: fail fast, and let
    # the sweeper apply the block later.
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# After a failed publish, a process stops trying the broker for this long
# (common/publishing.py): each try against a dead Redis costs seconds.
BROKER_RETRY_AFTER_SECONDS = env_int("BROKER_RETRY_AFTER_SECONDS", 10, minimum=0)
# An upload still pending this long after its processing was last sent or
# started (its message lost, its worker killed) is sent again by beat's sweep
# and `manage.py reconcile`. Above the hard time limit, so that a running
# attempt never counts as stuck; well under the visibility timeout, after which
# the broker itself would redeliver a dead worker's message (a second run of a
# ready image only renders it again).
IMAGE_PROCESSING_GRACE_SECONDS = env_int(
    "IMAGE_PROCESSING_GRACE_SECONDS", 900, minimum=CELERY_TASK_TIME_LIMIT + 1
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_DEFAULT_QUEUE = "moderation"
# Queues and routes: newsroom/settings_celery.py.
CELERY_BEAT_SCHEDULE = beat_schedule(
    sweep_interval_seconds=SWEEP_INTERVAL_SECONDS, digest_time=MODERATION_DIGEST_TIME
)
# Beat reads crontab entries in local time: the digest goes out at 07:00 Paris time.
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Logs -------------------------------------------------------------------
# One JSON object per line (LOG_FORMAT=json, the default outside DEBUG) or plain
# text; no line carries an IP address, a cookie or a secret (newsroom/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING_CONFIG = "newsroom.logs.configure"
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
# The request id: taken from nginx's X-Request-ID when it is a UUID, made up
# otherwise, sent back in the answer and carried into the Celery tasks the
# request enqueues (django-guid).
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=False)],
}

# --- Health ---------------------------------------------------------------------
# /readyz runs its checks at most once per this many seconds in each process, whoever
# asks and however often (newsroom/health.py). 0: a result is not reused once its run has
# ended (calls that arrive during a run still share it).
READYZ_CACHE_SECONDS = env_int("READYZ_CACHE_SECONDS", 2, minimum=0)

# --- Metrics (Prometheus) -----------------------------------------------------
# /metrics answers the addresses in METRICS_ALLOWED_NETWORKS (the client address
# as common.client_address.client_ip reads it, behind TRUSTED_PROXY_COUNT proxies) and, from
# anywhere, a request with `Authorization: Bearer <METRICS_TOKEN>` when it is set.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS: {_network!r} is not an address or a network"
        ) from None
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Several processes (gunicorn workers, Celery's pool) add up their figures in
# files under PROMETHEUS_MULTIPROC_DIR, an environment variable read by
# prometheus-client itself: one directory per machine, on tmpfs, shared by every
# process of the machine. A machine without a web process serves them with
# `manage.py metrics_server` (docs/operations.md, "Metrics").

# --- Staff accounts: failed logins and two-factor authentication --------------
# django-axes counts failed logins (a wrong password, or a wrong code at the staff
# login) per account and per address, independently: LIMIT failures within the
# cool-off lock the account from every address, and the address for every
# account, until COOLOFF_MINUTES have passed without a failure. It records them
# in its tables (admin, "Axes"), the audit trail; the address it stores is a
# keyed pseudonym, never the address (staff/throttling.py).
STAFF_LOGIN_FAILURE_LIMIT = env_int("STAFF_LOGIN_FAILURE_LIMIT", 5, minimum=1)
STAFF_LOGIN_COOLOFF_MINUTES = env_int("STAFF_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
# Beat erases axes' records (failed and successful logins) older than this.
STAFF_LOGIN_RECORDS_DAYS = env_int("STAFF_LOGIN_RECORDS_DAYS", 90, minimum=1)
AXES_FAILURE_LIMIT = STAFF_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=STAFF_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "staff.throttling.login_address"
AXES_LOCKOUT_CALLABLE = "staff.throttling.lockout_response"
# Every failure, kept after a success too (AccessAttempt rows are only counters).
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# axes' own reset on success forgets every failure from the address, those against
# other accounts too: a success would wipe an attacker's count. staff/signals.py
# forgets only the failures of the account that signed in, from its address.
AXES_RESET_ON_SUCCESS = False
# axes' log lines mask the username and the address ("****"); ours names the account.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address"]
# Staff sign in to the admin with their password and a code from their
# authenticator app (TOTP) or one of their recovery codes; a session without the
# code cannot use the admin nor the moderators' API (tokens are unaffected).
# Off by default so that `make run` and the tests need no device.
STAFF_REQUIRE_2FA = env_bool("STAFF_REQUIRE_2FA", False)
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = "Signalement"
# The app's key is shown once, by `manage.py staff_2fa enrol`: not in the admin (no key
# field, no QR code page), even to superusers.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# axes says at INFO what it does on every login and at every start; its warnings
# (each failure, each lockout) stay, username and address masked.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}
