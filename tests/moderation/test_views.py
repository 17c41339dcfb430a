"""The report form for readers without JavaScript: GET/POST /images/<id>/report/."""

from pathlib import PurePosixPath

import pytest
from django.conf import settings
from django.test import Client
from django.test.client import MULTIPART_CONTENT, encode_multipart

from articles.models import Image
from moderation import services
from moderation.models import ImageCase, Report
from tests.factories import ImageFactory, UserFactory
from tests.html import parse
from tests.raw_http import FORM, NOT_UTF8, NULS, OUT_OF_RANGE
from tests.test_metrics import Delta, received, refused
from tests.texts import THANKS

pytestmark = pytest.mark.django_db


@pytest.fixture
def image():
    return ImageFactory(caption="La rivière en crue", credit="Photo d'essai")


@pytest.fixture
def browser():
    """A client that checks CSRF tokens, as a real browser's requests are checked."""
    return Client(enforce_csrf_checks=True)


def report_url(image) -> str:
    return f"/images/{image.pk}/report/"


def thanked_url(image) -> str:
    return f"/articles/{image.article.slug}/?reported={image.pk}#image-{image.pk}"


def form_token(client, image) -> str:
    """Open the form page, as the reader does, and read its CSRF token."""
    page = parse(client.get(report_url(image)))
    return page.one('form.report-form input[name="csrfmiddlewaretoken"]')["value"]


def post_report(client, image, **fields):
    data = {"reason": "violence", "comment": "Trop violente.", **fields}
    data["csrfmiddlewaretoken"] = form_token(client, image)
    return client.post(report_url(image), data)


def test_the_form_page_shows_the_image_and_the_report_form(browser, image):
    # when a reader without JavaScript follows "Signaler cette image"
    response = browser.get(report_url(image))

    # then a French page with the image, a link back and the form to this URL
    assert response.status_code == 200
    page = parse(response)
    assert page.one("html")["lang"] == "fr"
    assert page.one("h1").text == "Signaler cette image"
    assert page.one("figure img")["src"] == image.rendition.url
    assert "La rivière en crue" in page.one("figure figcaption").text
    back = f"/articles/{image.article.slug}/#image-{image.pk}"
    assert page.one("a.report-back")["href"] == back
    form = page.one("form.report-form")
    assert (form["method"], form["action"]) == ("post", report_url(image))
    assert form.one('input[name="csrfmiddlewaretoken"]')["value"]
    assert len(form.select('fieldset input[type="radio"][name="reason"]')) == 9
    assert form.one('textarea[name="comment"]')["maxlength"] == "500"
    assert form.one("button.report-submit").text == "Envoyer le signalement"
    assert not form.select(".errorlist")


