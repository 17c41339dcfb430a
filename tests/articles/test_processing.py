"""articles.processing: renditions re-encoded by Pillow, with nothing but pixels."""

import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from articles import processing, tasks
from articles.models import Image
from articles.processing import RENDITION_FIELDS, render_renditions
from tests.articles import pictures
from tests.factories import ImageFactory

METADATA_KEYS = {"exif", "icc_profile", "comment", "comments", "xmp", "XML:com.adobe.xmp"}


def opened(data: bytes) -> PILImage.Image:
    picture = PILImage.open(io.BytesIO(data))
    picture.load()
    return picture


def assert_clean(data: bytes) -> None:
    picture = opened(data)
    assert not METADATA_KEYS & set(picture.info), sorted(picture.info)
    assert not picture.getexif()
    for secret in (b"Exif", b"SecretCam", b"Secrete", b"Secret Photographer", b"xmpmeta"):
        assert secret not in data


def test_every_rendition_loses_exif_gps_icc_comment_and_xmp():
    # given a JPEG with EXIF (GPS, camera), an ICC profile, a comment and XMP
    data = pictures.jpeg_with_everything((1600, 1200))
    assert {"exif", "icc_profile", "comment", "xmp"} <= set(opened(data).info)

    # when its renditions are rendered
    rendered = render_renditions(data)

    # then each of the four is clean, in its format and size
    assert set(rendered.files) == set(RENDITION_FIELDS)
    for field, content in rendered.files.items():
        assert_clean(content)
        picture = opened(content)
        assert picture.format == ("WEBP" if field.endswith("_webp") else "JPEG")
        longest = 320 if field.startswith("thumbnail") else 1024
        assert max(picture.size) == longest
    assert (rendered.width, rendered.height) == (1600, 1200)


def test_exif_orientation_6_comes_out_portrait():
    # given a landscape JPEG whose EXIF says "rotate 90°" (orientation 6)
    data = pictures.jpeg_with_everything((1600, 1200), orientation=6)

    # when its renditions are rendered
    rendered = render_renditions(data)

    # then the recorded size and every rendition are portrait
    assert (rendered.width, rendered.height) == (1200, 1600)
    assert opened(rendered.files["rendition"]).size == (768, 1024)
    assert opened(rendered.files["thumbnail_webp"]).size == (240, 320)


def test_a_cmyk_jpeg_becomes_rgb():
    rendered = render_renditions(pictures.cmyk_jpeg())

    for content in rendered.files.values():
        assert opened(content).mode == "RGB"


def test_a_16_bit_png_keeps_its_tones():
    # given a 16-bit greyscale ramp from black to white
    rendered = render_renditions(pictures.png_16_bit())

    # then the JPEG rendition is a ramp too, not clipped to white
    picture = opened(rendered.files["rendition"]).convert("L")
    width = picture.width
    assert picture.getpixel((2, 10)) < 20
    assert 100 < picture.getpixel((width // 2, 10)) < 156
    assert picture.getpixel((width - 3, 10)) > 235


def test_a_palette_png_with_transparency_is_flattened_on_white_for_jpeg_and_kept_for_webp():
    # given a palette PNG whose left half is transparent and right half red
    rendered = render_renditions(pictures.palette_png_with_transparency())

    # then the JPEG shows white where it was transparent
    jpeg = opened(rendered.files["rendition"]).convert("RGB")
    left = jpeg.getpixel((5, jpeg.height // 2))
    right = jpeg.getpixel((jpeg.width - 5, jpeg.height // 2))
    assert min(left) > 240
    assert right[0] > 200 and right[1] < 60
    # and the WebP keeps the transparency
    webp = opened(rendered.files["rendition_webp"])
    assert webp.mode == "RGBA"
    assert webp.getpixel((5, webp.height // 2))[3] == 0
    assert webp.getpixel((webp.width - 5, webp.height // 2))[3] == 255


def test_an_animated_webp_becomes_its_first_frame():
    # given a WebP animation, red then blue
    rendered = render_renditions(pictures.animated_webp())

    # then every rendition is one still, red, frame
    for content in rendered.files.values():
        picture = opened(content)
        assert getattr(picture, "n_frames", 1) == 1
        red, _green, blue = picture.convert("RGB").getpixel((10, 10))
        assert red > 200 and blue < 60


def test_a_jpeg_html_polyglot_renders_without_its_markup():
    # given a JPEG with a page after its end (the upload validator refuses it;
    # this is the second line of defence for bytes that got in another way)
    data = pictures.jpeg_html_polyglot()

    # when it is rendered
    rendered = render_renditions(data)

    # then no rendition carries the markup
    for content in rendered.files.values():
        lowered = content.lower()
        assert b"<html" not in lowered
        assert b"<script" not in lowered


@pytest.mark.django_db
def test_process_image_stores_renditions_and_marks_the_image_ready(
    django_capture_on_commit_callbacks,
):
    # given a pending image whose original has EXIF orientation 6
    data = pictures.jpeg_with_everything((1600, 1200), orientation=6)
    image = ImageFactory(
        status=Image.Status.PENDING,
        original=ContentFile(data, name="holiday-at-home.jpg"),
        width=0,
        height=0,
    )

    # when it is processed
    with django_capture_on_commit_callbacks(execute=True):
        assert processing.process_image(image_id=image.pk) is True

    # then it is ready, with its facts and four files under a random directory
    image.refresh_from_db()
    assert image.status == Image.Status.READY
    assert image.processed_at is not None
    assert (image.width, image.height, image.format) == (1200, 1600, "JPEG")
    assert image.byte_size == len(data)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    for field in RENDITION_FIELDS:
        name = getattr(image, field).name
        assert name.startswith("renditions/")
        assert "holiday" not in name
        assert default_storage.exists(name)
        with default_storage.open(name) as stored:
            assert_clean(stored.read())


@pytest.mark.django_db
def test_processing_twice_replaces_the_renditions_cleanly(django_capture_on_commit_callbacks):
    # given an image processed once
    image = ImageFactory(status=Image.Status.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        processing.process_image(image_id=image.pk)
    image.refresh_from_db()
    first = [getattr(image, field).name for field in RENDITION_FIELDS]

    # when the task runs again (a redelivered message)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.process_image(image.pk) is True

    # then a fresh set replaced the first, which is gone from storage
    image.refresh_from_db()
    second = [getattr(image, field).name for field in RENDITION_FIELDS]
    assert image.status == Image.Status.READY
    assert not set(first) & set(second)
    assert all(default_storage.exists(name) for name in second)
    assert not any(default_storage.exists(name) for name in first)


@pytest.mark.django_db
def test_processing_an_image_that_is_gone_does_nothing():
    assert processing.process_image(image_id=987654) is False


@pytest.mark.django_db
def test_existing_and_factory_images_are_ready():
    assert ImageFactory().status == Image.Status.READY
