"""Browser tests: Debian's Chromium (/usr/bin/chromium, see scripts/ensure-chromium)
driven by Playwright's sync API against pytest-django's live server.

`playwright install` is never used: the browser comes from the distribution.
Every page comes from the live server on 127.0.0.1; any other request is aborted
and fails the test (no third-party scripts, fonts or CDNs).
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from tests.factories import ArticleFactory, ImageFactory, SourceFactory
from tests.readers import reader_address

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 900}
# Expectations fail fast: the live server answers in milliseconds.
EXPECT_TIMEOUT_MS = 5_000

# pytest-django's live server listens on "localhost" unless told otherwise; the
# browser loads pages from 127.0.0.1 only. Harmless for the other live_server
# users (they build URLs from live_server.url).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # Playwright's sync API keeps an asyncio event loop running in this thread
    # from start() to stop() (it switches greenlets inside it). Django's ORM sees
    # that running loop and raises SynchronousOnlyOperation, although the tests
    # and their fixtures (factories, ORM asserts, the transactional flush) are
    # plain synchronous code that never shares a connection with a coroutine.
    # So allow it, but only while Playwright runs (this package's tests), and
    # restore the variable afterwards so the rest of the suite keeps the check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium (make test does)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go: test-artifacts/ at the repository root (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def cookies_over_http(settings) -> None:
    # The live server speaks plain HTTP; a Secure reader cookie would never come
    # back, and every report would be a new reader.
    settings.READER_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_SECURE = False


@pytest.fixture(autouse=True)
def readers_behind_a_proxy(settings) -> None:
    # Every browser here calls from 127.0.0.1, and anonymous readers on one address
    # are one person: each context says its own address, as a proxy would.
    settings.TRUSTED_PROXY_COUNT = 1


@dataclass
class Watch:
    """What a browser context did that a test should fail on."""

    origin: str
    foreign_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_static: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)


@pytest.fixture
def new_reader(browser: Browser, live_server, transactional_db) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context: one reader with their own cookie jar.

    `new_reader(javascript=False)` for a reader without JavaScript. The context is
    French (Accept-Language fr-FR), desktop-sized, with base_url the live server,
    and calls from an address of its own (X-Forwarded-For, tests/readers.py).
    At the end, fails on any request that left the live server, any uncaught
    JavaScript error, any static file that did not load and anything the
    Content-Security-Policy refused (an inline script, style or handler).
    """
    origin = live_server.url
    host = urlsplit(origin).netloc
    contexts: list[tuple[BrowserContext, Watch]] = []

    def open_page(*, javascript: bool = True, locale: str = "fr-FR") -> Page:
        context = browser.new_context(
            base_url=origin,
            java_script_enabled=javascript,
            locale=locale,
            viewport=VIEWPORT,
            service_workers="block",
            extra_http_headers={"X-Forwarded-For": reader_address(len(contexts))},
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        context.set_default_navigation_timeout(EXPECT_TIMEOUT_MS * 2)
        watch = Watch(origin=origin)

        def only_the_live_server(route):
            url = route.request.url
            if urlsplit(url).netloc == host or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                watch.foreign_requests.append(url)
                route.abort()

        context.route("**/*", only_the_live_server)
        page = context.new_page()
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        page.on(
            "response",
            lambda response: (
                watch.failed_static.append(f"{response.status} {response.url}")
                if response.status >= 400 and urlsplit(response.url).path.startswith("/static/")
                else None
            ),
        )
        # Chromium reports what the policy refused on the console, as an error
        # ("Executing inline script violates the following Content Security Policy
        # directive 'script-src 'self''… The action has been blocked.").
        page.on(
            "console",
            lambda message: (
                watch.csp_violations.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        contexts.append((context, watch))
        return page

    yield open_page

    problems = []
    for context, watch in contexts:
        context.close()
        problems += [f"request outside the live server: {url}" for url in watch.foreign_requests]
        problems += [f"uncaught JavaScript error: {error}" for error in watch.page_errors]
        problems += [f"static file failed: {line}" for line in watch.failed_static]
        problems += [f"refused by the CSP: {text}" for text in watch.csp_violations]
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def reader(new_reader) -> Page:
    """One French reader with JavaScript."""
    return new_reader()


@pytest.fixture
def article_with_images(transactional_db):
    """A French article with two photos large enough to look like one."""
    article = ArticleFactory(
        source=SourceFactory(name="Le Quotidien d'essai", slug="quotidien-essai"),
        title="Inondations : la vallée se prépare à la décrue",
        slug="inondations-vallee-decrue",
        byline="Par Camille Martin",
        body=(
            "Les eaux ont commencé à baisser dans la nuit de lundi à mardi.\n\n"
            "## Les habitants retournent chez eux\n\n"
            "Les services municipaux inspectent les maisons une à une avant le retour."
        ),
        original_url="https://quotidien.example.org/inondations-vallee-decrue",
    )
    images = [
        ImageFactory(
            article=article,
            position=position,
            caption=caption,
            credit="Photo d'essai",
            original__width=800,
            original__height=450,
            original__color=color,
            original__filename=filename,
            width=800,
            height=450,
        )
        for position, (caption, color, filename) in enumerate(
            [
                ("La rivière en crue, vue du pont", "steelblue", "riviere-en-crue.jpg"),
                ("Des bénévoles déblaient une rue", "darkolivegreen", "benevoles-rue.jpg"),
            ]
        )
    ]
    return article, images


@pytest.fixture
def sign_in_to_admin() -> Callable[..., Response | None]:
    """`sign_in_to_admin(page, username=..., password=..., code=None)`: the admin's login
    page, filled in (with the verification code when given, for STAFF_REQUIRE_2FA) and
    sent as a person would; the answer to the form. The page is left where the site sent
    it: the admin on success, the login page with its message, or the lockout page."""

    def sign_in(page: Page, *, username: str, password: str, code: str | None = None):
        page.goto("/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        if code is not None:
            page.fill("#id_otp_token", code)
        with (
            page.expect_navigation(),
            page.expect_response(
                lambda r: r.url.endswith("/admin/login/") and r.request.method == "POST"
            ) as answer,
        ):
            page.click('#login-form input[type="submit"]')
        return answer.value

    return sign_in
