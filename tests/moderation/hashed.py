"""Images as the worker leaves them (hashed), and as a moderator's block leaves them
(banned): for the tests of hash bans and of the block figures."""

import io

from django.core.files.base import ContentFile

from articles import processing
from articles.models import Image
from moderation import services
from moderation.services import Decision
from tests.factories import ImageFactory


def jpeg(picture, quality=90) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()


def processed_image(data: bytes, **fields) -> Image:
    """An uploaded image as the worker leaves it: renditions, sha256, pHash."""
    image = ImageFactory(
        original=ContentFile(data, "upload.jpg"), status=Image.Status.PENDING, **fields
    )
    assert processing.process_image(image_id=image.pk)
    return Image.objects.get(pk=image.pk)


def blocked_image(data: bytes, moderator) -> Image:
    """An image a moderator blocked (confirm on a first report's case)."""
    return blocked_image_of(processed_image(data), moderator)


def blocked_image_of(image: Image, moderator) -> Image:
    """This image, blocked by a moderator (confirm on a first report's case)."""
    services.report_create(image_id=image.pk, reporter_key="reader:a", reason="nudity")
    services.case_decide(case_id=image.case.pk, decision=Decision.CONFIRM, actor=moderator)
    return Image.objects.get(pk=image.pk)
