from datetime import datetime, timedelta
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from articles.models import Image
from moderation.services import case_auto_block, report_create
from tests.factories import ArticleFactory, ImageFactory, SourceFactory
from tests.html import parse
from tests.raw_http import NOT_UTF8, NULS, OUT_OF_RANGE, raw_request
from tests.texts import PLACEHOLDER, REASONS, THANKS

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def client():
    return Client()


def article_url(article) -> str:
    return f"/articles/{article.slug}/"


def file_name(image) -> str:
    """What names the image's files in a URL: its renditions' random directory."""
    return PurePosixPath(image.rendition.name).parent.name


def block(image) -> None:
    """Five readers report the image and the auto-block service runs, as the worker would."""
    for number in range(5):
        report_create(image_id=image.pk, reporter_key=f"reader:{number:032x}", reason="violence")
    assert case_auto_block(image_id=image.pk)
    image.refresh_from_db()
    assert image.is_blocked


def articles_newest_first(count: int, *, images: int = 1) -> list:
    """`count` articles, an hour apart, newest first, each with `images` images."""
    now = datetime(2024, 8, 15, 20, 0, tzinfo=PARIS)
    sources = [SourceFactory(name="Les ECO"), SourceFactory(name="Le360")]
    articles = [
        ArticleFactory(source=sources[index % 2], published_at=now - timedelta(hours=index))
        for index in range(count)
    ]
    for article in articles:
        for position in range(images):
            ImageFactory(article=article, position=position)
    return articles


# --- Home -------------------------------------------------------------------


def test_home_shows_the_ticker_the_latest_articles_and_a_next_page(client):
    # given 14 articles with two images each
    articles = articles_newest_first(14, images=2)

    # when a reader opens the home page
    response = client.get("/")

    # then the ticker links every headline to its article, newest first
    assert response.status_code == 200
    page = parse(response)
    ticker = page.one("nav.ticker")
    assert ticker["aria-label"]
    links = ticker.select("a.ticker__link")
    assert [link["href"] for link in links] == [article_url(a) for a in articles]
    assert [link.text for link in links] == [a.title for a in articles]

    # and the first 12 articles as cards: title link, source, date, lead image
    cards = page.select("article.article-card")
    assert len(cards) == 12
    for card, article in zip(cards, articles, strict=False):
        link = card.one("a.article-card__link")
        assert (link["href"], link.text) == (article_url(article), article.title)
        assert card.one(".article-card__source").text == article.source.name
        assert card.one("time").text == f"{article.published_at.astimezone(PARIS).day} août 2024"
        lead = article.images.get(position=0)
        assert card.one("img")["src"] == lead.thumbnail.url
        assert card.one("figure.article-image")["id"] == f"image-{lead.pk}"
        assert card.one("a.report-button")["href"] == f"/images/{lead.pk}/report/"

    # and the pagination leads to the older articles only
    pagination = page.one("nav.pagination")
    assert pagination.one('a[rel="next"]')["href"] == "?page=2"
    assert not pagination.select('a[rel="prev"]')


def test_home_second_page_holds_the_older_articles(client):
    # given 14 articles
    articles = articles_newest_first(14)

    # when the reader follows the next-page link
    page = parse(client.get("/?page=2"))

    # then the two oldest articles, and a link back
    links = page.select("a.article-card__link")
    assert [link["href"] for link in links] == [article_url(a) for a in articles[12:]]
    assert page.one('nav.pagination a[rel="prev"]')["href"] == "?page=1"
    assert not page.select('nav.pagination a[rel="next"]')


@pytest.mark.parametrize("query", ["?page=3", "?page=0", "?page=abc"])
def test_home_page_out_of_range_is_a_404_page_in_the_site_layout(client, query):
    # given 14 articles: two pages
    articles_newest_first(14)

    # when a page that does not exist is asked for
    response = client.get(f"/{query}")

    # then a 404, rendered as a page of the site, in French
    assert response.status_code == 404
    page = parse(response)
    assert page.one("html")["lang"] == "fr"
    assert page.one("h1").text == "Page introuvable"
    assert page.one("form.language-switcher")


def test_home_without_articles_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Aucun article pour l'instant." in parse(response).one(".latest").text


