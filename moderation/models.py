from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
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


class CaseState(models.TextChoices):
    FLAGGED = "flagged", _("flagged")
    AUTO_BLOCKED = "auto_blocked", _("blocked automatically")
    BLOCKED = "blocked", _("blocked")
    RESTORED = "restored", _("restored")


# States in which new reports can still lead to an automatic block.
BLOCKABLE_STATES = (CaseState.FLAGGED, CaseState.RESTORED)
BLOCKED_STATES = (CaseState.AUTO_BLOCKED, CaseState.BLOCKED)


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


COMMENT_MAX_LENGTH = 500
# A moderator's note on a decision.
NOTE_MAX_LENGTH = 2000
# The group whose members moderate (created by migration 0004).
MODERATORS_GROUP = "Moderators"


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
        return f"{self.get_reason_display()} on image {self.image_id}"


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
        return f"Case of image {self.image_id} ({self.get_state_display()})"


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
        return f"{self.source or _('global')}: {self.threshold} / {self.window_days} d"


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
    reason = models.TextField(_("reason"), blank=True)
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
        return f"{self.kind} {self.value_text}"

    @property
    def value_text(self) -> str:
        """The value as exchanged: 16 hex digits (unsigned) for a pHash, 64 for a sha256."""
        if self.kind == BanKind.PHASH:
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