def test_posting_the_form_records_the_report_and_sends_the_reader_back_thanked(
    browser, image, monkeypatch
):
    # given the service that records every report, watched
    calls = []
    real_report_create = services.report_create

    def watched_report_create(**kwargs):
        calls.append(kwargs)
        return real_report_create(**kwargs)

    monkeypatch.setattr(services, "report_create", watched_report_create)

    # when a new reader submits the form
    response = post_report(browser, image, reason="copyright", comment="Photo reprise.")

    # then the report goes through the service, once, with their new reader key
    assert len(calls) == 1
    report = Report.objects.get()
    assert (report.image, report.reason, report.comment) == (image, "copyright", "Photo reprise.")
    assert calls[0]["reporter_key"] == report.reporter_key
    assert report.reporter_key.startswith("reader:")
    assert ImageCase.objects.get(image=image).open_report_count == 1

    # and they get the signed reader cookie and a 303 back to the image in its article
    cookie = response.cookies[settings.READER_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert report.reporter_key.removeprefix("reader:") in cookie.value
    assert response.status_code == 303
    assert response["Location"] == thanked_url(image)
    assert "no-store" in response["Cache-Control"]

    # and the article thanks them inside that image's figure
    page = parse(browser.get(response["Location"]))
    assert page.one(f"figure#image-{image.pk} p.report-thanks").text == THANKS


def test_a_second_report_by_the_same_reader_is_thanked_and_counts_nothing(browser, image):
    # given a reader who has reported the image (the client keeps their cookie)
    post_report(browser, image, reason="spam")

    # when they report it again with another reason
    response = post_report(browser, image, reason="hate", comment="Encore.")

    # then the same answer, no new cookie, and still one report counted once
    assert response.status_code == 303
    assert response["Location"] == thanked_url(image)
    assert settings.READER_COOKIE_NAME not in response.cookies
    report = Report.objects.get()
    assert (report.reason, report.comment) == ("spam", "Trop violente.")
    case = ImageCase.objects.get(image=image)
    assert (case.open_report_count, case.score) == (1, 1)


def test_the_form_and_the_api_count_the_same_reader_once(browser, image):
    # given a reader who reported through the form
    post_report(browser, image)

    # when the same browser reports through the API (as the JavaScript does)
    token = form_token(browser, image)
    response = browser.post(
        f"/api/images/{image.pk}/reports/",
        {"reason": "spam"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    # then it is a repeat
    assert response.status_code == 200
    assert response.json() == {"detail": THANKS}
    assert Report.objects.count() == 1


def test_a_signed_in_reader_reports_as_their_account(image):
    # given a signed-in reader
    client = Client()
    user = UserFactory()
    client.force_login(user)

    # when they submit the form
    response = client.post(report_url(image), {"reason": "hate"})

    # then the report is theirs, and no anonymous cookie is needed
    assert response.status_code == 303
    assert Report.objects.get().reporter_key == f"user:{user.pk}"
    assert settings.READER_COOKIE_NAME not in response.cookies


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"reason": "bogus"}, "reason", "Sélectionnez un choix valide."),
        ({"reason": ""}, "reason", "Ce champ est obligatoire."),
        ({"comment": "x" * 501}, "comment", "au plus 500 caractères"),
    ],
)
def test_invalid_input_is_shown_again_with_its_errors_and_stores_nothing(
    browser, image, fields, field, message
):
    # when the form is posted with an unknown reason, no reason, or a comment too long
    response = post_report(browser, image, **fields)

    # then the form page comes back, 400, with the error next to the field
    assert response.status_code == 400
    page = parse(response)
    assert (
        page.one('.report-errors[role="alert"]').text == "Veuillez corriger les erreurs ci-dessous."
    )
    errors = page.one(f"ul.errorlist#report-{image.pk}-{field}_error")
    assert message in errors.text
    # and what the reader typed is kept
    comment = page.one('textarea[name="comment"]')
    assert comment.text == fields.get("comment", "Trop violente.")
    # and nothing is stored, no reader cookie is set
    assert not Report.objects.exists()
    assert not ImageCase.objects.exists()
    assert settings.READER_COOKIE_NAME not in response.cookies


