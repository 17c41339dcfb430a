"""One person cannot pass for many: identity by address, rate limits, cross-site
requests, and what is kept of a reader's address."""

import logging

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from articles.models import Image
from moderation import services
from moderation.models import ActionKind, ImageCase, ModerationAction, Report
from tests.factories import ImageFactory, UserFactory
from tests.readers import reader_address, reader_client
from tests.texts import THANKS
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"


def report_url(image_id: int) -> str:
    return f"/api/images/{image_id}/reports/"


def post_report(client, image_id: int, reason: str = "violence", **extra):
    return client.post(report_url(image_id), {"reason": reason}, format="json", **extra)


def open_count(image: Image) -> int:
    case = ImageCase.objects.filter(image=image).first()
    return case.open_report_count if case else 0


# --- who is a person ----------------------------------------------------------------


def test_an_anonymous_reader_who_clears_cookies_is_still_one_person_on_that_image():
    # given an anonymous reader who reported an image
    image = ImageFactory()
    assert post_report(APIClient(REMOTE_ADDR=ATTACKER), image.pk).status_code == 201

    # when they report it again with a fresh cookie jar from the same address
    again = post_report(APIClient(REMOTE_ADDR=ATTACKER), image.pk)

    # then they are thanked as for any repeat, and nothing more is counted
    assert (again.status_code, again.json()) == (200, {"detail": THANKS})
    assert Report.objects.filter(image=image).count() == 1
    assert open_count(image) == 1


def test_signed_in_accounts_on_one_address_count_separately():
    # given three accounts behind one address (a family, an office)
    image = ImageFactory()

    # when each reports the image
    for _ in range(3):
        client = APIClient(REMOTE_ADDR=ATTACKER)
        client.force_login(UserFactory())
        assert post_report(client, image.pk).status_code == 201

    # then each counts
    assert open_count(image) == 3


def test_a_forged_forwarded_header_changes_nothing_without_a_trusted_proxy(settings):
    # given an app reached directly (no trusted proxy)
    settings.TRUSTED_PROXY_COUNT = 0
    image = ImageFactory()

    # when one client sends five reports with fresh cookies, each claiming another address
    answers = [
        post_report(
            APIClient(REMOTE_ADDR=ATTACKER), image.pk, HTTP_X_FORWARDED_FOR=reader_address(n)
        ).status_code
        for n in range(5)
    ]

    # then only the first counted
    assert answers == [201, 200, 200, 200, 200]
    assert open_count(image) == 1


def test_behind_a_proxy_the_client_cannot_prepend_addresses(settings):
    # given the app behind one proxy that appends the real client address
    settings.TRUSTED_PROXY_COUNT = 1
    image = ImageFactory()

    # when one client prepends a different fake address to each request
    answers = [
        post_report(
            APIClient(REMOTE_ADDR="10.0.0.2"),
            image.pk,
            HTTP_X_FORWARDED_FOR=f"{reader_address(n)}, {ATTACKER}",
        ).status_code
        for n in range(5)
    ]

    # then it is still one person
    assert answers == [201, 200, 200, 200, 200]
    assert open_count(image) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_fifty_cookie_cleared_sessions_from_one_address_cannot_block_but_five_readers_can(
    settings, celery_worker
):
    # given an image under the default threshold of 5, and no rate limit (so
    # that only the identity rule stands between the attacker and a block)
    settings.REPORT_RATE_LIMITS = []
    image = ImageFactory()

    # when an attacker reports it from 50 fresh sessions on one address
    answers = [post_report(APIClient(REMOTE_ADDR=ATTACKER), image.pk) for _ in range(50)]

    # then one report counts, the image stays visible, and the sweeper finds nothing due
    assert [a.status_code for a in answers] == [201] + [200] * 49
    assert open_count(image) == 1
    assert services.sweep_due_blocks() == []
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.VISIBLE

    # when four readers from four other addresses report it too
    for n in range(4):
        assert post_report(reader_client(n), image.pk).status_code == 201

    # then the worker blocks it: five people
    wait_until(lambda: Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED)
    assert ModerationAction.objects.filter(image=image, action=ActionKind.AUTO_BLOCK).count() == 1


# --- rate limits --------------------------------------------------------------------


def test_the_eleventh_report_in_a_minute_by_one_reader_is_refused_and_not_stored():
    # given a reader who sent ten reports this minute (the default limit)
    client = reader_client(1)
    images = ImageFactory.create_batch(11)
    assert [post_report(client, image.pk).status_code for image in images[:10]] == [201] * 10

    # when they send an eleventh
    refused = post_report(client, images[10].pk)

    # then 429, when to come back, why in French, and nothing stored
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Réessayez dans" in refused.json()["detail"]
    assert not Report.objects.filter(image=images[10]).exists()
    assert Report.objects.count() == 10


def test_one_address_is_limited_whatever_the_cookies_and_others_are_not():
    # given ten readers (fresh cookies each) on one address, one report each
    images = ImageFactory.create_batch(12)
    for image in images[:10]:
        assert post_report(APIClient(REMOTE_ADDR=ATTACKER), image.pk).status_code == 201

    # when an eleventh cookie on that address reports, and a reader elsewhere
    refused = post_report(APIClient(REMOTE_ADDR=ATTACKER), images[10].pk)
    elsewhere = post_report(reader_client(7), images[11].pk)

    # then the address is refused, the other reader is not
    assert refused.status_code == 429 and "Retry-After" in refused
    assert elsewhere.status_code == 201
    assert Report.objects.count() == 11


