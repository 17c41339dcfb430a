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
    # given a page of the site and an image
    image = ImageFactory()
    reader.goto("/api/articles/")

    # when the page posts the same report twice from the same cookie jar
    def post_report() -> int:
        return reader.evaluate(
            """async (url) => (await fetch(url, {
                method: "POST",
                credentials: "same-origin",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({reason: "spam"}),
            })).status""",
            f"/api/images/{image.pk}/reports/",
        )

    # then the first counts and the second is a repeat by the same reader
    assert [post_report(), post_report()] == [201, 200]
    assert Report.objects.filter(image=image).count() == 1
    assert [c["name"] for c in reader.context.cookies()] == ["signalement_reader"]
