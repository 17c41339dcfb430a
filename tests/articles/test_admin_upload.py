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
