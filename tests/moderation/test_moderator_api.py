"""The moderators' API: /api/moderation/cases/, a case, decisions, the audit log."""

import uuid
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles.models import Image
from moderation import selectors, services
from moderation.models import (
    ActionKind,
    CaseState,
    ImageCase,
    ModerationAction,
    Report,
    ReporterMute,
    ReportOutcome,
)
from tests.factories import (
    ImageFactory,
    ModeratorFactory,
    PolicyFactory,
    SourceFactory,
    UserFactory,
)
from tests.readers import BURST_NETWORK, held_case, ip_hash_of

pytestmark = pytest.mark.django_db

CASES = "/api/moderation/cases/"
ACTIONS = "/api/moderation/actions/"
MUTE = "/api/moderation/reporters/mute/"
UNMUTE = "/api/moderation/reporters/unmute/"


def case_url(case_id: int) -> str:
    return f"{CASES}{case_id}/"


def decisions_url(case_id: int) -> str:
    return f"{CASES}{case_id}/decisions/"


# --- given ------------------------------------------------------------------------------


def reported(image: Image | None = None, *reasons: str, **image_fields) -> ImageCase:
    """An image reported once per reason, each by a distinct anonymous reader,
    through the real report path."""
    image = image or ImageFactory(**image_fields)
    for reason in reasons or ("violence",):
        reader = uuid.uuid4().hex
        services.report_create(
            image_id=image.pk,
            reporter_key=f"reader:{reader}",
            reason=reason,
            ip_hash=ip_hash_of(reader),
        )
    return ImageCase.objects.get(image=image)


def auto_blocked(**image_fields) -> ImageCase:
    """An image the machine blocked: five readers (the default threshold), then the task."""
    case = reported(None, *["violence"] * 5, **image_fields)
    assert services.case_auto_block(image_id=case.image_id)
    case.refresh_from_db()
    return case


@pytest.fixture
def api(moderator):
    """A client signed in as the moderator (session)."""
    client = APIClient()
    client.force_login(moderator)
    return client


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# --- who may call --------------------------------------------------------------------

ENDPOINTS = [
    pytest.param("get", lambda case: CASES, None, 200, id="queue"),
    pytest.param("get", lambda case: case_url(case.pk), None, 200, id="case"),
    pytest.param(
        "post", lambda case: decisions_url(case.pk), {"action": "confirm"}, 201, id="decide"
    ),
    pytest.param("get", lambda case: ACTIONS, None, 200, id="audit-log"),
    pytest.param(
        "post", lambda case: MUTE, lambda case: {"report": first_report_id(case)}, 200, id="mute"
    ),
    # Nobody is muted: served, then refused by the service.
    pytest.param("post", lambda case: UNMUTE, {"reporter_key": "reader:nobody"}, 409, id="unmute"),
]


def first_report_id(case: ImageCase) -> int:
    return (
        Report.objects.filter(image_id=case.image_id).order_by("id").values_list("id", flat=True)[0]
    )


def call(client: APIClient, method: str, url, body, case: ImageCase):
    """Call an endpoint of ENDPOINTS on a case (its URL and body may depend on it)."""
    body = body(case) if callable(body) else body
    if method == "post":
        return client.post(url(case), body, format="json")
    return client.get(url(case))


@pytest.mark.parametrize(("method", "url", "body", "ok"), ENDPOINTS)
def test_anonymous_caller_is_told_to_authenticate(method, url, body, ok):
    # given a case and a caller with neither session nor token
    case = auto_blocked()

    # when they call the endpoint
    response = call(APIClient(), method, url, body, case)

    # then 401, naming the token scheme, and nothing is decided
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not ModerationAction.objects.exclude(action=ActionKind.AUTO_BLOCK).exists()


@pytest.mark.parametrize(("method", "url", "body", "ok"), ENDPOINTS)
@pytest.mark.parametrize(
    "who",
    [
        pytest.param({}, id="signed-in-reader"),
        pytest.param({"is_staff": True}, id="staff-without-the-group"),
    ],
)
@pytest.mark.parametrize("client_for", [session_client, token_client], ids=["session", "token"])
def test_signed_in_non_moderators_are_refused(method, url, body, ok, who, client_for):
    # given a case, and a signed-in reader or a staff member outside the Moderators group
    case = auto_blocked()
    user = UserFactory(**who)

    # when they call the endpoint
    response = call(client_for(user), method, url, body, case)

    # then 403, and nothing is decided
    assert response.status_code == 403
    assert not ModerationAction.objects.exclude(action=ActionKind.AUTO_BLOCK).exists()


@pytest.mark.parametrize(("method", "url", "body", "ok"), ENDPOINTS)
def test_group_member_who_is_not_staff_is_refused(method, url, body, ok):
    # given a user in the Moderators group whose staff status was taken away
    case = auto_blocked()
    user = ModeratorFactory()
    user.is_staff = False
    user.save(update_fields=["is_staff"])

    # when they call the endpoint with their token
    response = call(token_client(user), method, url, body, case)

    # then 403
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "url", "body", "ok"), ENDPOINTS)
@pytest.mark.parametrize("client_for", [session_client, token_client], ids=["session", "token"])
def test_moderator_is_served_by_session_and_by_token(method, url, body, ok, client_for, moderator):
    # given a case the machine blocked
    case = auto_blocked()

    # when a moderator calls the endpoint with a session or a token
    response = call(client_for(moderator), method, url, body, case)

    # then it answers
    assert response.status_code == ok, response.content


