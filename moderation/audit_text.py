"""The audit log in the reader's language.

The machine writes no sentence into the log: it writes a reason code and its figures
(`ModerationAction.reason_code`, `details`), and this module renders them with gettext
when someone reads the row, in the language they read in. `reason` keeps only a
moderator's own words. Rows written before the codes keep their stored English reason:
the log is append-only, so they are shown as they were written.
"""

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from moderation import rules
from moderation.models import ActionKind, BanKind, CaseState, ModerationAction

# The machine's reasons (ModerationAction.reason_code).
THRESHOLD_REACHED = "threshold_reached"
BURST_NETWORK = "burst_network"
BURST_RATE = "burst_rate"
REPORTS_EXPIRED = "reports_expired"
HASH_MATCH = "hash_match"
POLICY_CHANGED = "policy_changed"
BANS_IMPORTED = "bans_imported"
PERSONAL_DATA_PURGED = "personal_data_purged"

# An internal snapshot for undoing a decision (services.decisions): never shown.
HIDDEN_KEYS = frozenset({"undo"})


def number_text(value: Any) -> str:
    """A figure as people write it: "5", "3,5" in French, never "5,00"."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    places = (
        0 if number == number.to_integral_value() else -int(number.normalize().as_tuple().exponent)
    )
    return number_format(number, decimal_pos=places)


def days_text(days: int) -> str:
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


def _int(details: dict, key: str) -> int:
    value = details.get(key)
    return value if isinstance(value, int) else 0


# --- one sentence per reason code


def _threshold_reached(details: dict) -> str:
    count = _int(details, "open_report_count")
    return ngettext(
        "%(count)d distinct reader reached the threshold of %(threshold)s.",
        "%(count)d distinct readers reached the threshold of %(threshold)s.",
        count,
    ) % {"count": count, "threshold": number_text(details.get("threshold", "?"))}


def _burst_rate(details: dict) -> str:
    count = _int(details, "recent_reports")
    minutes = _int(details, "window_seconds") // 60
    return ngettext(
        "%(count)d report in %(minutes)d min: the automatic block waits for a moderator.",
        "%(count)d reports in %(minutes)d min: the automatic block waits for a moderator.",
        count,
    ) % {"count": count, "minutes": minutes}


def _burst_network(details: dict) -> str:
    allowance = _int(details, "network_allowance")
    return ngettext(
        "More than %(allowance)d report from one network: its further reports wait "
        "for a moderator.",
        "More than %(allowance)d reports from one network: its further reports wait "
        "for a moderator.",
        allowance,
    ) % {"allowance": allowance}


def _reports_expired(details: dict) -> str:
    count = _int(details, "expired_reports") + _int(details, "expired_held_reports")
    return ngettext(
        "%(count)d report older than %(period)s expired.",
        "%(count)d reports older than %(period)s expired.",
        count,
    ) % {"count": count, "period": days_text(_int(details, "window_days"))}


def _hash_match(details: dict) -> str:
    return _("The image matches banned hash #%(ban)s (%(kind)s, distance %(distance)s).") % {
        "ban": details.get("ban_id", "?"),
        "kind": _choice_label(BanKind, details.get("kind")),
        "distance": details.get("distance", "?"),
    }


def _policy_changed(details: dict) -> str:
    after = details.get("after") or {}
    text = _policy_text(after) if isinstance(after, dict) else str(after)
    source_id = details.get("source_id")
    if source_id is None:
        return _("Default policy changed: %(policy)s.") % {"policy": text}
    return _("Policy of source #%(source)s changed: %(policy)s.") % {
        "source": source_id,
        "policy": text,
    }


def _bans_imported(details: dict) -> str:
    created = _int(details, "created")
    return ngettext(
        "%(created)d banned hash imported, %(skipped)d already in force.",
        "%(created)d banned hashes imported, %(skipped)d already in force.",
        created,
    ) % {"created": created, "skipped": _int(details, "skipped")}


def _personal_data_purged(details: dict) -> str:
    count = _int(details, "purged_reports")
    return ngettext(
        "Personal data of %(count)d report older than %(period)s erased.",
        "Personal data of %(count)d reports older than %(period)s erased.",
        count,
    ) % {"count": count, "period": days_text(_int(details, "older_than_days"))}


SUMMARIES: dict[str, Callable[[dict], str]] = {
    THRESHOLD_REACHED: _threshold_reached,
    BURST_RATE: _burst_rate,
    BURST_NETWORK: _burst_network,
    REPORTS_EXPIRED: _reports_expired,
    HASH_MATCH: _hash_match,
    POLICY_CHANGED: _policy_changed,
    BANS_IMPORTED: _bans_imported,
    PERSONAL_DATA_PURGED: _personal_data_purged,
}
REASON_CODES = frozenset(SUMMARIES)


def action_summary(*, action: ModerationAction) -> str:
    """One sentence for the row: the machine's reason in the active language, else
    the moderator's note (or, for a row older than the codes, its stored reason)."""
    render = SUMMARIES.get(action.reason_code)
    if render is not None:
        return render(action.details or {})
    if action.reason:
        return action.reason
    if action.action == ActionKind.UNDO:
        return _("Decision #%(id)s undone.") % {"id": (action.details or {}).get("undone_action")}
    return ""


