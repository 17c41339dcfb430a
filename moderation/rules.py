"""The moderation rules, each written once: pure functions of the facts they judge.

Where the report path or a queue needs a rule inside a query, its query form sits next to
its Python form here (a `Q`), or is built from the same constants in the selectors' SQL;
tests/moderation/test_rules_agree.py holds every form of a rule to the same answers.
Nothing here reads the database.
"""

import enum
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import F, Q
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from moderation.models import BLOCKABLE_STATES, BLOCKED_STATES, CaseState

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- which decisions apply ---------------------------------------------------------------

# The moderators' decisions on a case (services.Decision's values), in the order the
# workspace offers them.
DECISIONS = ("confirm", "restore", "dismiss", "protect", "unprotect", "release", "note")


def decision_refusal(
    *, decision: str, state: str, protected: bool, live_reports: int, grouped_held: bool
) -> Promise | None:
    """Why a decision does not apply to a case as it stands, or None when it does.

    `live_reports` counts the case's open and held reports. The services refuse with this
    reason (and change nothing); the workspace offers only the decisions it lets through;
    the bulk actions' confirmation page says which cases will be refused.
    """
    match decision:
        case "confirm" if state == CaseState.BLOCKED:
            return _("The block is already confirmed.")
        case "confirm" if protected:
            return _("The image is protected: unprotect it before blocking it.")
        case "restore" if state not in BLOCKED_STATES:
            return _("Only a blocked image can be restored.")
        case "dismiss" if not live_reports:
            return _("There are no open reports to dismiss.")
        case "protect" if protected:
            return _("The image is already protected.")
        case "protect" if state in BLOCKED_STATES:
            return _("The image is blocked: restore it before protecting it.")
        case "unprotect" if not protected:
            return _("The image is not protected.")
        case "release" if not grouped_held:
            return _("No grouped reports are held on this image.")
        case "release" if state not in BLOCKABLE_STATES:
            return _("The image is blocked: there is nothing to release.")
    return None


# --- undo ---------------------------------------------------------------------------------


def undo_deadline(*, decided_at: datetime) -> datetime:
    """Until when the author of a decision taken at `decided_at` may undo it."""
    return decided_at + timedelta(seconds=settings.MODERATION_UNDO_SECONDS)


# --- claims: who examines a case -----------------------------------------------------------


def claim_blocks(
    *, holder_id: int | None, expires_at: datetime | None, moderator_id: int, now: datetime
) -> bool:
    """Whether a case's claim (its holder and end; None for no claim) keeps this moderator
    off the case: another moderator's claim that still runs."""
    return (
        holder_id is not None
        and holder_id != moderator_id
        and expires_at is not None
        and expires_at > now
    )


def moderator_name(user: "User") -> str:
    """How moderators are named to each other: their full name, else their username."""
    return user.get_full_name() or user.get_username()


# --- the policy in force ------------------------------------------------------------------


@dataclass(frozen=True)
class EffectivePolicy:
    threshold: int
    window_days: int

    def cutoff(self, *, now: datetime) -> datetime:
        """Reports created before this no longer count."""
        return now - timedelta(days=self.window_days)


def policy_in_force(
    *, own: EffectivePolicy | None, global_policy: EffectivePolicy | None
) -> EffectivePolicy:
    """A source's own policy, else the global one, else the REPORT_THRESHOLD /
    REPORT_WINDOW_DAYS settings. (Its SQL form: selectors.policies, a COALESCE in
    this order.)"""
    return (
        own
        or global_policy
        or EffectivePolicy(
            threshold=settings.REPORT_THRESHOLD, window_days=settings.REPORT_WINDOW_DAYS
        )
    )


# --- counting towards a block -------------------------------------------------------------


def threshold_reached(*, open_report_count: int, score: Decimal, threshold: int) -> bool:
    """A threshold is both a number of distinct reporters and a score."""
    return open_report_count >= threshold and score >= threshold


def crosses_threshold(*, count: int, score: Decimal, weight: Decimal, threshold: int) -> bool:
    """Whether the report that brought the case to `count` and `score` is the one that
    reached the threshold. Only that report enqueues the block: a brigade of thousands
    sends one message, not thousands (should it be lost, the sweeper blocks)."""
    return threshold_reached(
        open_report_count=count, score=score, threshold=threshold
    ) and not threshold_reached(
        open_report_count=count - 1, score=score - weight, threshold=threshold
    )


def block_due(
    *,
    state: str,
    protected: bool,
    block_held: bool,
    open_report_count: int,
    score: Decimal,
    threshold: int,
) -> bool:
    """Whether the machine blocks a case now: visible, not protected, its automatic
    block not held for a moderator, and at its threshold."""
    return (
        state in BLOCKABLE_STATES
        and not protected
        and not block_held
        and threshold_reached(open_report_count=open_report_count, score=score, threshold=threshold)
    )


def block_due_condition() -> Q:
    """block_due as a filter, on cases annotated with their `threshold`."""
    return Q(
        state__in=BLOCKABLE_STATES,
        protected=False,
        auto_block_held_at__isnull=True,
        open_report_count__gte=F("threshold"),
        score__gte=F("threshold"),
    )


# --- needs review -------------------------------------------------------------------------


def half_threshold(threshold: int) -> int:
    """Reports from which a case still below its threshold awaits review."""
    return math.ceil(threshold / 2)


