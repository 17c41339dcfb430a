"""Staff accounts (staff/): failed admin logins locked out per account and per address
(django-axes), two-factor authentication (django-otp, STAFF_REQUIRE_2FA), and
`manage.py staff_2fa`. Written as an attacker tries them: many addresses against one
account, many accounts from one address, rotated and unreadable addresses, guessed
codes, a recovery code spent twice, an old session without the code."""

import json
import logging
import re
from base64 import b32decode
from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from newsroom.logs import JsonFormatter
from staff import services
from staff.tasks import staff_login_records_purge
from tests.factories import ModeratorFactory, UserFactory
from tests.html import parse
from tests.readers import reader_address
from tests.test_deploy import env_example
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py's UserFactory
LOGIN = "/admin/login/"
LIMIT = 5
COOLOFF = timedelta(minutes=15)
OFFICE = "203.0.113.10"

# Written out here, not read from the catalogs: a broken catalog fails.
LOCKED_OUT = {
    "fr": (
        "Trop de tentatives de connexion échouées pour ce compte ou depuis cette adresse. "
        "La connexion est bloquée pendant 15 minutes après la dernière tentative."
    ),
    "en": (
        "Too many failed sign-ins for this account or from this address. Sign-in is locked "
        "for 15 minutes after the last attempt."
    ),
    "es": (
        "Demasiados intentos de inicio de sesión fallidos para esta cuenta o desde esta "
        "dirección. El inicio de sesión queda bloqueado durante 15 minutos después del "
        "último intento."
    ),
    "ar": (
        "محاولات دخول فاشلة كثيرة جداً لهذا الحساب أو من هذا العنوان. الدخول مقفل لمدة 15 "
        "دقيقة بعد آخر محاولة."
    ),
}
WRONG_PASSWORD_OR_CODE = (
    "Veuillez compléter correctement les champs « nom d\u2019utilisateur », « mot de passe » et "
    "« code de vérification » d'un compte autorisé. Sachez que le nom d'utilisateur et le "
    "mot de passe peuvent être sensibles à la casse."
)
ASK_AN_OPERATOR = (
    "Les comptes de l'équipe doivent utiliser l'authentification à deux facteurs, et ce "
    "compte n'a pas encore d'application d'authentification. Demandez à un opérateur de "
    "vous inscrire (manage.py staff_2fa enrol)."
)
UNVERIFIED_API = (
    "Cette session n'a pas donné de code de vérification : reconnectez-vous sur /admin/."
)


@pytest.fixture(autouse=True)
def lockout_settings(settings):
    # The shipped defaults, pinned so that the environment cannot change the figures.
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOLOFF
    settings.STAFF_REQUIRE_2FA = False
    settings.TRUSTED_PROXY_COUNT = 0
    # Hundreds of sign-ins here: a fast hasher (the hashing is not what is tested).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def two_factor_on(settings):
    settings.STAFF_REQUIRE_2FA = True


@pytest.fixture
def enrolled(moderator):
    """The moderator "modo", enrolled: (enrolment as printed once, their app's device)."""
    enrolment = services.staff_two_factor_enrol(user=moderator)
    return enrolment, TOTPDevice.objects.get(user=moderator)


def sign_in(
    username: str,
    password: str = PASSWORD,
    *,
    code: str | None = None,
    address: str = OFFICE,
    client: Client | None = None,
    **headers,
):
    """One attempt on the admin's login page, from `address`, as a new visitor unless
    a client is given."""
    # "next" as the page's hidden field sends it
    data = {"username": username, "password": password, "next": "/admin/"}
    if code is not None:
        data["otp_token"] = code
    return (client or Client()).post(LOGIN, data, REMOTE_ADDR=address, **headers)


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def errors(response) -> list[str]:
    return [note.text for note in parse(response).select("p.errornote, ul.errorlist li")]


def app_code(device: TOTPDevice, *, steps: int = 0) -> str:
    """What the staff member's app shows now (or `steps` periods away)."""
    t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
    return f"{hotp(device.bin_key, t + steps, digits=device.digits):0{device.digits}d}"


