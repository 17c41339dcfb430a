"""One language at a time in the admin: the queue, a case page, the audit log, a bulk
action's confirmation, the moderators' workspace and "My notifications" read in French,
Spanish, Arabic or English, with no English string of ours left in the others; the
catalogs are complete; the audit details are lines."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from moderation import services
from moderation.models import ImageCase, ModerationAction
from moderation.services import Decision
from tests.factories import ImageFactory, ModeratorFactory, SourceFactory
from tests.html import parse
from tests.readers import held_case, reports_by_new_readers

QUEUE = "/admin/moderation/imagecase/"
AUDIT_LOG = "/admin/moderation/moderationaction/"
WORKSPACE = "/admin/moderation/workspace/"
PREFERENCES = "/admin/moderation/moderatorpreferences/"
LOCALE = Path(settings.BASE_DIR) / "locale"
OTHER_LANGUAGES = ["fr", "es", "ar"]
HEADERS = {
    "fr": "Signalement — modération",
    "es": "Signalement — moderación",
    "ar": "Signalement — الإشراف",
    "en": "Signalement — moderation",
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{.*?\}\}|%[sd]")


# --- the catalogs -----------------------------------------------------------------------


def catalog(language: str) -> list[dict]:
    """The entries of our .po file: msgid, msgid_plural, msgstr forms, flags, locations."""
    entries = []
    for block in (LOCALE / language / "LC_MESSAGES" / "django.po").read_text().split("\n\n"):
        entry: dict = {"flags": "", "locations": "", "msgstr": []}
        field = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#:"):
                entry["locations"] += line
            elif match := re.match(r"^(msgid_plural|msgid|msgstr(?:\[\d+\])?) (\".*\")$", line):
                field = match.group(1)
                text = _unquote(match.group(2))
                if field.startswith("msgstr"):
                    entry["msgstr"].append(text)
                else:
                    entry[field] = text
            elif line.startswith('"') and field:
                if field.startswith("msgstr"):
                    entry["msgstr"][-1] += _unquote(line)
                else:
                    entry[field] += _unquote(line)
        if entry.get("msgid"):
            entries.append(entry)
    return entries


def _unquote(text: str) -> str:
    return text[1:-1].encode("latin-1", "backslashreplace").decode("unicode-escape")


def translated_elsewhere(language: str, entry: dict) -> bool:
    """An entry we leave empty on purpose: Django's own catalog translates it."""
    with translation.override(language):
        if "msgid_plural" in entry:
            return translation.ngettext(entry["msgid"], entry["msgid_plural"], 1) != entry["msgid"]
        return translation.gettext(entry["msgid"]) != entry["msgid"]


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_string_of_our_catalogs_is_translated_and_none_is_fuzzy(language):
    # given our catalog in that language
    entries = catalog(language)
    assert len(entries) > 300

    # then no entry is fuzzy, and every one is translated (by us, or by Django's catalog
    # for the strings our templates share with the admin's)
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    untranslated = [
        e["msgid"]
        for e in entries
        if not all(e["msgstr"]) and not translated_elsewhere(language, e)
    ]
    assert untranslated == []


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_translations_keep_every_placeholder(language):
    for entry in catalog(language):
        expected = set(PLACEHOLDER.findall(entry["msgid"] + entry.get("msgid_plural", "")))
        for form in filter(None, entry["msgstr"]):
            found = set(PLACEHOLDER.findall(form))
            # a plural's singular may say "one" in words instead of the number
            assert found <= expected if "msgid_plural" in entry else found == expected, (
                entry["msgid"],
                form,
            )


def english_fragments(language: str) -> set[str]:
    """The English texts of our catalog that this language translates differently: long
    enough (two words, 8 characters or more, between placeholders) to be looked for in
    a page without matching inside another word."""
    fragments = set()
    for entry in catalog(language):
        if not any(place in entry["locations"] for place in ("moderation/", "staff/")):
            continue
        for english in (entry["msgid"], entry.get("msgid_plural", "")):
            if english and english not in entry["msgstr"]:
                fragments |= {
                    part.strip()
                    for part in PLACEHOLDER.split(english)
                    if len(part.strip()) >= 8
                    and " " in part.strip()
                    and part.strip() not in " ".join(entry["msgstr"])
                }
    return fragments


# --- the pages --------------------------------------------------------------------------


