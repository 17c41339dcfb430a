import pytest
from django.conf import settings
from rest_framework.test import APIClient

from articles.models import Image
from moderation.models import ImageCase, Report
from tests.factories import ImageFactory, UserFactory
from tests.raw_http import NOT_UTF8, NULS, OUT_OF_RANGE
from tests.readers import reader_client
from tests.test_metrics import Delta, received, refused
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


def test_oversized_bodies_are_counted_as_refused_reports(client):
    image = ImageFactory()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    bodies = [
        '{"reason": "spam", "comment": "' + "x" * limit + '"}',
        '{"reason": "spam", "padding": "' + "é" * limit + '"}',
        "[" + ", ".join(['"spam"'] * limit) + "]",
    ]

    with Delta(refused("invalid"), received()) as delta:
        statuses = [
            client.post(f"/api/images/{image.pk}/reports/", body, content_type="application/json")
            for body in bodies
        ]

    assert [response.status_code for response in statuses] == [413] * len(bodies)
    assert delta.moved == [len(bodies), 0]
    assert not Report.objects.exists()


def test_an_image_not_processed_yet_is_404_as_on_the_form_and_counted_not_found():
    # given images uploaded but not processed yet, and a processed one
    pending = [ImageFactory(processed=False) for _ in range(3)]
    shown = ImageFactory()
    # and one marked ready whose renditions are not written (a rendition is what is shown)
    unrendered = ImageFactory()
    Image.objects.filter(pk=unrendered.pk).update(rendition="")
    not_yet = [*pending, unrendered]

    # when readers report each through the API and through the form
    with Delta(refused("not_found"), received()) as delta:
        answers = {}
        for n, image in enumerate([*not_yet, shown]):
            reader = reader_client(n)
            answers[image.pk] = (
                post_report(reader, image.pk).status_code,
                reader.post(f"/images/{image.pk}/report/", {"reason": "spam"}).status_code,
            )

    # then those not processed yet are 404 on both, counted as reports of no image, and
    # the processed one is recorded (once: the form's post is the same reader's repeat)
    assert answers == {**{image.pk: (404, 404) for image in not_yet}, shown.pk: (201, 303)}
    assert delta.moved == [2 * len(not_yet), 1]
    assert list(Report.objects.values_list("image_id", flat=True)) == [shown.pk]


def test_hostile_query_values_on_the_moderators_api_are_never_a_500(moderator):
    # given a moderator's API session
    api = APIClient()
    api.force_login(moderator)
    ImageFactory()
    keys = ["page", "page_size", "state", "source", "reason", "ordering", "needs_review"]
    keys += ["image", "action", "actor", "since", "until", "q"]

    # when the queue and the audit log are read with NULs, bytes that are not UTF-8 and
    # numbers no column holds in every parameter
    answers = {
        (url, key, value): api.get(f"{url}?{key}={value.decode('latin-1')}").status_code
        for url in ("/api/moderation/cases/", "/api/moderation/actions/")
        for key in keys
        for value in NULS + NOT_UTF8 + OUT_OF_RANGE
    }

    # then each is the list, a field error or no such page: never a server error
    assert set(answers.values()) <= {200, 400, 404}, {
        key: status for key, status in answers.items() if status not in (200, 400, 404)
    }
    assert {200, 400, 404} <= set(answers.values())


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
