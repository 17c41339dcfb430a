"""A moderator's choice of what is mailed to them at once (moderation.notifications)."""

from moderation.models import ModeratorPreferences, Reason


def moderator_preferences_ensure(*, moderator_id: int) -> ModeratorPreferences:
    """The moderator's preferences, their row made with the defaults the first time."""
    preferences, _ = ModeratorPreferences.objects.get_or_create(moderator_id=moderator_id)
    return preferences


def moderator_preferences_update(
    *,
    preferences: ModeratorPreferences,
    immediate_reasons: list[str],
    immediate_auto_blocks: bool,
    daily_digest: bool,
) -> ModeratorPreferences:
    """Store what the moderator chose; the reasons in their usual order, each once.

    Raises ValueError for a reason code that is not a Reason.
    """
    unknown = set(immediate_reasons) - set(Reason.values)
    if unknown:
        raise ValueError(f"unknown reasons {sorted(unknown)!r}")
    preferences.immediate_reasons = [code for code in Reason.values if code in immediate_reasons]
    preferences.immediate_auto_blocks = immediate_auto_blocks
    preferences.daily_digest = daily_digest
    preferences.save(update_fields=["immediate_reasons", "immediate_auto_blocks", "daily_digest"])
    return preferences