def test_errors_are_in_the_readers_language(browser, image):
    token = form_token(browser, image)
    response = browser.post(
        report_url(image),
        {"reason": "bogus", "csrfmiddlewaretoken": token},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "Select a valid choice." in parse(response).one("ul.errorlist").text


def test_a_post_without_the_csrf_token_is_refused(browser, image):
    # given a reader's session with a CSRF cookie
    form_token(browser, image)

    # when a form is posted without the token (another site's form, say)
    response = browser.post(report_url(image), {"reason": "violence"})

    # then it is refused and nothing is stored
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_unknown_image_is_404(browser, image):
    token = form_token(browser, image)
    assert browser.get("/images/999999/report/").status_code == 404
    response = browser.post(
        "/images/999999/report/", {"reason": "spam", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 404
    assert not Report.objects.exists()


def test_a_blocked_image_sends_the_reader_back_to_the_article(browser, image):
    # given a reader holding the form of an image that has since been blocked
    token = form_token(browser, image)
    Image.objects.filter(pk=image.pk).update(visibility=Image.Visibility.BLOCKED)
    article = f"/articles/{image.article.slug}/#image-{image.pk}"

    # when they open the form page or post it
    opened = browser.get(report_url(image))
    posted = browser.post(report_url(image), {"reason": "spam", "csrfmiddlewaretoken": token})

    # then both send them to the article, where the placeholder stands, and nothing is stored
    assert (opened.status_code, opened["Location"]) == (303, article)
    assert (posted.status_code, posted["Location"]) == (303, article)
    assert not Report.objects.exists()
    html = browser.get(opened["Location"]).content.decode()
    assert PurePosixPath(image.original.name).name not in html


def test_other_methods_are_refused(image):
    client = Client()
    assert client.put(report_url(image)).status_code == 405
    assert client.delete(report_url(image)).status_code == 405


# --- hostile input --------------------------------------------------------------------


def oversize_bodies(token: str) -> dict[str, tuple[bytes, str]]:
    """Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, each with a valid reason and CSRF token."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    fields = f"reason=spam&csrfmiddlewaretoken={token}".encode()
    return {
        "a comment over the limit": (fields + b"&comment=" + b"x" * limit, FORM),
        "a field of its own over the limit": (fields + b"&padding=" + b"%C3%A9" * limit, FORM),
        "many small fields": (
            fields + b"".join(b"&f%d=%s" % (n, b"x" * 900) for n in range(3000)),
            FORM,
        ),
        "a multipart form over the limit": (
            encode_multipart(
                "fuzzboundary",
                {"reason": "spam", "csrfmiddlewaretoken": token, "comment": "x" * limit},
            ),
            MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "fuzzboundary"),
        ),
    }


def test_a_body_over_the_limit_is_a_413_page_in_french_counted_as_refused(browser, image):
    # given a reader on the form page
    token = form_token(browser, image)

    for name, (body, content_type) in oversize_bodies(token).items():
        # when the form is posted with a body over the limit, whatever makes it so
        with Delta(refused("invalid"), refused("not_found"), received()) as delta:
            response = browser.post(report_url(image), body, content_type=content_type)

        # then a 413 page of the site in French that names the limit, counted as a refused
        # report (as the API counts it), not as a report
        assert response.status_code == 413, name
        page = parse(response)
        assert page.one("html")["lang"] == "fr", name
        assert page.one("h1").text == "Requête trop volumineuse", name
        assert "la limite est de 2621440 octets" in page.one(".not-found").text, name
        assert delta.moved == [1, 0, 0], name
    # and nothing is stored
    assert not Report.objects.exists()
    assert not ImageCase.objects.exists()


def test_the_413_page_is_in_the_readers_language(browser, image):
    body, content_type = oversize_bodies(form_token(browser, image))["a comment over the limit"]
    response = browser.post(
        report_url(image), body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 413
    page = parse(response)
    assert page.one("h1").text == "Request too large"
    assert "the limit is 2621440 bytes" in page.one(".not-found").text


def test_a_body_that_fits_still_needs_the_csrf_token(browser, image):
    # given a reader's session with a CSRF cookie, and a browser without any
    form_token(browser, image)
    stranger = Client(enforce_csrf_checks=True)

    # when forms that fit are posted without the token, with another one, with an empty one
    # (another site's form, say), and without the cookie
    posts = [
        browser.post(report_url(image), {"reason": "violence"}),
        browser.post(report_url(image), {"reason": "violence", "csrfmiddlewaretoken": "x" * 32}),
        browser.post(report_url(image), {"reason": "violence", "csrfmiddlewaretoken": ""}),
        stranger.post(report_url(image), {"reason": "violence", "csrfmiddlewaretoken": "x" * 32}),
    ]

    # then every one is refused and nothing is stored
    assert [response.status_code for response in posts] == [403] * len(posts)
    assert not Report.objects.exists()


def test_hostile_values_in_the_forms_fields_are_400_with_the_field_error(browser, image, settings):
    # given a reader on the form page, with room for all these attempts under the limits
    settings.REPORT_RATE_LIMITS = [(100_000, 60)]
    token = form_token(browser, image).encode()

    # when the reason is a NUL, bytes that are not UTF-8 or a number, and the comment a NUL
    answers = {}
    for value in NULS + NOT_UTF8 + OUT_OF_RANGE:
        body = b"reason=" + value + b"&csrfmiddlewaretoken=" + token
        answers["reason", value] = browser.post(report_url(image), body, content_type=FORM)
    for value in NULS:
        body = b"reason=spam&comment=" + value + b"&csrfmiddlewaretoken=" + token
        answers["comment", value] = browser.post(report_url(image), body, content_type=FORM)

    # then each is the form again, 400, with the error next to its field
    assert {key: r.status_code for key, r in answers.items()} == dict.fromkeys(answers, 400)
    for (field, value), response in answers.items():
        errors = parse(response).one(f"ul.errorlist#report-{image.pk}-{field}_error").text
        if field == "comment":
            assert errors == "Le caractère nul n\u2019est pas autorisé.", value
    # and nothing is stored
    assert not Report.objects.exists()


def test_hostile_image_ids_are_404_or_400_and_counted_not_found(browser, image):
    token = form_token(browser, image)

    # when the form of an image named by a NUL, bytes that are not UTF-8, or a number no
    # image has (out of any column's range too) is opened and posted
    answers = {}
    with Delta(refused("not_found")) as delta:
        for value in NULS + NOT_UTF8 + OUT_OF_RANGE:
            url = "/images/" + value.decode("latin-1") + "/report/"
            answers[value] = (
                browser.get(url).status_code,
                browser.post(url, {"reason": "spam", "csrfmiddlewaretoken": token}).status_code,
            )

    # then a NUL is a bad request, the rest no such image; none a server error
    assert {value: answers[value] for value in NULS} == dict.fromkeys(NULS, (400, 400))
    others = NOT_UTF8 + OUT_OF_RANGE
    assert {value: answers[value] for value in others} == dict.fromkeys(others, (404, 404))
    # and the posts that matched the route were counted as reports of no image
    matched = [value for value in OUT_OF_RANGE if value.isdigit()]
    assert delta.moved == [len(matched)]
    assert not Report.objects.exists()