def test_staff_who_may_read_but_not_decide_is_refused_a_decision():
    # given a staff member who holds the read permissions but not decide_imagecase
    case = auto_blocked()
    reader_group = Group.objects.create(name="Readers of the queue")
    reader_group.permissions.set(
        Group.objects.get(name="Moderators").permissions.exclude(codename="decide_imagecase")
    )
    user = UserFactory(is_staff=True)
    user.groups.add(reader_group)
    client = token_client(user)

    # when they read the case, then try to confirm it and to mute a reporter
    read = client.get(case_url(case.pk))
    decide = client.post(decisions_url(case.pk), {"action": "confirm"}, format="json")
    mute = client.post(MUTE, {"report": first_report_id(case)}, format="json")

    # then reading works, deciding and muting are 403, and nothing is written
    assert read.status_code == 200
    assert decide.status_code == mute.status_code == 403
    assert not ReporterMute.objects.exists()
    case.refresh_from_db()
    assert case.state == CaseState.AUTO_BLOCKED
    assert ModerationAction.objects.filter(actor=user).count() == 0


def test_session_decision_needs_the_csrf_token(moderator):
    # given a moderator signed in by session, with CSRF checks as a browser gets them
    case = auto_blocked()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(moderator)

    # when they post a decision, or a mute, without the CSRF token
    response = client.post(decisions_url(case.pk), {"action": "confirm"}, format="json")
    mute = client.post(MUTE, {"report": first_report_id(case)}, format="json")

    # then it is refused and nothing changes
    assert response.status_code == mute.status_code == 403
    case.refresh_from_db()
    assert case.state == CaseState.AUTO_BLOCKED
    assert not ReporterMute.objects.exists()


# --- the queue ------------------------------------------------------------------------


def test_queue_item_carries_the_case_its_image_article_source_and_reasons(api, moderator):
    # given an image reported for violence twice and nudity once, by three readers
    source = SourceFactory(slug="le-quotidien", name="Le Quotidien")
    case = reported(
        None,
        "violence",
        "nudity",
        "violence",
        article__source=source,
        article__title="Un titre",
        article__slug="un-titre",
        caption="Une légende",
    )

    # when the moderator reads the queue
    response = api.get(CASES)

    # then one paginated item says all a moderator needs to triage it
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next"] is None
    (item,) = body["results"]
    image = case.image
    assert item["id"] == case.pk
    assert item["image"]["id"] == image.pk
    assert item["image"]["url"] == f"http://testserver{image.rendition.url}"
    assert item["image"]["caption"] == "Une légende"
    assert item["image"]["visibility"] == "visible"
    assert item["article"] == {"slug": "un-titre", "title": "Un titre"}
    assert item["source"] == {"slug": "le-quotidien", "name": "Le Quotidien"}
    assert item["state"] == "flagged"
    assert item["protected"] is False
    # 3 reporters of a threshold of 5: at half or more, so it awaits review
    assert item["needs_review"] is True
    assert (item["open_report_count"], item["score"], item["threshold"]) == (3, 3, 5)
    assert isinstance(item["score"], int | float)  # a JSON number, not a string
    assert (item["brigade_held_at"], item["held_report_count"]) == (None, 0)
    assert item["reasons"] == [
        {"reason": "violence", "count": 2},
        {"reason": "nudity", "count": 1},
    ]
    assert item["first_reported_at"] and item["last_reported_at"]
    assert item["blocked_at"] is None
    assert item["reviewed_by"] is None and item["reviewed_at"] is None


def test_blocked_image_is_shown_to_moderators_through_the_admin_only(api, moderator):
    # given an image the machine blocked, then a moderator confirmed
    case = auto_blocked()
    services.case_decide(case_id=case.pk, decision=services.Decision.CONFIRM, actor=moderator)

    # when the moderator reads the queue
    (item,) = api.get(CASES).json()["results"]

    # then the image's address is the admin's staff-only view, not the public file
    assert item["image"]["visibility"] == "blocked"
    url = item["image"]["url"]
    assert urlsplit(url).path == reverse("admin:moderation_imagecase_image", args=[case.pk])
    # which the moderator's session may open, a reader may not, and the file stays 404
    shown = api.get(url)
    assert shown.status_code == 200
    with case.image.original.open("rb") as original:
        assert b"".join(shown.streaming_content) == original.read()
    assert APIClient().get(url).status_code == 302
    assert APIClient().get(case.image.original.url).status_code == 404
    # and the review is named
    assert item["state"] == "blocked"
    assert item["blocked_at"] is not None
    assert item["reviewed_by"] == moderator.username
    assert item["reviewed_at"] is not None


def test_queue_default_order_is_awaiting_review_first_then_score(api):
    # given a quiet case (1 of 5), a rising one (3 of 5), a machine block, and a reviewed block
    quiet = reported(None, "spam")
    rising = reported(None, "spam", "spam", "spam")
    machine = auto_blocked()
    reviewed = auto_blocked()
    services.case_decide(
        case_id=reviewed.pk, decision=services.Decision.CONFIRM, actor=UserFactory()
    )

    # when the moderator reads the queue without an ordering
    ids = [item["id"] for item in api.get(CASES).json()["results"]]

    # then what awaits review comes first, each group by score
    assert ids == [machine.pk, rising.pk, reviewed.pk, quiet.pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=auto_blocked", {"machine"}),
        ("state=flagged", {"quiet", "rising", "grouped"}),
        ("source=le-quotidien", {"rising"}),
        ("reason=nudity", {"quiet"}),
        ("reason=violence", {"machine", "grouped"}),
        ("needs_review=true", {"machine", "rising", "grouped"}),
        ("needs_review=false", {"quiet"}),
        ("state=flagged&needs_review=true", {"rising", "grouped"}),
        ("grouped=true", {"grouped"}),
        ("grouped=false&state=flagged", {"quiet", "rising"}),
        ("source=nobody-publishes-this", set()),
    ],
)
def test_queue_filters(api, query, expected):
    # given four cases from two sources, with different reasons and states, one of them
    # held as grouped reports
    cases = {
        "quiet": reported(None, "nudity"),
        "rising": reported(None, "spam", "spam", "hate", article__source__slug="le-quotidien"),
        "machine": auto_blocked(),
        "grouped": held_case(),
    }

    # when the moderator filters the queue
    response = api.get(f"{CASES}?{query}")

    # then only the matching cases come back
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["results"]}
    assert ids == {cases[name].pk for name in expected}
    assert response.json()["count"] == len(expected)


