"""Loading the demo content: the only part that touches the database and the media
storage."""

import hashlib
import io
from dataclasses import dataclass
from io import TextIOBase

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from PIL import Image as PILImage

from articles.demo.drawing import draw_image
from articles.demo.plan import ArticleSpec, SourceSpec, image_name, plan_demo
from articles.demo.seed import parse_seed, read_seed
from articles.models import Article, Image, Source
from articles.processing import process_image

IMAGE_CREDIT = "Illustration de démonstration"


@dataclass
class DemoSummary:
    sources_created: int = 0
    sources_present: int = 0
    articles_created: int = 0
    articles_present: int = 0
    images_created: int = 0
    images_present: int = 0
    images_processed: int = 0

    @property
    def created(self) -> int:
        return self.sources_created + self.articles_created + self.images_created

    def as_line(self) -> str:
        return (
            f"Demo content: created {self.sources_created} sources, "
            f"{self.articles_created} articles, {self.images_created} images; "
            f"already present {self.sources_present} sources, "
            f"{self.articles_present} articles, {self.images_present} images; "
            f"renditions made for {self.images_processed} images."
        )


def load_demo(*, stdout: TextIOBase | None = None) -> DemoSummary:
    """Create what is missing of the demo content; existing rows and files are kept."""
    specs = plan_demo(parse_seed(read_seed()))
    summary = DemoSummary()
    written: list[str] = []
    try:
        with transaction.atomic():
            sources: dict[str, Source] = {}
            for spec in specs:
                if spec.source.slug not in sources:
                    sources[spec.source.slug] = _get_or_create_source(
                        spec=spec.source, summary=summary, stdout=stdout
                    )
                article = _get_or_create_article(
                    spec=spec, source=sources[spec.source.slug], summary=summary, stdout=stdout
                )
                _create_missing_images(spec=spec, article=article, summary=summary, written=written)
    except BaseException:
        # The rollback forgets the rows but not the files: remove them so that
        # a failed run leaves no orphans in the media storage.
        storage = Image._meta.get_field("original").storage
        for name in written:
            storage.delete(name)
        raise
    # Readers see renditions only: make them now, as the worker would, for the
    # demo's images that lack them (new ones, or ones loaded before processing).
    # Outside the transaction above: process_image commits each image on its own.
    slugs = [spec.slug for spec in specs]
    unprocessed = Image.objects.filter(article__slug__in=slugs).filter(
        ~Q(status=Image.Status.READY) | Q(rendition="")
    )
    for image_id in unprocessed.values_list("pk", flat=True):
        if process_image(image_id=image_id):
            summary.images_processed += 1
    return summary


def _get_or_create_source(
    *, spec: SourceSpec, summary: DemoSummary, stdout: TextIOBase | None
) -> Source:
    source, created = Source.objects.get_or_create(
        slug=spec.slug,
        defaults={"name": spec.name, "site_url": spec.site_url, "language": spec.language},
    )
    if created:
        summary.sources_created += 1
        _say(stdout=stdout, message=f"Created source {source.slug}")
    else:
        summary.sources_present += 1
    return source


def _get_or_create_article(
    *, spec: ArticleSpec, source: Source, summary: DemoSummary, stdout: TextIOBase | None
) -> Article:
    article, created = Article.objects.get_or_create(
        slug=spec.slug,
        defaults={
            "source": source,
            "title": spec.title,
            "byline": spec.byline,
            "published_at": spec.published_at,
            "language": spec.language,
            "body": spec.body,
            "original_url": spec.original_url,
        },
    )
    if created:
        summary.articles_created += 1
        _say(stdout=stdout, message=f"Created article {article.slug}")
    else:
        summary.articles_present += 1
    return article


def _create_missing_images(
    *, spec: ArticleSpec, article: Article, summary: DemoSummary, written: list[str]
) -> None:
    present = set(article.images.values_list("position", flat=True))
    for image_spec in spec.images:
        if image_spec.position in present:
            # Never redraw nor re-save: the stored file and its hashes stay as they are.
            summary.images_present += 1
            continue
        data = draw_image(text=image_spec.text, seed_key=f"{spec.slug}:{image_spec.position}")
        with PILImage.open(io.BytesIO(data)) as picture:
            width, height = picture.size
        image = Image(
            article=article,
            position=image_spec.position,
            caption=image_spec.caption,
            credit=IMAGE_CREDIT,
            width=width,
            height=height,
            format="JPEG",
            byte_size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            # Until its renditions are made (below, once committed), readers do not see it.
            status=Image.Status.PENDING,
        )
        image.original.save(
            image_name(slug=spec.slug, position=image_spec.position),
            ContentFile(data),
            save=False,
        )
        # save() has just named the file (django-stubs types a FieldFile's name as optional).
        written.append(image.original.name)  # type: ignore[arg-type]
        image.save()
        summary.images_created += 1


def _say(*, stdout: TextIOBase | None, message: str) -> None:
    if stdout is not None:
        stdout.write(f"{message}\n")
