import functools
import uuid
from importlib import import_module

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.utils import timezone

from articles.models import Article, Image, Source
from articles.processing import RENDITION_FIELDS, Rendered, render_renditions
from moderation.models import MODERATORS_GROUP, Policy, Reason, Report


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"reader{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


def group_from_migration(name: str, migration: str) -> Group:
    """The group a data migration made; a transactional test's flush empties the tables, so
    it is made again then, from the migration's own permission list."""
    group, created = Group.objects.get_or_create(name=name)
    if created:
        group.permissions.set(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in import_module(migration).PERMISSIONS
        )
    return group


class ModeratorFactory(UserFactory):
    """Staff in the Moderators group that migration 0004 creates; not a superuser."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"moderator{n}")
    is_staff = True

    @factory.post_generation
    def moderators_group(user, create, extracted, **kwargs):
        if create:
            user.groups.add(
                group_from_migration(
                    MODERATORS_GROUP, "moderation.migrations.0004_moderators_group"
                )
            )


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Publication {n}")
    slug = factory.Sequence(lambda n: f"publication-{n}")
    site_url = factory.LazyAttribute(lambda s: f"https://{s.slug}.example.org/")


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    source = factory.SubFactory(SourceFactory)
    title = factory.Sequence(lambda n: f"Article {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    byline = "La rédaction"
    published_at = factory.LazyFunction(timezone.now)
    body = "Premier paragraphe.\n\n## Un intertitre\n\nSecond paragraphe."
    original_url = factory.LazyAttribute(lambda a: f"https://example.org/{a.slug}")


@functools.lru_cache(maxsize=32)
def _rendered(data: bytes) -> Rendered:
    # Most factory images share their bytes: render each distinct original once.
    return render_renditions(data)


class ImageFactory(factory.django.DjangoModelFactory):
    """A processed image, as readers see it: its four renditions made by the
    real Pillow pipeline (articles.processing.render_renditions). `processed=False`
    gives an upload the worker has not processed yet (pending, no renditions)."""

    class Meta:
        model = Image
        skip_postgeneration_save = True

    class Params:
        processed = True

    article = factory.SubFactory(ArticleFactory)
    position = factory.Sequence(lambda n: n)
    caption = factory.Sequence(lambda n: f"Légende {n}")
    credit = "Photo de test"
    original = factory.django.ImageField(width=64, height=48, format="JPEG", color="teal")
    width = 64
    height = 48
    format = "JPEG"
    status = factory.LazyAttribute(
        lambda o: Image.Status.READY if o.processed else Image.Status.PENDING
    )

    @factory.post_generation
    def renditions(image, create, extracted, **kwargs):
        if image.status != Image.Status.READY or not image.original:
            return
        with image.original.open("rb") as original:
            rendered = _rendered(original.read())
        # As the worker names them: a random directory per image.
        directory = uuid.uuid4().hex
        extensions = {"thumbnail": "jpg", "rendition": "jpg"}
        for field in RENDITION_FIELDS:
            name = f"{directory}/{field}.{extensions.get(field, 'webp')}"
            getattr(image, field).save(name, ContentFile(rendered.files[field]), save=False)
        image.width, image.height = rendered.width, rendered.height
        image.processed_at = timezone.now()
        if create:
            image.save(update_fields=[*RENDITION_FIELDS, "width", "height", "processed_at"])


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    source = None
    threshold = 5


class ReportFactory(factory.django.DjangoModelFactory):
    """For reading paths only: counting goes through services.report_create."""

    class Meta:
        model = Report

    image = factory.SubFactory(ImageFactory)
    reporter_key = factory.Sequence(lambda n: f"reader:{n:032x}")
    reason = Reason.SPAM
