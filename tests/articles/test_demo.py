import hashlib
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from articles.demo import (
    MAIN_ARTICLE_IMAGES,
    draw_image,
    is_subheading,
    load_demo,
    parse_seed,
    plan_demo,
    read_seed,
)
from articles.models import Article, Image, Source

pytestmark = pytest.mark.django_db

MAIN_TITLE = "USA. Musk et Trump bons copains"
FIRST_HEADLINE = "À Alger, Washington rappelle sa ligne sur le dossier du Sahara marocain"
LAST_HEADLINE = "Le journaliste marocain Najib Salmi n'est plus"
TICKER_COUNT = 48
SOURCE_COUNT = 10  # Les ECO, eight French ticker sources, Hespress ES.
ARTICLE_COUNT = 1 + TICKER_COUNT
IMAGE_COUNT = MAIN_ARTICLE_IMAGES + TICKER_COUNT


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def media_snapshot(root: Path) -> dict[str, tuple[int, str]]:
    return {
        str(path.relative_to(root)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in root.rglob("*")
        if path.is_file()
    }


def test_parse_seed_reads_the_main_article():
    # Given the seed page
    text = read_seed()

    # When it is parsed
    article = parse_seed(text).article

    # Then the article's metadata and structure come out of it
    assert article.title == MAIN_TITLE
    assert article.source_name == "Les ECO"
    assert article.published_on.isoformat() == "2024-08-15"
    assert article.byline == "Sami Nemli avec Agence / Les Inspirations ECO"
    assert article.subheadings == ("Une «cyberattaque massive»", "Deux heures de show")
    assert len(article.paragraphs) == 11
    assert article.paragraphs[0].startswith("Donald Trump et son richissime soutien")
    assert article.paragraphs[-1].endswith("«Et je pense que vous êtes le bon chemin».")


def test_parse_seed_ignores_the_banner():
    # Given the seed page, whose report banner sits between the ticker and the article
    text = read_seed()

    # When it is parsed
    article = parse_seed(text).article

    # Then no part of the banner leaks into the article
    everything = " ".join([article.title, article.byline, *article.paragraphs])
    assert "Merci d'avoir signalé" not in everything
    assert "Cliquez ici" not in everything


def test_parse_seed_lists_every_ticker_headline():
    # Given the seed page, whose first line is the ticker
    text = read_seed()

    # When it is parsed
    headlines = parse_seed(text).headlines

    # Then every headline is found, in order, without the separating spaces
    assert len(headlines) == TICKER_COUNT
    assert headlines[0] == FIRST_HEADLINE
    assert headlines[-1] == LAST_HEADLINE
    assert all(headline == headline.strip() and "  " not in headline for headline in headlines)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Une «cyberattaque massive»", True),
        ("Deux heures de show", True),
        ("«Et je pense que vous êtes le bon chemin».", False),
        ("Une phrase courte qui se termine.", False),
        ("Un très long paragraphe " * 5, False),
    ],
)
def test_is_subheading(line: str, expected: bool):
    # Given a line of the article body / When it is classified / Then
    assert is_subheading(line) is expected


def test_plan_demo_gives_unique_slugs_and_ticker_order():
    # Given the parsed seed
    seed = parse_seed(read_seed())

    # When the demo content is planned
    specs = plan_demo(seed)

    # Then slugs are unique and fit, and the ticker is ordered newest first
    slugs = [spec.slug for spec in specs]
    assert len(set(slugs)) == len(slugs) == ARTICLE_COUNT
    assert all(0 < len(slug) <= 200 for slug in slugs)
    tickers = specs[1:]
    assert [spec.title for spec in tickers] == list(seed.headlines)
    times = [spec.published_at for spec in specs]
    assert times == sorted(times, reverse=True)
    assert times[0] - times[-1] == timedelta(days=1)


def test_draw_image_is_deterministic():
    # Given the same text and seed key / When drawn twice
    first = draw_image(text=MAIN_TITLE, seed_key="slug:0")
    second = draw_image(text=MAIN_TITLE, seed_key="slug:0")

    # Then the bytes are identical, and another key gives another picture
    assert first == second
    assert draw_image(text=MAIN_TITLE, seed_key="slug:1") != first


