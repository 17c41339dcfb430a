"""Checks on untrusted image bytes, before anything is stored.

The format is decided by Pillow reading the bytes, never by the file's name or
the Content-Type the client sent (OWASP's file upload cheat sheet). Only JPEG,
PNG and WebP are opened at all: Pillow is not even asked to try its other
decoders (PSD, TIFF, EPS…), which is where most of its past vulnerabilities were.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO, NoReturn

from django.conf import settings
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}

# Markup that turns an image into a polyglot a browser could be talked into
# rendering as a page. Compressed pixel data practically never holds these
# ASCII runs, and XMP metadata uses none of them.
MARKUP_MARKERS = (b"<html", b"<script", b"<body", b"<iframe", b"<svg", b"<?php", b"<!doctype")


class ImageRejected(Exception):
    """An upload we refuse; `status` is the HTTP answer (400, or 413 for size)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ValidatedImage:
    """Bytes Pillow decoded completely as one of ACCEPTED_FORMATS, within the limits."""

    data: bytes
    format: str
    # As stored in the file, before EXIF orientation (processing records the oriented size).
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def byte_size(self) -> int:
        return len(self.data)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def _read_bounded(data: bytes | IO[bytes], *, max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    # Django's UploadedFile knows its size before anything is read.
    size = getattr(data, "size", None)
    if size is not None and size > max_bytes:
        _too_large(max_bytes)
    if hasattr(data, "seek"):
        data.seek(0)
    # One byte more than allowed is enough to know it is too much.
    return data.read(max_bytes + 1)


def _too_large(max_bytes: int) -> NoReturn:
    raise ImageRejected(f"The file is larger than the {_megabytes(max_bytes)} limit.", status=413)


def validate_image_upload(
    *,
    data: bytes | IO[bytes],
    max_bytes: int | None = None,
    max_pixels: int | None = None,
) -> ValidatedImage:
    """Return the upload's bytes once they are known to be a safe JPEG, PNG or WebP.

    Raises ImageRejected, naming the limit, for: an empty file, more than
    IMAGE_UPLOAD_MAX_BYTES (413), any other format, markup hidden in the file,
    more than IMAGE_MAX_PIXELS (read from the header, before any decoding), a
    decompression bomb, a truncated or corrupt file.
    """
    if max_bytes is None:
        max_bytes = settings.IMAGE_UPLOAD_MAX_BYTES
    if max_pixels is None:
        max_pixels = settings.IMAGE_MAX_PIXELS

    raw = _read_bounded(data, max_bytes=max_bytes)
    if not raw:
        raise ImageRejected("The file is empty.")
    if len(raw) > max_bytes:
        _too_large(max_bytes)

    lowered = raw.lower()
    if any(marker in lowered for marker in MARKUP_MARKERS):
        raise ImageRejected("The file contains markup (HTML, SVG or script); upload a plain image.")

    accepted = ", ".join(ACCEPTED_FORMATS)
    with warnings.catch_warnings():
        # Pillow warns about a decompression bomb before it errors; both refuse here.
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            with PILImage.open(io.BytesIO(raw), formats=list(ACCEPTED_FORMATS)) as picture:
                width, height = picture.size
                image_format = picture.format
                # The header's size, before a single pixel is decoded.
                if width * height > max_pixels:
                    raise ImageRejected(
                        f"The image is {width} x {height} pixels, more than the "
                        f"{max_pixels / 1_000_000:g} megapixel limit."
                    )
                # Decodes every pixel (the first frame of an animation): a truncated or
                # corrupt file fails here rather than in the worker.
                picture.load()
        except ImageRejected:
            raise
        except (PILImage.DecompressionBombWarning, PILImage.DecompressionBombError):
            raise ImageRejected(
                f"The image has too many pixels (the limit is {max_pixels / 1_000_000:g} "
                "megapixels)."
            ) from None
        except UnidentifiedImageError:
            raise ImageRejected(
                f"The file is not an image in an accepted format ({accepted})."
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as error:
            raise ImageRejected(f"The image is truncated or corrupt ({error}).") from None

    if image_format not in ACCEPTED_FORMATS:  # pragma: no cover - formats= guarantees it
        raise ImageRejected(f"The file is not an image in an accepted format ({accepted}).")
    return ValidatedImage(
        data=raw,
        format=image_format,
        width=width,
        height=height,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
