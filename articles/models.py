from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Created by migration 0003: staff who add images to articles (admin and API).
EDITORS_GROUP = "Editors"


class Source(models.Model):
    """A publication whose articles the site aggregates."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    site_url = models.URLField(_("site URL"), blank=True)
    language = models.CharField(_("language"), max_length=8, default="fr")

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="articles", verbose_name=_("source")
    )
    title = models.CharField(_("title"), max_length=500)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    byline = models.CharField(_("byline"), max_length=300, blank=True)
    published_at = models.DateTimeField(_("published at"), db_index=True)
    language = models.CharField(_("language"), max_length=8, default="fr")
    # Paragraphs separated by blank lines; a line starting with "## " is a sub-heading.
    body = models.TextField(_("body"), blank=True)
    original_url = models.URLField(_("original URL"), max_length=1000, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def __str__(self) -> str:
        return self.title


class Image(models.Model):
    # The largest position: its column is a PositiveSmallIntegerField, whose values 0 to
    # 32767 every database holds. Forms and serializers refuse more.
    POSITION_MAX = 32767

    class Visibility(models.TextChoices):
        VISIBLE = "visible", _("visible")
        BLOCKED = "blocked", _("blocked")

    class Status(models.TextChoices):
        # Uploaded and validated; the worker has not made its renditions yet.
        PENDING = "pending", _("pending")
        READY = "ready", _("ready")
        # Given up after articles.services.PROCESSING_MAX_ATTEMPTS attempts that never
        # finished (a poison image that kills its worker): never shown, never retried.
        FAILED = "failed", _("failed")

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="images", verbose_name=_("article")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    caption = models.CharField(_("caption"), max_length=500, blank=True)
    credit = models.CharField(_("credit"), max_length=200, blank=True)
    original = models.ImageField(_("original"), upload_to="originals/%Y/%m/", max_length=300)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    format = models.CharField(_("format"), max_length=10, blank=True)
    byte_size = models.PositiveBigIntegerField(_("byte size"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, db_index=True)
    # 64-bit perceptual hash, stored signed so it fits PostgreSQL's bigint.
    phash = models.BigIntegerField(_("perceptual hash"), null=True, blank=True)
    # The mirror's, which a ban records too: computed with the renditions, so that a
    # block bans the image without decoding it again.
    phash_mirror = models.BigIntegerField(_("perceptual hash of the mirror"), null=True, blank=True)
    # The one fact every public path reads before showing the image.
    visibility = models.CharField(
        _("visibility"),
        max_length=10,
        choices=Visibility.choices,
        default=Visibility.VISIBLE,
        db_index=True,
    )
    # Images that predate processing (and the demo's) are ready as they are;
    # articles.services.image_create makes uploads pending until processed.
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.READY
    )
    # Re-encoded by articles.processing, with no metadata, under a random
    # directory that does not reveal the original's name.
    thumbnail = models.ImageField(
        _("thumbnail (JPEG)"), upload_to="renditions/", max_length=300, blank=True
    )
    rendition = models.ImageField(
        _("article rendition (JPEG)"), upload_to="renditions/", max_length=300, blank=True
    )
    thumbnail_webp = models.ImageField(
        _("thumbnail (WebP)"), upload_to="renditions/", max_length=300, blank=True
    )
    rendition_webp = models.ImageField(
        _("article rendition (WebP)"), upload_to="renditions/", max_length=300, blank=True
    )
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    # Bookkeeping of articles.services.images_requeue_stuck: the processing runs a
    # worker started while the image was pending, and the last time its processing
    # was sent or started (null: only the upload's message, at created_at). The
    # grace period before a pending image counts as stuck runs from there.
    processing_attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)
    processing_activity_at = models.DateTimeField(
        _("last processing activity"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["article", "position", "id"]
        verbose_name = _("image")
        verbose_name_plural = _("images")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "position"], name="articles_image_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=["visible", "blocked"]),
                name="articles_image_visibility_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "ready", "failed"]),
                name="articles_image_status_valid",
            ),
        ]
        indexes = [
            # The stuck-image sweep reads pending images every minute: a few rows
            # among all the processed ones.
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="articles_image_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.caption or gettext("Image %(id)s") % {"id": self.pk}

    @property
    def is_blocked(self) -> bool:
        return self.visibility == self.Visibility.BLOCKED
