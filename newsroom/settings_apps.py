"""What the project is made of: its apps, its middleware (in order), its templates and
how staff authenticate. No environment variable changes these: newsroom/settings.py,
which reads them all, imports this."""

INSTALLED_APPS = [
    # django.contrib.admin, whose admin.site is the staff site: the login asks for the
    # second factor when STAFF_REQUIRE_2FA is on (staff/sites.py).
    "staff.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_guid",
    # Staff accounts: two-factor authentication (TOTP and recovery codes) and the
    # failed-login lockout (docs/readers-and-moderators.md).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "articles",
    "moderation",
    "staff",
    # The project shell, as an app only for its project-wide management command
    # (metrics_server): no models, templates or tasks.
    "newsroom",
]

MIDDLEWARE = [
    # Outermost: every answer, a redirect or an error too, carries the request id
    # (X-Request-ID) and gets its access-log line.
    "django_guid.middleware.guid_middleware",
    "newsroom.logs.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Input no view can take (a NUL in the address, an admin popup's empty _to_field) is
    # a 400 before any view runs, on the page in the reader's language.
    "newsroom.middleware.RequestInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a login attempt refused by django-axes into the 429 lockout page.
    "axes.middleware.AxesMiddleware",
    # Innermost, so it sees the views' exceptions first: a dropped database is a 503.
    "newsroom.middleware.DatabaseUnavailableMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.i18n",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# django-axes first: it refuses a locked-out account or address before any password
# is checked (it needs the request: authenticate(request, ...)).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