def wrong_code(device: TOTPDevice, n: int = 0) -> str:
    """The n-th six-digit code that the device accepts at no step of its tolerance."""
    valid = {app_code(device, steps=steps) for steps in (-1, 0, 1)}
    candidates = (f"{(n * 7919 + i) % 1_000_000:06d}" for i in range(10))
    return next(code for code in candidates if code not in valid)


def session_signed_in_with_the_app(device: TOTPDevice) -> Client:
    client = Client()
    assert signed_in(sign_in(device.user.get_username(), code=app_code(device), client=client))
    return client


def let_the_devices_delays_pass() -> None:
    """As if a day had passed since each device's last wrong code: django-otp makes a
    device wait 1, 2, 4, 8... seconds after each wrong code before it checks another."""
    for model in (TOTPDevice, StaticDevice):
        model.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(days=1))


def lock_out(username: str, *, address: str = OFFICE) -> None:
    for _ in range(LIMIT):
        sign_in(username, "wrong password", address=address)


def staff_2fa(*args) -> str:
    out = StringIO()
    call_command("staff_2fa", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- lockout per account, per address ------------------------------------------------


def test_failures_against_one_account_from_many_addresses_lock_it_from_everywhere(moderator):
    # given an attacker guessing modo's password, each guess from another address
    answers = [
        sign_in("modo", f"guess {n}", address=reader_address(n)).status_code for n in range(LIMIT)
    ]

    # then the guesses are refused as wrong until the limit, which locks the account
    assert answers == [200] * (LIMIT - 1) + [429]
    # even the right password, from an address that never failed
    locked = sign_in("modo", address=reader_address(1000))
    assert locked.status_code == 429 and "_auth_user_id" not in locked.client.session
    # while another account signs in from the very addresses the guesses came from
    ModeratorFactory(username="colleague")
    assert signed_in(sign_in("colleague", address=reader_address(0)))


def test_failures_from_one_address_against_many_accounts_lock_the_address(moderator):
    # given one address trying a password on many accounts, real or not
    ModeratorFactory(username="camille")
    usernames = ["camille", "admin", "root", "modo2", "editor", "x" * 150][:LIMIT]
    answers = [sign_in(name, "Summer2026!").status_code for name in usernames]

    # then the last failure locks the address, for every account
    assert answers[-1] == 429 and set(answers[:-1]) == {200}
    assert sign_in("modo").status_code == 429
    # and the same account signs in from another address
    assert signed_in(sign_in("modo", address="198.51.100.7"))


@pytest.mark.parametrize(
    "forms_of_one_address",
    [
        # one IPv6 subscriber: their /64, whatever interface id they pick
        [f"2001:db8:1:2:{n:x}:{n * 7:x}:{n * 13:x}:{n * 31:x}" for n in range(1, LIMIT + 1)],
        # one IPv4 address, written as itself and mapped into IPv6
        [
            "203.0.113.9",
            "::ffff:203.0.113.9",
            "::ffff:cb00:7109",
            "203.0.113.9",
            "::ffff:cb00:7109",
        ],
    ],
    ids=["ipv6-64", "ipv4-mapped"],
)
def test_rotating_addresses_inside_one_network_is_one_address(moderator, forms_of_one_address):
    # given failures against as many accounts, each from another form of one address
    answers = [
        sign_in(f"account{n}", "guess", address=form).status_code
        for n, form in enumerate(forms_of_one_address[:LIMIT])
    ]

    # then they added up on one address
    assert answers[-1] == 429
    assert sign_in("modo", address=forms_of_one_address[0]).status_code == 429
    assert signed_in(sign_in("modo", address="2001:db8:1:3::1"))


def test_unreadable_addresses_are_one_address_and_still_locked(moderator, settings):
    # given a proxy in front, and requests whose forwarded address cannot be read
    settings.TRUSTED_PROXY_COUNT = 1
    garbage = ["", "garbage", "999.1.1.1", "1.2.3.4.5", "unknown", "::g", "10.0.0.1/8", " , "]

    answers = [
        sign_in(f"account{n}", "guess", address="127.0.0.1", HTTP_X_FORWARDED_FOR=value).status_code
        for n, value in enumerate(garbage[:LIMIT])
    ]

    # then they all counted against one shared "unknown" address, and none was a 500
    assert answers == [200] * (LIMIT - 1) + [429]
    for value in garbage:
        assert sign_in("modo", address="127.0.0.1", HTTP_X_FORWARDED_FOR=value).status_code == 429
    # (and those tries with modo's right password counted against modo, who is now
    # locked from everywhere) while a readable address is not touched
    ModeratorFactory(username="colleague")
    assert signed_in(sign_in("colleague", address="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"))


def test_the_lockout_page_says_how_long_in_the_admins_look_in_every_language(moderator):
    # given a locked account
    lock_out("modo")

    for language, text in LOCKED_OUT.items():
        headers = {} if language == "fr" else {"HTTP_ACCEPT_LANGUAGE": language}
        # when its owner tries again
        response = sign_in("modo", **headers)

        # then they are told why and for how long, in French by default, on a page of the
        # admin (its header, a way back to the sign-in page), not an error
        assert response.status_code == 429
        assert response["Retry-After"] == str(int(COOLOFF.total_seconds()))
        page = parse(response)
        assert page.one("html")["lang"] == language
        assert page.one("p.errornote").text == text
        assert page.select("#header #site-name")
        assert page.one("#content-main a")["href"] == LOGIN


def test_the_lockout_ends_a_cool_off_after_the_last_attempt(moderator):
    # given a locked account
    lock_out("modo")

    # when almost a cool-off has passed since the last attempt, it is still locked
    AccessAttempt.objects.update(attempt_time=timezone.now() - COOLOFF + timedelta(minutes=1))
    assert sign_in("modo").status_code == 429
    # and that attempt started the cool-off again: an attacker who keeps trying keeps it
    # locked
    assert AccessAttempt.objects.get().attempt_time > timezone.now() - timedelta(minutes=1)

    # once a whole cool-off has passed without an attempt, the right password signs in
    AccessAttempt.objects.update(attempt_time=timezone.now() - COOLOFF - timedelta(seconds=1))
    assert signed_in(sign_in("modo"))


def test_a_success_forgets_the_accounts_own_failures_and_no_others(moderator):
    # given modo mistyping their password almost up to the limit, then getting it right
    for _ in range(LIMIT - 1):
        assert sign_in("modo", "typo").status_code == 200
    assert signed_in(sign_in("modo"))

    # then their typos are forgotten: as many again are not a lockout
    for _ in range(LIMIT - 1):
        assert sign_in("modo", "typo").status_code == 200

    # given an attacker holding an account of their own, guessing modo's password and
    # signing in as themselves in between, from the same address
    ModeratorFactory(username="mallory")
    attacker = "198.51.100.66"
    AccessAttempt.objects.all().delete()
    for _ in range(LIMIT - 1):
        assert sign_in("modo", "guess", address=attacker).status_code == 200
    assert signed_in(sign_in("mallory", address=attacker))

    # then their own success wiped nothing of modo's count: the next guess locks it
    assert sign_in("modo", "guess", address=attacker).status_code == 429


# --- the audit trail, without addresses ------------------------------------------------


def test_every_failure_is_recorded_with_a_pseudonym_of_the_address_and_no_password(moderator):
    # given failures from two addresses, then a lockout, and a success elsewhere
    secret_guess = "my-secret-guess-123"
    for n in range(LIMIT):
        sign_in("modo", secret_guess, address=OFFICE if n % 2 else "198.51.100.20")
    sign_in("modo", address="198.51.100.30")
    ModeratorFactory(username="camille")
    assert signed_in(sign_in("camille", address="198.51.100.40"))

    # then the admin's records (axes) list every failure, the last ones locked out
    failures = list(AccessFailureLog.objects.order_by("attempt_time", "pk"))
    assert [f.username for f in failures] == ["modo"] * (LIMIT + 1)
    assert [f.locked_out for f in failures] == [False] * (LIMIT - 1) + [True, True]
    assert AccessLog.objects.filter(username="camille").count() == 1

    # with, for an address, a pseudonym: equal for one address, distinct for two,
    # in the private range, and never the address itself
    pseudonyms = [f.ip_address for f in failures]
    assert pseudonyms[0] == pseudonyms[2] != pseudonyms[1] == pseudonyms[3]
    assert all(p.startswith("fd") for p in pseudonyms)
    stored = json.dumps(
        [list(model.objects.values()) for model in (AccessAttempt, AccessFailureLog, AccessLog)],
        default=str,
    )
    for private in (OFFICE, "198.51.100.20", "198.51.100.30", "198.51.100.40", secret_guess):
        assert private not in stored
    assert PASSWORD not in stored


def test_log_lines_tell_each_failure_and_lockout_but_no_address_or_password(moderator, caplog):
    # given failures that lock an account, and an attacker who types a password where
    # the username goes
    caplog.set_level(logging.INFO)
    lock_out("modo")
    typed_as_username = "hunter2-my-password"
    lock_out(typed_as_username, address="198.51.100.50")

    # then there are warning lines, one per lockout naming the account if it is one
    lines = [JsonFormatter().format(record) for record in caplog.records]
    raw = [
        record.getMessage() + json.dumps(record.__dict__, default=str) for record in caplog.records
    ]
    lockouts = [r for r in caplog.records if getattr(r, "event", "") == "staff_login_locked_out"]
    assert [(r.levelname, r.username) for r in lockouts] == [
        ("WARNING", "modo"),
        ("WARNING", None),
    ]
    assert sum("login failure" in r.getMessage() for r in caplog.records) >= 2 * LIMIT - 2
    # and nothing written, not even before the formatter's redaction, holds an address or
    # a password
    for private in (OFFICE, "198.51.100.50", "wrong password", typed_as_username):
        assert not any(private in text for text in raw + lines), private


# --- two-factor authentication -----------------------------------------------------------


def test_with_2fa_off_the_password_alone_signs_in_and_no_code_is_asked(moderator, client):
    page = parse(client.get(LOGIN))
    assert not page.select('input[name="otp_token"]')

    assert signed_in(sign_in("modo"))


def test_with_2fa_on_the_login_asks_for_a_code_and_the_password_alone_is_not_enough(
    two_factor_on, moderator, enrolled, client
):
    # the page asks for the code, as a one-time code for the phone's keyboard
    field = parse(client.get(LOGIN)).one('input[name="otp_token"]')
    assert field["autocomplete"] == "one-time-code" and "required" in field.attrs

    # without a code, nothing is checked: the right and a wrong password answer alike,
    # and nothing is counted
    right = sign_in("modo")
    wrong = sign_in("modo", "wrong password")
    assert right.status_code == wrong.status_code == 200
    assert errors(right) == errors(wrong) and errors(right)
    assert "_auth_user_id" not in right.client.session
    assert not AccessFailureLog.objects.exists()


def test_with_2fa_on_the_password_and_the_apps_code_open_the_admin_and_the_api(
    two_factor_on, moderator, enrolled
):
    _, device = enrolled

    # when modo signs in with the code their app shows
    client = session_signed_in_with_the_app(device)

    # then their session works the admin and the moderators' API
    assert client.get("/admin/moderation/imagecase/").status_code == 200
    assert client.get("/api/moderation/cases/").status_code == 200
    # and the code cannot be used a second time, even within its 30 seconds
    assert not signed_in(sign_in("modo", code=app_code(device)))


def test_a_wrong_code_is_refused_like_a_wrong_password_and_counts_toward_the_lockout(
    settings, two_factor_on, moderator, enrolled
):
    _, device = enrolled
    guesses = [
        wrong_code(device),
        wrong_code(device, 1),
        "abcd-efgh",
        "\uff10" * 6,  # fullwidth zeros
        "' OR 1=1 --",
        "0" * 32,
        "1234567",
        wrong_code(device, 3)[:5],
    ]
    # room for every guess, the wrong password below, and the guess that locks
    settings.AXES_FAILURE_LIMIT = len(guesses) + 2
    # a wrong password, with the right code
    wrong_password = sign_in("modo", "wrong password", code=app_code(device, steps=1))

    for n, guess in enumerate(guesses, start=1):
        # when an attacker who has the password guesses codes
        response = sign_in("modo", code=guess, address=reader_address(n))

        # then each guess gets the very answer a wrong password gets, and counts
        assert response.status_code == 200 and "_auth_user_id" not in response.client.session
        assert errors(response) == errors(wrong_password) == [WRONG_PASSWORD_OR_CODE]
        assert AccessFailureLog.objects.filter(username="modo").count() == n + 1

    # the guess that reaches the limit locks the account: even the right code is refused
    assert sign_in("modo", code=wrong_code(device, 2), address=OFFICE).status_code == 429
    assert sign_in("modo", code=app_code(device)).status_code == 429


def test_after_wrong_codes_the_app_waits_longer_each_time_even_for_the_right_code(
    two_factor_on, moderator, enrolled
):
    # given someone holding modo's password guessing three codes, slowly enough that
    # each is checked
    _, device = enrolled
    for n in range(3):
        let_the_devices_delays_pass()
        sign_in("modo", code=wrong_code(device, n), address=reader_address(n))

    # then django-otp makes the app's codes wait 2^(3-1) = 4 seconds after the last
    # guess: the right code is refused before then, with the same words
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(seconds=3))
    refused = sign_in("modo", code=app_code(device))
    assert errors(refused) == [WRONG_PASSWORD_OR_CODE]
    # and accepted after
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(seconds=5))
    assert signed_in(sign_in("modo", code=app_code(device, steps=1)))
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_recovery_code_signs_in_once(two_factor_on, moderator, enrolled):
    enrolment, _ = enrolled
    first, second = enrolment.recovery_codes[:2]
    client = Client()

    # when modo, without their phone, signs in with a recovery code
    response = sign_in("modo", code=first, client=client)

    # then they are in, and told how many codes remain
    assert signed_in(response)
    # (on the page a moderator lands on: the workspace)
    index = client.get("/admin/", follow=True)
    assert [m.text for m in parse(index).select("ul.messagelist li.warning")] == [
        "Vous vous êtes connecté avec un code de secours. Il vous reste 9 codes de secours : "
        "demandez-en de nouveaux à un opérateur."
    ]

    # and the same code, typed again however it is typed, is refused
    for typed in (first, first.upper(), first.replace("-", ""), f" {first[:4]} {first[5:]} "):
        let_the_devices_delays_pass()
        assert not signed_in(sign_in("modo", code=typed))
    let_the_devices_delays_pass()
    # while another code, typed in capitals and without the dash, works once
    assert signed_in(sign_in("modo", code=second.upper().replace("-", "")))
    assert StaticToken.objects.filter(device__user=moderator).count() == 8


