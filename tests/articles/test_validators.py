"""articles.validators: Pillow decides what an upload is, before anything is stored."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from articles.validators import ImageRejected, validate_image_upload
from tests.articles import pictures


def rejection(data, **limits) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        validate_image_upload(data=data, **limits)
    return caught.value


@pytest.mark.parametrize(
    ("make", "expected_format", "expected_size"),
    [
        (pictures.jpeg, "JPEG", (400, 300)),
        (pictures.cmyk_jpeg, "JPEG", (400, 300)),
        (pictures.png_16_bit, "PNG", (256, 64)),
        (pictures.palette_png_with_transparency, "PNG", (64, 32)),
        (pictures.animated_webp, "WEBP", (64, 48)),
        (pictures.jpeg_with_everything, "JPEG", (400, 300)),
    ],
)
def test_accepted_kinds_come_back_with_their_facts(make, expected_format, expected_size):
    # given the bytes of an accepted kind of image
    data = make()

    # when they are validated
    validated = validate_image_upload(data=data)

    # then Pillow's format, the header's size, the bytes and their sha256 come back
    assert validated.format == expected_format
    assert (validated.width, validated.height) == expected_size
    assert validated.data == data
    assert validated.byte_size == len(data)
    assert len(validated.sha256) == 64


def test_an_uploaded_file_is_read_whatever_its_name_and_content_type():
    # given a PNG sent as "photo.jpg", image/jpeg
    upload = SimpleUploadedFile("photo.jpg", pictures.encode(pictures.photo(), "PNG"), "image/jpeg")

    # when it is validated
    validated = validate_image_upload(data=upload)

    # then it is what Pillow says it is
    assert validated.format == "PNG"
    assert validated.extension == "png"


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("SVG", lambda: pictures.SVG, "markup"),
        ("HTML", lambda: pictures.HTML, "markup"),
        ("PSD renamed .jpg", pictures.psd, "accepted format (JPEG, PNG, WEBP)"),
        ("TIFF", pictures.tiff, "accepted format (JPEG, PNG, WEBP)"),
        ("PDF", pictures.pdf, "accepted format (JPEG, PNG, WEBP)"),
        ("GIF", pictures.gif, "accepted format (JPEG, PNG, WEBP)"),
        ("text", lambda: b"just some text", "accepted format (JPEG, PNG, WEBP)"),
        ("truncated JPEG", pictures.truncated_jpeg, "truncated or corrupt"),
        ("JPEG/HTML polyglot", pictures.jpeg_html_polyglot, "markup"),
        ("0 bytes", lambda: b"", "empty"),
    ],
)
def test_refused_kinds_are_400_with_a_message(name, make, message):
    # given bytes that are not a safe JPEG, PNG or WebP
    data = make()

    # when they are validated
    error = rejection(data)

    # then they are refused with a 400 that says why
    assert error.status == 400, name
    assert message in error.message, name


def test_a_header_claiming_50000_by_50000_is_refused_before_decoding():
    # given a PNG of a few bytes whose header claims 2.5 gigapixels
    data = pictures.png_header_claiming(50_000, 50_000)
    assert len(data) < 200

    # when it is validated
    error = rejection(data)

    # then it is refused as too many pixels, naming the limit
    assert error.status == 400
    assert "40 megapixel" in error.message


def test_a_header_over_the_pixel_limit_is_refused_from_the_header(settings):
    # given a limit of 1 megapixel, and a header claiming 1200 x 1000
    settings.IMAGE_MAX_PIXELS = 1_000_000
    data = pictures.png_header_claiming(1200, 1000)

    # when it is validated (its data could not even be decoded)
    error = rejection(data)

    # then the header alone refuses it, with the setting's limit named
    assert error.message == ("The image is 1200 x 1000 pixels, more than the 1 megapixel limit.")


def test_pillows_bomb_warning_is_an_error():
    # given a header just over Pillow's own bomb warning threshold (~89 MP),
    # with our own limit set out of the way
    data = pictures.png_header_claiming(10_000, 9_000)

    # when it is validated
    error = rejection(data, max_pixels=10**9)

    # then the warning refuses it instead of letting the decode run
    assert error.status == 400
    assert "too many pixels" in error.message


def test_more_than_the_byte_limit_is_413_naming_the_limit(settings):
    # given a 1 MB limit and a bigger file, as bytes and as an upload
    settings.IMAGE_UPLOAD_MAX_BYTES = 1024 * 1024
    data = pictures.jpeg((2000, 1500), quality=100)
    assert len(data) > 1024 * 1024

    for given in (data, SimpleUploadedFile("big.jpg", data), io.BytesIO(data)):
        # when it is validated
        error = rejection(given)

        # then it is a 413 that names the limit
        assert error.status == 413
        assert error.message == "The file is larger than the 1 MB limit."


def test_the_limits_are_read_at_call_time(settings):
    # given a JPEG within the default limits
    data = pictures.jpeg((400, 300))
    validate_image_upload(data=data)

    # when the byte limit is lowered under it
    settings.IMAGE_UPLOAD_MAX_BYTES = 100

    # then the same bytes are refused
    assert rejection(data).status == 413


def test_defaults_are_10_mb_and_40_megapixels(settings):
    assert settings.IMAGE_UPLOAD_MAX_BYTES == 10 * 1024 * 1024
    assert settings.IMAGE_MAX_PIXELS == 40_000_000