def test_home_card_of_a_blocked_lead_image_shows_the_placeholder_and_nothing_of_it(client):
    # given an article whose lead image is blocked, next to one whose image is visible
    blocked_article, visible_article = articles_newest_first(2)
    image = blocked_article.images.get()
    block(image)

    # when the home page is read
    response = client.get("/")

    # then the blocked image's card shows the placeholder and no trace of the image
    page = parse(response)
    card = next(
        c
        for c in page.select("article.article-card")
        if c.one("a.article-card__link")["href"] == article_url(blocked_article)
    )
    figure = card.one("figure")
    assert "article-image--blocked" in figure.classes
    assert figure.one("p.blocked-placeholder").text == PLACEHOLDER
    assert not card.select("img") and not card.select("a.report-button")
    assert not card.select("dialog") and not card.select("figcaption")
    html = response.content.decode()
    assert file_name(image) not in html
    assert f"/images/{image.pk}/report/" not in html
    assert image.caption not in html
    # and the other card is untouched
    assert len(page.select("img")) == 1
    assert page.one("img")["src"] == visible_article.images.get().thumbnail.url


@pytest.mark.portable
def test_home_reads_in_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    # given 30 articles with 3 images each
    articles_newest_first(30, images=3)

    # when the home page is read, then: count, page, lead images, ticker
    with django_assert_max_num_queries(4):
        response = client.get("/")
    assert len(parse(response).select("article.article-card img")) == 12


# --- Article page -----------------------------------------------------------


@pytest.fixture
def article():
    return ArticleFactory(
        source=SourceFactory(name="Les ECO", slug="les-eco"),
        title="USA. Musk et Trump bons copains",
        slug="usa-musk-et-trump-bons-copains",
        byline="Sami Nemli avec Agence / Les Inspirations ECO",
        published_at=datetime(2024, 8, 15, 8, 0, tzinfo=PARIS),
        body=(
            "Premier paragraphe, sur deux lignes\nqui se suivent.\n\n"
            "Deuxième paragraphe <script>alert('x')</script> & co.\n\n"
            "## Une «cyberattaque massive»\n\n"
            "Troisième paragraphe.\n\n"
            "## Deux heures de show\n"
            "Quatrième paragraphe, collé à son intertitre."
        ),
        original_url="https://leseco.ma/usa-musk-et-trump-bons-copains.html",
    )


@pytest.fixture
def images(article):
    return [
        ImageFactory(
            article=article,
            position=position,
            caption=f"Légende {position}",
            credit="Photo AFP",
            original__width=80,
            original__height=60,
            width=80,
            height=60,
        )
        for position in range(3)
    ]


def test_article_page_shows_title_meta_body_byline_and_source_link(client, article):
    # when a reader opens the article
    response = client.get(article_url(article))

    # then the title, "Publié dans <source> le <date>", the body, the byline, the source link
    assert response.status_code == 200
    page = parse(response)
    assert page.one("h1.article__title").text == "USA. Musk et Trump bons copains"
    assert page.one("p.article__meta").text == "Publié dans Les ECO le 15 août 2024"
    body = page.one(".article__body")
    assert [p.text for p in body.select("p")] == [
        "Premier paragraphe, sur deux lignes qui se suivent.",
        "Deuxième paragraphe <script>alert('x')</script> & co.",
        "Troisième paragraphe.",
        "Quatrième paragraphe, collé à son intertitre.",
    ]
    assert len(body.select("p")[0].select("br")) == 1
    assert [h.text for h in body.select("h2")] == [
        "Une «cyberattaque massive»",
        "Deux heures de show",
    ]
    assert [s.get("src") for s in page.select("script")] == ["/static/articles/js/report.js"]
    assert page.one("p.article__byline").text == "Sami Nemli avec Agence / Les Inspirations ECO"
    link = page.one("a.article__source-link")
    assert link["href"] == "https://leseco.ma/usa-musk-et-trump-bons-copains.html"
    assert link.text == "Cliquez ici pour lire l'article depuis sa source"


