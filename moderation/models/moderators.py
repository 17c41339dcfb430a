"""The moderators' group and the emails sent to them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The group whose members moderate (created by migration 0004).
MODERATORS_GROUP = "Moderators"


class NotificationEvent(models.TextChoices):
    FIRST_REPORT = "first_report", _("first report")
    AUTO_BLOCK = "auto_block", _("automatic block")
    REVIEW_DIGEST = "review_digest", _("review digest")


class ModeratorNotification(models.Model):
    """One email to the moderators, claimed before it is sent.

    The unique `key` names the event ("first_report:<image>:<report>",
    "auto_block:<action>", "review_digest:<date>"): whoever inserts it first
    sends the email, and every other delivery of the same event sends nothing.
    A row without `sent_at` is a claim whose sending never completed (see
    moderation.notifications).
    """

    Event = NotificationEvent

    image = models.ForeignKey(
        "articles.Image",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="moderator_notifications",
        verbose_name=_("image"),
    )
    event = models.CharField(_("event"), max_length=20, choices=NotificationEvent.choices)
    key = models.CharField(_("key"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("moderator notification")
        verbose_name_plural = _("moderator notifications")
        constraints = [
            models.CheckConstraint(
                condition=Q(event__in=NotificationEvent.values),
                name="moderation_notification_event_valid",
            ),
            # Only the digest is about no image in particular.
            models.CheckConstraint(
                condition=Q(event=NotificationEvent.REVIEW_DIGEST) | Q(image__isnull=False),
                name="moderation_notification_image_set",
            ),
        ]

    def __str__(self) -> str:
        return self.key


# What a moderator without preferences has mailed at once (reason codes), and what the
# addresses of MODERATION_NOTIFY_EMAILS get: illegal content.
DEFAULT_IMMEDIATE_REASONS = frozenset({"illegal"})


def _default_immediate_reasons() -> list[str]:
    return sorted(DEFAULT_IMMEDIATE_REASONS)


class ModeratorPreferences(models.Model):
    """What a moderator wants mailed at once; everything else waits for the daily digest.

    Without a row, a moderator gets the defaults: illegal content and automatic blocks
    at once.
    """

    moderator = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="moderation_preferences",
        verbose_name=_("moderator"),
    )
    # Reason codes (moderation.models.Reason) whose first report is mailed at once.
    immediate_reasons = models.JSONField(
        _("reasons mailed at once"), default=_default_immediate_reasons, blank=True
    )
    immediate_auto_blocks = models.BooleanField(_("automatic blocks mailed at once"), default=True)
    daily_digest = models.BooleanField(_("daily digest"), default=True)

    class Meta:
        verbose_name = _("moderator's preferences")
        verbose_name_plural = _("moderators' preferences")

    def __str__(self) -> str:
        # The page's title names whose preferences these are.
        return str(self.moderator)