# --- the details, a line per figure


def _choice_label(choices: Any, value: Any) -> str:
    return str(choices(value).label) if value in choices.values else str(value)


def _policy_text(policy: dict) -> str:
    return _("threshold %(threshold)s, window of %(period)s") % {
        "threshold": number_text(policy.get("threshold", "?")),
        "period": days_text(policy.get("window_days") or 0),
    }


def _count(value: Any) -> str:
    return number_text(len(value)) if isinstance(value, list) else number_text(value)


def _ids(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(f"#{item}" for item in value) or "—"
    return "—" if value is None else f"#{value}"


def _via(value: Any) -> str:
    return {"task": _("the worker, on a report"), "sweeper": _("the sweeper")}.get(
        value, str(value)
    )


def _burst(value: Any) -> str:
    labels = {
        "network": _("one network over its allowance"),
        "rate": _("far above the usual rate"),
    }
    return labels.get(value, str(value))


def _policy(value: Any) -> str:
    if value is None:
        return _("none (the default applied)")
    return _policy_text(value) if isinstance(value, dict) else str(value)


def _minutes(value: Any) -> str:
    seconds = value if isinstance(value, int) else 0
    return _("%(minutes)d min") % {"minutes": seconds // 60}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return "—"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_text(item)}" for key, item in value.items()) or "—"
    return str(value)


# The state an action leaves a case in, for the rows that write only the one before.
STATE_AFTER: dict[str, str] = {
    ActionKind.AUTO_BLOCK: CaseState.AUTO_BLOCKED,
    ActionKind.HASH_BLOCK: CaseState.AUTO_BLOCKED,
}

# Known keys, in the order they are shown: (label, how the value is written).
DETAIL_LINES: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "undone": (gettext_lazy("Decision undone"), lambda v: _choice_label(ActionKind, v)),
    "undone_action": (gettext_lazy("Undone action"), _ids),
    "open_report_count": (gettext_lazy("Distinct readers counted"), number_text),
    "score": (gettext_lazy("Score"), number_text),
    "threshold": (gettext_lazy("Threshold"), number_text),
    "via": (gettext_lazy("Applied by"), _via),
    "banned_hashes": (gettext_lazy("Hashes banned"), _count),
    "lifted_bans": (gettext_lazy("Bans lifted"), _count),
    "upheld_reports": (gettext_lazy("Reports upheld"), number_text),
    "dismissed_reports": (gettext_lazy("Reports dismissed"), number_text),
    "released_reports": (gettext_lazy("Held reports counted"), number_text),
    "released_weight": (gettext_lazy("Weight counted"), number_text),
    "burst": (gettext_lazy("Burst"), _burst),
    "recent_reports": (gettext_lazy("Recent reports"), number_text),
    "window_seconds": (gettext_lazy("Over"), _minutes),
    "from_one_network": (gettext_lazy("Counted from the report's network"), number_text),
    "network_allowance": (gettext_lazy("Allowance per network"), number_text),
    "reports_day_before": (gettext_lazy("Reports the day before"), number_text),
    "report_id": (gettext_lazy("First report held"), _ids),
    "expired_reports": (gettext_lazy("Open reports expired"), number_text),
    "expired_weight": (gettext_lazy("Weight expired"), number_text),
    "expired_held_reports": (gettext_lazy("Held reports expired"), number_text),
    "window_days": (gettext_lazy("Window"), lambda v: days_text(v or 0)),
    "ban_id": (gettext_lazy("Banned hash"), _ids),
    "kind": (gettext_lazy("Hash kind"), lambda v: _choice_label(BanKind, v)),
    "distance": (gettext_lazy("Distance"), number_text),
    "banned_image_id": (gettext_lazy("Banned image"), _ids),
    "source_id": (gettext_lazy("Source"), lambda v: _("default") if v is None else f"#{v}"),
    "before": (gettext_lazy("Before"), _policy),
    "after": (gettext_lazy("After"), _policy),
    "rows": (gettext_lazy("Lines read"), number_text),
    "created": (gettext_lazy("Bans created"), number_text),
    "skipped": (gettext_lazy("Already in force"), number_text),
    "first_ban_id": (gettext_lazy("First ban"), _ids),
    "last_ban_id": (gettext_lazy("Last ban"), _ids),
    "reporter": (gettext_lazy("Reporter"), str),
    "discounted_images": (gettext_lazy("Images whose reports stopped counting"), _ids),
    "held_reports": (gettext_lazy("Held reports muted"), number_text),
    "muted_addresses": (gettext_lazy("Addresses muted"), number_text),
    "purged_reports": (gettext_lazy("Reports purged"), number_text),
    "forgotten_muted_addresses": (gettext_lazy("Muted addresses forgotten"), number_text),
    "older_than_days": (gettext_lazy("Older than"), lambda v: days_text(v or 0)),
}


def action_detail_lines(*, action: ModerationAction) -> list[str]:
    """The row's figures as readable lines in the active language: "State: flagged →
    blocked", "Threshold: 5"; a key this module does not know as "key: value"."""
    details = dict(action.details or {})
    for key in HIDDEN_KEYS:
        details.pop(key, None)
    if "reporter_key" in details:
        # The log names a muted reporter by key; people read their pseudonym.
        details["reporter"] = rules.reporter_label(reporter_key=details.pop("reporter_key"))
    lines: list[str] = []
    previous, state = details.pop("previous_state", None), details.pop("state", None)
    # The machine's blocks write the state before only: the one after is the block's.
    state = state if state is not None else STATE_AFTER.get(action.action)
    if previous is not None and state is not None and previous != state:
        lines.append(
            _("State: %(before)s → %(after)s")
            % {
                "before": _choice_label(CaseState, previous),
                "after": _choice_label(CaseState, state),
            }
        )
    elif state is not None:
        lines.append(_("State: %(state)s") % {"state": _choice_label(CaseState, state)})
    elif previous is not None:
        lines.append(_("Previous state: %(state)s") % {"state": _choice_label(CaseState, previous)})
    for key, (label, write) in DETAIL_LINES.items():
        if key in details:
            lines.append(
                _("%(label)s: %(value)s") % {"label": label, "value": write(details.pop(key))}
            )
    lines.extend(f"{key}: {_text(value)}" for key, value in sorted(details.items()))
    return lines
