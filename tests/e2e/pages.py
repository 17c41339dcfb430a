"""What the browser tests know about the readers' pages: /work/notes/contract.md."""

from playwright.sync_api import Locator, Page, expect

from tests.texts import THANKS


def article_path(article) -> str:
    return f"/articles/{article.slug}/"


def figure(page: Page, image) -> Locator:
    return page.locator(f"figure#image-{image.pk}")


def report_button(page: Page, image) -> Locator:
    return figure(page, image).locator("a.report-button")


def report_dialog(page: Page, image) -> Locator:
    return page.locator(f"dialog#report-dialog-{image.pk}")


def thanks(page: Page, image) -> Locator:
    return figure(page, image).locator("p.report-thanks")


def choose_and_submit(page: Page, image, *, reason: str, comment: str = "") -> int:
    """In the open dialog: pick a reason, type the comment, submit; the API's status."""
    dialog = report_dialog(page, image)
    dialog.locator(f'input[name="reason"][value="{reason}"]').check()
    if comment:
        dialog.locator('textarea[name="comment"]').fill(comment)
    with page.expect_response(
        lambda r: r.url.endswith(f"/api/images/{image.pk}/reports/") and r.request.method == "POST"
    ) as answer:
        dialog.locator("button.report-submit").click()
    expect(dialog).not_to_be_visible()
    expect(thanks(page, image)).to_have_text(THANKS)
    return answer.value.status


def report_with_javascript(page: Page, image, *, reason: str, comment: str = "") -> int:
    """Open the article's dialog for `image` with a click and report it; the API's status."""
    report_button(page, image).click()
    expect(report_dialog(page, image)).to_be_visible()
    return choose_and_submit(page, image, reason=reason, comment=comment)
