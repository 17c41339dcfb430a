"""The workspace's API: claims, the 409 of a decision that met another moderator, undo,
the queue's summary; and the selectors behind the summary and the moderator's figures."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from moderation import selectors, services
from moderation.models import ActionKind, CaseClaim, CaseState, ImageCase, ModerationAction
from moderation.services import Decision
from tests.factories import ImageFactory, ModeratorFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


def reported_case(readers: int = 2) -> ImageCase:
    image = ImageFactory()
    for n in range(readers):
        services.report_create(image_id=image.pk, reporter_key=f"reader:{n}", reason="hate")
    return ImageCase.objects.get(image=image)


def client_of(user) -> APIClient:
    # The messages are read in English (the site's default is French).
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def ana(db):
    return ModeratorFactory(username="ana", first_name="Ana", last_name="Ruiz")


def test_claim_answers_who_and_until_when_and_a_rival_gets_409(moderator, ana):
    case = reported_case()

    mine = client_of(ana).post(f"/api/moderation/cases/{case.pk}/claim/")
    theirs = client_of(moderator).post(f"/api/moderation/cases/{case.pk}/claim/")

    assert mine.status_code == 200
    assert (mine.json()["case"], mine.json()["moderator"]) == (case.pk, "Ana Ruiz")
    assert theirs.status_code == 409
    assert theirs.json()["claimed_by"] == "Ana Ruiz"
    assert "Ana Ruiz is examining this case" in theirs.json()["detail"]


def test_a_decision_on_a_case_claimed_by_another_answers_409(moderator, ana):
    case = reported_case()
    client_of(ana).post(f"/api/moderation/cases/{case.pk}/claim/")

    answer = client_of(moderator).post(
        f"/api/moderation/cases/{case.pk}/decisions/", {"action": "dismiss"}, format="json"
    )

    assert answer.status_code == 409 and answer.json()["claimed_by"] == "Ana Ruiz"
    case.refresh_from_db()
    assert case.open_report_count == 2


def test_a_decision_after_anothers_answers_409_with_who_did_what(moderator, ana):
    # given both saw the case with no audit row; Ana confirms first
    case = reported_case()
    first = client_of(ana).post(
        f"/api/moderation/cases/{case.pk}/decisions/",
        {"action": "confirm", "seen_action": 0},
        format="json",
    )
    # when the other moderator dismisses on what they saw
    second = client_of(moderator).post(
        f"/api/moderation/cases/{case.pk}/decisions/",
        {"action": "dismiss", "seen_action": 0},
        format="json",
    )
    # then the second is refused and told Ana confirmed
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["conflicting_action"]["actor"] == "ana"
    assert second.json()["conflicting_action"]["action"] == ActionKind.CONFIRM
    case.refresh_from_db()
    assert case.state == CaseState.BLOCKED


@pytest.mark.parametrize("seen", [-1, "x", 1.5, [], {}])
def test_a_bad_seen_action_is_a_400(moderator, seen):
    case = reported_case()
    answer = client_of(moderator).post(
        f"/api/moderation/cases/{case.pk}/decisions/",
        {"action": "dismiss", "seen_action": seen},
        format="json",
    )
    assert answer.status_code == 400 and "seen_action" in answer.json()


def test_release_is_204_and_claims_of_no_case_are_404(moderator):
    case = reported_case()
    client = client_of(moderator)
    client.post(f"/api/moderation/cases/{case.pk}/claim/")

    assert client.delete(f"/api/moderation/cases/{case.pk}/claim/").status_code == 204
    assert client.delete(f"/api/moderation/cases/{case.pk}/claim/").status_code == 204
    assert not CaseClaim.objects.exists()
    for method in ("post", "delete"):
        assert getattr(client, method)("/api/moderation/cases/999999/claim/").status_code == 404


def test_readers_and_anonymous_callers_cannot_claim_or_undo():
    case = reported_case()
    for client in (APIClient(), client_of(UserFactory()), client_of(UserFactory(is_staff=True))):
        for method, url in (
            ("post", f"/api/moderation/cases/{case.pk}/claim/"),
            ("delete", f"/api/moderation/cases/{case.pk}/claim/"),
            ("post", "/api/moderation/actions/1/undo/"),
            ("get", "/api/moderation/queue/summary/"),
        ):
            assert getattr(client, method)(url).status_code in (401, 403), (method, url)


def test_undo_answers_the_undo_row_and_then_409(moderator):
    case = reported_case()
    client = client_of(moderator)
    decided = client.post(
        f"/api/moderation/cases/{case.pk}/decisions/", {"action": "dismiss"}, format="json"
    ).json()

    undone = client.post(f"/api/moderation/actions/{decided['id']}/undo/")
    again = client.post(f"/api/moderation/actions/{decided['id']}/undo/")

    assert undone.status_code == 201 and undone.json()["action"] == ActionKind.UNDO
    assert again.status_code == 409 and "already undone" in again.json()["detail"]
    assert client.post("/api/moderation/actions/999999/undo/").status_code == 404
    case.refresh_from_db()
    assert case.open_report_count == 2


@pytest.mark.django_db(transaction=True)
def test_of_many_moderators_claiming_one_case_at_once_exactly_one_wins():
    # given a case and eight moderators, each with their own session
    case = reported_case()
    clients = [client_of(ModeratorFactory()) for _ in range(8)]

    # when they all claim it at the same moment
    def claim(client):
        try:
            return client.post(f"/api/moderation/cases/{case.pk}/claim/").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(claim, clients))

    # then one holds it and seven are told who does
    assert codes == [200] + [409] * 7
    assert CaseClaim.objects.filter(case=case).count() == 1


@pytest.mark.django_db(transaction=True)
def test_of_many_moderators_deciding_one_case_at_once_exactly_one_decides():
    # given a case all of them saw with no audit row, each moderator in their own session
    case = reported_case()
    clients = [client_of(ModeratorFactory()) for _ in range(8)]

    # when they all decide it at the same moment, half confirming, half dismissing
    def decide(numbered):
        n, client = numbered
        try:
            return client.post(
                f"/api/moderation/cases/{case.pk}/decisions/",
                {"action": "confirm" if n % 2 else "dismiss", "seen_action": 0},
                format="json",
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(decide, enumerate(clients)))

    # then one decision stands, the seven others are told someone acted, one row is written
    assert codes == [201] + [409] * 7
    assert ModerationAction.objects.filter(image_id=case.image_id, actor__isnull=False).count() == 1


# --- the summary and the figures ------------------------------------------------------


def test_summary_counts_each_tab_in_one_query(moderator):
    # given a case for review, a blocked one, a protected one and one with nothing open
    PolicyFactory(threshold=5)
    reported_case(readers=3)
    blocked = reported_case(readers=5)
    services.case_auto_block(image_id=blocked.image_id)
    kept = reported_case()
    services.case_decide(case_id=kept.pk, decision=Decision.PROTECT, actor=moderator)
    quiet = reported_case()
    services.case_decide(case_id=quiet.pk, decision=Decision.DISMISS, actor=moderator)

    # when the summary is read
    with CaptureQueriesContext(connection) as queries:
        summary = selectors.queue_summary()

    # then each tab counts its cases and the newest case is named, in one query
    assert len(queries) == 1
    assert summary.tabs == {
        "needs_review": 2,  # at half its threshold, and the machine's block
        "grouped": 0,
        "blocked": 1,
        "protected": 1,
        "all": 4,
    }
    assert summary.latest_case_id == quiet.pk
    answer = client_of(moderator).get("/api/moderation/queue/summary/")
    assert answer.status_code == 200
    assert answer.json() == {"tabs": summary.tabs, "latest_case_id": quiet.pk}


def test_a_moderators_figures_count_their_decisions_pace_and_reversals(moderator, ana, monkeypatch):
    # given a moderator's five decisions a minute apart, half an hour ago (the clock the
    # audit rows take their time from is set for each)
    now = timezone.now()
    cases = [reported_case() for _ in range(6)]
    actions = []
    for minutes, case in zip((30, 29, 28, 27, 26), cases, strict=False):
        monkeypatch.setattr(timezone, "now", lambda m=minutes: now - timedelta(minutes=m))
        actions.append(
            services.case_decide(case_id=case.pk, decision=Decision.DISMISS, actor=moderator)
        )
    # one of them undone (it does not count), one confirmed later by Ana (reversed)
    services.decision_undo(action_id=actions[4].pk, actor=moderator)
    monkeypatch.undo()
    services.case_decide(case_id=cases[0].pk, decision=Decision.CONFIRM, actor=ana)
    # and a note, which is no decision
    services.case_decide(case_id=cases[5].pk, decision=Decision.NOTE, actor=moderator, note="x")

    # when their figures are read
    figures = selectors.moderator_figures(moderator=moderator, now=now + timedelta(minutes=1))

    # then four decisions count, a minute each, one in four reversed
    assert (figures.decisions_week, figures.median_seconds, figures.reversed_share) == (
        4,
        60.0,
        0.25,
    )
    assert figures.decisions_today in (0, 4)  # 0 only when run just after midnight
    assert selectors.moderator_figures(moderator=ana).reversed_share == 0.0


def test_a_new_moderators_figures_are_empty(moderator):
    figures = selectors.moderator_figures(moderator=moderator)
    assert (figures.decisions_week, figures.median_seconds, figures.reversed_share) == (
        0,
        None,
        None,
    )