def test_reason_filter_reads_open_reports_only(api, moderator):
    # given a case whose nudity reports were dismissed, and which was reported again for spam
    case = reported(None, "nudity", "nudity")
    services.case_decide(case_id=case.pk, decision=services.Decision.DISMISS, actor=moderator)
    reported(case.image, "spam")

    # when the moderator filters by each reason
    nudity = api.get(f"{CASES}?reason=nudity").json()
    spam = api.get(f"{CASES}?reason=spam").json()

    # then only open reports count, in the filter and in the breakdown
    assert nudity["count"] == 0
    assert [item["id"] for item in spam["results"]] == [case.pk]
    assert spam["results"][0]["reasons"] == [{"reason": "spam", "count": 1}]


@pytest.mark.parametrize(
    ("ordering", "key", "descending"),
    [
        ("score", "score", False),
        ("-score", "score", True),
        ("open_report_count", "open_report_count", False),
        ("-last_reported_at", "last_reported_at", True),
        ("first_reported_at", "first_reported_at", False),
    ],
)
def test_queue_ordering(api, ordering, key, descending):
    # given cases with 1, 4 and 2 reports, reported in that order
    for count in (1, 4, 2):
        reported(None, *["spam"] * count)

    # when the moderator asks for an ordering
    response = api.get(f"{CASES}?ordering={ordering}")

    # then the queue follows it
    assert response.status_code == 200
    values = [item[key] for item in response.json()["results"]]
    assert values == sorted(values, reverse=descending)
    assert len(set(values)) == 3


def test_blocked_at_ordering_puts_cases_never_blocked_last(api):
    # given one flagged case and two machine blocks
    flagged = reported(None, "spam")
    first = auto_blocked()
    second = auto_blocked()

    # when ordered by block time, newest first
    ids = [item["id"] for item in api.get(f"{CASES}?ordering=-blocked_at").json()["results"]]

    # then the latest block leads and the never-blocked case comes last
    assert ids == [second.pk, first.pk, flagged.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=sleeping", "state"),
        ("reason=ugly", "reason"),
        ("needs_review=perhaps", "needs_review"),
        ("ordering=caption", "ordering"),
        ("ordering=-id;drop", "ordering"),
        ("source=not%20a%20slug", "source"),
    ],
)
def test_queue_refuses_bad_parameters_with_field_errors(api, query, field):
    # when the moderator sends a value the queue does not know
    response = api.get(f"{CASES}?{query}")

    # then 400, naming the field
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field], list)


def test_queue_pages_are_bounded_and_follow_page_size(api):
    # given five cases
    for _ in range(5):
        reported(None, "spam")

    # when the moderator asks for pages of two
    first = api.get(f"{CASES}?page_size=2").json()
    last = api.get(f"{CASES}?page_size=2&page=3").json()

    # then the pages split the queue without overlap
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    assert len(last["results"]) == 1 and last["next"] is None


@pytest.mark.parametrize("page_size", [5, 30])
def test_queue_reads_in_a_bounded_number_of_queries(
    django_assert_max_num_queries, moderator, page_size
):
    # given 30 cases from several sources, each with several reports, 6 of them
    # confirmed, and 3 cases holding grouped reports
    for _ in range(3):
        held_case()
    sources = [SourceFactory() for _ in range(3)]
    PolicyFactory(source=sources[0], threshold=3)
    for n in range(30):
        case = reported(
            None, "violence", "nudity", "spam", "violence", article__source=sources[n % 3]
        )
        if n % 5 == 0:
            services.case_decide(
                case_id=case.pk, decision=services.Decision.CONFIRM, actor=moderator
            )
    client = token_client(moderator)

    # when the moderator reads a page of the queue by token, filtered on open reports
    with django_assert_max_num_queries(12) as captured:
        response = client.get(f"{CASES}?page_size={page_size}&reason=violence")

    # then it is served within the bound, whatever the page size (the 6 confirmed
    # cases have no open report left)
    assert response.status_code == 200
    assert response.json()["count"] == 27
    results = response.json()["results"]
    assert len(results) == min(page_size, 27)
    # each with its held reports
    held_counts = [item["held_report_count"] for item in results if item["brigade_held_at"]]
    assert held_counts == [2] * (3 if page_size == 30 else len(held_counts))
    assert {item["held_report_count"] for item in results if not item["brigade_held_at"]} == {0}
    print(f"queue page of {page_size}: {len(captured.captured_queries)} queries")


def test_case_reads_in_a_bounded_number_of_queries(django_assert_max_num_queries, moderator):
    # given a case with 20 reports and a few decisions
    case = reported(None, *["violence"] * 20)
    services.case_decide(
        case_id=case.pk, decision=services.Decision.NOTE, actor=moderator, note="a"
    )
    services.case_decide(case_id=case.pk, decision=services.Decision.CONFIRM, actor=moderator)
    client = token_client(moderator)

    # when the moderator reads it
    with django_assert_max_num_queries(12) as captured:
        response = client.get(case_url(case.pk))

    # then within the bound
    assert response.status_code == 200
    assert len(response.json()["reports"]) == 20
    print(f"case with 20 reports: {len(captured.captured_queries)} queries")


# --- a case ---------------------------------------------------------------------------


