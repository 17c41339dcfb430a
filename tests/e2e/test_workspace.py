"""The moderators' workspace in a real browser: a moderator works 30 cases by keyboard
alone, undo puts a case back exactly, two moderators never collide, the live counter, the
blurred image revealed, the plain forms without JavaScript, Arabic right to left, and
screenshots at three sizes with no horizontal scroll."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import translation
from playwright.sync_api import Page, expect

from articles.models import Image
from moderation import services
from moderation.admin import workspace
from moderation.models import (
    MODERATORS_GROUP,
    ActionKind,
    BlockedHash,
    ImageCase,
    ModerationAction,
    Report,
)
from tests.factories import ImageFactory, UserFactory, group_from_migration
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORKSPACE = "/admin/moderation/workspace/"
PASSWORD = "correct horse battery staple"  # tests/factories.py's UserFactory
SIZES = {
    "1366x768": {"width": 1366, "height": 768},
    "1920x1080": {"width": 1920, "height": 1080},
    "390x844": {"width": 390, "height": 844},
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def moderators_group(transactional_db) -> Group:
    # The transactional database's flush removes the group migration 0004 made.
    return group_from_migration(MODERATORS_GROUP, "moderation.migrations.0004_moderators_group")


@pytest.fixture
def make_moderator(moderators_group):
    def make(username: str, first_name: str = "", last_name: str = ""):
        user = UserFactory(
            username=username, first_name=first_name, last_name=last_name, is_staff=True
        )
        user.groups.add(moderators_group)
        return user

    return make


def flagged_case(*, reports: int = 3, reason: str = "spam", image=None) -> ImageCase:
    image = image or ImageFactory(original__width=320, original__height=240)
    for n in range(reports):
        services.report_create(
            image_id=image.pk,
            reporter_key=f"reader:{image.pk:06d}{n:04d}",
            reason=reason,
            comment=f"Commentaire du lecteur {n}",
            network_hash=f"network-{n % 2}",
        )
    return ImageCase.objects.get(image=image)


def in_french(text: str) -> str:
    """A text as the admin shows it: in French, the site's language."""
    with translation.override("fr"):
        return translation.gettext(text)


def sign_in(page: Page, sign_in_to_admin, user) -> None:
    sign_in_to_admin(page, username=user.username, password=PASSWORD)
    # moderators land on the workspace
    expect(page).to_have_url(re.compile(re.escape(WORKSPACE) + r"$"))


def current_case_id(page: Page) -> int:
    return int(page.locator("li.ws-card.ws-current").get_attribute("data-case-id"))


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")


def press(page: Page, key: str) -> None:
    """A key that submits a decision: the page moves on to the next case."""
    with page.expect_navigation():
        page.keyboard.press(key)


# --- working the queue -----------------------------------------------------------------


def test_a_moderator_works_thirty_cases_by_keyboard_alone(
    new_reader, make_moderator, sign_in_to_admin
):
    # given thirty cases awaiting review
    cases = [flagged_case(reports=3) for _ in range(30)]
    moderator = make_moderator("ada", "Ada", "Lovelace")
    page = new_reader()
    sign_in(page, sign_in_to_admin, moderator)

    # when the moderator confirms or dismisses each in turn, by keyboard alone
    keypresses = 0
    worked = []
    for n in range(30):
        worked.append(current_case_id(page))
        press(page, "c" if n % 3 == 0 else "d")
        keypresses += 1

    # then thirty keypresses took thirty decisions, one on each case, by this moderator
    assert keypresses == 30
    assert sorted(worked) == sorted(case.pk for case in cases)
    decided = ModerationAction.objects.filter(
        actor=moderator, action__in=[ActionKind.CONFIRM, ActionKind.DISMISS]
    )
    assert decided.count() == 30
    image_of = {case.pk: case.image_id for case in cases}
    assert sorted(decided.values_list("image_id", flat=True)) == sorted(
        image_of[pk] for pk in worked
    )
    assert decided.filter(action=ActionKind.CONFIRM).count() == 10
    expect(page.locator("p.ws-empty")).to_be_visible()


def snapshot(case: ImageCase) -> dict:
    """What a decision may change: the case row, its reports, bans and the image."""
    return {
        "case": ImageCase.objects.filter(pk=case.pk).values().get(),
        "reports": dict(Report.objects.filter(image_id=case.image_id).values_list("pk", "outcome")),
        "bans": sorted(
            BlockedHash.objects.filter(source_image_id=case.image_id).values_list("pk", "lifted_at")
        ),
        "visibility": Image.objects.values_list("visibility", flat=True).get(pk=case.image_id),
    }


