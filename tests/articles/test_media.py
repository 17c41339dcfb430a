"""Media: only renditions of visible, processed images are public; originals never."""

from pathlib import Path

import pytest

from articles.models import Image
from tests.factories import ArticleFactory, ImageFactory
from tests.raw_http import NOT_UTF8, NULS, raw_request

pytestmark = pytest.mark.django_db

FILE_FIELDS = ["original", "thumbnail", "rendition", "thumbnail_webp", "rendition_webp"]
RENDITIONS = FILE_FIELDS[1:]
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cache-Control": "no-cache",
}


def detour(url: str) -> str:
    """The same file by way of its parent folder: /media/a/b/x.jpg -> /media/a/b/../b/x.jpg."""
    directory, name = url.rsplit("/", 1)
    return f"{directory}/../{directory.rsplit('/', 1)[1]}/{name}"


def blocked_image() -> Image:
    image = ImageFactory()
    Image.objects.filter(pk=image.pk).update(visibility=Image.Visibility.BLOCKED)
    return image


# --- development: Django streams the file ---------------------------------------------


@pytest.mark.parametrize("field", RENDITIONS)
def test_a_visible_rendition_is_served_with_the_media_headers(client, field):
    image = ImageFactory()
    file = getattr(image, field)

    response = client.get(file.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == Path(file.path).read_bytes()
    expected_type = "image/webp" if field.endswith("_webp") else "image/jpeg"
    assert response["Content-Type"] == expected_type
    for header, value in MEDIA_HEADERS.items():
        assert response[header] == value


def test_the_original_of_a_visible_image_is_never_public(client):
    image = ImageFactory()

    assert client.get(image.original.url).status_code == 404
    assert client.get(detour(image.original.url)).status_code == 404


@pytest.mark.parametrize("field", FILE_FIELDS)
def test_every_file_of_a_blocked_image_is_404_also_by_a_detour(client, field):
    # given a blocked image whose URLs a reader kept
    image = blocked_image()
    url = getattr(image, field).url

    # when they ask for it, directly or through the parent folder
    direct, roundabout = client.get(url), client.get(detour(url))

    # then neither answers the file; the 404 itself must not be cached for good
    for response in (direct, roundabout):
        assert response.status_code == 404
        assert response["Cache-Control"] == "no-cache"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_restored_image_is_served_again_at_the_same_url(client):
    image = blocked_image()
    assert client.get(image.rendition.url).status_code == 404

    Image.objects.filter(pk=image.pk).update(visibility=Image.Visibility.VISIBLE)

    assert client.get(image.rendition.url).status_code == 200


def test_a_pending_image_has_no_public_file(client):
    image = ImageFactory(processed=False)

    assert image.status == Image.Status.PENDING
    assert client.get(image.original.url).status_code == 404


def test_files_no_image_names_and_paths_out_of_media_are_404(client, media_root):
    ImageFactory()
    (media_root / "stray.jpg").write_bytes(b"not an image of anyone")

    assert client.get("/media/stray.jpg").status_code == 404
    assert client.get("/media/../newsroom/settings.py").status_code == 404
    assert client.get("/media/renditions/../../manage.py").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_nul_or_bytes_not_utf8_anywhere_in_a_media_address_are_refused_not_a_500(
    live_server,
):
    # given a visible image, and the addresses of its renditions and original
    image = ImageFactory()
    names = [getattr(image, field).name.encode() for field in FILE_FIELDS]

    # when each is asked for over HTTP with a NUL or bytes that are not UTF-8, raw or
    # escaped, at its start, in its middle and at its end (the server decodes them)
    answers: dict[bytes, set[int]] = {}
    for name in names:
        for value in NULS + NOT_UTF8:
            for at in (0, len(name) // 2, len(name)):
                target = b"/media/" + name[:at] + value + name[at:]
                status = raw_request(live_server.url, "GET", target).status
                answers.setdefault(value, set()).add(status)

    # then an address with a NUL is a bad request, one with other bytes names no file
    assert {value: answers[value] for value in NULS} == {value: {400} for value in NULS}
    assert {value: answers[value] for value in NOT_UTF8} == {value: {404} for value in NOT_UTF8}
    # and the rendition itself is still served
    assert raw_request(live_server.url, "GET", b"/media/" + names[2]).status == 200


# --- production: nginx sends the bytes ------------------------------------------------


@pytest.fixture
def accel(settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"


def test_accel_mode_answers_a_visible_rendition_with_x_accel_redirect_and_no_body(client, accel):
    image = ImageFactory()

    response = client.get(image.rendition_webp.url)

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{image.rendition_webp.name}"
    assert response.content == b""
    assert response["Content-Type"] == "image/webp"
    for header, value in MEDIA_HEADERS.items():
        assert response[header] == value


@pytest.mark.parametrize("field", FILE_FIELDS)
def test_accel_mode_refuses_a_blocked_image_without_redirecting(client, accel, field):
    image = blocked_image()

    for url in (getattr(image, field).url, detour(getattr(image, field).url)):
        response = client.get(url)
        assert response.status_code == 404
        assert "X-Accel-Redirect" not in response


def test_accel_mode_never_redirects_to_an_original(client, accel):
    image = ImageFactory()

    response = client.get(image.original.url)

    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response


# --- pages and API: renditions only ---------------------------------------------------


def test_pages_and_api_name_renditions_only_and_skip_pending_images(client):
    # given an article with a processed image and one the worker has not reached
    article = ArticleFactory()
    shown = ImageFactory(article=article, position=0)
    pending = ImageFactory(article=article, position=1, processed=False)

    home = client.get("/").content.decode()
    page = client.get(f"/articles/{article.slug}/").content.decode()
    api = client.get(f"/api/articles/{article.slug}/").content.decode()
    one = client.get(f"/api/images/{shown.pk}/").content.decode()

    # then the originals' addresses appear nowhere
    for text in (home, page, api, one):
        assert "/media/originals/" not in text
        assert shown.original.name not in text and pending.original.name not in text
    # the article page shows the 1024 px rendition, with its WebP twin
    assert f'src="{shown.rendition.url}"' in page
    assert f'srcset="{shown.rendition_webp.url}"' in page
    assert 'type="image/webp"' in page
    # the home card the thumbnail
    assert f'src="{shown.thumbnail.url}"' in home
    # the pending image is not shown, nor listed by the article's API
    assert f'id="image-{pending.pk}"' not in page
    assert f'"id":{pending.pk}' not in api.replace(" ", "")


def test_the_api_gives_a_pending_image_a_status_and_no_urls(client):
    image = ImageFactory(processed=False)

    body = client.get(f"/api/images/{image.pk}/").json()

    assert body["status"] == "pending"
    assert body["url"] is body["thumbnail_url"] is body["webp_url"] is None
    assert body["thumbnail_webp_url"] is None


def test_the_report_page_of_a_pending_image_is_404(client):
    image = ImageFactory(processed=False)

    assert client.get(f"/images/{image.pk}/report/").status_code == 404


def test_the_article_image_carries_the_renditions_size(client):
    # given a landscape original larger than the article size
    image = ImageFactory(original__width=2000, original__height=1000)

    page = client.get(f"/articles/{image.article.slug}/").content.decode()
    home = client.get("/").content.decode()

    # then width and height are those of the renditions, not the original's
    assert 'width="1024" height="512"' in page
    assert 'width="320" height="160"' in home


# --- the documented nginx setup -------------------------------------------------------


def test_the_nginx_config_keeps_media_internal_and_matches_the_upload_limit(settings):
    conf = (Path(__file__).resolve().parents[2] / "deploy/nginx/signalement.conf").read_text()

    assert "location /protected-media/ {\n        internal;" in conf
    assert "X-Content-Type-Options" in conf and "Content-Security-Policy" in conf
    # The body limit leaves room for the multipart envelope around the largest file.
    mib = settings.IMAGE_UPLOAD_MAX_BYTES // (1024 * 1024)
    assert f"client_max_body_size {mib + 1}m;" in conf