@pytest.fixture
def pages(db, moderator):
    """The admin pages a moderator reads, as (name, method, path, data)."""
    # a case the machine blocked, a case held as grouped reports, a moderator's note,
    # and a policy change: every kind of row the audit log shows
    blocked = ImageFactory()
    reports_by_new_readers(blocked, 5)
    services.case_auto_block(image_id=blocked.pk)
    held = held_case()
    services.case_decide(
        case_id=held.pk, decision=Decision.NOTE, actor=moderator, note="Vu avec la rédaction"
    )
    services.policy_save(source_id=SourceFactory().pk, threshold=3, window_days=10, actor=moderator)
    case = ImageCase.objects.get(image=blocked)
    auto_block = ModerationAction.objects.get(image=blocked)
    return [
        ("queue", "get", QUEUE, None),
        ("case page", "get", f"{QUEUE}{case.pk}/change/", None),
        ("held case page", "get", f"{QUEUE}{held.pk}/change/", None),
        ("audit log", "get", AUDIT_LOG, None),
        ("audit row", "get", f"{AUDIT_LOG}{auto_block.pk}/change/", None),
        (
            "confirmation",
            "post",
            QUEUE,
            {"action": "restore", "_selected_action": [case.pk, held.pk], "index": 0},
        ),
    ]


@pytest.fixture
def workspace_pages(db, moderator, settings):
    """The workspace and "My notifications", as (name, method, path, data)."""
    # Time enough for the Undo to be offered however slow the machine.
    settings.MODERATION_UNDO_SECONDS = 600
    # a case another moderator examines, one the machine blocked, one reported for
    # nudity (blurred until revealed, with a comment), one held as grouped reports
    claimed = ImageFactory()
    reports_by_new_readers(claimed, 2)
    claimed_case = ImageCase.objects.get(image=claimed)
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")
    services.case_claim(case_id=claimed_case.pk, moderator=other)
    blocked = ImageFactory()
    reports_by_new_readers(blocked, 5)
    services.case_auto_block(image_id=blocked.pk)
    nudity = ImageFactory()
    reports_by_new_readers(nudity, 2, reason="nudity")
    services.report_create(
        image_id=nudity.pk, reporter_key="reader:commenter", reason="nudity", comment="à voir"
    )
    held_case()
    # two decisions of the moderator's (their figures, median pace included), the
    # latest still to be undone
    protected, dismissed = ImageFactory(), ImageFactory()
    for image in (protected, dismissed):
        reports_by_new_readers(image, 1)
    services.case_decide(
        case_id=ImageCase.objects.get(image=protected).pk,
        decision=Decision.PROTECT,
        actor=moderator,
    )
    action = services.case_decide(
        case_id=ImageCase.objects.get(image=dismissed).pk,
        decision=Decision.DISMISS,
        actor=moderator,
    )
    return [
        ("workspace", "get", WORKSPACE, None),
        ("workspace, every case, an Undo", "get", f"{WORKSPACE}?tab=all&undo={action.pk}", None),
        ("workspace, a claimed case", "get", f"{WORKSPACE}?tab=all&case={claimed_case.pk}", None),
        ("workspace, blocked", "get", f"{WORKSPACE}?tab=blocked", None),
        ("workspace, empty tab", "get", f"{WORKSPACE}?tab=protected&page=2", None),
        ("undone", "post", f"{WORKSPACE}undo/{action.pk}/", {"tab": "all"}),
        ("my notifications", "get", f"{PREFERENCES}mine/", None),
        (
            "my notifications saved",
            "post",
            f"{PREFERENCES}{moderator.pk}/change/",
            {"immediate_reasons": ["illegal", "nudity"], "daily_digest": "on", "_save": "1"},
        ),
    ]


