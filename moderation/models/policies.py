"""How many reporters block an image."""

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


def _default_window_days() -> int:
    return settings.REPORT_WINDOW_DAYS


class Policy(models.Model):
    """How many distinct reporters block an image: globally, or for one source."""

    source = models.ForeignKey(
        "articles.Source",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="policies",
        verbose_name=_("source"),
        help_text=_("Leave empty for the global policy."),
    )
    threshold = models.PositiveIntegerField(
        _("threshold"), help_text=_("Distinct reporters (and score) that block an image.")
    )
    window_days = models.PositiveIntegerField(
        _("window (days)"),
        default=_default_window_days,
        help_text=_("Only reports from the last this many days count."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold__gte=1), name="moderation_policy_threshold_min"
            ),
            models.CheckConstraint(
                condition=Q(window_days__gte=1), name="moderation_policy_window_min"
            ),
            # One policy per source and one global policy: NULLs are distinct
            # in a plain unique index, so the global row is folded onto 0.
            models.UniqueConstraint(
                Coalesce("source", Value(0)), name="moderation_policy_one_per_scope"
            ),
        ]

    def __str__(self) -> str:
        return _("%(scope)s: threshold %(threshold)d, window of %(days)d days") % {
            "scope": self.source or _("global"),
            "threshold": self.threshold,
            "days": self.window_days,
        }
