"""The audit log in the reader's language (moderation.audit_text): the machine writes a
reason code and its figures, never an English sentence; the admin and the API render them
in the language of whoever reads. Rows older than the codes keep their stored reason."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from moderation import audit_text, bans, services
from moderation.models import ActionKind, ModerationAction, Report
from tests.factories import ImageFactory, ModeratorFactory, SourceFactory
from tests.readers import held_case, reports_by_new_readers

LANGUAGES = ["fr", "es", "ar"]


def summary_in(language: str, action: ModerationAction) -> str:
    with translation.override(language):
        return audit_text.action_summary(action=action)


def lines_in(language: str, action: ModerationAction) -> list[str]:
    with translation.override(language):
        return audit_text.action_detail_lines(action=action)


# An unsaved row of each code, with the figures its service writes.
SAMPLES = {
    audit_text.THRESHOLD_REACHED: (
        ActionKind.AUTO_BLOCK,
        {
            "open_report_count": 5,
            "score": 5.5,
            "threshold": 5,
            "previous_state": "flagged",
            "via": "sweeper",
            "banned_hashes": [1, 2],
        },
    ),
    audit_text.BURST_RATE: (
        ActionKind.BRIGADE_HOLD,
        {
            "burst": "rate",
            "recent_reports": 40,
            "from_one_network": 2,
            "network_allowance": 3,
            "reports_day_before": 1,
            "window_seconds": 600,
            "report_id": 12,
        },
    ),
    audit_text.BURST_NETWORK: (
        ActionKind.BRIGADE_HOLD,
        {"burst": "network", "network_allowance": 3, "from_one_network": 4, "report_id": 9},
    ),
    audit_text.REPORTS_EXPIRED: (
        ActionKind.EXPIRE,
        {
            "expired_reports": 3,
            "expired_weight": 2.75,
            "expired_held_reports": 1,
            "window_days": 30,
        },
    ),
    audit_text.HASH_MATCH: (
        ActionKind.HASH_BLOCK,
        {
            "ban_id": 7,
            "kind": "phash",
            "distance": 2,
            "banned_image_id": 3,
            "previous_state": "flagged",
        },
    ),
    audit_text.POLICY_CHANGED: (
        ActionKind.POLICY_CHANGE,
        {"source_id": 2, "before": None, "after": {"threshold": 3, "window_days": 10}},
    ),
    audit_text.BANS_IMPORTED: (
        ActionKind.BAN_IMPORT,
        {"rows": 3, "created": 2, "skipped": 1, "first_ban_id": 4, "last_ban_id": 5},
    ),
    audit_text.PERSONAL_DATA_PURGED: (
        ActionKind.PURGE,
        {"purged_reports": 12, "forgotten_muted_addresses": 1, "older_than_days": 90},
    ),
}


def sample(code: str) -> ModerationAction:
    kind, details = SAMPLES[code]
    return ModerationAction(action=kind, reason_code=code, details=details)


def test_every_reason_code_has_a_sample():
    assert set(SAMPLES) == audit_text.REASON_CODES


@pytest.mark.parametrize("code", sorted(SAMPLES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_reason_code_reads_as_a_sentence_of_the_readers_language(code, language):
    # given a row the machine wrote with a code and its figures
    action = sample(code)

    # when someone reads it in English and in another language
    english = summary_in("en", action)
    other = summary_in(language, action)

    # then a sentence in each, with the figures filled in, and not the English one
    assert english and other
    assert other != english
    assert "%(" not in other and "{" not in other
    # and every detail line is translated too (keys of our own are never shown raw)
    for english_line, line in zip(lines_in("en", action), lines_in(language, action), strict=True):
        assert line != english_line, (language, line)


def test_the_threshold_sentence_in_french_and_english():
    action = sample(audit_text.THRESHOLD_REACHED)

    assert summary_in("fr", action) == "5 lecteurs distincts ont atteint le seuil de 5."
    assert summary_in("en", action) == "5 distinct readers reached the threshold of 5."
    # one reader: the singular
    action.details = {**action.details, "open_report_count": 1, "threshold": 1}
    assert summary_in("fr", action) == "1 lecteur distinct a atteint le seuil de 1."


def test_details_are_readable_lines_with_labels_not_json():
    # given an automatic block's row
    action = sample(audit_text.THRESHOLD_REACHED)

    # when its details are read in French
    lines = lines_in("fr", action)

    # then one line per figure, states by their label, lists counted, the worker named
    assert lines == [
        "État : signalée → bloquée automatiquement",
        "Lecteurs distincts comptés : 5",
        "Score : 5,5",
        "Seuil : 5",
        "Appliqué par : le balayage périodique",
        "Empreintes bannies : 2",
    ]


def test_a_state_change_reads_before_and_after():
    action = ModerationAction(
        action=ActionKind.CONFIRM,
        reason="Violence explicite",
        details={"previous_state": "auto_blocked", "state": "blocked", "upheld_reports": 5},
    )

    assert lines_in("fr", action) == [
        "État : bloquée automatiquement → bloquée",
        "Signalements confirmés : 5",
    ]
    # a moderator's decision: the note is the reason, as typed
    assert summary_in("fr", action) == "Violence explicite"


def test_an_undo_names_what_it_undid_and_never_shows_its_snapshot():
    # given a decision's row with its undo snapshot, and the undo's own row
    decision = ModerationAction(
        action=ActionKind.DISMISS,
        details={
            "previous_state": "flagged",
            "state": "flagged",
            "dismissed_reports": 2,
            "undo": {"before": {"state": "flagged"}, "reports": {"open": [1, 2]}},
        },
    )
    undo = ModerationAction(
        action=ActionKind.UNDO,
        details={"undone_action": 41, "undone": "dismiss", "previous_state": "flagged"},
    )

    # then the snapshot is not a line
    assert not any("undo" in line or "before" in line for line in lines_in("en", decision))
    assert lines_in("fr", decision) == ["État : signalée", "Signalements écartés : 2"]
    # and the undo says which decision it undid, in French
    assert summary_in("fr", undo) == "Décision n° 41 annulée."
    assert "Décision annulée : signalements écartés" in lines_in("fr", undo)


def test_an_unknown_key_is_shown_as_key_and_value():
    action = ModerationAction(action=ActionKind.NOTE, details={"ticket": "ABC-1", "seen": True})

    assert lines_in("fr", action) == ["seen: oui", "ticket: ABC-1"]


def test_a_reporter_is_named_by_their_pseudonym_never_by_key():
    action = ModerationAction(
        action=ActionKind.UNMUTE, reason="Erreur", details={"reporter_key": "reader:1234"}
    )

    (line,) = lines_in("fr", action)
    assert line.startswith("Auteur du signalement : r-")
    assert "reader:1234" not in line


@pytest.mark.django_db
def test_an_automatic_block_writes_a_code_and_its_figures_not_a_sentence():
    # given an image five readers reported
    image = ImageFactory()
    reports_by_new_readers(image, 5)

    # when the machine blocks it
    assert services.case_auto_block(image_id=image.pk)

    # then the row holds the code and the figures, and no English
    action = ModerationAction.objects.get(image=image)
    assert (action.reason, action.reason_code) == ("", audit_text.THRESHOLD_REACHED)
    assert (action.details["open_report_count"], action.details["threshold"]) == (5, 5)
    assert summary_in("fr", action) == "5 lecteurs distincts ont atteint le seuil de 5."
    assert summary_in("es", action) != summary_in("en", action)


@pytest.mark.django_db
def test_a_row_older_than_the_codes_keeps_its_stored_reason():
    # given a row written before reason codes (append-only: it cannot be rewritten)
    action = ModerationAction.objects.create(
        image=ImageFactory(),
        action=ActionKind.AUTO_BLOCK,
        reason="5 reporters reached the threshold of 5",
        details={"open_report_count": 5, "threshold": 5},
    )

    # then it reads as it was written, whatever the language
    assert summary_in("fr", action) == "5 reporters reached the threshold of 5"
    assert "Seuil : 5" in lines_in("fr", action)


@pytest.mark.django_db
def test_every_machine_path_writes_its_code_with_no_reason(settings):
    moderator = ModeratorFactory()
    # a burst from one network
    held = held_case()
    # an expiry
    Report.objects.filter(image=held.image).update(created_at=timezone.now() - timedelta(days=60))
    services.reports_expire()
    # a policy changed, bans imported, personal data purged
    services.policy_save(source_id=SourceFactory().pk, threshold=3, window_days=10, actor=moderator)
    rows, _errors = bans.csv_parse("sha256," + "a" * 64 + ",test\n")
    services.bans_import(rows=rows, actor=moderator)
    services.reports_purge_personal_data(now=timezone.now() + timedelta(days=400))

    codes = dict(ModerationAction.objects.values_list("action", "reason_code"))
    assert codes == {
        ActionKind.BRIGADE_HOLD: audit_text.BURST_NETWORK,
        ActionKind.EXPIRE: audit_text.REPORTS_EXPIRED,
        ActionKind.POLICY_CHANGE: audit_text.POLICY_CHANGED,
        ActionKind.BAN_IMPORT: audit_text.BANS_IMPORTED,
        ActionKind.PURGE: audit_text.PERSONAL_DATA_PURGED,
    }
    assert set(ModerationAction.objects.values_list("reason", flat=True)) == {""}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "sentence", "line"),
    [
        ("es", "5 lectores distintos alcanzaron el umbral de 5.", "Umbral: 5"),
        ("fr", "5 lecteurs distincts ont atteint le seuil de 5.", "Seuil : 5"),
        ("en", "5 distinct readers reached the threshold of 5.", "Threshold: 5"),
    ],
)
def test_the_api_renders_the_row_in_the_requests_language(moderator, language, sentence, line):
    # given an automatic block
    image = ImageFactory()
    reports_by_new_readers(image, 5)
    services.case_auto_block(image_id=image.pk)
    client = APIClient()
    client.force_login(moderator)

    # when a moderator's client reads the audit log in that language
    response = client.get("/api/moderation/actions/", HTTP_ACCEPT_LANGUAGE=language)

    # then the summary and the lines are in it, and the contract's fields are all kept
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["summary"], row["reason"], row["reason_code"]) == (
        sentence,
        "",
        audit_text.THRESHOLD_REACHED,
    )
    assert line in row["detail_lines"]
    assert row["details"]["threshold"] == 5
    assert {"id", "image", "action", "actor", "created_at"} <= set(row)
