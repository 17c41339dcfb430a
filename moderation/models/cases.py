"""The moderation state of a reported image."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    FLAGGED = "flagged", _("flagged")
    AUTO_BLOCKED = "auto_blocked", _("blocked automatically")
    BLOCKED = "blocked", _("blocked")
    RESTORED = "restored", _("restored")


# States in which new reports can still lead to an automatic block.
BLOCKABLE_STATES = (CaseState.FLAGGED, CaseState.RESTORED)
BLOCKED_STATES = (CaseState.AUTO_BLOCKED, CaseState.BLOCKED)


class ImageCase(models.Model):
    """The moderation state of one reported image.

    `open_report_count` and `score` are maintained by atomic increments in
    `services.report_create`; they are never computed with read-modify-write.
    They cover the open reports (not held, muted, expired or dismissed ones); a
    confirmed block keeps the count of the reports it upheld.
    """

    State = CaseState

    image = models.OneToOneField(
        "articles.Image", on_delete=models.CASCADE, related_name="case", verbose_name=_("image")
    )
    open_report_count = models.PositiveIntegerField(_("open reports"), default=0)
    # The sum of the open reports' weights.
    score = models.DecimalField(_("score"), max_digits=10, decimal_places=2, default=0)
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=CaseState.choices,
        default=CaseState.FLAGGED,
        db_index=True,
    )
    protected = models.BooleanField(_("protected"), default=False)
    first_reported_at = models.DateTimeField(_("first report"), null=True, blank=True)
    last_reported_at = models.DateTimeField(_("last report"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # Set when reports were first held as grouped ("signalements groupés"): held
    # reports wait for a moderator's decision, which clears it.
    brigade_held_at = models.DateTimeField(_("grouped reports since"), null=True, blank=True)
    # Set when a burst across many networks (the rate rule) held the whole case: the
    # automatic block then waits for a moderator. A burst from one network never sets
    # it: the other networks' readers still count and can block.
    auto_block_held_at = models.DateTimeField(
        _("automatic block held since"), null=True, blank=True
    )
    # Kept by the services (rules.needs_review), so the queue's
    # order "awaiting review first, then score" is one index scan at any size.
    needs_review = models.BooleanField(_("needs review"), default=False)

    class Meta:
        ordering = ["-score", "-last_reported_at"]
        indexes = [
            models.Index(
                F("needs_review").desc(),
                F("score").desc(),
                F("last_reported_at").desc(),
                F("id").desc(),
                name="moderation_case_queue_order",
            ),
            # The workspace's protected and grouped tabs, counted at every poll of its
            # live counter (selectors.queue_summary): a few cases among many.
            models.Index(
                fields=["id"], condition=Q(protected=True), name="moderation_case_protected"
            ),
            models.Index(
                fields=["id"],
                condition=Q(brigade_held_at__isnull=False),
                name="moderation_case_grouped",
            ),
        ]
        verbose_name = _("image case")
        verbose_name_plural = _("image cases")
        permissions = [("decide_imagecase", _("Can take moderation decisions on image cases"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=CaseState.values),
                name="moderation_case_state_valid",
            ),
            models.CheckConstraint(condition=Q(score__gte=0), name="moderation_case_score_min"),
            # A blocked case always says when it was blocked.
            models.CheckConstraint(
                condition=~Q(state__in=BLOCKED_STATES) | Q(blocked_at__isnull=False),
                name="moderation_case_blocked_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=BLOCKED_STATES) | Q(protected=False),
                name="moderation_case_protected_not_blocked",
            ),
        ]

    def __str__(self) -> str:
        return _("Case of image %(image)s (%(state)s)") % {
            "image": self.image_id,
            "state": self.get_state_display(),
        }
