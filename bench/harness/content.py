"""The content a stack serves, written with the ORM: articles, ready images with their
renditions named (and written where a bench reads them), a moderator with a token."""

import io
import random
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

BODY = (
    "Les faits se sont produits en fin de journée, selon plusieurs témoins joints par la "
    "rédaction. Les autorités locales ont confirmé l'information.\n\n"
    "## Ce que disent les responsables\n\n"
    "Le maire a pris la parole devant la presse pour appeler au calme.\n\n"
    "## Et maintenant\n\n"
    "Une enquête a été ouverte ; les conclusions sont attendues d'ici la fin du mois."
)
RENDITION_NAMES = {
    "thumbnail": "t.jpg",
    "rendition": "r.jpg",
    "thumbnail_webp": "t.webp",
    "rendition_webp": "r.webp",
}


def random_phash(rng: random.Random) -> int:
    """A 64-bit hash with 32 bits set, signed as the database stores it: two such random
    hashes are never within the ban bound of each other, so a block bans nothing else."""
    value = sum(1 << bit for bit in rng.sample(range(64), 32))
    return value - (1 << 64) if value >= 1 << 63 else value


def content_create(*, articles: int, images_per_article: int, label: str = "bench") -> list[int]:
    """Sources, articles and ready, visible images (every rendition named, no file written:
    see renditions_write). Each image has its own random sha256 and pHash (from the system's
    randomness: a seeded generator would repeat them from one call to the next), so that
    blocking one bans nothing another matches. Returns the image ids in order."""
    from django.utils import timezone

    from articles.models import Article, Image, Source

    rng = random.SystemRandom()
    source, _created = Source.objects.get_or_create(
        slug="bench-source",
        defaults={"name": "Le Quotidien du Banc", "site_url": "https://bench.example.org/"},
    )
    now = timezone.now()
    first = Article.objects.count()
    made = Article.objects.bulk_create(
        Article(
            source=source,
            title=f"{label.capitalize()} : article {first + n}",
            slug=f"{label}-article-{first + n}",
            byline="La rédaction",
            published_at=now - timedelta(minutes=first + n),
            body=BODY,
            original_url=f"https://bench.example.org/articles/{first + n}",
        )
        for n in range(articles)
    )
    images = []
    for article in made:
        for position in range(images_per_article):
            key = f"{article.slug}-{position}"
            images.append(
                Image(
                    article=article,
                    position=position,
                    caption=f"Photo {position + 1} de l'article",
                    credit="Photo de la rédaction",
                    original=f"originals/bench/{key}.jpg",
                    width=1024,
                    height=683,
                    format="JPEG",
                    byte_size=100_000,
                    sha256=rng.randbytes(32).hex(),
                    # Both hashes, as processing stores them (a block bans them as they are).
                    phash=random_phash(rng),
                    phash_mirror=random_phash(rng),
                    visibility=Image.Visibility.VISIBLE,
                    status=Image.Status.READY,
                    processed_at=now,
                    **{
                        field_name: f"renditions/bench/{key}-{suffix}"
                        for field_name, suffix in RENDITION_NAMES.items()
                    },
                )
            )
    return [image.pk for image in Image.objects.bulk_create(images)]


_RENDITION_BYTES: dict[str, bytes] = {}


def _rendition_bytes() -> dict[str, bytes]:
    """A photo-like 1024 x 683 rendition and a 320 px thumbnail, JPEG and WebP."""
    if _RENDITION_BYTES:
        return _RENDITION_BYTES
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFilter

    size = (1024, 683)
    sky = PILImage.linear_gradient("L").resize(size)
    picture = PILImage.merge(
        "RGB",
        (
            sky.point(lambda v: 40 + v * 0.6),
            sky.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT).point(lambda v: 60 + v * 0.5),
            PILImage.radial_gradient("L").resize(size).point(lambda v: 255 - v * 0.7),
        ),
    )
    draw = ImageDraw.Draw(picture)
    for n in range(20):
        x, y = (n * 157) % size[0], (n * 97) % size[1]
        draw.ellipse((x, y, x + 60 + n * 4, y + 40 + n * 3), fill=(n * 12 % 255, 120, 200 - n))
    picture = picture.filter(ImageFilter.GaussianBlur(1))
    thumb = picture.copy()
    thumb.thumbnail((320, 320))
    for name, (image, fmt) in {
        "r.jpg": (picture, "JPEG"),
        "r.webp": (picture, "WEBP"),
        "t.jpg": (thumb, "JPEG"),
        "t.webp": (thumb, "WEBP"),
    }.items():
        out = io.BytesIO()
        image.save(out, fmt, quality=82)
        _RENDITION_BYTES[name] = out.getvalue()
    return _RENDITION_BYTES


def renditions_write(image_ids: Iterable[int]) -> int:
    """Write the four rendition files of these images into MEDIA_ROOT (the same pixels for
    all; their stored hashes differ). Returns the bytes written."""
    from django.conf import settings

    from articles.models import Image

    payloads = _rendition_bytes()
    written = 0
    fields = list(RENDITION_NAMES)
    for row in Image.objects.filter(pk__in=list(image_ids)).values(*fields):
        for field_name, suffix in RENDITION_NAMES.items():
            path = Path(settings.MEDIA_ROOT) / row[field_name]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payloads[suffix])
            written += len(payloads[suffix])
    return written


def moderator_create(username: str = "bench-moderator") -> str:
    """A moderator (staff, in the Moderators group) and their API token's key."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from moderation.models import MODERATORS_GROUP

    user = get_user_model().objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    return Token.objects.create(user=user).key