def test_case_shows_reports_with_reporter_records_and_the_audit_trail(api, moderator):
    # given a reader who reported two images, one of whose reports a moderator dismissed
    repeat_reader = "reader:" + uuid.uuid4().hex
    earlier = ImageFactory()
    services.report_create(image_id=earlier.pk, reporter_key=repeat_reader, reason="spam")
    services.case_decide(
        case_id=ImageCase.objects.get(image=earlier).pk,
        decision=services.Decision.DISMISS,
        actor=moderator,
        note="Rien à signaler",
    )
    image = ImageFactory()
    services.report_create(
        image_id=image.pk, reporter_key=repeat_reader, reason="hate", comment="Haineux"
    )
    case = reported(image, "violence")
    services.case_decide(
        case_id=case.pk, decision=services.Decision.NOTE, actor=moderator, note="À surveiller"
    )

    # when the moderator opens the case
    response = api.get(case_url(case.pk))

    # then the reports, newest first, each with the reporter's record under a stable label
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == case.pk and body["state"] == "flagged"
    assert [r["reason"] for r in body["reports"]] == ["violence", "hate"]
    hate = body["reports"][1]
    assert hate["comment"] == "Haineux"
    assert hate["outcome"] == "open" and hate["created_at"]
    assert hate["reporter"]["signed_in"] is False
    assert hate["reporter"]["record"] == {
        "open": 1,
        "upheld": 0,
        "dismissed": 1,
        "expired": 0,
        "held": 0,
        "muted": 0,
    }
    # one dismissal of one verdict: 1 - 1/10, to the nearest quarter
    assert (hate["reporter"]["weight"], hate["reporter"]["muted"]) == (1.0, False)
    assert (hate["weight"], body["reports"][0]["weight"]) == (1, 1)
    assert hate["reporter"]["label"].startswith("r-")
    assert body["reports"][0]["reporter"]["record"]["open"] == 1
    # the same reader carries the same label on the other case
    other = api.get(case_url(ImageCase.objects.get(image=earlier).pk)).json()
    assert other["reports"][0]["reporter"]["label"] == hate["reporter"]["label"]
    assert other["reports"][0]["reporter"]["label"] != body["reports"][0]["reporter"]["label"]
    # and the case's audit trail, naming the moderator
    assert [(a["action"], a["actor"], a["reason"]) for a in body["actions"]] == [
        ("note", moderator.username, "À surveiller")
    ]
    assert body["actions"][0]["details"] == {"previous_state": "flagged", "state": "flagged"}
    assert body["actions"][0]["created_at"]
    assert body["reasons"] == [{"reason": "hate", "count": 1}, {"reason": "violence", "count": 1}]


def test_audit_trail_names_the_system_for_automatic_blocks(api):
    # given a case the machine blocked
    case = auto_blocked()

    # when the moderator opens it
    (action,) = api.get(case_url(case.pk)).json()["actions"]

    # then the block is the system's (no actor), with its figures
    assert action["action"] == "auto_block" and action["actor"] is None
    assert action["details"]["threshold"] == 5


def test_unknown_case_is_404(api):
    assert api.get(case_url(999_999)).status_code == 404


def test_signed_in_reporter_is_labelled_not_named(api):
    # given a signed-in reader who reported an image
    reader = UserFactory(username="lectrice-connue")
    image = ImageFactory()
    services.report_create(
        image_id=image.pk, reporter_key=f"user:{reader.pk}", user_id=reader.pk, reason="spam"
    )
    case = ImageCase.objects.get(image=image)

    # when the moderator opens the case
    response = api.get(case_url(case.pk))

    # then the report says a signed-in reader made it, not which one
    (report,) = response.json()["reports"]
    assert report["reporter"]["signed_in"] is True
    assert "lectrice-connue" not in response.content.decode()
    assert f"user:{reader.pk}" not in response.content.decode()


# --- decisions ------------------------------------------------------------------------


def decide(client: APIClient, case: ImageCase, action: str, note: str | None = None):
    body = {"action": action} if note is None else {"action": action, "note": note}
    return client.post(decisions_url(case.pk), body, format="json")


def only_new_action(case: ImageCase, before: set[int]) -> ModerationAction:
    (action,) = ModerationAction.objects.filter(image=case.image).exclude(pk__in=before)
    return action


def action_ids(case: ImageCase) -> set[int]:
    return set(ModerationAction.objects.filter(image=case.image).values_list("pk", flat=True))


def assert_answer_is_the_action(response, action: ModerationAction, moderator) -> None:
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == action.pk
    assert body["action"] == action.action
    assert body["actor"] == moderator.username
    assert body["image"] == action.image_id
    assert action.actor == moderator


def test_confirm_keeps_the_block_upholds_reports_and_writes_one_action(api, moderator):
    # given a case the machine blocked
    case = auto_blocked()
    before = action_ids(case)

    # when the moderator confirms it, with a reason
    response = decide(api, case, "confirm", "Violence explicite")

    # then the case is blocked for good, its reports upheld, and one action names the moderator
    action = only_new_action(case, before)
    assert_answer_is_the_action(response, action, moderator)
    assert (action.action, action.reason) == (ActionKind.CONFIRM, "Violence explicite")
    assert response.json()["details"]["upheld_reports"] == 5
    case.refresh_from_db()
    assert case.state == CaseState.BLOCKED
    assert (case.reviewed_by, case.reviewed_at is not None) == (moderator, True)
    assert Image.objects.get(pk=case.image_id).is_blocked
    assert set(Report.objects.filter(image=case.image).values_list("outcome", flat=True)) == {
        ReportOutcome.UPHELD
    }


