"""Policies: the threshold and window of reports, globally and per source."""

from django.contrib.auth.models import User
from django.db import transaction

from moderation import audit_text
from moderation.models import ActionKind, ModerationAction, Policy
from moderation.selectors import cases_under_policy, policy_for
from moderation.services.cases import refresh_needs_review


def policy_save(*, source_id: int | None, threshold: int, window_days: int, actor: User) -> Policy:
    """Create or change the policy of a source (None: the global one), and log it.

    The sweeper applies the new policy on its next pass (a lowered threshold
    blocks the images now over it).
    """
    if threshold < 1 or window_days < 1:
        raise ValueError("threshold and window_days must be at least 1")
    with transaction.atomic():
        # None selects the global policy (IS NULL), which django-stubs' lookup check does
        # not allow for a foreign key's id.
        policy = (
            Policy.objects.select_for_update()
            .filter(source_id=source_id)  # type: ignore[misc]
            .first()
        )
        before = (
            {"threshold": policy.threshold, "window_days": policy.window_days} if policy else None
        )
        if policy is None:
            policy = Policy.objects.create(
                source_id=source_id, threshold=threshold, window_days=window_days
            )
        else:
            policy.threshold = threshold
            policy.window_days = window_days
            policy.save(update_fields=["threshold", "window_days", "updated_at"])
        refresh_needs_review(cases=cases_under_policy(source_id=source_id), threshold=threshold)
        ModerationAction.objects.create(
            image=None,
            action=ActionKind.POLICY_CHANGE,
            actor=actor,
            reason_code=audit_text.POLICY_CHANGED,
            details={
                "source_id": source_id,
                "before": before,
                "after": {"threshold": threshold, "window_days": window_days},
            },
        )
    return policy


def needs_review_refresh_all() -> None:
    """Recompute every case's stored needs_review, one UPDATE per policy scope:
    for data written around the services (a bulk import, a restored backup)."""
    scopes = [*Policy.objects.filter(source__isnull=False).values_list("source_id", flat=True)]
    for source_id in [*scopes, None]:
        refresh_needs_review(
            cases=cases_under_policy(source_id=source_id),
            threshold=policy_for(source_id=source_id).threshold,
        )