def test_article_page_shows_each_image_with_caption_credit_and_report_control(
    client, article, images
):
    # when a reader opens an article with three images
    page = parse(client.get(article_url(article)))

    # then each image is a figure with its picture, caption, credit and report control
    figures = page.select("figure.article-image")
    assert [f["id"] for f in figures] == [f"image-{image.pk}" for image in images]
    for figure, image in zip(figures, images, strict=True):
        assert figure["data-image-id"] == str(image.pk)
        img = figure.one("img")
        assert (img["src"], img["alt"], img["width"], img["height"]) == (
            image.rendition.url,
            image.caption,
            "80",
            "60",
        )
        caption = figure.one("figcaption")
        assert image.caption in caption.text
        assert figure.one("span.article-image__credit").text == "Photo AFP"
        button = figure.one("a.report-button")
        assert button.text == "Signaler cette image"
        assert (
            button["href"],
            button["role"],
            button["aria-haspopup"],
            button["aria-controls"],
        ) == (f"/images/{image.pk}/report/", "button", "dialog", f"report-dialog-{image.pk}")
        assert not figure.select(".report-thanks")


def test_each_report_dialog_holds_a_labelled_form_for_its_image(client, article, images):
    # when the article is read
    page = parse(client.get(article_url(article)))

    # then each image has its dialog with a labelled, CSRF-protected form to the no-JS URL
    for image in images:
        dialog = page.one(f"dialog#report-dialog-{image.pk}")
        assert "report-dialog" in dialog.classes
        assert page.one(f"#{dialog['aria-labelledby']}").text == "Signaler cette image"
        form = dialog.one("form.report-form")
        assert (form["method"], form["action"]) == ("post", f"/images/{image.pk}/report/")
        assert form["data-report-api"] == f"/api/images/{image.pk}/reports/"
        assert form.one('input[name="csrfmiddlewaretoken"]')["value"]
        fieldset = form.one("fieldset")
        assert fieldset.one("legend").text == "Pourquoi signalez-vous cette image ?"
        radios = fieldset.select('input[name="reason"]')
        assert [r["value"] for r in radios] == REASONS
        labels = [page.one(f'label[for="{r["id"]}"]').text for r in radios]
        assert labels[:3] == ["Nudité", "Violence", "Haine"]
        comment = form.one('textarea[name="comment"]')
        assert comment["maxlength"] == "500"
        assert page.one(f'label[for="{comment["id"]}"]').text == "Commentaire (facultatif)"
        assert form.one("button.report-submit")["type"] == "submit"
        assert form.one("button.report-cancel")["type"] == "button"
        assert form.one('.report-errors[role="alert"]')
    # and no id is used twice on the page
    ids = [element["id"] for element in page.descendants() if "id" in element.attrs]
    assert len(ids) == len(set(ids))


def test_images_open_the_article_and_its_sections_in_order(client, article, images):
    # when the article with three images and two sub-headings is read
    body = parse(client.get(article_url(article))).one(".article__body")

    # then the lead image comes before the text and each next image opens a section
    order = [
        element["id"] if element.tag == "figure" else element.tag
        for element in body.descendants()
        if element.tag in {"p", "h2", "figure"}
        and not any(ancestor.tag == "figure" for ancestor in element.ancestors())
    ]
    lead, second, third = (f"image-{image.pk}" for image in images)
    assert order == [lead, "p", "p", "h2", second, "p", "h2", third, "p"]
    # and the article's sub-headings are the only h2 in its body (the dialogs have none)
    assert [h.text for h in body.select("h2")] == [
        "Une «cyberattaque massive»",
        "Deux heures de show",
    ]


def test_unknown_article_is_404(client):
    assert client.get("/articles/nothing-here/").status_code == 404


def test_reported_query_thanks_the_reader_in_that_image_only(client, article, images):
    # given the redirect of the no-JS form for the second image
    reported = images[1]

    # when the article is read with ?reported=<id>
    page = parse(client.get(f"{article_url(article)}?reported={reported.pk}"))

    # then the thanks is a focusable status inside that figure, and nowhere else
    thanks = page.one("p.report-thanks")
    assert thanks.parent["id"] == f"image-{reported.pk}"
    assert (thanks["role"], thanks["tabindex"]) == ("status", "-1")
    assert thanks.text == THANKS


@pytest.mark.parametrize("value", ["abc", "", "99999"])
def test_a_meaningless_reported_query_shows_no_thanks(client, article, images, value):
    response = client.get(f"{article_url(article)}?reported={value}")
    assert response.status_code == 200
    assert not parse(response).select(".report-thanks")


