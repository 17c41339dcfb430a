"""The moderators' workspace in admin (moderation/admin/workspace.py): who may use it, its
cards and tabs in a bounded number of queries, the decisions offered per state, and the
plain-form path (decide and go on, undo, claims and conflicts, bad input)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from moderation import selectors, services
from moderation.models import (
    NOTE_MAX_LENGTH,
    ActionKind,
    CaseClaim,
    CaseState,
    ImageCase,
    ModerationAction,
    ReportOutcome,
)
from moderation.selectors import QueueTab as Tab
from moderation.services import Decision
from tests.factories import ImageFactory, ModeratorFactory, UserFactory
from tests.html import parse
from tests.readers import held_case

pytestmark = pytest.mark.django_db

WORKSPACE = "/admin/moderation/workspace/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def in_french(text: str) -> str:
    with translation.override("fr"):
        return translation.gettext(text)


def flagged_case(*, reports=3, reason="spam", image=None, comment="") -> ImageCase:
    image = image or ImageFactory()
    for n in range(reports):
        services.report_create(
            image_id=image.pk,
            reporter_key=f"reader:{image.pk:06d}{n:04d}",
            reason=reason,
            comment=comment and f"{comment} {n}",
        )
    return ImageCase.objects.get(image=image)


def blocked_case(**kwargs) -> ImageCase:
    kwargs.setdefault("reports", 5)
    case = flagged_case(**kwargs)
    assert services.case_auto_block(image_id=case.image_id)
    case.refresh_from_db()
    return case


def first_match(element, selector: str):
    """The first element matching `selector`, else None."""
    found = element.select(selector)
    return found[0] if found else None


def cards(response) -> list:
    return parse(response).select("li.ws-card")


def card_ids(response) -> list[int]:
    return [int(card["data-case-id"]) for card in cards(response)]


def offered(response, case) -> set[str]:
    card = first_match(parse(response), f"#case-{case.pk}")
    return {form["data-decision"] for form in card.select("form[data-decision]")} | (
        {"note"} if first_match(card, ".ws-decision-note") else set()
    )


def messages_of(response) -> list[str]:
    return [item.text for item in parse(response).select("ul.messagelist li")]


def decide(client, case, decision, *, seen=None, note="", tab=None, follow=True):
    data = {"note": note}
    if seen is not None:
        data["seen_action_id"] = seen
    if tab is not None:
        data["tab"] = tab
    return client.post(f"{WORKSPACE}{case.pk}/decide/{decision}/", data, follow=follow)


# --- who may use it --------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page():
    response = Client().get(WORKSPACE)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_the_moderators_permissions_are_refused():
    staff = UserFactory(username="editor", is_staff=True)

    assert client_for(staff).get(WORKSPACE).status_code == 403
    assert client_for(staff).post(f"{WORKSPACE}{flagged_case().pk}/claim/").status_code == 403


def test_moderators_land_on_the_workspace_and_still_reach_the_index(moderator):
    client = client_for(moderator)

    home = client.get("/admin/")
    index = client.get("/admin/?index=1")

    assert home.status_code == 302
    assert home["Location"] == WORKSPACE
    assert index.status_code == 200
    assert client.get(WORKSPACE).status_code == 200


def test_superusers_keep_the_admin_index():
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)

    assert client_for(admin_user).get("/admin/").status_code == 200


# --- the cards -------------------------------------------------------------------------


def test_a_page_of_twenty_cards_costs_a_bounded_number_of_queries(
    moderator, django_assert_max_num_queries
):
    # given more cases than a page, with comments, held reports and another's claim
    for n in range(22):
        flagged_case(reports=3, reason="violence", comment="vu" if n % 2 else "")
    held_case()
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")
    services.case_claim(case_id=ImageCase.objects.first().pk, moderator=other)
    client = client_for(moderator)
    client.get(WORKSPACE)  # the session and the permissions' caches are warm

    with django_assert_max_num_queries(12):
        response = client.get(f"{WORKSPACE}?tab=all")

    assert len(cards(response)) == 20
    assert first_match(parse(response), 'a[rel="next"]') is not None
    # and the page with the Undo of a decision costs no more
    case = ImageCase.objects.last()
    action = services.case_decide(case_id=case.pk, decision=Decision.PROTECT, actor=moderator)
    with django_assert_max_num_queries(12):
        after = client.get(f"{WORKSPACE}?tab=all&undo={action.pk}")
    assert first_match(parse(after), "form#ws-undo") is not None
    # and opening a case adds only what its claim (services.case_claim) writes
    with CaptureQueriesContext(connection) as claim:
        free = ImageCase.objects.filter(claim__isnull=True).exclude(pk=case.pk).first()
        services.case_claim(case_id=free.pk, moderator=moderator)
    with django_assert_max_num_queries(12 + len(claim)):
        client.get(f"{WORKSPACE}?tab=all&case={case.pk}&undo={action.pk}")
    assert CaseClaim.objects.get(moderator=moderator).case_id == case.pk


def test_a_card_shows_what_a_moderator_judges(moderator):
    # given a case held as grouped reports, with a comment and a blurred reason
    case = held_case(held_reports=3)
    services.report_create(
        image_id=case.image_id,
        reporter_key="reader:commenter",
        reason="nudity",
        comment="à retirer vite",
        network_hash="another-network",
    )
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")
    services.case_claim(case_id=case.pk, moderator=other)

    response = client_for(moderator).get(WORKSPACE)

    card = first_match(parse(response), f"#case-{case.pk}")
    text = card.text
    assert case.image.article.title in text
    assert "à retirer vite" in text
    assert "ws-sensitive" in card.classes
    assert first_match(card, "img")["src"] == f"/admin/moderation/imagecase/{case.pk}/image/"
    assert first_match(card, "meter")["max"] == "5"
    # 3 counted + 3 held from the burst's network, 1 from another: 7 reports, 2 networks
    assert first_match(card, ".ws-grouping").text.strip().startswith("7 ")
    assert "2 " in first_match(card, ".ws-grouping").text
    assert card["data-claimed-by"] == "Béa Martin"
    assert first_match(card, ".ws-claim").text.startswith("Béa Martin")


def test_tabs_filter_the_cards_and_count_them(moderator):
    flagged = flagged_case(reports=3)
    blocked = blocked_case()
    held = held_case()
    protected = flagged_case(reports=1)
    services.case_decide(case_id=protected.pk, decision=Decision.PROTECT, actor=moderator)
    client = client_for(moderator)

    assert set(card_ids(client.get(f"{WORKSPACE}?tab=blocked"))) == {blocked.pk}
    assert set(card_ids(client.get(f"{WORKSPACE}?tab=grouped"))) == {held.pk}
    assert set(card_ids(client.get(f"{WORKSPACE}?tab=protected"))) == {protected.pk}
    assert set(card_ids(client.get(f"{WORKSPACE}?tab=all"))) == {
        flagged.pk,
        blocked.pk,
        held.pk,
        protected.pk,
    }
    needs_review = card_ids(client.get(WORKSPACE))
    assert set(needs_review) == {flagged.pk, blocked.pk, held.pk}
    summary = selectors.queue_summary()
    assert summary.tabs == {
        "needs_review": 3,
        "grouped": 1,
        "blocked": 1,
        "protected": 1,
        "all": 4,
    }
    counts = [
        first_match(a, ".ws-count").text for a in parse(client.get(WORKSPACE)).select(".ws-tabs a")
    ]
    assert counts == ["3", "1", "1", "1", "4"]


def test_only_the_decisions_that_apply_are_offered(moderator):
    flagged = flagged_case(reports=3)
    blocked = blocked_case()
    held = held_case()
    protected = flagged_case(reports=1)
    services.case_decide(case_id=protected.pk, decision=Decision.PROTECT, actor=moderator)
    response = client_for(moderator).get(f"{WORKSPACE}?tab=all")

    assert offered(response, flagged) == {"confirm", "dismiss", "protect", "note"}
    assert offered(response, blocked) == {"confirm", "restore", "dismiss", "note"}
    assert offered(response, held) == {"confirm", "dismiss", "protect", "release", "note"}
    assert offered(response, protected) == {"dismiss", "unprotect", "note"}


def test_a_confirmed_block_offers_no_confirm_and_no_protect(moderator):
    case = blocked_case()
    services.case_decide(case_id=case.pk, decision=Decision.CONFIRM, actor=moderator)

    response = client_for(moderator).get(f"{WORKSPACE}?tab=all")

    assert offered(response, case) == {"restore", "note"}


# --- deciding without JavaScript -------------------------------------------------------


def test_a_decision_by_plain_form_moves_to_the_next_case_with_an_undo(moderator):
    # given three cases awaiting review, in the queue's order
    for reports in (4, 3, 5):
        flagged_case(reports=reports)
    client = client_for(moderator)
    first, second, _third = card_ids(client.get(WORKSPACE))

    # when the moderator dismisses the first
    response = decide(client, ImageCase.objects.get(pk=first), "dismiss", seen=0, follow=False)

    # then it is dismissed, and the page opens the next one with an Undo
    action = ModerationAction.objects.get(action=ActionKind.DISMISS)
    assert response.status_code == 302
    assert response["Location"] == f"{WORKSPACE}?case={second}&undo={action.pk}"
    page = client.get(response["Location"])
    assert first not in card_ids(page)
    assert first_match(parse(page), ".ws-current")["data-case-id"] == str(second)
    undo = first_match(parse(page), "form#ws-undo")
    assert undo["action"] == f"{WORKSPACE}undo/{action.pk}/"
    assert 0 < int(undo["data-milliseconds-left"]) <= 10_000
    # and opening it claimed it
    assert CaseClaim.objects.get(moderator=moderator).case_id == second


def test_undo_by_plain_form_restores_the_case(moderator):
    case = flagged_case(reports=3)
    client = client_for(moderator)
    decide(client, case, "dismiss", seen=0)
    action = ModerationAction.objects.get(action=ActionKind.DISMISS)

    response = client.post(f"{WORKSPACE}undo/{action.pk}/", follow=True)

    case.refresh_from_db()
    assert case.open_report_count == 3
    assert ModerationAction.objects.filter(action=ActionKind.UNDO).count() == 1
    assert in_french("Decision undone.") in messages_of(response)
    assert case.image.reports.filter(outcome=ReportOutcome.OPEN).count() == 3


def test_undo_is_refused_after_its_deadline(moderator, settings):
    case = flagged_case(reports=3)
    client = client_for(moderator)
    decide(client, case, "dismiss", seen=0)
    action = ModerationAction.objects.get(action=ActionKind.DISMISS)
    settings.MODERATION_UNDO_SECONDS = 0

    page = client.get(f"{WORKSPACE}?undo={action.pk}")
    response = client.post(f"{WORKSPACE}undo/{action.pk}/", follow=True)

    assert first_match(parse(page), "form#ws-undo") is None
    assert ModerationAction.objects.filter(action=ActionKind.UNDO).count() == 0
    assert messages_of(response)


def test_a_case_another_moderator_examines_is_refused_with_their_name(moderator):
    case = flagged_case(reports=3)
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")
    services.case_claim(case_id=case.pk, moderator=other)

    response = decide(client_for(moderator), case, "dismiss", seen=0)

    case.refresh_from_db()
    assert case.open_report_count == 3
    [message] = messages_of(response)
    assert message.startswith("Béa Martin")


def test_opening_a_case_another_moderator_examines_says_who(moderator):
    case = flagged_case(reports=3)
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")
    services.case_claim(case_id=case.pk, moderator=other)

    response = client_for(moderator).get(f"{WORKSPACE}?case={case.pk}")

    [message] = messages_of(response)
    assert message.startswith("Béa Martin")
    assert CaseClaim.objects.get(case=case).moderator == other


def test_a_decision_on_a_case_changed_meanwhile_says_who_did_what(moderator):
    # given a page seen before another moderator confirmed the block
    case = blocked_case()
    seen = ModerationAction.objects.filter(image_id=case.image_id).latest("pk").pk
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")
    services.case_decide(case_id=case.pk, decision=Decision.CONFIRM, actor=other)

    response = decide(client_for(moderator), case, "restore", seen=seen)

    case.refresh_from_db()
    assert case.state == CaseState.BLOCKED
    [message] = messages_of(response)
    assert "Béa Martin" in message
    assert in_french("block confirmed") in message


def test_a_note_stays_on_its_case(moderator):
    case = flagged_case(reports=3)

    response = decide(client_for(moderator), case, "note", note="à revoir", follow=False)

    assert response["Location"] == f"{WORKSPACE}?case={case.pk}"
    assert ModerationAction.objects.get(action=ActionKind.NOTE).reason == "à revoir"


def test_the_claim_url_claims_or_says_who_holds_the_case(moderator):
    case = flagged_case(reports=3)
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")

    mine = client_for(moderator).post(f"{WORKSPACE}{case.pk}/claim/")
    theirs = client_for(other).post(f"{WORKSPACE}{case.pk}/claim/")

    assert mine.status_code == 200
    assert theirs.status_code == 409
    assert theirs.json()["holder"] == moderator.get_username()


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"{WORKSPACE}1/decide/obliterate/",
        f"{WORKSPACE}abc/decide/dismiss/",
        f"{WORKSPACE}1.5/claim/",
        f"{WORKSPACE}undo/x/",
        f"{WORKSPACE}999999/decide/dismiss/",
        f"{WORKSPACE}undo/999999/",
    ],
)
def test_unknown_decisions_and_ids_are_not_found(moderator, path):
    flagged_case()

    assert client_for(moderator).post(path).status_code == 404


@pytest.mark.parametrize("query", ["case=abc", "page=0", "tab=nope", "undo=-1", "case=1e3"])
def test_bad_query_values_are_not_found(moderator, query):
    assert client_for(moderator).get(f"{WORKSPACE}?{query}").status_code == 404


def test_a_note_too_long_is_a_message_not_an_error(moderator):
    case = flagged_case(reports=3)

    response = decide(client_for(moderator), case, "note", note="x" * (NOTE_MAX_LENGTH + 1))

    assert response.status_code == 200
    assert len(messages_of(response)) == 1
    assert not ModerationAction.objects.filter(action=ActionKind.NOTE).exists()


def test_a_bad_seen_action_id_is_a_message_not_an_error(moderator):
    case = flagged_case(reports=3)

    response = decide(client_for(moderator), case, "dismiss", seen="abc")

    assert response.status_code == 200
    assert len(messages_of(response)) == 1
    case.refresh_from_db()
    assert case.open_report_count == 3


def test_next_case_skips_those_another_moderator_examines(moderator):
    first, second, third = (flagged_case(reports=n) for n in (5, 4, 3))
    other = ModeratorFactory(username="bea")
    services.case_claim(case_id=second.pk, moderator=other)

    next_id = selectors.workspace_next_case_id(
        tab=Tab.NEEDS_REVIEW,
        moderator_id=moderator.pk,
        now=timezone.now(),
        after_case_id=first.pk,
    )
    later = selectors.workspace_next_case_id(
        tab=Tab.NEEDS_REVIEW,
        moderator_id=moderator.pk,
        now=timezone.now() + timedelta(hours=1),
        after_case_id=first.pk,
    )

    assert next_id == third.pk
    assert later == second.pk


def test_the_page_shows_the_moderators_own_figures(moderator):
    # given a moderator who dismissed two cases, one of which another moderator confirmed
    first, second = flagged_case(), flagged_case()
    for case in (first, second):
        services.case_decide(case_id=case.pk, decision=Decision.DISMISS, actor=moderator)
    services.case_decide(case_id=first.pk, decision=Decision.CONFIRM, actor=ModeratorFactory())

    # when they open the workspace (in English)
    with translation.override("en"):
        page = client_for(moderator).get(WORKSPACE, HTTP_ACCEPT_LANGUAGE="en")

    # then their figures read two decisions today, and half of them reversed
    figures = first_match(parse(page), "#ws-figures").text
    assert "2 decisions today" in figures
    assert "2 this week" in figures
    assert "50 % later reversed" in figures


def test_the_release_url_lets_go_of_ones_own_claim_only(moderator):
    # given a case Béa examines, and one the moderator examines
    other = ModeratorFactory(username="bea", first_name="Béa", last_name="Martin")
    hers, mine = flagged_case(), flagged_case()
    services.case_claim(case_id=hers.pk, moderator=other)
    services.case_claim(case_id=mine.pk, moderator=moderator)
    client = client_for(moderator)

    # when the moderator's page lets go of both (as its script does on leaving)
    answers = [client.post(f"{WORKSPACE}{case.pk}/release/").status_code for case in (hers, mine)]

    # then only their own claim is gone; a GET is refused
    assert answers == [204, 204]
    assert list(CaseClaim.objects.values_list("case_id", flat=True)) == [hers.pk]
    assert client.get(f"{WORKSPACE}{mine.pk}/release/").status_code == 405
