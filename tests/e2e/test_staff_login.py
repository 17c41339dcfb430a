"""A staff member signs in to the admin in a real browser: password and the code of
their authenticator app (STAFF_REQUIRE_2FA), a wrong code refused, a recovery code
good once, and the lockout page after too many failures, on a desktop and on a
390 px wide phone. Each browser context calls from an address of its own."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from staff import services
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests/factories.py's UserFactory
LIMIT = 5
PHONE = {"width": 390, "height": 844}

WRONG_PASSWORD_OR_CODE = (
    "Veuillez compléter correctement les champs « nom d\u2019utilisateur », « mot de passe » "
    "et « code de vérification » d'un compte autorisé. Sachez que le nom d'utilisateur et "
    "le mot de passe peuvent être sensibles à la casse."
)
LOCKED_OUT = (
    "Trop de tentatives de connexion échouées pour ce compte ou depuis cette adresse. "
    "La connexion est bloquée pendant 15 minutes après la dernière tentative."
)


@pytest.fixture(autouse=True)
def staff_settings(settings):
    settings.STAFF_REQUIRE_2FA = True
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    # The hashing is not what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def moderator(transactional_db):
    """Staff, enrolled: (user, enrolment as the command printed it, their app's device).
    A superuser: the transactional database has lost the Moderators group."""
    user = UserFactory(username="modo", is_staff=True, is_superuser=True)
    enrolment = services.staff_two_factor_enrol(user=user)
    return user, enrolment, TOTPDevice.objects.get(user=user)


def app_code(device: TOTPDevice, *, steps: int = 0) -> str:
    """What the staff member's app shows, computed from the device's key."""
    t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
    return f"{hotp(device.bin_key, t + steps, digits=device.digits):0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    valid = {app_code(device, steps=steps) for steps in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def error_note(page: Page):
    return page.locator("#content p.errornote")


def fits_the_screen(page: Page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_a_moderator_signs_in_with_the_apps_code_after_a_wrong_one_is_refused(
    new_reader, moderator, sign_in_to_admin
):
    _, _, device = moderator
    page = new_reader()

    # the login asks for the code
    page.goto("/admin/login/")
    expect(page.locator('label[for="id_otp_token"]')).to_contain_text("Code de vérification")

    # when modo types their password and a wrong code
    answer = sign_in_to_admin(page, username="modo", password=PASSWORD, code=wrong_code(device))

    # then they stay on the login page, told what a wrong password would tell
    assert answer.status == 200
    expect(error_note(page)).to_have_text(WRONG_PASSWORD_OR_CODE)
    expect(page).to_have_url("/admin/login/")

    # when, a moment later (django-otp makes the app wait a second after a wrong code),
    # they type the code their app shows
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(minutes=1))
    answer = sign_in_to_admin(page, username="modo", password=PASSWORD, code=app_code(device))

    # then they are in the admin, and can open the queue
    assert answer.status == 302
    expect(page).to_have_url("/admin/")
    page.goto("/admin/moderation/imagecase/")
    expect(page.locator("#changelist")).to_be_visible()


def test_a_recovery_code_signs_in_once(new_reader, moderator, sign_in_to_admin):
    _, enrolment, _ = moderator
    code = enrolment.recovery_codes[0]

    # when modo, without their phone, signs in with a recovery code
    page = new_reader()
    sign_in_to_admin(page, username="modo", password=PASSWORD, code=code)

    # then they are in, and told how many codes remain
    expect(page).to_have_url("/admin/")
    expect(page.locator("ul.messagelist li.warning")).to_have_text(
        "Vous vous êtes connecté avec un code de secours. Il vous reste 9 codes de secours : "
        "demandez-en de nouveaux à un opérateur."
    )

    # and on another browser, the same code is refused
    other = new_reader()
    answer = sign_in_to_admin(other, username="modo", password=PASSWORD, code=code)
    assert answer.status == 200
    expect(error_note(other)).to_have_text(WRONG_PASSWORD_OR_CODE)


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_after_too_many_failures_the_lockout_page_says_how_long_to_wait(
    new_reader, moderator, sign_in_to_admin, artifacts: Path, screen
):
    _, _, device = moderator
    page = new_reader()
    if screen == "phone":
        page.set_viewport_size(PHONE)
        page.goto("/admin/login/")
        # the login with its code field fits a phone, nothing to scroll sideways
        expect(page.locator("#id_otp_token")).to_be_in_viewport()
        assert fits_the_screen(page)

    # when someone fails to sign in as modo until the limit, from several browsers
    statuses = []
    for attempt in range(LIMIT):
        browser_page = page if attempt == LIMIT - 1 else new_reader()
        if screen == "phone":
            browser_page.set_viewport_size(PHONE)
        answer = sign_in_to_admin(
            browser_page, username="modo", password=f"guess {attempt}", code=wrong_code(device)
        )
        statuses.append(answer.status)

    # then the last attempt gets the lockout page: why, for how long, in the admin's look
    assert statuses == [200] * (LIMIT - 1) + [429]
    expect(error_note(page)).to_have_text(LOCKED_OUT)
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.locator("#content-main a")).to_have_text("Retour à la page de connexion")
    assert fits_the_screen(page)
    page.screenshot(path=artifacts / f"staff-lockout-{screen}.png", full_page=True)

    # and even the right password and code, from this browser, get the same page
    answer = sign_in_to_admin(page, username="modo", password=PASSWORD, code=app_code(device))
    assert answer.status == 429
    expect(error_note(page)).to_have_text(LOCKED_OUT)
