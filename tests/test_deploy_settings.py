"""Production settings from the environment: `check --deploy` passes, HTTPS is enforced,
and every page carries a Content-Security-Policy that allows no inline script.

The suite itself runs with DEBUG=0 and HTTPS=0 (plain HTTP). The settings production
would get are read in a subprocess, from a production environment, and applied here.
The tests that make requests also run on SQLite (`portable`), `make run`'s database.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from moderation import services
from tests.factories import ArticleFactory, ImageFactory, ModeratorFactory

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"  # tests/factories.py's UserFactory

# What production sets, and nothing the test run's environment says (HTTPS=0...).
# The servers are the test run's: `check` reads them without connecting.
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "news.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://news.example.org",
    "TRUSTED_PROXY_COUNT": "1",
}
COPIED = ("PATH", "DATABASE_URL", "REDIS_URL", "THROTTLE_REDIS_URL", "MEDIA_ROOT", "STATIC_ROOT")

# What the HTTPS switch turns on.
HTTPS_ONLY_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "READER_COOKIE_SECURE",
)
# Settings that depend on HTTPS and on the proxy, read from a production environment.
SECURITY_SETTINGS = (
    *HTTPS_ONLY_SETTINGS,
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "TRUSTED_PROXY_COUNT",
)


def production_env(**changes: str | None) -> dict[str, str]:
    """A production environment with a fresh 50+ character key; None removes a variable."""
    env = {name: os.environ[name] for name in COPIED if name in os.environ}
    env |= {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(64)}
    env |= changes
    return {name: value for name, value in env.items() if value is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_under(env: dict[str, str]) -> dict:
    """The SECURITY_SETTINGS that newsroom/settings.py computes from `env`."""
    script = (
        "import json, sys\n"
        "from newsroom import settings\n"
        "print(json.dumps({name: getattr(settings, name) for name in sys.argv[1:]}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *SECURITY_SETTINGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values = json.loads(result.stdout.splitlines()[-1])
    if values["SECURE_PROXY_SSL_HEADER"] is not None:
        values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


# --- check --deploy -----------------------------------------------------------------


def test_production_settings_pass_the_deploy_check_with_no_warning():
    # given a production environment: DEBUG off, a real key, the hosts, behind nginx
    env = production_env()

    # when Django's deployment checks run, warnings counting as failures
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    # then nothing is reported
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert not re.search(r"\.W\d{3}", result.stdout + result.stderr)


def test_the_shipped_env_example_passes_the_deploy_check_once_its_secrets_are_filled():
    # given deploy/env.example, its change-me values replaced as the README says
    example = {}
    for line in (ROOT / "deploy/env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value.replace("change-me", secrets.token_urlsafe(48))
    # (the servers stay the test run's: check reads the URLs without connecting)
    servers = {name: os.environ[name] for name in COPIED if name in os.environ}
    env = production_env(**{**example, **servers})

    # when Django's deployment checks run, warnings counting as failures
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    # then nothing is reported: not even about preload, which the example declines
    assert example["HSTS_PRELOAD"] == "0"
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)" in result.stdout


def test_without_a_secret_key_production_refuses_to_start():
    # given a production environment without SECRET_KEY
    env = production_env(SECRET_KEY=None)

    # when anything loads the settings
    result = manage("check", "--deploy", env=env)

    # then it fails, naming the missing setting
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_in_production_https_hsts_and_secure_cookies_are_on_and_the_probes_exempt():
    # when the settings are read from a production environment
    values = settings_under(production_env())

    # then HTTPS is required, HSTS covers subdomains, every cookie is Secure, the
    # proxy's X-Forwarded-Proto is trusted and the probes answer over plain HTTP
    assert values == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_REDIRECT_EXEMPT": [r"^healthz$", r"^readyz$", r"^metrics$"],
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "READER_COOKIE_SECURE": True,
        "TRUSTED_PROXY_COUNT": 1,
    }


def test_without_a_trusted_proxy_x_forwarded_proto_is_not_read():
    # when production runs with no proxy in front
    values = settings_under(production_env(TRUSTED_PROXY_COUNT="0"))

    # then a client's X-Forwarded-Proto cannot make plain HTTP pass for HTTPS
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["SECURE_SSL_REDIRECT"] is True


def test_https_off_turns_off_the_redirect_hsts_and_secure_cookies():
    # when production is told it is served over plain HTTP (a local run, the tests)
    values = settings_under(production_env(HTTPS="0"))

    # then nothing requires HTTPS
    assert not any(values[name] for name in HTTPS_ONLY_SETTINGS)


# --- HTTPS behaviour ---------------------------------------------------------------


@pytest.fixture(scope="module")
def production_security() -> dict:
    return settings_under(production_env())


@pytest.fixture
def https_site(settings, production_security) -> Client:
    """A client of the site with production's HTTPS settings (the middleware reads
    them when the client's first request loads it)."""
    for name, value in production_security.items():
        setattr(settings, name, value)
    return Client()


@pytest.fixture
def article(db):
    return ImageFactory(article=ArticleFactory(slug="une-breve")).article