def test_undo_puts_a_restored_case_back_exactly(new_reader, make_moderator, sign_in_to_admin):
    # given a case the machine blocked, with its bans
    case = flagged_case(reports=5, reason="violence")
    assert services.case_auto_block(image_id=case.image_id)
    before = snapshot(case)
    assert before["visibility"] == Image.Visibility.BLOCKED
    moderator = make_moderator("ada")
    page = new_reader()
    sign_in(page, sign_in_to_admin, moderator)

    # when the moderator restores it, then undoes the restore within the ten seconds
    press(page, "r")
    assert snapshot(case) != before
    assert snapshot(case)["visibility"] == Image.Visibility.VISIBLE
    expect(page.locator("form#ws-undo")).to_be_visible()
    press(page, "u")

    # then everything is as before, and the undo has its own audit row
    assert snapshot(case) == before
    assert ModerationAction.objects.filter(action=ActionKind.UNDO, actor=moderator).count() == 1
    expect(page.locator("ul.messagelist")).to_contain_text(in_french("Decision undone."))


def test_the_undo_button_goes_when_its_time_is_up(
    new_reader, make_moderator, sign_in_to_admin, settings
):
    settings.MODERATION_UNDO_SECONDS = 2
    flagged_case(reports=3)
    page = new_reader()
    sign_in(page, sign_in_to_admin, make_moderator("ada"))

    press(page, "d")

    expect(page.locator("form#ws-undo")).to_be_visible()
    expect(page.locator("form#ws-undo")).to_be_hidden(timeout=4_000)


def test_two_moderators_never_work_the_same_case(new_reader, make_moderator, sign_in_to_admin):
    # given two cases and two moderators in their own browsers
    first, second = flagged_case(reports=4), flagged_case(reports=3)
    ada = make_moderator("ada", "Ada", "Lovelace")
    bea = make_moderator("bea", "Béa", "Martin")
    ada_page, bea_page = new_reader(), new_reader()

    # when Ada opens the workspace: her current case is claimed for her
    sign_in(ada_page, sign_in_to_admin, ada)
    assert current_case_id(ada_page) == first.pk
    wait_until(lambda: ImageCase.objects.filter(pk=first.pk, claim__moderator=ada).exists())

    # then Béa sees who examines it, and her workspace starts on the other case
    sign_in(bea_page, sign_in_to_admin, bea)
    claimed = bea_page.locator(f"#case-{first.pk}")
    expect(claimed.locator(".ws-claim")).to_have_text(
        in_french("%(name)s is examining this case") % {"name": "Ada Lovelace"}
    )
    assert current_case_id(bea_page) == second.pk
    # j and k skip the case Ada examines
    bea_page.keyboard.press("k")
    assert current_case_id(bea_page) == second.pk

    # when Ada dismisses it, and Béa then decides it from her page, seen before that
    press(ada_page, "d")
    with bea_page.expect_navigation():
        claimed.locator("button.ws-decide-confirm").click()

    # then Béa's decision is refused, saying who did what
    message = bea_page.locator("ul.messagelist li.error")
    expect(message).to_contain_text("Ada Lovelace")
    expect(message).to_contain_text(in_french("reports dismissed"))
    assert not ModerationAction.objects.filter(actor=bea).exists()
    assert ImageCase.objects.get(pk=first.pk).state == "flagged"


def test_leaving_the_workspace_lets_go_of_the_claim(new_reader, make_moderator, sign_in_to_admin):
    # given Ada on the workspace, her current case claimed for her
    case = flagged_case(reports=4)
    ada = make_moderator("ada", "Ada", "Lovelace")
    page = new_reader()
    sign_in(page, sign_in_to_admin, ada)
    wait_until(lambda: ImageCase.objects.filter(pk=case.pk, claim__moderator=ada).exists())

    # when she goes to another page of the admin
    page.goto(f"{page.url.split(WORKSPACE)[0]}/admin/?index=1")

    # then the case is free for the others at once, not after the claim runs out
    wait_until(lambda: not ImageCase.objects.filter(pk=case.pk, claim__isnull=False).exists())


def test_the_live_counter_shows_new_cases(
    new_reader, make_moderator, sign_in_to_admin, monkeypatch
):
    monkeypatch.setattr(workspace, "POLL_SECONDS", 1)
    flagged_case(reports=3)
    page = new_reader()
    sign_in(page, sign_in_to_admin, make_moderator("ada"))
    live = page.locator("#ws-live")
    expect(live).to_be_hidden()

    # when a new case arrives after the page was shown
    flagged_case(reports=1)

    # then the page says so within a poll, with a link that reloads it
    expect(live).to_be_visible(timeout=5_000)
    expect(live).to_contain_text("1")
    with page.expect_navigation():
        live.locator("a").click()
    expect(page.locator("li.ws-card")).to_have_count(1)  # the new one awaits no review