def test_a_blocked_image_is_replaced_by_the_placeholder_with_no_trace(client, article, images):
    # given an article whose second image has been blocked
    blocked = images[1]
    block(blocked)

    # when the article is read, even with the no-JS thanks query for that image
    response = client.get(f"{article_url(article)}?reported={blocked.pk}")

    # then its figure holds only the placeholder
    page = parse(response)
    figure = page.one(f"figure#image-{blocked.pk}")
    assert figure.classes == {"article-image", "article-image--blocked"}
    assert "data-image-id" not in figure.attrs
    assert [child.tag for child in figure.children] == ["p"]
    assert figure.one("p.blocked-placeholder").text == PLACEHOLDER
    # and nothing of the image is left anywhere in the page
    html = response.content.decode()
    assert file_name(blocked) not in html
    assert blocked.original.url not in html
    assert blocked.caption not in html
    assert f"/images/{blocked.pk}/report" not in html
    assert f"/api/images/{blocked.pk}/" not in html
    assert f"report-dialog-{blocked.pk}" not in html
    # and the other images are untouched
    assert [img["src"] for img in page.select("img")] == [
        images[0].rendition.url,
        images[2].rendition.url,
    ]
    assert len(page.select("a.report-button")) == 2


def test_an_image_blocked_after_a_visit_is_gone_at_the_next_load(client, article, images):
    # given a reader who saw the image
    image = images[0]
    assert file_name(image) in client.get(article_url(article)).content.decode()

    # when it is blocked
    block(image)

    # then the next load of the same page shows the placeholder
    response = client.get(article_url(article))
    assert file_name(image) not in response.content.decode()
    assert parse(response).one(f"figure#image-{image.pk} p.blocked-placeholder")


def test_article_page_with_20_images_reads_in_at_most_6_queries(
    client, django_assert_max_num_queries
):
    # given an article with 20 images, one of them blocked
    article = ArticleFactory()
    images = [ImageFactory(article=article, position=position) for position in range(20)]
    Image.objects.filter(pk=images[3].pk).update(visibility=Image.Visibility.BLOCKED)

    # when it is read
    with django_assert_max_num_queries(6):
        response = client.get(article_url(article))

    # then all 20 figures are there
    page = parse(response)
    assert len(page.select("figure.article-image")) == 20
    assert len(page.select("figure.article-image img")) == 19


@pytest.mark.parametrize("path", ["/", "/articles/{slug}/", "/images/{image_id}/report/"])
def test_pages_are_never_cached(client, article, images, path):
    response = client.get(path.format(slug=article.slug, image_id=images[0].pk))
    assert response.status_code == 200
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-cache", "no-store", "must-revalidate", "private", "max-age=0"} <= cache_control


# --- Hostile addresses ------------------------------------------------------


def page_addresses(value: bytes) -> dict[str, bytes]:
    """Every readers' page with `value` in its path or its query, as sent on the wire."""
    return {
        "home page number": b"/?page=" + value,
        "home parameter name": b"/?" + value + b"=1",
        "article slug": b"/articles/" + value + b"/",
        "article slug end": b"/articles/usa-musk-et-trump-bons-copains" + value + b"/",
        "article reported": b"/articles/usa-musk-et-trump-bons-copains/?reported=" + value,
        "unknown page": b"/" + value + b"/",
        "language switch": b"/i18n/setlang/?next=" + value,
    }


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_any_page_address_is_a_400_page_in_french(live_server):
    # given the site with an article
    ArticleFactory(slug="usa-musk-et-trump-bons-copains")

    # when any page is asked for with a NUL, raw or escaped, in its path or its query
    answers = {
        (route, value): raw_request(live_server.url, "GET", target)
        for value in NULS
        for route, target in page_addresses(value).items()
    }

    # then each is a bad request, said on a page of the site in the reader's language
    assert {key: answer.status for key, answer in answers.items()} == dict.fromkeys(answers, 400)
    for answer in answers.values():
        page = parse(answer.text)
        assert page.one("html")["lang"] == "fr"
        assert page.one("h1").text == "Requête invalide"
        assert "caractère nul" in page.one(".not-found").text