def test_restore_shows_the_image_again_and_dismisses_its_reports(api, moderator):
    # given a case the machine blocked
    case = auto_blocked()
    before = action_ids(case)

    # when the moderator restores it
    response = decide(api, case, "restore")

    # then the image is visible, the reports dismissed, the counts reset, one action
    action = only_new_action(case, before)
    assert_answer_is_the_action(response, action, moderator)
    assert action.action == ActionKind.RESTORE
    case.refresh_from_db()
    assert case.state == CaseState.RESTORED
    assert (case.open_report_count, case.score, case.blocked_at) == (0, 0, None)
    assert Image.objects.get(pk=case.image_id).visibility == Image.Visibility.VISIBLE
    assert set(Report.objects.filter(image=case.image).values_list("outcome", flat=True)) == {
        ReportOutcome.DISMISSED
    }


def test_dismiss_closes_open_reports_without_changing_visibility(api, moderator):
    # given a flagged case with three open reports
    case = reported(None, "spam", "spam", "spam")
    before = action_ids(case)

    # when the moderator dismisses them
    response = decide(api, case, "dismiss")

    # then the reports are dismissed, the counts reset, the image untouched, one action
    action = only_new_action(case, before)
    assert_answer_is_the_action(response, action, moderator)
    assert action.action == ActionKind.DISMISS
    case.refresh_from_db()
    assert (case.state, case.open_report_count, case.score) == (CaseState.FLAGGED, 0, 0)
    assert Image.objects.get(pk=case.image_id).visibility == Image.Visibility.VISIBLE
    assert not Report.objects.filter(image=case.image, outcome=ReportOutcome.OPEN).exists()


def test_protect_then_unprotect(api, moderator):
    # given a flagged case
    case = reported(None, "spam")
    before = action_ids(case)

    # when the moderator protects it
    protected = decide(api, case, "protect", "Photo d'archive")

    # then it is protected, with one action
    action = only_new_action(case, before)
    assert_answer_is_the_action(protected, action, moderator)
    assert action.action == ActionKind.PROTECT
    case.refresh_from_db()
    assert case.protected is True

    # and when they unprotect it
    before = action_ids(case)
    unprotected = decide(api, case, "unprotect")

    # then it is not protected any more, with one more action
    action = only_new_action(case, before)
    assert_answer_is_the_action(unprotected, action, moderator)
    assert action.action == ActionKind.UNPROTECT
    case.refresh_from_db()
    assert case.protected is False


def test_note_writes_one_action_and_changes_nothing_else(api, moderator):
    # given a flagged case
    case = reported(None, "spam", "spam")
    before = action_ids(case)

    # when the moderator adds a note
    response = decide(api, case, "note", "  Vu avec la rédaction  ")

    # then one note action with the text, and the case is not marked reviewed
    action = only_new_action(case, before)
    assert_answer_is_the_action(response, action, moderator)
    assert (action.action, action.reason) == (ActionKind.NOTE, "Vu avec la rédaction")
    case.refresh_from_db()
    assert (case.state, case.open_report_count, case.reviewed_by) == (CaseState.FLAGGED, 2, None)


@pytest.mark.parametrize(
    ("setup", "action", "message_part"),
    [
        pytest.param(lambda m: reported(None, "spam"), "restore", "restor", id="restore-visible"),
        pytest.param(lambda m: _confirmed(m), "confirm", "confirm", id="confirm-already-confirmed"),
        pytest.param(lambda m: reported(None, "spam"), "unprotect", "protect", id="unprotect"),
        pytest.param(lambda m: auto_blocked(), "protect", "restor", id="protect-blocked"),
        pytest.param(lambda m: _dismissed(m), "dismiss", "dismiss", id="dismiss-nothing-open"),
        pytest.param(lambda m: reported(None, "spam"), "release", "held", id="release-nothing"),
    ],
)
def test_decision_that_does_not_apply_is_409_and_writes_nothing(
    api, moderator, setup, action, message_part
):
    # given a case the decision does not apply to
    case = setup(moderator)
    state = ImageCase.objects.filter(pk=case.pk).values().get()
    before = action_ids(case)

    # when the moderator sends it
    with translation_en(api):
        response = decide(api, case, action)

    # then 409 with the reason, and nothing changed or written
    assert response.status_code == 409
    assert message_part in response.json()["detail"].lower()
    assert ImageCase.objects.filter(pk=case.pk).values().get() == state
    assert action_ids(case) == before


def _confirmed(moderator) -> ImageCase:
    case = auto_blocked()
    services.case_decide(case_id=case.pk, decision=services.Decision.CONFIRM, actor=moderator)
    return case


def _dismissed(moderator) -> ImageCase:
    case = reported(None, "spam")
    services.case_decide(case_id=case.pk, decision=services.Decision.DISMISS, actor=moderator)
    return case


class translation_en:
    """Ask for English answers, so the test reads the message it checks."""

    def __init__(self, client: APIClient):
        self.client = client

    def __enter__(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def __exit__(self, *exc):
        self.client.defaults.pop("HTTP_ACCEPT_LANGUAGE", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"action": "delete"}, "action", id="unknown-action"),
        pytest.param({}, "action", id="no-action"),
        pytest.param({"action": "note"}, "note", id="note-without-text"),
        pytest.param({"action": "note", "note": "   "}, "note", id="note-blank"),
        pytest.param({"action": "confirm", "note": "x" * 2001}, "note", id="note-too-long"),
        pytest.param(["confirm"], "non_field_errors", id="not-an-object"),
    ],
)
def test_bad_decision_is_400_with_field_errors_and_writes_nothing(api, body, field):
    # given a case the machine blocked
    case = auto_blocked()
    before = action_ids(case)

    # when the moderator sends a malformed decision
    response = api.post(decisions_url(case.pk), body, format="json")

    # then 400 naming the field, and nothing written
    assert response.status_code == 400
    assert field in response.json()
    assert action_ids(case) == before
    case.refresh_from_db()
    assert case.state == CaseState.AUTO_BLOCKED


