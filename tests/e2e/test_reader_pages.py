"""The readers' pages in a real browser: home, article, languages."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from articles.demo import load_demo
from articles.models import Article
from tests.e2e.pages import article_path, figure, report_button, report_dialog
from tests.texts import REASONS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The seed page's own article (articles/demo_data/page.txt).
DEMO_MAIN_TITLE = "USA. Musk et Trump bons copains"
ARTICLE_HREF = re.compile(r"^/articles/[-\w]+/$")


def load_every_image(page: Page) -> None:
    """Scroll through the page so lazy images load, then wait until they have."""
    page.evaluate(
        """async () => {
            for (let y = 0; y < document.body.scrollHeight; y += innerHeight) {
                scrollTo(0, y);
                await new Promise(requestAnimationFrame);
            }
            scrollTo(0, 0);
        }"""
    )
    page.wait_for_function("() => [...document.images].every(i => i.complete)")


def broken_images(page: Page) -> list[str]:
    return page.evaluate(
        "() => [...document.images].filter(i => i.naturalWidth === 0).map(i => i.src)"
    )


def test_home_shows_the_ticker_and_the_latest_articles(reader, artifacts: Path):
    # given the demo content
    load_demo()

    # when a reader opens the home page
    response = reader.goto("/")

    # then it is French, never cached, with the headline ticker linking to articles
    assert response.status == 200
    assert "no-store" in response.headers["cache-control"]
    expect(reader.locator("html")).to_have_attribute("lang", "fr")
    expect(reader.locator("html")).to_have_attribute("dir", "ltr")
    ticker = reader.locator("nav.ticker")
    expect(ticker).to_be_visible()
    assert ticker.get_attribute("aria-label")
    ticker_hrefs = ticker.locator("a.ticker__link").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert ticker_hrefs and all(ARTICLE_HREF.match(href) for href in ticker_hrefs)

    # and the latest articles as cards, each with its title link and a lead image that loads
    cards = reader.locator("article.article-card")
    expect(cards.first).to_be_visible()
    assert cards.count() == cards.locator("a.article-card__link").count()
    card_hrefs = cards.locator("a.article-card__link").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert all(ARTICLE_HREF.match(href) for href in card_hrefs)
    load_every_image(reader)
    assert cards.locator("img").count() == cards.count()
    assert broken_images(reader) == []
    reader.screenshot(path=artifacts / "home.png", full_page=True)

    # and the list is paginated
    next_link = reader.locator('nav.pagination a[rel="next"]')
    expect(next_link).to_be_visible()
    next_link.click()
    reader.wait_for_url(re.compile(r"[?&]page=2"))
    expect(reader.locator("article.article-card").first).to_be_visible()
    expect(reader.locator('nav.pagination a[rel="prev"]')).to_be_visible()
    page_two_hrefs = reader.locator("a.article-card__link").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert page_two_hrefs and set(page_two_hrefs).isdisjoint(card_hrefs)

    # when the reader follows a card's link, they land on that article
    first = reader.locator("a.article-card__link").first
    title = first.inner_text().strip()
    first.click()
    expect(reader.locator("h1.article__title")).to_have_text(title)


def test_article_page_shows_the_article_its_images_and_their_report_controls(
    reader, artifacts: Path
):
    # given the demo content
    load_demo()
    article = Article.objects.select_related("source").get(title=DEMO_MAIN_TITLE)
    images = list(article.images.order_by("position"))
    assert images

    # when a reader opens its page
    response = reader.goto(article_path(article))

    # then the title, the source and date line, the body, the byline, the source link
    assert response.status == 200
    assert "no-store" in response.headers["cache-control"]
    expect(reader.locator("h1.article__title")).to_have_text(article.title)
    expect(reader.locator("p.article__meta")).to_have_text(
        re.compile(rf"^Publié dans {re.escape(article.source.name)} le \S.*")
    )
    if "\n## " in f"\n{article.body}":
        expect(reader.locator("h2").first).to_be_visible()
    if article.byline:
        expect(reader.locator("p.article__byline")).to_contain_text(article.byline)
    source_link = reader.locator("a.article__source-link")
    expect(source_link).to_have_text("Cliquez ici pour lire l'article depuis sa source")
    expect(source_link).to_have_attribute("href", article.original_url)

    # and every image, loaded, with its caption, credit, control and dialog
    load_every_image(reader)
    assert broken_images(reader) == []
    for image in images:
        shown = figure(reader, image)
        expect(shown).to_have_attribute("data-image-id", str(image.pk))
        img = shown.locator("img")
        expect(img).to_have_attribute("alt", image.caption)
        # the 1024 px rendition's size, read from the file itself
        expect(img).to_have_attribute("width", str(image.rendition.width))
        expect(img).to_have_attribute("height", str(image.rendition.height))
        expect(img).to_have_attribute("src", image.rendition.url)
        expect(shown.locator("figcaption")).to_contain_text(image.caption)
        expect(shown.locator(".article-image__credit")).to_contain_text(image.credit)
        expect(report_button(reader, image)).to_have_attribute(
            "href", f"/images/{image.pk}/report/"
        )
        dialog = report_dialog(reader, image)
        expect(dialog).to_have_count(1)
        expect(dialog).not_to_be_visible()
        assert sorted(
            dialog.locator('input[name="reason"]').evaluate_all("rs => rs.map(r => r.value)")
        ) == sorted(REASONS)
    scripts = reader.locator("script[src]").evaluate_all(
        "ss => ss.map(s => new URL(s.src).pathname)"
    )
    assert all(path.startswith("/static/") for path in scripts)
    reader.screenshot(path=artifacts / "article.png", full_page=True)


def test_the_language_switcher_turns_the_page_arabic_and_right_to_left(
    reader, article_with_images, artifacts: Path
):
    # given a reader on a French article
    article, (image, _other) = article_with_images
    reader.goto(article_path(article))
    html = reader.locator("html")
    expect(html).to_have_attribute("dir", "ltr")
    switcher = reader.locator('form.language-switcher[action="/i18n/setlang/"]')
    expect(switcher).to_be_visible()
    choice = switcher.locator('select[name="language"]')
    assert sorted(choice.locator("option").evaluate_all("os => os.map(o => o.value)")) == [
        "ar",
        "en",
        "es",
        "fr",
    ]

    # when they choose Arabic in the visible switcher and submit it
    choice.select_option("ar")
    with reader.expect_navigation():
        switcher.locator('[type="submit"]').click()

    # then the same article comes back in Arabic, right to left
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    assert reader.url.endswith(article_path(article))
    expect(report_button(reader, image)).not_to_have_text("Signaler cette image")
    load_every_image(reader)
    reader.screenshot(path=artifacts / "article-ar.png", full_page=True)