@pytest.mark.portable
@pytest.mark.django_db
def test_plain_http_is_redirected_permanently_to_https(https_site, article):
    # when a reader asks for an article over plain HTTP
    response = https_site.get("/articles/une-breve/?page=2")

    # then they are sent to the same address over HTTPS, and to nothing else
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/articles/une-breve/?page=2"
    assert "Strict-Transport-Security" not in response


@pytest.mark.portable
@pytest.mark.django_db
@pytest.mark.parametrize("probe", ["/healthz", "/readyz", "/metrics"])
def test_the_probes_answer_over_plain_http(https_site, probe):
    # when a load balancer or Prometheus asks on the private network
    response = https_site.get(probe)

    # then it gets its answer, whatever it is, not a redirect
    assert response.status_code != 301
    assert "Location" not in response


@pytest.mark.portable
@pytest.mark.django_db
def test_an_https_answer_carries_hsts_and_a_secure_csrf_cookie(https_site, article):
    # when a reader reads an article over HTTPS
    response = https_site.get("/articles/une-breve/", secure=True)

    # then the browser is told to use HTTPS only, subdomains included
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    # and the CSRF cookie of the page's forms travels over HTTPS only, out of scripts' reach
    cookie = response.cookies["csrftoken"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True


@pytest.mark.portable
@pytest.mark.django_db
def test_behind_the_proxy_x_forwarded_proto_https_counts_as_https(https_site, article):
    # when nginx forwards a reader's HTTPS request over plain HTTP, saying so
    response = https_site.get("/articles/une-breve/", headers={"X-Forwarded-Proto": "https"})

    # then it is served, not redirected, and with HSTS
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


@pytest.mark.portable
@pytest.mark.django_db
def test_without_a_trusted_proxy_a_forged_x_forwarded_proto_is_redirected(
    settings, https_site, article
):
    # given no proxy in front
    settings.SECURE_PROXY_SSL_HEADER = None

    # when a client claims HTTPS over plain HTTP
    response = https_site.get("/articles/une-breve/", headers={"X-Forwarded-Proto": "https"})

    # then the claim is ignored
    assert response.status_code == 301


@pytest.mark.portable
@pytest.mark.django_db
def test_the_session_cookie_is_secure(https_site):
    # given a moderator
    moderator = ModeratorFactory()

    # when they sign in to the admin over HTTPS
    response = https_site.post(
        "/admin/login/?next=/admin/",
        {"username": moderator.username, "password": PASSWORD},
        secure=True,
    )

    # then their session cookie travels over HTTPS only, out of scripts' reach
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert (cookie["secure"], cookie["httponly"]) == (True, True)


@pytest.mark.portable
@pytest.mark.django_db
def test_the_reader_cookie_is_secure(https_site, settings):
    # given an image
    image = ImageFactory()

    # when an anonymous reader reports it over HTTPS
    response = https_site.post(
        f"/api/images/{image.pk}/reports/",
        {"reason": "spam"},
        content_type="application/json",
        secure=True,
    )

    # then the cookie that remembers them travels over HTTPS only
    assert response.status_code == 201
    cookie = response.cookies[settings.READER_COOKIE_NAME]
    assert (cookie["secure"], cookie["httponly"]) == (True, True)


# --- Content-Security-Policy ---------------------------------------------------------


@pytest.fixture
def pages(article) -> dict[str, str]:
    """The site's kinds of HTML page, by name."""
    image = article.images.get()
    # The admin's case page needs a case: one report makes it.
    services.report_create(image_id=image.pk, reporter_key=f"reader:{'a' * 32}", reason="spam")
    return {
        "home": "/",
        "article": f"/articles/{article.slug}/",
        "report form": f"/images/{image.pk}/report/",
        "API docs": "/api/docs/",
        "admin login": "/admin/login/",
        # Moderators' home is the workspace; the index is one link away.
        "admin index": "/admin/?index=1",
        "admin workspace": "/admin/moderation/workspace/",
        "admin queue": "/admin/moderation/imagecase/",
        "admin case": f"/admin/moderation/imagecase/{image.case.pk}/change/",
        "not found": "/articles/no-such-article/",
    }


@pytest.mark.portable
@pytest.mark.django_db
@pytest.mark.parametrize(
    "page",
    [
        "home",
        "article",
        "report form",
        "API docs",
        "admin login",
        "admin index",
        "admin workspace",
        "admin queue",
        "admin case",
        "not found",
    ],
)
def test_every_page_forbids_inline_scripts_and_styles(page, pages, client):
    # given a reader, or a moderator for the admin's inner pages
    if page.startswith("admin") and page != "admin login":
        client.force_login(ModeratorFactory())

    # when the page is read
    response = client.get(pages[page])

    # then it is HTML under a policy that allows the site's own files only
    assert response.status_code == (404 if page == "not found" else 200)
    assert response["Content-Type"].startswith("text/html")
    directives = csp_directives(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert not any("unsafe" in source for sources in directives.values() for source in sources)


@pytest.mark.portable
@pytest.mark.django_db
def test_the_api_docs_load_their_init_script_from_the_site(client):
    # when the Swagger UI page is read
    page = client.get("/api/docs/").content.decode()

    # then its init script is a file of the site, served as JavaScript
    assert "<script>" not in page and "<style>" not in page
    assert '<script src="/api/docs/?script="></script>' in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