def test_decision_on_unknown_case_is_404(api):
    response = api.post(decisions_url(999_999), {"action": "confirm"}, format="json")
    assert response.status_code == 404
    assert not ModerationAction.objects.exists()


def test_decision_body_that_is_not_json_is_415(api):
    case = auto_blocked()
    response = api.post(decisions_url(case.pk), "action=confirm", content_type="text/plain")
    assert response.status_code == 415


# --- the audit log --------------------------------------------------------------------


def test_audit_log_is_newest_first_and_filterable(api, moderator):
    # given a machine block, a confirmation by one moderator, a note by another, a policy change
    other = ModeratorFactory(username="autre-moderateur")
    blocked = auto_blocked()
    services.case_decide(case_id=blocked.pk, decision=services.Decision.CONFIRM, actor=moderator)
    noted = reported(None, "spam")
    services.case_decide(
        case_id=noted.pk, decision=services.Decision.NOTE, actor=other, note="Voir demain"
    )
    services.policy_save(source_id=None, threshold=4, window_days=30, actor=moderator)

    # when the moderator reads the log, whole and filtered
    whole = api.get(ACTIONS).json()
    by_action = api.get(f"{ACTIONS}?action=confirm").json()
    by_image = api.get(f"{ACTIONS}?image={blocked.image_id}").json()
    by_actor = api.get(f"{ACTIONS}?actor=autre-moderateur").json()

    # then newest first, each filter narrowing it
    assert [(a["action"], a["actor"]) for a in whole["results"]] == [
        ("policy_change", moderator.username),
        ("note", "autre-moderateur"),
        ("confirm", moderator.username),
        ("auto_block", None),
    ]
    assert whole["results"][0]["image"] is None
    assert whole["results"][0]["details"]["after"] == {"threshold": 4, "window_days": 30}
    assert [a["action"] for a in by_action["results"]] == ["confirm"]
    assert [a["action"] for a in by_image["results"]] == ["confirm", "auto_block"]
    assert [(a["action"], a["reason"]) for a in by_actor["results"]] == [("note", "Voir demain")]