@pytest.mark.django_db(transaction=True)
def test_bytes_not_utf8_and_numbers_out_of_range_in_page_addresses_are_never_a_500(live_server):
    # given the site with an article and its image
    article = ArticleFactory(slug="usa-musk-et-trump-bons-copains")
    ImageFactory(article=article)

    # when every page is asked for with bytes that are not UTF-8 and numbers no column holds
    answers = {
        (route, value): raw_request(live_server.url, "GET", target).status
        for value in NOT_UTF8 + OUT_OF_RANGE
        for route, target in page_addresses(value).items()
    }

    # then each is an answer of the site: the page (a value it ignores), a 404 (a page or an
    # article that does not exist) or the language switch's redirect, never a server error
    assert set(answers.values()) <= {200, 302, 404}, answers
    for value in NOT_UTF8 + OUT_OF_RANGE:
        assert answers["home page number", value] == 404
        assert answers["article reported", value] == 200
        assert answers["article slug", value] == 404


# --- Languages --------------------------------------------------------------


def test_pages_are_french_by_default(client, article, images):
    page = parse(client.get(article_url(article)))
    html = page.one("html")
    assert (html["lang"], html["dir"]) == ("fr", "ltr")
    assert page.select("a.report-button")[0].text == "Signaler cette image"


@pytest.mark.parametrize(
    ("accept_language", "lang", "direction", "button", "meta"),
    [
        ("en-GB,en;q=0.9", "en", "ltr", "Report this image", "Published in Les ECO on "),
        ("es-ES,es;q=0.9", "es", "ltr", "Denunciar esta imagen", "Publicado en Les ECO el "),
        ("ar", "ar", "rtl", "الإبلاغ عن هذه الصورة", "نُشر في Les ECO بتاريخ "),
        ("de-DE,de;q=0.9", "fr", "ltr", "Signaler cette image", "Publié dans Les ECO le "),
    ],
)
def test_accept_language_picks_the_language_and_direction(
    client, article, images, accept_language, lang, direction, button, meta
):
    # when a browser asking for a language opens the article
    response = client.get(article_url(article), HTTP_ACCEPT_LANGUAGE=accept_language)

    # then the page is in that language (French when it is not offered), in its direction
    page = parse(response)
    html = page.one("html")
    assert (html["lang"], html["dir"]) == (lang, direction)
    assert response["Content-Language"] == lang
    assert page.select("a.report-button")[0].text == button
    assert page.one("p.article__meta").text.startswith(meta)


def test_the_blocked_placeholder_and_thanks_are_translated(client, article, images):
    # given a blocked image and a reported one
    block(images[0])

    # when a Spanish reader comes back from the no-JS form
    page = parse(
        client.get(f"{article_url(article)}?reported={images[1].pk}", HTTP_ACCEPT_LANGUAGE="es")
    )

    # then both are in Spanish
    assert page.one("p.blocked-placeholder").text == (
        "Esta imagen ha sido bloqueada tras las denuncias de los lectores."
    )
    assert page.one("p.report-thanks").text.startswith("¡Gracias por su denuncia!")


def test_the_language_switcher_sets_the_language(client, article, images):
    # given the switcher on the article page
    page = parse(client.get(article_url(article)))
    switcher = page.one("form.language-switcher")
    assert (switcher["action"], switcher["method"]) == ("/i18n/setlang/", "post")
    assert [o["value"] for o in switcher.select('select[name="language"] option')] == [
        "fr",
        "en",
        "es",
        "ar",
    ]
    assert switcher.one('option[value="fr"]').get("selected") is not None
    assert switcher.one('input[name="next"]')["value"] == article_url(article)
    assert switcher.one('button[type="submit"]')

    # when the reader chooses Arabic
    response = client.post("/i18n/setlang/", {"language": "ar", "next": article_url(article)})

    # then they are sent back to the article, now Arabic and right to left, whatever
    # their browser asks for
    assert response.status_code == 302
    assert response["Location"] == article_url(article)
    page = parse(client.get(article_url(article), HTTP_ACCEPT_LANGUAGE="es"))
    html = page.one("html")
    assert (html["lang"], html["dir"]) == ("ar", "rtl")
    assert page.one('form.language-switcher option[value="ar"]').get("selected") is not None
