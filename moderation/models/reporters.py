"""Reporters a moderator muted, and the addresses they reported from."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ReporterMute(models.Model):
    """A reporter whose reports no longer count (services.reporter_mute)."""

    reporter_key = models.CharField(_("reporter key"), max_length=64, unique=True)
    muted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("muted by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("muted at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("muted reporter")
        verbose_name_plural = _("muted reporters")

    def __str__(self) -> str:
        return self.reporter_key


class MutedAddress(models.Model):
    """An address (its keyed hash) a muted reporter reported from: anonymous reports
    from it are muted too, so a new cookie does not lift the mute. Forgotten with the
    mute, or when nobody muted reported from it for REPORT_PERSONAL_DATA_DAYS."""

    mute = models.ForeignKey(
        ReporterMute, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("mute")
    )
    ip_hash = models.CharField(_("IP hash"), max_length=64)
    last_seen_at = models.DateTimeField(_("last report from it"))

    class Meta:
        verbose_name = _("muted address")
        verbose_name_plural = _("muted addresses")
        indexes = [models.Index(fields=["ip_hash"], name="moderation_mutedaddress_ip")]
        constraints = [
            models.UniqueConstraint(
                fields=["mute", "ip_hash"], name="moderation_mutedaddress_once"
            ),
            models.CheckConstraint(
                condition=~Q(ip_hash=""), name="moderation_mutedaddress_ip_hash_set"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mute.reporter_key} @ {self.ip_hash[:12]}"