def test_a_staff_member_without_a_device_is_told_to_ask_an_operator(two_factor_on, moderator):
    # given 2FA required and modo not enrolled
    # when they sign in with their password and any code
    response = sign_in("modo", code="123456")

    # then they are told what to do, and not let in
    assert errors(response) == [ASK_AN_OPERATOR]
    assert "_auth_user_id" not in response.client.session
    # while a wrong password says nothing about the account
    assert errors(sign_in("modo", "wrong password", code="123456")) == [WRONG_PASSWORD_OR_CODE]


def admin_paths() -> list[str]:
    """Every admin URL the site serves, with 1 for each id."""
    paths = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if not isinstance(pattern.pattern, RoutePattern):
                continue  # the app indexes' and the catch-all's regexes
            route = str(pattern.pattern)
            route = re.sub(r"<(?:int:)?\w+>", "1", route)
            route = re.sub(r"<(?:path|str|slug):\w+>", "x", route)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern):
                paths.append(prefix + route)

    walk(admin.site.get_urls(), "/admin/")
    return [path for path in paths if path not in ("/admin/login/", "/admin/logout/")]


MODERATOR_API = [
    ("get", "/api/moderation/cases/"),
    ("get", "/api/moderation/cases/1/"),
    ("post", "/api/moderation/cases/1/decisions/"),
    ("get", "/api/moderation/actions/"),
    ("post", "/api/moderation/reporters/mute/"),
    ("post", "/api/moderation/reporters/unmute/"),
]


