"""POST /api/articles/{slug}/images/: editors upload; the bytes are checked first."""

from importlib import import_module

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles import tasks
from articles.models import EDITORS_GROUP, Image
from tests.articles import pictures
from tests.factories import ArticleFactory, ImageFactory, ModeratorFactory, UserFactory
from tests.waiting import wait_until


@pytest.fixture
def editor(db):
    user = UserFactory(username="editor", is_staff=True)
    user.groups.add(editors_group())
    return user


def editors_group() -> Group:
    """The Editors group migration 0003 made. A transactional test's flush (the
    worker test here runs after test_nginx.py's) empties the tables, so it is made
    again then, from the migration's own permission list."""
    group, created = Group.objects.get_or_create(name=EDITORS_GROUP)
    if created:
        migration = import_module("articles.migrations.0003_editors_group")
        group.permissions.set(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in migration.PERMISSIONS
        )
    return group


@pytest.fixture
def article(db):
    return ArticleFactory(slug="la-une")


@pytest.fixture
def queued(monkeypatch):
    """The ids sent to the processing task, instead of the broker."""
    sent = []
    monkeypatch.setattr(tasks.process_image, "delay", sent.append)
    return sent


def upload(client, *, data: bytes, name="photo.jpg", content_type="image/jpeg", **fields):
    return client.post(
        "/api/articles/la-une/images/",
        {"file": SimpleUploadedFile(name, data, content_type), **fields},
        format="multipart",
    )


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def test_an_editor_uploads_an_image_that_is_pending_and_queued(
    editor, article, queued, media_root, django_capture_on_commit_callbacks
):
    # given an editor signed in
    client = APIClient()
    client.force_login(editor)

    # when they upload a PNG named photo.jpg, with a caption
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            client,
            data=pictures.encode(pictures.photo(), "PNG"),
            caption="La place",
            credit="AFP",
        )

    # then it is created pending, stored under a random name with Pillow's extension,
    # and queued for processing once committed
    assert response.status_code == 201, response.json()
    body = response.json()
    image = Image.objects.get()
    assert body["id"] == image.pk
    assert body["status"] == "pending"
    assert (body["caption"], body["credit"], body["position"]) == ("La place", "AFP", 0)
    assert image.status == Image.Status.PENDING
    assert image.format == "PNG"
    assert image.original.name.endswith(".png")
    assert "photo" not in image.original.name
    assert queued == [image.pk]


def test_an_editor_with_a_token_uploads_at_the_next_position(editor, article, queued):
    # given an article with an image at position 3, and an editor's token
    ImageFactory(article=article, position=3)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")

    # when they upload without a position
    response = upload(client, data=pictures.jpeg())

    # then the image goes after the last one
    assert response.status_code == 201
    assert response.json()["position"] == 4


def test_anonymous_is_401(article, queued):
    response = upload(APIClient(), data=pictures.jpeg())

    assert response.status_code == 401
    assert not Image.objects.exists()


@pytest.mark.parametrize("who", ["reader", "moderator"])
def test_readers_and_moderators_are_403(who, article, queued):
    # given someone signed in who is not an editor
    user = UserFactory() if who == "reader" else ModeratorFactory()
    client = APIClient()
    client.force_login(user)

    # when they upload
    response = upload(client, data=pictures.jpeg())

    # then they are refused
    assert response.status_code == 403
    assert not Image.objects.exists()


def test_an_unknown_article_is_404(editor, db, queued):
    client = APIClient()
    client.force_login(editor)

    response = client.post(
        "/api/articles/nope/images/",
        {"file": SimpleUploadedFile("a.jpg", pictures.jpeg())},
        format="multipart",
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.png", pictures.png_header_claiming(50_000, 50_000), "megapixel"),
        ("truncated.jpg", pictures.truncated_jpeg(), "truncated or corrupt"),
        ("polyglot.jpg", pictures.jpeg_html_polyglot(), "markup"),
        ("drawing.svg", pictures.SVG, "markup"),
        ("layers.jpg", pictures.psd(), "JPEG, PNG, WEBP"),
        ("scan.tiff", pictures.tiff(), "JPEG, PNG, WEBP"),
        ("empty.jpg", b"", "empty"),
    ],
)
def test_refused_uploads_are_400_and_store_nothing(
    name, data, message, editor, article, queued, media_root
):
    # given an editor
    client = APIClient()
    client.force_login(editor)

    # when they upload something that is not a safe image
    response = upload(client, data=data, name=name)

    # then it is a 400 on the file, naming the reason, and nothing is stored
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert not Image.objects.exists()
    assert stored_files(media_root) == []
    assert queued == []