def test_load_demo_creates_sources_articles_and_images(media_root: Path):
    # Given an empty database and media root

    # When the demo is loaded
    summary = load_demo()

    # Then the sources, articles and images are created
    assert summary.sources_created == Source.objects.count() == SOURCE_COUNT
    assert summary.articles_created == Article.objects.count() == ARTICLE_COUNT
    assert summary.images_created == Image.objects.count() == IMAGE_COUNT
    assert Source.objects.filter(
        slug="les-eco", name="Les ECO", language="fr", site_url="https://leseco.ma/"
    ).exists()

    main = Article.objects.get(slug="usa-musk-et-trump-bons-copains")
    assert main.title == MAIN_TITLE
    assert main.source.slug == "les-eco"
    assert main.byline == "Sami Nemli avec Agence / Les Inspirations ECO"
    assert main.language == "fr"
    assert main.original_url.startswith("https://leseco.ma/")
    assert main.published_at.isoformat() == "2024-08-15T06:00:00+00:00"
    blocks = main.body.split("\n\n")
    assert len(blocks) == 13
    assert "## Une «cyberattaque massive»" in blocks
    assert "## Deux heures de show" in blocks

    images = list(main.images.order_by("position"))
    assert [image.position for image in images] == [0, 1, 2]
    for image in images:
        path = Path(image.original.path)
        assert path.is_file()
        assert path.is_relative_to(media_root)
        data = path.read_bytes()
        assert image.sha256 == hashlib.sha256(data).hexdigest()
        assert image.byte_size == len(data)
        # processed at load: ready, with its renditions
        assert image.status == Image.Status.READY
        assert image.rendition and image.thumbnail_webp
        assert image.credit == "Illustration de démonstration"
        assert image.caption
        with PILImage.open(path) as picture:
            assert picture.format == image.format == "JPEG"
            assert picture.size == (image.width, image.height) == (1200, 800)


def test_load_demo_creates_an_article_per_ticker_headline(media_root: Path):
    # Given the ticker headlines of the seed
    headlines = list(parse_seed(read_seed()).headlines)

    # When the demo is loaded
    load_demo()

    # Then each has an article with a lead image, in ticker order by date
    tickers = Article.objects.exclude(slug="usa-musk-et-trump-bons-copains")
    assert list(tickers.order_by("-published_at").values_list("title", flat=True)) == headlines
    assert not tickers.filter(images__isnull=True).exists()
    spanish = tickers.filter(language="es")
    assert spanish.count() == 2
    assert set(spanish.values_list("source__slug", flat=True)) == {"hespress-es"}


def test_load_demo_twice_creates_nothing(media_root: Path):
    # Given the demo already loaded
    load_demo()
    counts = (Source.objects.count(), Article.objects.count(), Image.objects.count())
    files = media_snapshot(media_root)

    # When it is loaded again
    summary = load_demo()

    # Then no row nor file changes, and the summary says so
    assert (Source.objects.count(), Article.objects.count(), Image.objects.count()) == counts
    assert media_snapshot(media_root) == files
    # Each image: its original and its four renditions.
    assert len(files) == IMAGE_COUNT * 5
    assert summary.created == 0
    assert summary.sources_present == SOURCE_COUNT
    assert summary.articles_present == ARTICLE_COUNT
    assert summary.images_present == IMAGE_COUNT
    assert "created 0 sources, 0 articles, 0 images" in summary.as_line()


def test_command_prints_its_summary(media_root: Path):
    # Given an empty database
    out = StringIO()

    # When the command runs, twice
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=out)

    # Then each run prints one summary line: created first, already present then
    first, second = out.getvalue().splitlines()
    everything = f"{SOURCE_COUNT} sources, {ARTICLE_COUNT} articles, {IMAGE_COUNT} images"
    assert f"created {everything}" in first
    assert "created 0 sources, 0 articles, 0 images" in second
    assert f"already present {everything}" in second


def test_failed_load_leaves_no_rows_nor_files(media_root: Path, monkeypatch):
    # Given a drawing step that fails once a few images are already stored
    calls = []

    def failing_draw(*, text: str, seed_key: str) -> bytes:
        calls.append(seed_key)
        if len(calls) > 4:
            raise RuntimeError("disk full")
        return draw_image(text=text, seed_key=seed_key)

    monkeypatch.setattr("articles.demo.loading.draw_image", failing_draw)

    # When the demo is loaded
    with pytest.raises(RuntimeError):
        load_demo()

    # Then the transaction is rolled back and the files written so far removed
    assert not Source.objects.exists()
    assert not Article.objects.exists()
    assert not Image.objects.exists()
    assert media_snapshot(media_root) == {}