def test_a_session_without_the_code_can_use_neither_the_admin_nor_the_api_but_a_token_can(
    settings, moderator, enrolled
):
    # given a session opened before 2FA was required (or any way but the login's code)
    session = Client()
    session.force_login(moderator)
    settings.STAFF_REQUIRE_2FA = True
    paths = admin_paths()
    assert len(paths) > 50  # every model's list, add, change, history, delete...

    # then every admin page sends it back to the login, which says why
    for path in paths:
        response = session.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(f"{LOGIN}?next="), path
    note = parse(session.get(LOGIN)).one("#content-main p.errornote").text
    assert note.startswith("Vous êtes connecté en tant que modo, mais cette session")

    # and every moderators' API route refuses it, saying why
    for method, path in MODERATOR_API:
        response = getattr(session, method)(path, {}, content_type="application/json")
        assert response.status_code == 403, path
        assert response.json()["detail"] == UNVERIFIED_API, path

    # while a script's token, made by an operator, works as before
    token = Token.objects.create(user=moderator)
    scripted = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert scripted.get("/api/moderation/cases/").status_code == 200

    # and with 2FA not required, the same session works
    settings.STAFF_REQUIRE_2FA = False
    assert session.get("/admin/moderation/imagecase/").status_code == 200
    assert session.get("/api/moderation/cases/").status_code == 200