def needs_review(
    *,
    state: str,
    protected: bool,
    open_report_count: int,
    threshold: int,
    grouped_held: bool,
    blocked_at: datetime | None,
    reviewed_at: datetime | None,
) -> bool:
    """Blocked by the machine and not reviewed since, held as grouped reports, or flagged at
    half its threshold or more. Stored in ImageCase.needs_review by the services; it only
    grows with the count, which lets the report path keep it in step in its one UPDATE
    (services.reports: `needs_review OR` the rising part)."""
    unreviewed_block = state == CaseState.AUTO_BLOCKED and (
        reviewed_at is None or (blocked_at is not None and reviewed_at < blocked_at)
    )
    visible = state in BLOCKABLE_STATES
    held = visible and grouped_held
    rising = visible and not protected and open_report_count >= half_threshold(threshold)
    return unreviewed_block or held or rising


def needs_review_condition(*, threshold: int) -> Q:
    """needs_review as a filter, for cases under one threshold."""
    unreviewed_block = Q(state=CaseState.AUTO_BLOCKED) & (
        Q(reviewed_at__isnull=True) | Q(reviewed_at__lt=F("blocked_at"))
    )
    rising = Q(
        state__in=BLOCKABLE_STATES,
        protected=False,
        open_report_count__gte=half_threshold(threshold),
    )
    held = Q(state__in=BLOCKABLE_STATES, brigade_held_at__isnull=False)
    return unreviewed_block | held | rising


# --- bursts of grouped reports ------------------------------------------------------------


@dataclass(frozen=True)
class BurstCounts:
    # Reports on the image in the brigade window, and in the day before it (its usual
    # rate), each network counting for at most its allowance: one network alone cannot
    # make a burst of the rate rule.
    recent: int
    earlier: int
    # The open (counted) reports of the report's own network on the image, itself
    # included, over the whole policy window: rotating addresses inside one network
    # over several windows adds up here.
    network_counted: int


class Burst(enum.StrEnum):
    # Over its network's allowance: this report is held, the case is not.
    NETWORK = "network"
    # Far above the image's usual rate, across networks: the automatic block waits.
    RATE = "rate"


def network_allowance(*, threshold: int) -> int:
    """The reports one network may have counted on one image: BRIGADE_NETWORK_ALLOWANCE,
    and always fewer than the threshold, so that one network never blocks alone (but
    with a threshold of 1, which lets any one reader block)."""
    return max(1, min(settings.BRIGADE_NETWORK_ALLOWANCE, threshold - 1))


def burst_of(*, counts: BurstCounts, allowance: int) -> Burst | None:
    """Whether a new report is part of a burst, and which: far above the image's usual
    rate across networks (RATE), or over its own network's allowance (NETWORK)."""
    windows_per_day = max(1, 86400 // settings.BRIGADE_WINDOW_SECONDS)
    usual = counts.earlier / windows_per_day
    if counts.recent > max(settings.BRIGADE_RATE_MIN, settings.BRIGADE_RATE_FACTOR * usual):
        return Burst.RATE
    if counts.network_counted > allowance:
        return Burst.NETWORK
    return None


# --- a reporter's weight ------------------------------------------------------------------

# A weight is a multiple of this: readable, and exact in any database's arithmetic.
WEIGHT_STEP = Decimal("0.25")
# Verdicts after which a reporter's record fully sets their weight.
REPUTATION_FULL_CONFIDENCE = 10


def weight_from_verdicts(*, upheld: int, judged: int, is_staff: bool) -> Decimal:
    """How much a new report counts, in the spirit of Discourse's flag scores: 1 for a
    reader with no verdicts yet (REPORT_WEIGHT_STAFF for staff), plus up to 1 when
    moderators upheld their last REPUTATION_HISTORY judged reports (`judged` of them,
    `upheld` upheld), minus up to 1 when they dismissed them; the record counts fully
    from REPUTATION_FULL_CONFIDENCE verdicts on. Rounded to WEIGHT_STEP, within
    [REPORT_WEIGHT_FLOOR, REPORT_WEIGHT_MAX]."""
    base = settings.REPORT_WEIGHT_STAFF if is_staff else Decimal(1)
    if judged:
        accuracy = Decimal(2 * upheld - judged) / judged  # -1 … 1
        confidence = Decimal(min(judged, REPUTATION_FULL_CONFIDENCE))
        base += accuracy * confidence / REPUTATION_FULL_CONFIDENCE
    steps = (base / WEIGHT_STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    weight = steps * WEIGHT_STEP
    return min(max(weight, settings.REPORT_WEIGHT_FLOOR), settings.REPORT_WEIGHT_MAX)


# --- who weighs as staff ------------------------------------------------------------------

# A signed-in reporter weighs as staff while their account is active staff.
ACTIVE_STAFF = Q(is_staff=True, is_active=True)


def is_active_staff(user: object | None) -> bool:
    """ACTIVE_STAFF, of a user already loaded (None: an anonymous reader)."""
    return (
        user is not None
        and bool(getattr(user, "is_staff", False))
        and bool(getattr(user, "is_active", False))
    )


# --- how a reporter is shown --------------------------------------------------------------

# The salt of the pseudonyms: changing it changes every label the API has shown.
REPORTER_LABEL_SALT = "moderation.reporter-label"


def reporter_label(*, reporter_key: str) -> str:
    """How a reporter (an account, or an anonymous reader's key) is shown, in the admin, the
    API and the audit log alike: a stable pseudonym, the same on every case, so that a
    moderator can follow one reporter from one place to the other; it reveals neither the
    account nor the reader's cookie (a function of the key and SECRET_KEY only)."""
    return "r-" + salted_hmac(REPORTER_LABEL_SALT, reporter_key).hexdigest()[:12]
