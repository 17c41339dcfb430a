"""Making an uploaded image safe to serve: renditions re-encoded by Pillow.

`render_renditions(data)` is the Pillow work, pure (bytes in, bytes out), so the
bench can time it alone; `process_image(image_id=...)` is the service the Celery
task calls: it reads the original, renders, stores the renditions and marks the
image ready.

What survives the re-encode is pixels only: no EXIF (so no GPS), no ICC profile
(the pixels are converted to sRGB, which browsers assume without one), no
comment, no XMP. The renditions are made from a reduced decode (JPEG draft mode),
oriented after reducing, so a 12 MP JPEG costs a fraction of a full decode.
"""

import hashlib
import io
import logging
import uuid
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from articles import hooks
from articles.models import Image
from articles.validators import ACCEPTED_FORMATS

logger = logging.getLogger("articles.processing")

# Longest side of each rendition, in pixels.
ARTICLE_SIZE = 1024
THUMBNAIL_SIZE = 320
JPEG_QUALITY = 85
WEBP_QUALITY = 80
# EXIF orientations that swap width and height (rotations by 90° or 270°).
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112
_WHITE = (255, 255, 255)
RENDITION_FIELDS = ("thumbnail", "rendition", "thumbnail_webp", "rendition_webp")


@dataclass(frozen=True)
class Rendered:
    format: str
    # Of the original, once EXIF orientation is applied.
    width: int
    height: int
    # field name (RENDITION_FIELDS) -> encoded bytes
    files: dict[str, bytes]
    # The article-size picture in sRGB (RGB or RGBA), for the perceptual hash.
    picture: PILImage.Image


def _to_srgb(picture: PILImage.Image) -> PILImage.Image:
    """RGB, or RGBA where the image has transparency, in sRGB."""
    icc = picture.info.get("icc_profile")
    mode = picture.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits (convert("L") would clip at 255).
        picture = picture.convert("I").point(lambda value: value * (1 / 257)).convert("L")
        mode = "L"
        icc = None
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in picture.info
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("LA", "La", "RGBa") or (mode == "L" and "transparency" in picture.info):
        picture = picture.convert("RGBA")

    target = "RGBA" if picture.mode == "RGBA" else "RGB"
    if icc and picture.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(picture, source, srgb, outputMode=target)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            # A broken or unsupported profile: fall back to a plain conversion.
            logger.warning("ignored an unusable ICC profile")
    if picture.mode != target:
        # CMYK without a profile, L, 1: Pillow's own conversion.
        picture = picture.convert(target)
    return picture


def _flatten(picture: PILImage.Image) -> PILImage.Image:
    """JPEG has no alpha: composite on white."""
    if picture.mode != "RGBA":
        return picture
    background = PILImage.new("RGB", picture.size, _WHITE)
    background.paste(picture, mask=picture.getchannel("A"))
    return background