def test_a_reset_ends_the_sessions_verified_with_the_old_devices(
    two_factor_on, moderator, enrolled
):
    _, device = enrolled
    client = session_signed_in_with_the_app(device)
    assert client.get("/admin/?index=1").status_code == 200

    # when an operator resets modo's devices (a lost phone)
    staff_2fa("reset", "modo")

    # then the session opened with them is no longer let in
    response = client.get("/admin/?index=1")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("two_factor", [False, True], ids=["2fa-off", "2fa-on"])
def test_no_input_to_the_login_answers_500(settings, moderator, enrolled, two_factor):
    settings.STAFF_REQUIRE_2FA = two_factor
    values = [
        "",
        "\x00",
        "modo\x00",
        "é" * 200,
        "x" * 10_000,
        "%00",
        "' OR 1=1 --",
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth digits
        "\u202emodo",
        "99999999999999999999999",
    ]
    for n, value in enumerate(values):
        for data in (
            {"username": value, "password": value, "otp_token": value},
            {"username": "modo", "password": PASSWORD, "otp_token": value},
            {"username": [value, value], "password": value},
            {"otp_token": value},
        ):
            response = Client().post(
                LOGIN,
                data,
                REMOTE_ADDR=reader_address(n),
                # past axes' columns (255 and 1025 characters)
                HTTP_USER_AGENT="Mozilla/5.0 " * 100,
                HTTP_ACCEPT="text/html," * 300,
            )
            assert response.status_code < 500, (value, data)
            AccessAttempt.objects.all().delete()