def render(client: Client, language: str, method: str, path: str, data):
    # The workspace's and the preferences' writes answer with a redirect: read its page.
    response = getattr(client, method)(path, data, HTTP_ACCEPT_LANGUAGE=language, follow=True)
    assert response.status_code == 200, (language, path)
    assert response["Content-Language"] == language
    return parse(response)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_english_string_of_ours_is_left_on_the_admin_pages(pages, moderator, language):
    client = Client()
    client.force_login(moderator)
    fragments = english_fragments(language)
    assert len(fragments) > 50

    for name, method, path, data in pages:
        # when a moderator reads the page in that language
        page = render(client, language, method, path, data)

        # then the header is the site's name in that language, and no English of ours
        assert page.one("#site-name").text == HEADERS[language], name
        text = page.one("body").text
        left = sorted(fragment for fragment in fragments if fragment in text)
        assert left == [], (name, left)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_english_string_of_ours_is_left_on_the_workspace_and_notifications(
    workspace_pages, moderator, language
):
    client = Client()
    client.force_login(moderator)
    fragments = english_fragments(language)

    for name, method, path, data in workspace_pages:
        # when a moderator reads the page in that language
        page = render(client, language, method, path, data)

        # then it is written in that language, right to left in Arabic, with no English
        # of ours (the live counter's texts and the shortcuts' help included). An entry
        # missing in es or ar would read in French (Django falls back to LANGUAGE_CODE's
        # catalog), not English: the catalogs' completeness test is what catches those.
        html = page.one("html")
        assert (html["lang"], html["dir"]) == (language, "rtl" if language == "ar" else "ltr")
        assert page.one("#site-name").text == HEADERS[language], name
        text = page.one("body").text
        left = sorted(fragment for fragment in fragments if fragment in text)
        assert left == [], (name, left)


def test_the_workspace_speaks_french(workspace_pages, moderator):
    client = Client()
    client.force_login(moderator)

    every_case = render(client, "fr", *workspace_pages[1][1:])
    claimed = render(client, "fr", *workspace_pages[2][1:])
    undone = render(client, "fr", *workspace_pages[5][1:])
    mine = render(client, "fr", *workspace_pages[6][1:])
    saved = render(client, "fr", *workspace_pages[7][1:])

    assert every_case.one("h1.ws-title").text == "Espace de travail des modérateurs"
    assert every_case.one(".ws-figures").text.startswith("Vous : 2 décisions aujourd'hui · ")
    assert "s par décision (médiane)" in every_case.one(".ws-figures").text
    assert every_case.one("#ws-undo button").text == "Annuler u"
    assert "Béa Martin examine ce cas" in [p.text for p in every_case.select(".ws-claim")]
    assert {label.text for label in every_case.select(".ws-reveal-label")} == {"Afficher l'image x"}
    assert every_case.one("#ws-help-title").text == "Raccourcis clavier"
    assert '"3": "3 nouveaux cas"' in every_case.one("#ws-live-texts").text
    assert any(
        m.text.startswith("Béa Martin examine ce cas (jusqu'à ")
        for m in claimed.select("ul.messagelist li")
    )
    assert "Décision annulée." in [m.text for m in undone.select("ul.messagelist li")]
    assert mine.one("h1").text == "Mes notifications"
    assert "Vos préférences de notification ont été enregistrées." in [
        m.text for m in saved.select("ul.messagelist li")
    ]


def test_the_same_pages_read_in_english(pages, moderator):
    client = Client()
    client.force_login(moderator)

    for name, method, path, data in pages:
        page = render(client, "en", method, path, data)
        assert page.one("#site-name").text == HEADERS["en"], name
        assert "Django" not in page.one("head title").text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_audit_details_are_lines_not_json(pages, moderator, language):
    client = Client()
    client.force_login(moderator)
    log = render(client, language, "get", AUDIT_LOG, None)
    case_page = render(client, language, *pages[1][1:])

    cells = [*log.select("td.field-detail_lines"), *case_page.select("td.case-details")]
    assert cells
    for cell in cells:
        assert "{" not in cell.text and '":' not in cell.text, cell.text
    threshold = {"fr": "Seuil : 5", "en": "Threshold: 5"}[language]
    assert any(threshold in cell.text for cell in cells)
    # the machine's reason in the reader's language, the moderator's note as typed
    reasons = log.select("td.field-summary")
    sentence = {
        "fr": "5 lecteurs distincts ont atteint le seuil de 5.",
        "en": "5 distinct readers reached the threshold of 5.",
    }[language]
    assert sentence in [cell.text for cell in reasons]
    assert "Vu avec la rédaction" in [cell.text for cell in reasons]


def test_a_case_is_named_in_the_readers_language(pages, moderator):
    client = Client()
    client.force_login(moderator)
    case = ImageCase.objects.filter(state="auto_blocked").get()

    page = render(client, "fr", "get", f"{QUEUE}{case.pk}/change/", None)

    assert page.one("head title").text.startswith(f"Cas de l'image {case.image_id} (")
    assert (
        f"Cas de l'image {case.image_id} (bloquée automatiquement)" in page.one(".breadcrumbs").text
    )
    assert "Administration de Django" not in page.one("head title").text