def _encode(picture: PILImage.Image, *, image_format: str) -> bytes:
    # A fresh image carries no `info` at all: nothing (comment, ICC, EXIF, XMP)
    # can ride along into the encoder, whatever Pillow copies by default.
    clean = PILImage.new(picture.mode, picture.size)
    clean.paste(picture)
    out = io.BytesIO()
    if image_format == "JPEG":
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        clean.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def render_renditions(data: bytes) -> Rendered:
    """The four renditions of an image's bytes (already validated at upload)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        with PILImage.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS)) as source:
            image_format = source.format
            width, height = source.size
            orientation = source.getexif().get(_EXIF_ORIENTATION, 1)
            if orientation in _SWAPPING_ORIENTATIONS:
                width, height = height, width
            # An animation is rendered from its first frame (the one open() shows).
            if image_format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, still at least the
                # article size: most of a 12 MP photo is never decoded.
                source.draft(None, (ARTICLE_SIZE, ARTICLE_SIZE))
            source.thumbnail((ARTICLE_SIZE, ARTICLE_SIZE), PILImage.Resampling.LANCZOS)
            # A copy outlives the file (closing it releases the pixels); it keeps
            # `info`, which orientation and colour management read below.
            picture = source.copy()

    # Orientation after reducing: rotating a 1024 px image is cheap. (The box is
    # square, so reducing first gives the same size as rotating first.)
    if orientation != 1:
        picture = ImageOps.exif_transpose(picture)

    article = _to_srgb(picture)
    thumbnail = article.copy()
    thumbnail.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), PILImage.Resampling.LANCZOS)
    files = {
        "rendition": _encode(_flatten(article), image_format="JPEG"),
        "thumbnail": _encode(_flatten(thumbnail), image_format="JPEG"),
        "rendition_webp": _encode(article, image_format="WEBP"),
        "thumbnail_webp": _encode(thumbnail, image_format="WEBP"),
    }
    return Rendered(
        # open() names the format of the file it read (None is for images made in memory).
        format=image_format,  # type: ignore[arg-type]
        width=width,
        height=height,
        files=files,
        picture=article,
    )


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("could not delete the old rendition %s", name)


def process_image(*, image_id: int) -> bool:
    """Render and store an image's renditions, record its facts, mark it ready.

    Idempotent: a second run writes a fresh set of renditions, swaps them in,
    and deletes the set it replaced. Returns False when there is nothing to do
    (no such image, or no original).
    """
    image = Image.objects.filter(pk=image_id).first()
    if image is None or not image.original:
        return False
    with image.original.open("rb") as original:
        data = original.read()

    # The Pillow work happens outside any transaction: no row is locked for it.
    rendered = render_renditions(data)
    phashes = hooks.perceptual_hashes(rendered.picture)

    # One random directory per run: the names reveal nothing of the original's,
    # and two runs never write over each other's files.
    directory = f"renditions/{uuid.uuid4().hex}"
    extensions = {"thumbnail": "jpg", "rendition": "jpg"}
    new_names = {
        field: default_storage.save(
            f"{directory}/{field}.{extensions.get(field, 'webp')}", ContentFile(content)
        )
        for field, content in rendered.files.items()
    }

    with transaction.atomic():
        locked = Image.objects.select_for_update().filter(pk=image_id).first()
        if locked is None:
            # Deleted while we worked: nothing to attach the files to.
            transaction.on_commit(lambda: _delete_files(list(new_names.values())))
            return False
        old_names = [
            getattr(locked, field).name
            for field in RENDITION_FIELDS
            if getattr(locked, field).name and getattr(locked, field).name not in new_names.values()
        ]
        for field, name in new_names.items():
            setattr(locked, field, name)
        locked.width = rendered.width
        locked.height = rendered.height
        locked.format = rendered.format
        locked.byte_size = len(data)
        locked.sha256 = hashlib.sha256(data).hexdigest()
        update_fields = [
            *RENDITION_FIELDS,
            "width",
            "height",
            "format",
            "byte_size",
            "sha256",
            "status",
            "processed_at",
        ]
        if phashes is not None:
            locked.phash, locked.phash_mirror = phashes
            update_fields += ["phash", "phash_mirror"]
        locked.status = Image.Status.READY
        locked.processed_at = timezone.now()
        locked.save(update_fields=update_fields)
        # Told in the transaction that makes the image ready (moderation checks its hash
        # bans there), so a banned upload is never shown, not even for a moment.
        hooks.image_ready(image_id=image_id)
        # The replaced set goes only once the new one is committed.
        transaction.on_commit(lambda: _delete_files(old_names))
    # And again after the commit: a ban committed while this transaction was open is
    # swept against committed images only, so the sweep could miss this image while
    # the check above missed the ban. Checked after too, one of the two sees it. Cheap:
    # one indexed query and a lookup in this worker's index; a no-op once blocked.
    hooks.image_ready(image_id=image_id)
    return True