# --- manage.py staff_2fa ---------------------------------------------------------------


def test_enrol_prints_once_what_the_staff_member_needs_and_it_signs_in(two_factor_on, moderator):
    # when an operator enrols modo
    out = staff_2fa("enrol", "modo")

    # then the command prints the otpauth URI, the secret, a QR code and 10 codes
    uri = re.search(r"^URI:\s+(otpauth://totp/\S+)$", out, re.MULTILINE)[1]
    assert "modo" in uri and "issuer=Signalement" in uri
    secret = re.search(r"^Secret:\s+([A-Z2-7 ]+)$", out, re.MULTILINE)[1].replace(" ", "")
    assert f"secret={secret}" in uri
    assert re.search("[█▀▄]{10}", out)
    codes = re.findall(r"^  ([a-z2-7]{4}-[a-z2-7]{4})$", out, re.MULTILINE)
    assert len(codes) == len(set(codes)) == 10

    # and an app set up from the printed secret makes codes that sign in
    key = b32decode(secret)
    device = TOTPDevice.objects.get(user=moderator)
    assert key == device.bin_key
    assert signed_in(sign_in("modo", code=app_code(device)))
    # as does each printed recovery code, once
    assert signed_in(sign_in("modo", code=codes[0]))
    assert not signed_in(sign_in("modo", code=codes[0]))


def test_enrol_refuses_an_enrolled_account_unless_told_to_replace_its_devices(
    two_factor_on, moderator, enrolled
):
    old_enrolment, old_device = enrolled
    old_code = app_code(old_device, steps=1)

    with pytest.raises(CommandError, match="already enrolled"):
        staff_2fa("enrol", "modo")

    staff_2fa("enrol", "modo", "--replace", "--no-qr")

    # the old app and the old recovery codes no longer sign in; the new app does
    assert not signed_in(sign_in("modo", code=old_code))
    assert not signed_in(sign_in("modo", code=old_enrolment.recovery_codes[0]))
    let_the_devices_delays_pass()
    assert signed_in(sign_in("modo", code=app_code(TOTPDevice.objects.get(user=moderator))))


