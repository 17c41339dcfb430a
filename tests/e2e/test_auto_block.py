"""Five readers report one image in their own browsers; the real worker blocks it."""

import re
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from articles.models import Image
from tests.e2e.pages import (
    article_path,
    figure,
    report_button,
    report_dialog,
    report_with_javascript,
)
from tests.texts import PLACEHOLDER
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def visibility(image) -> str:
    return Image.objects.values_list("visibility", flat=True).get(pk=image.pk)


def test_five_readers_block_an_image_and_a_reload_shows_the_placeholder(
    new_reader, article_with_images, celery_worker, artifacts: Path
):
    # given an article whose lead image five readers, each in their own browser, report
    article, (image, other) = article_with_images
    # Its renditions' random directory: what names its files in any public URL.
    file_name = Path(image.rendition.name).parent.name
    readers = [new_reader() for _ in range(5)]
    statuses = []
    for number, (page, reason) in enumerate(
        zip(readers, ["violence", "nudity", "hate", "violence", "other"], strict=True), start=1
    ):
        page.goto(article_path(article))
        statuses.append(report_with_javascript(page, image, reason=reason))
        if number == 4:
            # four distinct readers are not enough
            assert visibility(image) == Image.Visibility.VISIBLE

    # then each was a new reader, and the real worker blocks the image
    assert statuses == [201] * 5
    wait_until(lambda: visibility(image) == Image.Visibility.BLOCKED)

    # when the first reader reloads the article
    page = readers[0]
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.reload()

    # then the image is replaced by the placeholder, with nothing left of it
    blocked = figure(page, image)
    expect(blocked).to_have_class(re.compile(r"(^|\s)article-image--blocked(\s|$)"))
    expect(blocked.locator("p.blocked-placeholder")).to_have_text(PLACEHOLDER)
    expect(blocked.locator("img")).to_have_count(0)
    expect(blocked.locator("figcaption, a, button, dialog")).to_have_count(0)
    expect(report_button(page, image)).to_have_count(0)
    expect(report_dialog(page, image)).to_have_count(0)
    assert file_name not in page.content()
    assert not [url for url in requested if file_name in url]
    expect(page.locator(f'img[src*="{file_name}"]')).to_have_count(0)
    # the other image of the article is untouched
    expect(figure(page, other).locator("img")).to_be_visible()
    expect(report_button(page, other)).to_be_visible()
    blocked.screenshot(path=artifacts / "blocked-image.png")
    page.screenshot(path=artifacts / "blocked-article.png", full_page=True)

    # and the file itself is gone for readers. (Asked of the app itself: Django's live
    # server thread serves MEDIA_URL straight from MEDIA_ROOT, without our view.)
    assert Client().get(image.original.url).status_code == 404
    assert Client().get(image.rendition.url).status_code == 404

    # and the home page's card shows the placeholder
    page.goto("/")
    card = page.locator("article.article-card").filter(
        has=page.locator(f'a.article-card__link[href="{article_path(article)}"]')
    )
    expect(card.locator("p.blocked-placeholder")).to_have_text(PLACEHOLDER)
    expect(card.locator("img")).to_have_count(0)
    assert file_name not in page.content()