def test_a_blurred_image_is_revealed_by_x_or_by_its_button(
    new_reader, make_moderator, sign_in_to_admin
):
    # given a case reported for nudity, and one for spam
    sensitive = flagged_case(reports=4, reason="nudity")
    plain = flagged_case(reports=3, reason="spam")
    page = new_reader()
    sign_in(page, sign_in_to_admin, make_moderator("ada"))

    def filter_of(case) -> str:
        return page.locator(f"#case-{case.pk} img.ws-image").evaluate(
            "img => getComputedStyle(img).filter"
        )

    # then the sensitive image is blurred, the other not
    assert "blur" in filter_of(sensitive)
    assert filter_of(plain) == "none"
    # x reveals the current case's image, and x again hides it
    assert current_case_id(page) == sensitive.pk
    page.keyboard.press("x")
    assert filter_of(sensitive) == "none"
    page.keyboard.press("x")
    assert "blur" in filter_of(sensitive)
    # and so does its button
    page.locator(f"#case-{sensitive.pk} label.ws-reveal-label").click()
    assert filter_of(sensitive) == "none"


def test_a_note_by_keyboard_and_the_help_overlay(new_reader, make_moderator, sign_in_to_admin):
    case = flagged_case(reports=3)
    moderator = make_moderator("ada")
    page = new_reader()
    sign_in(page, sign_in_to_admin, moderator)

    # ? opens the help, Escape closes it
    page.keyboard.press("?")
    expect(page.locator("dialog#ws-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog#ws-help")).to_be_hidden()
    # n opens the note, Escape cancels it; keys typed in it decide nothing
    page.keyboard.press("n")
    note = page.locator(f"#case-{case.pk} input.ws-note-input")
    expect(note).to_be_focused()
    page.keyboard.type("cdr")
    page.keyboard.press("Escape")
    expect(note).to_be_hidden()
    assert not ModerationAction.objects.filter(actor=moderator).exists()
    # n, text and Enter send it
    page.keyboard.press("n")
    page.keyboard.type("Vu avec la rédaction")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert ModerationAction.objects.get(actor=moderator, action=ActionKind.NOTE).reason == (
        "Vu avec la rédaction"
    )


def test_without_javascript_a_plain_form_decides_and_goes_on(
    new_reader, make_moderator, sign_in_to_admin
):
    first, second = flagged_case(reports=4), flagged_case(reports=3)
    moderator = make_moderator("ada")
    page = new_reader(javascript=False)
    sign_in(page, sign_in_to_admin, moderator)

    with page.expect_navigation():
        page.locator(f"#case-{first.pk} button.ws-decide-dismiss").click()

    assert ModerationAction.objects.get(actor=moderator).action == ActionKind.DISMISS
    assert current_case_id(page) == second.pk
    expect(page.locator(f"#case-{first.pk}")).to_have_count(0)
    expect(page.locator("form#ws-undo button")).to_be_visible()
    # opening the next case (the redirect's ?case=) claimed it, server-side
    assert ImageCase.objects.filter(pk=second.pk, claim__moderator=moderator).exists()


def test_arabic_reads_right_to_left_without_horizontal_scroll(
    new_reader, make_moderator, sign_in_to_admin, artifacts: Path
):
    for reports in (5, 4, 3):
        flagged_case(reports=reports, reason="violence")
    page = new_reader(locale="ar")
    sign_in(page, sign_in_to_admin, make_moderator("ada"))

    assert page.locator("html").get_attribute("dir") == "rtl"
    for name, size in SIZES.items():
        page.set_viewport_size(size)
        assert no_horizontal_scroll(page), name
    page.set_viewport_size(SIZES["1366x768"])
    page.screenshot(path=artifacts / "workspace-ar-1366x768.png")


def test_screenshots_fit_every_screen_and_four_cards_show_at_1366(
    new_reader, make_moderator, sign_in_to_admin, artifacts: Path
):
    # given a busy queue: sensitive images, held reports, another's claim, a hash match
    for n in range(8):
        flagged_case(reports=3 + n % 3, reason=["violence", "spam", "nudity"][n % 3])
    page = new_reader()
    sign_in(page, sign_in_to_admin, make_moderator("ada"))
    page.reload()  # with the claim the script made: all cards alike

    for name, size in SIZES.items():
        page.set_viewport_size(size)
        page.evaluate("() => window.scrollTo(0, 0)")
        assert no_horizontal_scroll(page), name
        page.screenshot(path=artifacts / f"workspace-{name}.png")
        if name == "1366x768":
            tops = page.locator("li.ws-card").evaluate_all(
                "cards => cards.map(card => card.getBoundingClientRect().top)"
            )
            assert sum(top < 768 for top in tops) >= 4, tops
