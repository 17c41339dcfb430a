"""A reader reports an image from the article page: with JavaScript, from the
keyboard, twice, and without JavaScript."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from moderation.models import ImageCase, Report
from tests.e2e.pages import (
    article_path,
    choose_and_submit,
    figure,
    report_button,
    report_dialog,
    report_with_javascript,
    thanks,
)
from tests.texts import REASONS, THANKS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reporting_from_the_dialog_thanks_the_reader_in_place_and_stores_the_report(
    reader, article_with_images, artifacts: Path
):
    # given a reader on an article with two images
    article, (image, other) = article_with_images
    reader.goto(article_path(article))
    button = report_button(reader, image)
    expect(button).to_have_text("Signaler cette image")
    expect(button).to_have_attribute("role", "button")
    expect(button).to_have_attribute("aria-haspopup", "dialog")
    expect(button).to_have_attribute("aria-controls", f"report-dialog-{image.pk}")
    page_url = reader.url
    reader.evaluate("() => { window.e2eMarker = 'set before the click'; }")
    navigations = []
    reader.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == reader.main_frame else None,
    )

    # when they click "Signaler cette image"
    button.click()

    # then the modal dialog opens on the reasons, each labelled, focus on the first
    dialog = report_dialog(reader, image)
    expect(dialog).to_be_visible()
    assert dialog.evaluate("d => d.open && d.matches(':modal')")
    radios = dialog.locator('input[name="reason"]')
    assert sorted(radios.evaluate_all("rs => rs.map(r => r.value)")) == sorted(REASONS)
    assert radios.evaluate_all("rs => rs.every(r => r.labels.length > 0)")
    expect(radios.first).to_be_focused()
    comment_box = dialog.locator('textarea[name="comment"]')
    expect(comment_box).to_have_attribute("maxlength", "500")
    assert comment_box.evaluate("t => t.labels.length") > 0
    reader.screenshot(path=artifacts / "report-dialog.png")

    # when they choose a reason, type a comment and submit
    status = choose_and_submit(
        reader, image, reason="violence", comment="Une image trop violente pour des enfants."
    )

    # then the thanks replaces nothing but appears in the figure, focused, with no reload
    assert status == 201
    expect(thanks(reader, image)).to_be_focused()
    expect(thanks(reader, image)).to_have_attribute("role", "status")
    assert reader.url == page_url
    assert reader.evaluate("() => window.e2eMarker") == "set before the click"
    assert navigations == []
    expect(figure(reader, image).locator("img")).to_be_visible()
    expect(thanks(reader, other)).to_have_count(0)
    thanks(reader, image).scroll_into_view_if_needed()
    reader.screenshot(path=artifacts / "report-thanks.png")

    # and the report is stored for this image only
    report = Report.objects.get(image=image)
    assert (report.reason, report.comment) == (
        "violence",
        "Une image trop violente pour des enfants.",
    )
    assert report.reporter_key.startswith("reader:")
    assert ImageCase.objects.get(image=image).open_report_count == 1
    assert not Report.objects.filter(image=other).exists()


def test_the_report_dialog_works_from_the_keyboard(reader, article_with_images, artifacts: Path):
    # given a reader on an article, the report control focused
    article, (image, _other) = article_with_images
    reader.goto(article_path(article))
    button = report_button(reader, image)
    dialog = report_dialog(reader, image)
    button.focus()

    # when they press Enter, the dialog opens with focus on the first reason
    reader.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    radios = dialog.locator('input[name="reason"]')
    expect(radios.first).to_be_focused()

    # when they press Escape, it closes and focus returns to the control
    reader.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()
    expect(button).to_be_focused()

    # when they open it again, pick the second reason with an arrow key, tab to the
    # comment, type it, tab to the submit button and press Enter
    reader.keyboard.press("Enter")
    expect(radios.first).to_be_focused()
    reader.keyboard.press("ArrowDown")
    expect(radios.nth(1)).to_be_checked()
    chosen = radios.nth(1).get_attribute("value")
    reader.screenshot(path=artifacts / "report-dialog-keyboard.png")
    reader.keyboard.press("Tab")
    expect(dialog.locator('textarea[name="comment"]')).to_be_focused()
    reader.keyboard.type("Signalé au clavier.")
    reader.keyboard.press("Tab")
    expect(dialog.locator("button.report-submit")).to_be_focused()
    reader.keyboard.press("Enter")

    # then the thanks appears, focused, and the report is stored
    expect(thanks(reader, image)).to_have_text(THANKS)
    expect(thanks(reader, image)).to_be_focused()
    expect(dialog).not_to_be_visible()
    report = Report.objects.get(image=image)
    assert (report.reason, report.comment) == (chosen, "Signalé au clavier.")


def test_the_same_reader_reporting_again_is_thanked_again_and_counted_once(
    reader, article_with_images
):
    # given a reader who has reported an image
    article, (image, _other) = article_with_images
    reader.goto(article_path(article))
    assert report_with_javascript(reader, image, reason="spam") == 201

    # when they report it again on the same page, then after a reload
    again_in_place = report_with_javascript(reader, image, reason="hate", comment="Encore.")
    expect(thanks(reader, image)).to_have_count(1)
    reader.reload()
    again_after_reload = report_with_javascript(reader, image, reason="nudity")

    # then they are thanked each time and nothing more is counted
    assert (again_in_place, again_after_reload) == (200, 200)
    report = Report.objects.get(image=image)
    assert (report.reason, report.comment) == ("spam", "")
    case = ImageCase.objects.get(image=image)
    assert (case.open_report_count, case.score) == (1, 1)


def test_without_javascript_the_control_leads_to_the_form_page_and_back_with_the_thanks(
    new_reader, article_with_images, artifacts: Path
):
    # given a reader without JavaScript on an article
    article, (image, _other) = article_with_images
    page = new_reader(javascript=False)
    page.goto(article_path(article))
    expect(report_dialog(page, image)).not_to_be_visible()

    # when they follow "Signaler cette image"
    report_button(page, image).click()

    # then they are on the report form page
    page.wait_for_url(f"**/images/{image.pk}/report/")
    form = page.locator(f'form[action="/images/{image.pk}/report/"]')
    expect(form).to_be_visible()

    # when they choose a reason, type a comment and submit
    form.locator('input[name="reason"][value="copyright"]').check()
    form.locator('textarea[name="comment"]').fill("Photo reprise sans autorisation.")
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()

    # then they are back on the article, at the image, with the thanks
    url = urlsplit(page.url)
    assert (url.path, url.query, url.fragment) == (
        article_path(article),
        f"reported={image.pk}",
        f"image-{image.pk}",
    )
    expect(thanks(page, image)).to_have_text(THANKS)
    page.screenshot(path=artifacts / "report-thanks-nojs.png")
    report = Report.objects.get(image=image)
    assert (report.reason, report.comment) == ("copyright", "Photo reprise sans autorisation.")


def test_a_card_on_the_home_page_can_be_reported_in_place(reader, article_with_images):
    # given a reader on the home page, where the article's card shows its lead image
    _article, (image, _other) = article_with_images
    reader.goto("/")
    page_url = reader.url

    # when they report the lead image from the card
    status = report_with_javascript(reader, image, reason="misleading")

    # then they are thanked on the home page itself and the report is stored
    assert status == 201
    assert reader.url == page_url
    card = reader.locator("article.article-card").filter(has=figure(reader, image))
    expect(card.locator("p.report-thanks")).to_have_text(THANKS)
    assert Report.objects.get(image=image).reason == "misleading"


def test_an_answer_with_field_errors_is_shown_inside_the_dialog(reader, article_with_images):
    # given a reader whose dialog offers a reason the API does not know
    article, (image, _other) = article_with_images
    reader.goto(article_path(article))
    report_button(reader, image).click()
    dialog = report_dialog(reader, image)
    dialog.locator('input[name="reason"]').first.evaluate("r => { r.value = 'no-such-reason'; }")
    dialog.locator('input[name="reason"]').first.check()

    # when they submit
    with reader.expect_response(lambda r: r.url.endswith(f"/api/images/{image.pk}/reports/")) as a:
        dialog.locator("button.report-submit").click()

    # then the API's 400 is shown in the dialog, which stays open, and nothing is stored
    assert a.value.status == 400
    errors = dialog.locator('.report-errors[role="alert"]')
    expect(errors).not_to_be_empty()
    expect(dialog).to_be_visible()
    expect(thanks(reader, image)).to_have_count(0)
    assert not Report.objects.exists()


def test_when_the_api_cannot_be_reached_the_form_is_posted_instead(reader, article_with_images):
    # given a reader for whom the report API is unreachable
    article, (image, _other) = article_with_images
    reader.goto(article_path(article))
    reader.route("**/api/images/*/reports/", lambda route: route.abort("connectionrefused"))
    report_button(reader, image).click()
    dialog = report_dialog(reader, image)
    dialog.locator('input[name="reason"][value="harassment"]').check()
    dialog.locator('textarea[name="comment"]').fill("Envoyé sans l'API.")

    # when they submit
    with reader.expect_navigation():
        dialog.locator("button.report-submit").click()

    # then the plain form post records the report and brings them back with the thanks
    url = urlsplit(reader.url)
    assert (url.path, url.query) == (article_path(article), f"reported={image.pk}")
    expect(thanks(reader, image)).to_have_text(THANKS)
    report = Report.objects.get(image=image)
    assert (report.reason, report.comment) == ("harassment", "Envoyé sans l'API.")
