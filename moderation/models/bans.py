"""Banned image hashes."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BanKind(models.TextChoices):
    PHASH = "phash", _("perceptual hash")
    SHA256 = "sha256", _("SHA-256")


class BanSource(models.TextChoices):
    # Banned with the block of one of our images; lifted when it is restored.
    BLOCK = "block", _("block")
    # From a hash list a moderator imported; never lifted by a restore.
    IMPORT = "import", _("import")


class BlockedHash(models.Model):
    """One banned hash: an upload matching an active ban is blocked on arrival.

    Two nullable value columns, one per kind, so each keeps its natural type (a
    signed `bigint` for the 64-bit pHash, the hex text of a sha256) and its own
    index; a check constraint says exactly one is set, the one of `kind`.
    Rows are never deleted: a restore sets `lifted_at`.
    """

    Kind = BanKind
    Source = BanSource

    kind = models.CharField(_("kind"), max_length=10, choices=BanKind.choices)
    phash = models.BigIntegerField(_("perceptual hash"), null=True, blank=True)
    # NULL, not "", for a pHash ban: the check constraint says which column is set.
    sha256 = models.CharField(_("SHA-256"), max_length=64, null=True, blank=True)  # noqa: DJ001
    # The blocked image the ban came from; imported bans have none. A deleted
    # image leaves its bans in force.
    source_image = models.ForeignKey(
        "articles.Image",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hash_bans",
        verbose_name=_("source image"),
    )
    source = models.CharField(_("source"), max_length=10, choices=BanSource.choices)
    label = models.CharField(_("label"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # None while the ban is in force.
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("banned hash")
        verbose_name_plural = _("banned hashes")
        indexes = [
            # The exact lookup of every processed upload.
            models.Index(
                fields=["sha256"],
                condition=Q(lifted_at__isnull=True, kind="sha256"),
                name="moderation_ban_active_sha256",
            ),
            # What each worker loads into its HashIndex.
            models.Index(
                fields=["id", "phash"],
                condition=Q(lifted_at__isnull=True, kind="phash"),
                name="moderation_ban_active_phash",
            ),
            # A restore lifts the bans of one image.
            models.Index(
                fields=["source_image"],
                condition=Q(lifted_at__isnull=True),
                name="moderation_ban_active_image",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=BanKind.values), name="moderation_ban_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=BanSource.values), name="moderation_ban_source_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="phash", phash__isnull=False, sha256__isnull=True)
                    | Q(kind="sha256", phash__isnull=True, sha256__regex=r"^[0-9a-f]{64}$")
                ),
                name="moderation_ban_value_of_kind",
            ),
            # A block bans each hash of its image once: one sha256, each pHash once.
            models.UniqueConstraint(
                fields=["source_image"],
                condition=Q(lifted_at__isnull=True, source="block", kind="sha256"),
                name="moderation_ban_one_sha256_per_block",
            ),
            models.UniqueConstraint(
                fields=["source_image", "phash"],
                condition=Q(lifted_at__isnull=True, source="block", kind="phash"),
                name="moderation_ban_phash_once_per_block",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value_text}"

    @property
    def value_text(self) -> str:
        """The value as exchanged: 16 hex digits (unsigned) for a pHash, 64 for a sha256."""
        # A pHash ban has its pHash (moderation_ban_value_of_kind).
        if self.kind == BanKind.PHASH and self.phash is not None:
            return f"{self.phash & ((1 << 64) - 1):016x}"
        return self.sha256 or ""


class BlockedHashVersion(models.Model):
    """One row whose `token` changes in every transaction that changes the bans.

    Each worker keeps its HashIndex while the token it loaded is current (see
    moderation.bans). A random token rather than a counter: the row may be missing
    (a flushed or restored database) and a counter restarting at 1 could repeat
    a value a worker already holds. Writers upsert the row, so they serialise on it.
    """

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token
