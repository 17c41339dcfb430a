"""The classic queue (the ImageCase changelist) in a real browser: it fits a 1366 px
screen with no horizontal scroll, the page and the table alike, titles clamped to two
lines and reasons whole; on a 390 px phone the page does not scroll sideways either.
Screenshots in test-artifacts/, and the same in Arabic, right to left."""

import pytest
from playwright.sync_api import Page

from moderation import services
from moderation.models import ImageCase
from tests.factories import ArticleFactory, ImageFactory, SourceFactory, UserFactory
from tests.readers import reports_by_new_readers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests/factories.py's UserFactory
QUEUE = "/admin/moderation/imagecase/"
SCREENS = {"1366x768": (1366, 768), "390x844": (390, 844)}
LONG_TITLE = (
    "Intempéries : après trois jours de pluies diluviennes, les habitants de la vallée "
    "racontent la montée des eaux, les évacuations de nuit et l'attente des secours"
)


@pytest.fixture
def queue(transactional_db):
    """Twelve cases with long titles and several reasons, four of them blocked."""
    source = SourceFactory(name="Le Quotidien régional du Sud-Ouest")
    reasons = ("violence", "nudity", "hate", "spam", "illegal")
    for n in range(12):
        image = ImageFactory(
            article=ArticleFactory(title=f"{LONG_TITLE} ({n})", source=source),
            original__width=160,
            original__height=90,
        )
        for reason in reasons[: 5 if n % 3 == 0 else 3]:
            reports_by_new_readers(image, 1, reason=reason)
        if n % 3 == 0:
            services.case_auto_block(image_id=image.pk)


@pytest.fixture
def signed_in_page(new_reader, sign_in_to_admin, queue):
    user = UserFactory(username="modo", is_staff=True, is_superuser=True)

    def open_queue(*, locale: str = "fr-FR") -> Page:
        page = new_reader(locale=locale)
        sign_in_to_admin(page, username=user.username, password=PASSWORD)
        return page

    return open_queue


def horizontal_overflow(page: Page, selector: str) -> int:
    """How many pixels the element is wider than it shows (0: no horizontal scroll)."""
    return page.eval_on_selector(selector, "e => e.scrollWidth - e.clientWidth")


@pytest.mark.parametrize("locale", ["fr-FR", "ar"])
@pytest.mark.parametrize("screen", SCREENS)
def test_the_queue_fits_the_screen_without_horizontal_scroll(
    signed_in_page, artifacts, screen, locale
):
    # given a moderator on a screen of that size
    page = signed_in_page(locale=locale)
    width, height = SCREENS[screen]
    page.set_viewport_size({"width": width, "height": height})

    # when they open the queue
    page.goto(QUEUE)
    page.wait_for_selector("#result_list")
    page.screenshot(path=str(artifacts / f"admin-queue-{locale}-{screen}.png"))

    # then neither the page nor the table scrolls sideways
    assert horizontal_overflow(page, "html") <= 0
    assert horizontal_overflow(page, "#changelist .results") <= 0
    # every title shows two lines at most, and every reason whole on one line
    heights = page.eval_on_selector_all(
        "#result_list .case-title",
        "es => es.map(e => e.getBoundingClientRect().height / "
        "parseFloat(getComputedStyle(e).lineHeight))",
    )
    assert heights and max(heights) <= 2.2, heights
    reasons = page.eval_on_selector_all(
        "#result_list .case-reason",
        "es => es.map(e => e.scrollWidth <= e.getBoundingClientRect().width + 1)",
    )
    assert reasons and all(reasons)
    # the score against its threshold
    if screen == "1366x768":
        scores = page.eval_on_selector_all(
            "#result_list td.field-score_and_readers", "es => es.map(e => e.innerText)"
        )
        assert {score.split()[0:3] == ["5", "/", "5"] for score in scores} == {True, False}
        assert any(score.startswith("3 / 5") for score in scores)


@pytest.mark.parametrize("locale", ["fr-FR", "ar"])
def test_the_case_page_audit_log_and_a_confirmation_fit_1366_px(signed_in_page, artifacts, locale):
    # given a moderator on a 1366 px screen
    page = signed_in_page(locale=locale)
    page.set_viewport_size({"width": 1366, "height": 768})
    case = ImageCase.objects.filter(state="auto_blocked").order_by("pk").first()

    # when they open a case, the audit log, and ask to restore two cases
    pages = {
        "case": f"{QUEUE}{case.pk}/change/",
        "audit-log": "/admin/moderation/moderationaction/",
    }
    for name, path in pages.items():
        page.goto(path)
        page.screenshot(path=str(artifacts / f"admin-{name}-{locale}-1366x768.png"), full_page=True)
        # then no page scrolls sideways
        assert horizontal_overflow(page, "html") <= 0, name
    page.goto(QUEUE)
    page.locator("#result_list input.action-select").nth(0).check()
    page.locator("#result_list input.action-select").nth(4).check()
    page.select_option("select[name=action]", "restore")
    page.locator("#changelist-form button[name=index]").click()
    page.wait_for_selector("#case-action-confirm-form")
    page.screenshot(path=str(artifacts / f"admin-confirmation-{locale}-1366x768.png"))
    assert horizontal_overflow(page, "html") <= 0
    # one of the two will be refused (a flagged case cannot be restored), and said so
    assert page.locator("tr.case-confirmation-refused").count() == 1
    assert page.locator("tr.case-confirmation-applied").count() == 1
    # the audit log's details are lines, never JSON
    page.goto("/admin/moderation/moderationaction/")
    details = page.eval_on_selector_all("td.field-detail_lines", "es => es.map(e => e.innerText)")
    assert details and not any("{" in text for text in details)
