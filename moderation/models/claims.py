"""Who is examining a case right now, so that two moderators never work the same one."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseClaim(models.Model):
    """A moderator examining a case, until `expires_at`.

    A working mark, not a moderation decision: it changes no state, so it writes no
    audit row. A moderator holds one claim at a time (opening a case lets go of the
    previous one); an expired claim is anybody's to take over (services.claims).
    """

    case = models.OneToOneField(
        "moderation.ImageCase",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="claim",
        verbose_name=_("case"),
    )
    moderator = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="case_claim",
        verbose_name=_("moderator"),
    )
    claimed_at = models.DateTimeField(_("claimed at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("case claim")
        verbose_name_plural = _("case claims")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("claimed_at")),
                name="moderation_claim_expires_after_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} by {self.moderator_id}"