def test_a_file_over_the_byte_limit_is_413_and_stores_nothing(
    editor, article, queued, media_root, settings
):
    # given a 1 MB limit
    settings.IMAGE_UPLOAD_MAX_BYTES = 1024 * 1024
    client = APIClient()
    client.force_login(editor)

    # when an editor uploads more
    response = upload(client, data=pictures.jpeg((2000, 1500), quality=100))

    # then it is a 413 naming the limit, and nothing is stored
    assert response.status_code == 413
    assert response.json() == {"file": ["The file is larger than the 1 MB limit."]}
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_a_taken_position_is_400_and_leaves_no_file(editor, article, queued, media_root):
    # given an article with an image at position 0
    existing = ImageFactory(article=article, position=0)
    before = stored_files(media_root)
    client = APIClient()
    client.force_login(editor)

    # when an editor uploads at position 0
    response = upload(client, data=pictures.jpeg(), position=0)

    # then it is refused on the position, and the new file went away again
    assert response.status_code == 400
    assert "position" in response.json()
    assert list(Image.objects.all()) == [existing]
    assert stored_files(media_root) == before
    assert queued == []


def test_positions_out_of_range_or_not_numbers_are_400_on_the_position(
    editor, article, queued, media_root
):
    client = APIClient()
    client.force_login(editor)

    # when an editor uploads at positions no column holds, or that are not numbers
    answers = {
        value: upload(client, data=pictures.jpeg(), position=value)
        for value in ["32768", "2147483648", "99999999999999999999", "-1", "1e9", "\x00", "x"]
    }

    # then each is refused on the position, and nothing is stored
    assert {value: r.status_code for value, r in answers.items()} == dict.fromkeys(answers, 400)
    assert all(list(r.json()) == ["position"] for r in answers.values())
    assert not Image.objects.exists()
    assert stored_files(media_root) == []
    assert queued == []


@pytest.mark.parametrize(
    ("last", "expected"), [(Image.POSITION_MAX, [400, 400]), (Image.POSITION_MAX - 1, [201, 400])]
)
def test_the_next_position_past_the_largest_is_a_400_not_a_500(
    editor, article, queued, media_root, last, expected
):
    # given an article whose last image is at, or just before, the largest position
    existing = ImageFactory(article=article, position=last)
    before = stored_files(media_root)
    client = APIClient()
    client.force_login(editor)

    # when an editor uploads without a position, twice
    answers = [upload(client, data=pictures.jpeg()) for _ in range(2)]

    # then each goes after the last while there is room, then is refused on the position,
    # and the refused files went away again
    assert [response.status_code for response in answers] == expected
    assert answers[-1].json() == {
        "position": [f"No position is left after {Image.POSITION_MAX} in this article."]
    }
    created = expected.count(201)
    assert Image.objects.exclude(pk=existing.pk).count() == created
    assert len(stored_files(media_root)) == len(before) + created
    # and a free position can still be given
    assert upload(client, data=pictures.jpeg(), position=7).status_code == 201


def test_a_missing_file_is_400(editor, article, queued):
    client = APIClient()
    client.force_login(editor)

    response = client.post("/api/articles/la-une/images/", {"caption": "x"}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()


@pytest.mark.worker
def test_an_upload_is_processed_by_the_real_worker(celery_worker, editor, article):
    # given a real worker on the images queue, and an editor
    client = APIClient()
    client.force_login(editor)

    # when they upload a photo with GPS in its EXIF, rotated by EXIF
    response = upload(client, data=pictures.jpeg_with_everything((800, 600), orientation=6))
    assert response.status_code == 201
    image_id = response.json()["id"]

    # then, with no other call, the worker makes it ready with its renditions
    wait_until(lambda: Image.objects.get(pk=image_id).status == Image.Status.READY, timeout=20)
    image = Image.objects.get(pk=image_id)
    assert (image.width, image.height) == (600, 800)
    for field in ("thumbnail", "rendition", "thumbnail_webp", "rendition_webp"):
        file = getattr(image, field)
        assert file.name.startswith("renditions/")
        assert file.storage.exists(file.name)


def test_an_editors_session_without_the_code_cannot_upload_when_2fa_is_required(
    settings, editor, article, queued
):
    # given an editor's session opened without a verification code
    session = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    session.force_login(editor)

    # when 2FA is required for staff, and they upload through the session
    settings.STAFF_REQUIRE_2FA = True
    refused = upload(session, data=pictures.encode(pictures.photo(), "PNG"))

    # then the upload is refused, saying why, and nothing is stored
    assert refused.status_code == 403
    assert "verification code" in refused.json()["detail"]
    assert not Image.objects.exists() and queued == []

    # while with 2FA not required, the same session uploads
    settings.STAFF_REQUIRE_2FA = False
    assert upload(session, data=pictures.encode(pictures.photo(), "PNG")).status_code == 201