def test_enrol_and_the_other_commands_refuse_unknown_and_non_staff_accounts(moderator):
    UserFactory(username="reader")
    for args in (
        ("enrol", "nobody"),
        ("enrol", "reader"),
        ("reset", "nobody"),
        ("recovery-codes", "nobody"),
        ("recovery-codes", "modo"),  # not enrolled
    ):
        with pytest.raises(CommandError):
            staff_2fa(*args)
    assert not TOTPDevice.objects.exists()


def test_reset_removes_the_devices_and_the_login_then_asks_for_an_operator(
    two_factor_on, moderator, enrolled
):
    enrolment, device = enrolled

    out = staff_2fa("reset", "modo")

    assert "Removed 2 device(s) of modo" in out
    assert errors(sign_in("modo", code=app_code(device))) == [ASK_AN_OPERATOR]
    assert errors(sign_in("modo", code=enrolment.recovery_codes[0])) == [ASK_AN_OPERATOR]


def test_new_recovery_codes_replace_the_old_ones(two_factor_on, moderator, enrolled):
    enrolment, _ = enrolled

    out = staff_2fa("recovery-codes", "modo")

    new = re.findall(r"^  ([a-z2-7]{4}-[a-z2-7]{4})$", out, re.MULTILINE)
    assert len(new) == 10 and not set(new) & set(enrolment.recovery_codes)
    assert not signed_in(sign_in("modo", code=enrolment.recovery_codes[0]))
    let_the_devices_delays_pass()
    assert signed_in(sign_in("modo", code=new[0]))


def test_status_lists_every_staff_account_and_who_cannot_sign_in(two_factor_on, moderator):
    services.staff_two_factor_enrol(user=ModeratorFactory(username="camille"))
    UserFactory(username="reader")
    ModeratorFactory(username="zoe", is_active=False)

    out = staff_2fa("status")

    rows = {line.split()[0]: line.split(maxsplit=1)[1] for line in out.splitlines()[2:]}
    assert out.splitlines()[0] == "STAFF_REQUIRE_2FA is on."
    assert rows == {
        "camille": "yes  10",
        "modo": "no   0  cannot sign in: not enrolled",
        "zoe": "no   0  (inactive)",
    }


# --- keeping the records no longer than needed --------------------------------------------


@pytest.mark.worker
def test_beat_purges_login_records_older_than_the_retention(
    settings, celery_worker, transactional_db
):
    # given records of failed and successful logins, modo's older than the retention
    settings.STAFF_LOGIN_RECORDS_DAYS = 90
    # (staff, not moderators: a transactional test may have flushed the migration's group)
    UserFactory(username="modo", is_staff=True)
    for _ in range(LIMIT - 1):
        sign_in("modo", "typo", address="198.51.100.8")
    assert signed_in(sign_in("modo", address="198.51.100.9"))
    UserFactory(username="camille", is_staff=True)
    assert signed_in(sign_in("camille", address="198.51.100.10"))
    old = timezone.now() - timedelta(days=91)
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username="modo").update(attempt_time=old)

    # when beat's nightly task runs on a worker
    entry = settings.CELERY_BEAT_SCHEDULE["purge-staff-login-records"]
    assert entry["task"] == staff_login_records_purge.name
    staff_login_records_purge.delay()

    # then the old records are gone and the recent ones stay
    wait_until(lambda: not AccessLog.objects.filter(username="modo").exists())
    assert not AccessFailureLog.objects.filter(username="modo").exists()
    assert not AccessAttempt.objects.filter(username="modo").exists()
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["camille"]


def test_the_shipped_settings_require_two_factor_authentication():
    # deploy/env.example, what production copies
    assert env_example()["STAFF_REQUIRE_2FA"] == "1"


def test_the_admin_shows_no_one_the_key_of_an_app(enrolled):
    # given a superuser in the admin, on the page of modo's app
    _, device = enrolled
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)

    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")

    # then neither the key nor its QR code is to be had there
    assert page.status_code == 200 and device.key not in page.content.decode()
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
