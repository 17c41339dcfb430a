"""The audit log of moderation decisions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ActionKind(models.TextChoices):
    AUTO_BLOCK = "auto_block", _("blocked automatically")
    BLOCK = "block", _("blocked by a moderator")
    CONFIRM = "confirm", _("block confirmed")
    RESTORE = "restore", _("restored")
    DISMISS = "dismiss", _("reports dismissed")
    PROTECT = "protect", _("protected")
    UNPROTECT = "unprotect", _("unprotected")
    NOTE = "note", _("note")
    HASH_BLOCK = "hash_block", _("blocked by hash match")
    POLICY_CHANGE = "policy_change", _("policy changed")
    EXPIRE = "expire", _("reports expired")
    BAN_IMPORT = "ban_import", _("banned hashes imported")
    BRIGADE_HOLD = "brigade_hold", _("grouped reports: automatic block held")
    RELEASE = "release", _("held reports counted")
    MUTE = "mute", _("reporter muted")
    UNMUTE = "unmute", _("reporter unmuted")
    PURGE = "purge", _("personal data purged")
    UNDO = "undo", _("decision undone")


# A moderator's decisions that change a case: what an undo can take back and what a
# moderator's figures count (a note changes nothing; an undo takes a decision back).
DECISION_KINDS = frozenset(
    {
        ActionKind.CONFIRM,
        ActionKind.RESTORE,
        ActionKind.DISMISS,
        ActionKind.PROTECT,
        ActionKind.UNPROTECT,
        ActionKind.RELEASE,
    }
)

# A moderator's note on a decision.
NOTE_MAX_LENGTH = 2000


class ModerationAction(models.Model):
    """Append-only audit log: every moderation state change writes one row.

    On PostgreSQL a trigger (migration 0002) refuses UPDATE and DELETE.
    """

    Action = ActionKind

    image = models.ForeignKey(
        "articles.Image",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="moderation_actions",
        verbose_name=_("image"),
    )
    action = models.CharField(_("action"), max_length=20, choices=ActionKind.choices)
    # None means the system (a Celery worker or the sweeper).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    # The moderator's own words (a decision's note), as typed.
    reason = models.TextField(_("reason"), blank=True)
    # The machine's reason, as a code rendered in the reader's language with the
    # parameters in `details` (moderation.audit_text); "" for a moderator's decision.
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True, db_default="")
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("moderation action")
        verbose_name_plural = _("moderation actions")
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=ActionKind.values),
                name="moderation_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"
