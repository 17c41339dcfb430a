"""The browser harness itself: Debian's Chromium loads from the live server only."""

import pytest

from moderation.models import Report
from tests.factories import ImageFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_chromium_loads_the_api_and_a_media_file_from_the_live_server(reader, browser):
    # given an image
    image = ImageFactory()

    # when the browser opens the article API and the image's file
    response = reader.goto("/api/articles/")

    # then both come from the live server on 127.0.0.1
    assert response is not None and response.status == 200
    assert reader.url.startswith("http://127.0.0.1:")
    assert reader.evaluate("() => JSON.parse(document.body.innerText).count") == 1
    assert reader.goto(image.rendition.url).headers["content-type"] == "image/jpeg"
    assert browser.version.split(".")[0].isdigit()


def test_a_report_sent_by_the_browser_sets_the_reader_cookie_over_http(reader):
    # given the article page of an image, with the CSRF token the site hands out
    image = ImageFactory()
    reader.goto(f"/articles/{image.article.slug}/")
    token = reader.locator("input[name=csrfmiddlewaretoken]").first.input_value()

    # when the page posts the same report twice from the same cookie jar
    def post_report(headers: dict) -> int:
        return reader.evaluate(
            """async ([url, headers]) => (await fetch(url, {
                method: "POST",
                credentials: "same-origin",
                headers: {"Content-Type": "application/json", ...headers},
                body: JSON.stringify({reason: "spam"}),
            })).status""",
            [f"/api/images/{image.pk}/reports/", headers],
        )

    with_token = {"X-CSRFToken": token}
    # then without the token it is refused, and with it the first counts and the
    # second is a repeat by the same reader
    assert post_report({}) == 403
    assert [post_report(with_token), post_report(with_token)] == [201, 200]
    assert Report.objects.filter(image=image).count() == 1
    assert "signalement_reader" in [c["name"] for c in reader.context.cookies()]
