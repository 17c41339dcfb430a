"""A reader's report on an image, and why it was made."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Reason(models.TextChoices):
    NUDITY = "nudity", _("nudity")
    VIOLENCE = "violence", _("violence")
    HATE = "hate", _("hate")
    HARASSMENT = "harassment", _("harassment")
    ILLEGAL = "illegal", _("illegal content")
    COPYRIGHT = "copyright", _("copyright")
    MISLEADING = "misleading", _("misleading")
    SPAM = "spam", _("spam")
    OTHER = "other", _("other")


class ReportOutcome(models.TextChoices):
    OPEN = "open", _("open")
    UPHELD = "upheld", _("upheld")
    DISMISSED = "dismissed", _("dismissed")
    # Older than the policy's window: no longer counts, nobody judged it.
    EXPIRED = "expired", _("expired")
    # Part of a suspected brigade: kept for a moderator, not counted.
    HELD = "held", _("held (grouped reports)")
    # From a reporter a moderator muted: not counted.
    MUTED = "muted", _("muted")


COMMENT_MAX_LENGTH = 500


class Report(models.Model):
    """One reader's flag on one image. A reader counts once per image."""

    Outcome = ReportOutcome

    image = models.ForeignKey(
        "articles.Image", on_delete=models.CASCADE, related_name="reports", verbose_name=_("image")
    )
    # "user:<id>" for a signed-in reader, "reader:<uuid>" for an anonymous one.
    reporter_key = models.CharField(_("reporter key"), max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="image_reports",
        verbose_name=_("user"),
    )
    # HMAC-SHA256 of the client IP and of its /24 or /48 network (moderation.readers);
    # emptied with the comment after REPORT_PERSONAL_DATA_DAYS.
    ip_hash = models.CharField(_("IP hash"), max_length=64, blank=True)
    network_hash = models.CharField(_("network hash"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    comment = models.CharField(_("comment"), max_length=COMMENT_MAX_LENGTH, blank=True)
    # 1 for a new reader; moves with the reporter's record (selectors.reporter_weight).
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2, default=1)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=ReportOutcome.choices, default=ReportOutcome.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        indexes = [
            # A reporter's record (what moderators weigh a report by).
            models.Index(fields=["reporter_key", "outcome"], name="moderation_report_reporter"),
            # The queue's reason filter looks only at open reports.
            models.Index(
                fields=["reason", "image"],
                condition=Q(outcome="open"),
                name="moderation_report_open_reason",
            ),
            # The brigade check counts an image's recent reports.
            models.Index(fields=["image", "created_at"], name="moderation_report_image_time"),
            # ... and the reports a network has counted on an image.
            models.Index(
                fields=["image", "network_hash"],
                condition=Q(outcome="open"),
                name="moderation_report_open_network",
            ),
            # The privacy purge finds the reports that still hold personal data.
            models.Index(
                fields=["created_at"],
                condition=~Q(ip_hash="") | ~Q(network_hash="") | ~Q(comment=""),
                name="moderation_report_personal",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "reporter_key"], name="moderation_report_one_per_reporter"
            ),
            # Anonymous readers on one IP are one person per image: clearing the
            # cookie makes a new reader id, not a new reporter.
            models.UniqueConstraint(
                fields=["image", "ip_hash"],
                condition=Q(user__isnull=True) & ~Q(ip_hash=""),
                name="moderation_report_one_per_anonymous_ip",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=Reason.values), name="moderation_report_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=ReportOutcome.values),
                name="moderation_report_outcome_valid",
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="moderation_report_weight_min"),
            models.CheckConstraint(
                condition=~Q(reporter_key=""), name="moderation_report_reporter_key_set"
            ),
        ]

    def __str__(self) -> str:
        return _("%(reason)s on image %(image)s") % {
            "reason": self.get_reason_display(),
            "image": self.image_id,
        }
