import pytest
from django.conf import settings
from rest_framework.test import APIClient

from articles.models import Image
from moderation.models import ImageCase, Report
from tests.factories import ImageFactory, UserFactory
from tests.readers import reader_client
from tests.texts import THANKS

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


def post_report(client, image_id, body=None, **kwargs):
    if body is None:
        body = {"reason": "violence", "comment": "Choquant"}
    return client.post(f"/api/images/{image_id}/reports/", body, format="json", **kwargs)


def test_new_report_is_thanked_in_french_and_gets_a_reader_cookie(client):
    # given a visible image
    image = ImageFactory()

    # when an anonymous reader reports it
    response = post_report(client, image.pk)

    # then it is created, thanked, and the reader is given a signed, HttpOnly cookie
    assert response.status_code == 201
    assert response.json() == {"detail": THANKS}
    cookie = response.cookies[settings.READER_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    report = Report.objects.get()
    assert report.reporter_key.startswith("reader:")
    assert report.reporter_key.removeprefix("reader:") in cookie.value
    assert (report.reason, report.comment, report.user) == ("violence", "Choquant", None)


def test_repeat_by_the_same_reader_is_thanked_and_counts_nothing(client):
    # given a reader who has reported an image (the client keeps the cookie)
    image = ImageFactory()
    post_report(client, image.pk)

    # when they report it again
    response = post_report(client, image.pk, {"reason": "spam"})

    # then the same thanks, 200, and still one report
    assert response.status_code == 200
    assert response.json() == {"detail": THANKS}
    assert settings.READER_COOKIE_NAME not in response.cookies
    assert ImageCase.objects.get(image=image).open_report_count == 1


def test_readers_with_different_cookies_and_addresses_count_separately():
    image = ImageFactory()
    for n in range(3):
        assert post_report(reader_client(n), image.pk).status_code == 201
    assert ImageCase.objects.get(image=image).open_report_count == 3


def test_forged_reader_cookie_is_a_new_reader(client):
    # given a reader cookie that was not signed by this server
    image = ImageFactory()
    client.cookies[settings.READER_COOKIE_NAME] = "0" * 32

    # when it is used to report
    response = post_report(client, image.pk)

    # then the server ignores it and issues its own
    assert response.status_code == 201
    assert response.cookies[settings.READER_COOKIE_NAME].value != "0" * 32
    assert Report.objects.get().reporter_key != "reader:" + "0" * 32


def test_signed_in_reader_is_keyed_by_their_account(client):
    # given a signed-in reader
    user = UserFactory()
    client.force_authenticate(user)
    image = ImageFactory()

    # when they report twice
    first = post_report(client, image.pk)
    second = post_report(client, image.pk)

    # then one report keyed by the user, and no reader cookie
    assert (first.status_code, second.status_code) == (201, 200)
    assert settings.READER_COOKIE_NAME not in first.cookies
    report = Report.objects.get()
    assert (report.reporter_key, report.user) == (f"user:{user.pk}", user)


def test_report_on_a_blocked_image_is_thanked_and_not_stored(client):
    image = ImageFactory(visibility=Image.Visibility.BLOCKED)

    response = post_report(client, image.pk)

    assert response.status_code == 200
    assert response.json() == {"detail": THANKS}
    assert not Report.objects.exists()


@pytest.mark.parametrize("image_id", [999_999, 2**63 + 5])
def test_unknown_image_is_404(client, image_id):
    response = post_report(client, image_id)
    assert response.status_code == 404
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "boring"}, "reason"),
        ({}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": "spam", "comment": "x" * 501}, "comment"),
        ({"reason": "spam", "comment": None}, "comment"),
        (["spam"], "non_field_errors"),
    ],
)
def test_invalid_report_is_400_with_field_errors(client, body, field):
    image = ImageFactory()

    response = post_report(client, image.pk, body)

    assert response.status_code == 400
    assert field in response.json()
    assert not Report.objects.exists()


def test_comment_of_exactly_500_characters_is_accepted(client):
    image = ImageFactory()
    response = post_report(client, image.pk, {"reason": "other", "comment": "é" * 500})
    assert response.status_code == 201


def test_malformed_json_is_400(client):
    image = ImageFactory()
    response = client.post(
        f"/api/images/{image.pk}/reports/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "detail" in response.json()


def test_other_media_types_are_415(client):
    image = ImageFactory()
    response = client.post(f"/api/images/{image.pk}/reports/", {"reason": "spam"})
    assert response.status_code == 415


def test_get_on_the_report_endpoint_is_405(client):
    image = ImageFactory()
    assert client.get(f"/api/images/{image.pk}/reports/").status_code == 405


def test_thanks_follow_the_readers_language(client):
    image = ImageFactory()
    response = post_report(client, image.pk, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"].startswith("Thanks for reporting!")


@pytest.mark.parametrize(
    "raw",
    [
        '{"reason": "spam", "comment": "nul \\u0000 byte"}',
        "[" * 50_000 + "]" * 50_000,
        '{"reason": "spam", "comment": "\\ud800"}',
        b'{"reason": "spam", "comment": "\xff\xfe"}',
        '{"reason": {"nested": "object"}}',
        '"just a string"',
    ],
)
def test_hostile_bodies_are_refused_with_400_not_500(client, raw):
    image = ImageFactory()
    response = client.post(f"/api/images/{image.pk}/reports/", raw, content_type="application/json")
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_oversized_body_is_refused_without_a_500(client):
    image = ImageFactory()
    raw = '{"reason": "spam", "comment": "' + "x" * 3_000_000 + '"}'
    response = client.post(f"/api/images/{image.pk}/reports/", raw, content_type="application/json")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert not Report.objects.exists()


def test_image_id_of_a_report_is_documented_as_the_route_matches_it(client):
    # given an id the <int:> converter does not match (found by tests/test_fuzz.py: the site's
    # HTML 404 page answered, which the schema did not describe; now the API's JSON 404)
    response = post_report(client, "-1")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"

    # then the schema allows no such id
    operation = client.get("/api/schema/?format=json").json()["paths"][
        "/api/images/{image_id}/reports/"
    ]["post"]
    (parameter,) = operation["parameters"]
    assert (parameter["name"], parameter["schema"]) == (
        "image_id",
        {"type": "integer", "minimum": 0},
    )