def test_the_daily_limit_applies_too(settings):
    # given limits of 100 a minute and 3 a day
    settings.REPORT_RATE_LIMITS = [(100, 60), (3, 86400)]
    client = reader_client(2)
    images = ImageFactory.create_batch(4)

    # when a reader sends a fourth report today
    answers = [post_report(client, image.pk) for image in images]

    # then it waits for the day's window to end
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert 60 < int(answers[3]["Retry-After"]) <= 86400


def test_the_form_answers_429_with_the_reason_and_stores_nothing(settings):
    # given a limit of 1 report a minute, already used by this browser
    settings.REPORT_RATE_LIMITS = [(1, 60)]
    browser = Client(REMOTE_ADDR=ATTACKER)
    first, second = ImageFactory.create_batch(2)
    assert browser.post(f"/images/{first.pk}/report/", {"reason": "spam"}).status_code == 303

    # when it posts the form again
    response = browser.post(f"/images/{second.pk}/report/", {"reason": "spam"})

    # then a 429 page says why and when, and nothing is stored
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Réessayez dans" in response.content.decode()
    assert not Report.objects.filter(image=second).exists()


# --- cross-site requests -------------------------------------------------------------


def test_an_anonymous_api_report_without_the_csrf_token_is_refused():
    # given a browser that enforces CSRF, as a real one is subject to it
    client = APIClient(enforce_csrf_checks=True, REMOTE_ADDR=ATTACKER)
    image = ImageFactory()

    # when another site's page makes it post a report (it cannot read the token)
    response = post_report(client, image.pk, HTTP_ORIGIN="https://evil.example")

    # then 403, nothing stored, no reader cookie
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Report.objects.exists()
    assert settings.READER_COOKIE_NAME not in response.cookies


def test_the_sites_own_page_can_report_with_its_token():
    # given a reader on the article page, which hands out the CSRF token
    client = APIClient(enforce_csrf_checks=True, REMOTE_ADDR=ATTACKER)
    image = ImageFactory()
    client.get(f"/articles/{image.article.slug}/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    # when its script posts the report with the token
    response = post_report(client, image.pk, HTTP_X_CSRFTOKEN=token)

    # then it is recorded
    assert response.status_code == 201
    assert Report.objects.filter(image=image).count() == 1


def test_a_token_stolen_into_another_origin_is_refused_by_the_origin_check():
    # given a valid token pair, replayed from a page on another origin
    client = APIClient(enforce_csrf_checks=True, REMOTE_ADDR=ATTACKER)
    image = ImageFactory()
    client.get(f"/articles/{image.article.slug}/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    # when the request says where it comes from
    response = post_report(
        client, image.pk, HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN="https://evil.example"
    )

    # then the origin does not match the site: 403, nothing stored
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_the_report_form_from_another_site_is_refused():
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR=ATTACKER)
    image = ImageFactory()

    response = browser.post(
        f"/images/{image.pk}/report/", {"reason": "spam"}, HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == 403
    assert not Report.objects.exists()


def test_a_moderators_token_needs_no_csrf_token(moderator):
    # given a script holding an API token (not a cookie a browser would send along)
    from rest_framework.authtoken.models import Token

    client = APIClient(enforce_csrf_checks=True, REMOTE_ADDR=ATTACKER)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=moderator).key}")
    image = ImageFactory()

    # when it reports
    response = post_report(client, image.pk)

    # then it is recorded under the account
    assert response.status_code == 201
    assert Report.objects.get().reporter_key == f"user:{moderator.pk}"


# --- privacy ------------------------------------------------------------------------


def test_the_raw_address_reaches_neither_the_database_nor_the_logs(caplog):
    # given every logger listening
    caplog.set_level(logging.DEBUG)
    image = ImageFactory()

    # when a reader reports from an address, through the API and the form
    post_report(APIClient(REMOTE_ADDR=ATTACKER), image.pk, comment="vu")
    Client(REMOTE_ADDR=ATTACKER).post(f"/images/{image.pk}/report/", {"reason": "spam"})

    # then the report holds keyed hashes only, and no log line names the address
    report = Report.objects.get()
    stored = " ".join(str(value) for value in Report.objects.values().get().values())
    assert "203.0.113" not in stored
    assert len(report.ip_hash) == 64 and len(report.network_hash) == 64
    assert ATTACKER not in caplog.text


def test_a_report_costs_five_queries(django_assert_num_queries):
    # given a returning anonymous reader (cookie set) and an image
    client = reader_client(3)
    first, second = ImageFactory.create_batch(2)
    post_report(client, first.pk)

    # when they report another image: the image with its policy's threshold, the
    # reporter's mute and record, the insert, the count, the burst check (no session
    # or user for an anonymous reader), and, inside the test's own transaction, a
    # savepoint and its release
    with django_assert_num_queries(7):
        assert post_report(client, second.pk).status_code == 201