@pytest.mark.parametrize(
    ("query", "field"),
    [("action=erase", "action"), ("image=abc", "image"), ("image=0", "image")],
)
def test_audit_log_refuses_bad_filters(api, query, field):
    response = api.get(f"{ACTIONS}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


# --- nothing about the reporters leaks --------------------------------------------------


def test_no_answer_carries_a_reporter_key_or_ip_hash(api, moderator):
    # given a case reported by anonymous and signed-in readers, all with an IP hash,
    # some from one network
    reader = UserFactory()
    case = reported(None, "violence", "spam", "hate", "violence")
    services.report_create(
        image_id=case.image_id,
        reporter_key=f"user:{reader.pk}",
        user_id=reader.pk,
        reason="nudity",
        ip_hash=ip_hash_of("signed-in"),
        network_hash=BURST_NETWORK,
    )
    services.case_auto_block(image_id=case.image_id)
    reports = list(Report.objects.all())
    keys = [report.reporter_key for report in reports]
    hashes = [report.ip_hash for report in reports] + [BURST_NETWORK]
    assert len(keys) == 5 and all(hashes)

    # when the moderator reads everything the API offers about it, decides, and mutes
    # and unmutes a reporter
    answers = [
        api.get(CASES),
        api.get(case_url(case.pk)),
        api.get(ACTIONS),
        decide(api, case, "confirm"),
        api.post(MUTE, {"report": reports[0].pk, "reason": "x"}, format="json"),
        api.get(case_url(case.pk)),
        api.post(UNMUTE, {"reporter_key": keys[1]}, format="json"),
        api.post(MUTE, {"report": reports[0].pk}, format="json"),
        api.get(ACTIONS),
    ]

    # then no answer carries a reporter key (nor the uuid in it) nor an address's hash
    statuses = [response.status_code for response in answers]
    assert statuses == [200, 200, 200, 201, 200, 200, 409, 409, 200]
    for response in answers:
        text = response.content.decode()
        assert "ip_hash" not in text and "network_hash" not in text
        assert "reporter_key" not in text
        for value in hashes:
            assert value not in text
        for key in keys:
            assert key not in text
            if key.startswith("reader:"):
                assert key.removeprefix("reader:") not in text


# --- grouped reports ("signalements groupés") -----------------------------------------


def test_a_held_case_says_since_when_and_how_many_reports_it_holds(api):
    # given a burst from one network (3 reports counted, 2 held), and a case reported as usual
    case = held_case(held_reports=2)
    usual = reported(None, "spam")

    # when the moderator reads the queue and the case
    queue = {item["id"]: item for item in api.get(CASES).json()["results"]}
    detail = api.get(case_url(case.pk)).json()

    # then both say since when reports are held, and how many
    item = queue[case.pk]
    assert parse_datetime(item["brigade_held_at"]) == case.brigade_held_at
    assert detail["brigade_held_at"] == item["brigade_held_at"]
    assert (item["held_report_count"], item["open_report_count"], item["score"]) == (2, 3, 3)
    assert detail["held_report_count"] == 2
    assert item["needs_review"] is True
    assert (queue[usual.pk]["brigade_held_at"], queue[usual.pk]["held_report_count"]) == (None, 0)
    # and each report its outcome and weight (a number), each reporter's record its held one
    assert sorted(r["outcome"] for r in detail["reports"]) == [
        "held",
        "held",
        "open",
        "open",
        "open",
    ]
    assert [r["weight"] for r in detail["reports"]] == [1] * 5
    assert all(isinstance(r["weight"], int | float) for r in detail["reports"])
    for report in detail["reports"]:
        record = report["reporter"]["record"]
        assert (record["held"], record["open"]) == (
            (1, 0) if report["outcome"] == "held" else (0, 1)
        )


def test_release_counts_the_held_reports_lifts_the_hold_and_writes_one_action(api, moderator):
    # given a burst from one network: 3 reports counted, 2 held
    case = held_case(held_reports=2)
    before = action_ids(case)

    # when the moderator counts the held reports
    response = decide(api, case, "release", "Mobilisation légitime")

    # then they are counted, the hold is lifted, and one action names the moderator
    action = only_new_action(case, before)
    assert_answer_is_the_action(response, action, moderator)
    assert (action.action, action.reason) == (ActionKind.RELEASE, "Mobilisation légitime")
    assert response.json()["details"]["released_reports"] == 2
    assert response.json()["details"]["released_weight"] == 2
    case.refresh_from_db()
    assert (case.open_report_count, case.score, case.brigade_held_at) == (5, 5, None)
    assert not Report.objects.filter(image=case.image, outcome=ReportOutcome.HELD).exists()
    # and the case reads so
    body = api.get(case_url(case.pk)).json()
    assert (body["brigade_held_at"], body["held_report_count"], body["score"]) == (None, 0, 5)


# --- reporters: weights and mutes ------------------------------------------------------


def test_each_reporter_shows_the_weight_their_next_report_would_carry(api, moderator):
    # given an anonymous reader and a staff member who reported an image, after which
    # moderators upheld two other reports of the reader
    reader = "reader:" + uuid.uuid4().hex
    staff = UserFactory(is_staff=True)
    image = ImageFactory()
    services.report_create(
        image_id=image.pk, reporter_key=reader, reason="spam", ip_hash=ip_hash_of(reader)
    )
    services.report_create(
        image_id=image.pk, reporter_key=f"user:{staff.pk}", user_id=staff.pk, reason="spam"
    )
    for _ in range(2):
        other = ImageFactory()
        services.report_create(
            image_id=other.pk, reporter_key=reader, reason="hate", ip_hash=ip_hash_of(reader)
        )
        services.case_decide(
            case_id=ImageCase.objects.get(image=other).pk,
            decision=services.Decision.CONFIRM,
            actor=moderator,
        )

    # when the moderator opens the case
    body = api.get(case_url(ImageCase.objects.get(image=image).pk)).json()

    # then each report says what it weighed, and its reporter what they weigh now
    by_signed_in = {r["reporter"]["signed_in"]: r for r in body["reports"]}
    anonymous, signed_in = by_signed_in[False], by_signed_in[True]
    assert (anonymous["weight"], anonymous["reporter"]["weight"]) == (1, 1.25)
    assert (signed_in["weight"], signed_in["reporter"]["weight"]) == (2, 2)
    assert selectors.reporter_weight(reporter_key=reader) == Decimal("1.25")
    assert anonymous["reporter"]["record"]["upheld"] == 2
    assert body["score"] == 3


def test_case_reads_as_many_queries_for_20_reporters_as_for_2(moderator, settings):
    # given reporters whose records are longer than the history that sets their
    # weight (their latest verdicts are ranked), one of them muted
    settings.REPUTATION_HISTORY = 1
    cases = {}
    for size in (2, 20):
        readers = [f"reader:{uuid.uuid4().hex}" for _ in range(size)]
        for decision in (services.Decision.CONFIRM, services.Decision.DISMISS, None):
            image = ImageFactory()
            for reader in readers:
                services.report_create(
                    image_id=image.pk,
                    reporter_key=reader,
                    reason="spam",
                    ip_hash=ip_hash_of(reader),
                )
            cases[size] = ImageCase.objects.get(image=image)
            if decision:
                services.case_decide(case_id=cases[size].pk, decision=decision, actor=moderator)
        services.reporter_mute(reporter_key=readers[0], actor=moderator)
    client = token_client(moderator)
    client.get(case_url(cases[2].pk))  # fills the caches of a first request

    # when the moderator reads the small case, then the large one
    counts = {}
    for size, case in cases.items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(case_url(case.pk))
        assert len(response.json()["reports"]) == size
        counts[size] = len(captured.captured_queries)

    # then records, weights and mutes cost no query per report
    assert counts[20] == counts[2] <= 12


def test_mute_by_report_discounts_the_reporters_open_reports_and_writes_one_action(api, moderator):
    # given a reader who reported two images, each also reported by someone else
    reader = "reader:" + uuid.uuid4().hex
    cases = []
    for _ in range(2):
        image = ImageFactory()
        services.report_create(
            image_id=image.pk, reporter_key=reader, reason="spam", ip_hash=ip_hash_of(reader)
        )
        cases.append(reported(image, "violence"))
    report_id = Report.objects.filter(reporter_key=reader).order_by("id")[0].pk
    shown = api.get(case_url(cases[0].pk)).json()["reports"]
    label = next(r["reporter"]["label"] for r in shown if r["id"] == report_id)
    before = set(ModerationAction.objects.values_list("pk", flat=True))

    # when the moderator mutes them, naming one of their reports as the case lists it
    response = api.post(MUTE, {"report": report_id, "reason": "  Signale tout  "}, format="json")

    # then 200 with the one audit row written, naming the reporter by their pseudonym
    assert response.status_code == 200, response.content
    (action,) = ModerationAction.objects.exclude(pk__in=before)
    body = response.json()
    assert (body["id"], body["action"], body["actor"]) == (action.pk, "mute", moderator.username)
    assert (body["image"], body["reason"]) == (None, "Signale tout")
    assert body["details"]["reporter"] == label
    assert sorted(body["details"]["discounted_images"]) == sorted(c.image_id for c in cases)
    mute = ReporterMute.objects.get()
    assert (mute.reporter_key, mute.muted_by) == (reader, moderator)
    # their open reports leave both cases' counts and scores
    for case in cases:
        case.refresh_from_db()
        assert (case.open_report_count, case.score) == (1, 1)
    # and the case shows them muted
    detail = api.get(case_url(cases[0].pk)).json()
    mine = next(r for r in detail["reports"] if r["id"] == report_id)
    assert mine["outcome"] == "muted"
    assert mine["reporter"]["muted"] is True
    assert mine["reporter"]["record"]["muted"] == 2
    assert (detail["open_report_count"], detail["score"]) == (1, 1)


def test_mute_twice_is_409_unmute_then_unmute_twice_is_409(api, moderator):
    # given a reporter of a case
    case = reported(None, "spam", "spam")
    key = Report.objects.filter(image=case.image).order_by("id")[0].reporter_key

    # when the moderator mutes them twice, then unmutes them twice, by key
    with translation_en(api):
        muted = api.post(MUTE, {"reporter_key": key}, format="json")
        again = api.post(MUTE, {"reporter_key": key}, format="json")
        unmuted = api.post(UNMUTE, {"reporter_key": key, "reason": "Erreur"}, format="json")
        unmuted_again = api.post(UNMUTE, {"reporter_key": key}, format="json")

    # then the second of each is 409 with the reason, and one action each was written
    assert (muted.status_code, muted.json()["action"]) == (200, "mute")
    assert again.status_code == 409 and "already muted" in again.json()["detail"]
    assert (unmuted.status_code, unmuted.json()["action"]) == (200, "unmute")
    assert unmuted.json()["reason"] == "Erreur"
    assert unmuted_again.status_code == 409 and "not muted" in unmuted_again.json()["detail"]
    kinds = ModerationAction.objects.filter(actor=moderator).order_by("id")
    assert list(kinds.values_list("action", flat=True)) == [ActionKind.MUTE, ActionKind.UNMUTE]
    assert not ReporterMute.objects.exists()
    # the report made before the mute stays uncounted
    case.refresh_from_db()
    assert case.open_report_count == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "non_field_errors", id="nobody"),
        pytest.param({"reporter_key": "reader:x", "report": 1}, "non_field_errors", id="both"),
        pytest.param({"report": 999_999}, "report", id="unknown-report"),
        pytest.param({"report": "abc"}, "report", id="report-not-a-number"),
        pytest.param({"report": 0}, "report", id="report-zero"),
        pytest.param({"reporter_key": ""}, "reporter_key", id="key-blank"),
        pytest.param({"reporter_key": "r" * 65}, "reporter_key", id="key-too-long"),
        pytest.param({"reporter_key": "reader:x", "reason": "x" * 2001}, "reason", id="reason"),
        pytest.param(["reader:x"], "non_field_errors", id="not-an-object"),
    ],
)
@pytest.mark.parametrize("url", [MUTE, UNMUTE], ids=["mute", "unmute"])
def test_bad_mute_body_is_400_with_field_errors_and_writes_nothing(api, url, body, field):
    # given a case with a report
    reported(None, "spam")
    before = ModerationAction.objects.count()

    # when the moderator sends a malformed body
    response = api.post(url, body, format="json")

    # then 400 naming the field, and nothing written
    assert response.status_code == 400
    assert field in response.json()
    assert isinstance(response.json()[field], list)
    assert ModerationAction.objects.count() == before
    assert not ReporterMute.objects.exists()


