"""Uploading an image on its article's admin page: the same validator and service as the API."""

import re

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from articles import tasks
from articles.models import EDITORS_GROUP, Image
from tests.articles import pictures
from tests.factories import ArticleFactory, ImageFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client():
    user = UserFactory(username="editor", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS_GROUP))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.process_image, "delay", sent.append)
    return sent


def change_form_data(client, url: str) -> dict:
    """The article change form's fields as the page fills them."""
    page = BeautifulSoup(client.get(url).content, "html.parser")
    form = page.select_one("form#article_form")
    data = {}
    for field in form.select("input[name], textarea[name], select[name]"):
        name = field["name"]
        if field.name == "textarea":
            data[name] = field.text.lstrip("\n")
        elif field.name == "select":
            selected = field.select_one("option[selected]")
            data[name] = selected["value"] if selected else ""
        elif field.get("type") in ("checkbox", "file", "submit"):
            continue
        else:
            data[name] = field.get("value", "")
    return data


def add_image(data: dict, *, upload, caption="Nouvelle") -> dict:
    index = int(data["images-TOTAL_FORMS"])
    data = {
        **data,
        "images-TOTAL_FORMS": str(index + 1),
        f"images-{index}-position": "7",
        f"images-{index}-caption": caption,
        f"images-{index}-credit": "AFP",
        f"images-{index}-original": upload,
    }
    return data


def test_an_editor_adds_an_image_that_is_pending_and_queued(
    editor_client, queued, django_capture_on_commit_callbacks
):
    # given an article with one image, on its admin page
    article = ArticleFactory()
    existing = ImageFactory(article=article, position=0)
    url = f"/admin/articles/article/{article.pk}/change/"
    data = add_image(
        change_form_data(editor_client, url),
        upload=SimpleUploadedFile("x.png", pictures.jpeg(), "image/png"),
    )

    # when the editor saves it with a new image
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(url, data)

    # then the image is created by the upload service: pending, renamed, queued
    assert response.status_code == 302, response.content.decode()[:2000]
    image = Image.objects.exclude(pk=existing.pk).get()
    assert (image.position, image.caption, image.status) == (7, "Nouvelle", Image.Status.PENDING)
    assert image.original.name.endswith(".jpg")
    assert re.fullmatch(r"originals/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", image.original.name)
    assert queued == [image.pk]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("layers.jpg", pictures.psd(), "accepted format"),
        ("polyglot.jpg", pictures.jpeg_html_polyglot(), "markup"),
        ("bomb.png", pictures.png_header_claiming(50_000, 50_000), "megapixel"),
    ],
)
def test_a_refused_upload_shows_the_reason_and_stores_nothing(
    name, data, message, editor_client, queued, media_root
):
    # given an article on its admin page
    article = ArticleFactory()
    url = f"/admin/articles/article/{article.pk}/change/"
    form = add_image(change_form_data(editor_client, url), upload=SimpleUploadedFile(name, data))

    # when the editor saves it with a file that is not a safe image
    response = editor_client.post(url, form)

    # then the form comes back with the reason, and nothing is stored
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Image.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))
    assert queued == []


# --- positions --------------------------------------------------------------------------

HOSTILE_POSITIONS = ["32768", "2147483648", "99999999999999999999", "-1", "1e9", "1.5", "\x00", ""]


def test_a_position_out_of_range_or_not_a_number_is_a_field_error_and_saves_nothing(
    editor_client, queued
):
    # given an article with two images, on its admin page
    article = ArticleFactory()
    images = [ImageFactory(article=article, position=n, caption=f"Image {n}") for n in range(2)]
    url = f"/admin/articles/article/{article.pk}/change/"
    data = change_form_data(editor_client, url)

    for value in HOSTILE_POSITIONS:
        # when an existing image, or a new one, is given that position
        moved = editor_client.post(url, {**data, "images-0-position": value})
        added = editor_client.post(
            url,
            {
                **add_image(data, upload=SimpleUploadedFile("x.jpg", pictures.jpeg())),
                f"images-{len(images)}-position": value,
            },
        )

        # then the form comes back with the error on the position, and nothing is saved
        for response in (moved, added):
            assert response.status_code == 200, value
            errors = BeautifulSoup(response.content, "html.parser").select(".errorlist")
            assert errors, value
    assert list(Image.objects.order_by("pk").values_list("position", flat=True)) == [0, 1]
    assert queued == []


@pytest.mark.parametrize(
    "order",
    [[1, 0, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0], [5, 0, 1], [32767, 0, 1]],
    ids=lambda order: "-".join(map(str, order)),
)
def test_images_trading_places_are_saved_in_their_new_order(editor_client, queued, order):
    # given an article with three images at positions 0, 1, 2
    article = ArticleFactory()
    images = [ImageFactory(article=article, position=n) for n in range(3)]
    url = f"/admin/articles/article/{article.pk}/change/"
    data = change_form_data(editor_client, url)

    # when the editor swaps them, or moves them round in a cycle
    response = editor_client.post(
        url, {**data, **{f"images-{n}-position": str(order[n]) for n in range(3)}}
    )

    # then each image holds its new position
    assert response.status_code == 302, response.content.decode()[:2000]
    positions = {image.pk: image.position for image in Image.objects.filter(article=article)}
    assert positions == {images[n].pk: order[n] for n in range(3)}


def test_a_position_taken_since_the_page_was_loaded_is_a_field_error(editor_client, queued):
    # given an article's admin page, loaded before another image arrives at position 5
    article = ArticleFactory()
    ImageFactory(article=article, position=0)
    url = f"/admin/articles/article/{article.pk}/change/"
    data = change_form_data(editor_client, url)
    arrived = ImageFactory(article=article, position=5)

    # when the editor moves the first image there, or adds a new one there
    moved = editor_client.post(url, {**data, "images-0-position": "5"})
    added = editor_client.post(
        url,
        {
            **add_image(data, upload=SimpleUploadedFile("x.jpg", pictures.jpeg())),
            "images-1-position": "5",
        },
    )

    # then the form comes back saying the position is taken, and nothing is saved
    for response in (moved, added):
        assert response.status_code == 200
        assert "déjà prise dans cet article" in response.content.decode()
    assert Image.objects.get(pk=arrived.pk).position == 5
    assert Image.objects.filter(article=article).count() == 2
    assert queued == []


def test_a_tampered_image_id_in_the_form_is_never_a_server_error(editor_client, queued):
    # given an article with two images, and an image of another article
    article = ArticleFactory()
    images = [ImageFactory(article=article, position=n) for n in range(2)]
    stranger = ImageFactory(position=9)
    url = f"/admin/articles/article/{article.pk}/change/"
    data = change_form_data(editor_client, url)
    ids = [str(images[1].pk), f" {images[1].pk} ", str(stranger.pk), "99999999999999999999"]

    for value in [*ids, "\x00", "-1", "x", ""]:
        # when the first image's form names another image (its own article's or not)
        response = editor_client.post(url, {**data, "images-0-id": value, "images-0-caption": "Z"})

        # then the page, saved or with its errors, never a server error
        assert response.status_code in (200, 302), value
    # and no image changed article, nor took the caption of another's form
    assert Image.objects.get(pk=stranger.pk).article_id != article.pk
    assert Image.objects.get(pk=stranger.pk).caption != "Z"