# --- what tests/test_fuzz.py found: answers the schema did not describe ---------------------


def api_schema() -> dict:
    return APIClient().get("/api/schema/?format=json").json()


@pytest.mark.parametrize("url", [CASES, ACTIONS], ids=["queue", "audit-log"])
@pytest.mark.parametrize("page", ["0", "99", "-1", "abc"])
def test_lists_document_the_404_of_a_page_that_does_not_exist(api, url, page):
    # given one page of cases and actions
    held_case()

    # when a page that does not exist is asked for
    response = api.get(f"{url}?page={page}")

    # then the 404 carries a detail, and the schema lists that answer
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    responses = api_schema()["paths"][url]["get"]["responses"]
    assert responses["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Detail")


def test_system_actor_and_unreviewed_case_are_nulls_the_schema_allows(api):
    # given a case no moderator has reviewed, whose only action is the system's (a hold)
    case = held_case()

    # when the moderator reads the queue, the case and the audit log
    queued = api.get(CASES).json()["results"][0]
    detail = api.get(case_url(case.pk)).json()
    (action,) = api.get(ACTIONS).json()["results"]

    # then "reviewed_by" and "actor" are null, and the schema says they may be
    assert queued["reviewed_by"] is None and detail["reviewed_by"] is None
    assert action["action"] == "brigade_hold" and action["actor"] is None
    assert detail["actions"][0]["actor"] is None
    components = api_schema()["components"]["schemas"]
    assert components["Case"]["properties"]["reviewed_by"]["nullable"] is True
    assert components["CaseDetail"]["properties"]["reviewed_by"]["nullable"] is True
    assert components["Action"]["properties"]["actor"]["nullable"] is True


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/moderation/cases/{case_id}/", "get"),
        ("/api/moderation/cases/{case_id}/decisions/", "post"),
    ],
)
def test_case_id_in_the_path_is_documented_as_the_route_matches_it(api, path, method):
    # given an id the <int:> converter does not match: no route, the API's JSON 404
    outside = api.get(case_url(-1))
    assert (outside.status_code, outside["Content-Type"]) == (404, "application/json")

    # then the schema allows none such
    (parameter,) = api_schema()["paths"][path][method]["parameters"]
    assert (parameter["name"], parameter["schema"]) == (
        "case_id",
        {"type": "integer", "minimum": 0},
    )
