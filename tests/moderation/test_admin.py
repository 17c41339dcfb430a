"""The moderators' workspace in Django admin: the queue, the case page, decisions
(buttons and actions), the audit log, reports and policies, and who may use them."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from articles.models import Image
from moderation import services
from moderation.models import (
    ActionKind,
    CaseState,
    ImageCase,
    ModerationAction,
    Policy,
    Report,
    ReportOutcome,
)
from moderation.services import Decision
from tests.factories import ArticleFactory, ImageFactory, SourceFactory, UserFactory
from tests.html import parse

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/imagecase/"
AUDIT_LOG = "/admin/moderation/moderationaction/"
REPORTS = "/admin/moderation/report/"
POLICIES = "/admin/moderation/policy/"


# --- given: people ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Many users per test; the real hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def moderator_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- given: cases, built through the services as in production ------------------------


def report(image, n, reason="violence", comment=""):
    return services.report_create(
        image_id=image.pk, reporter_key=f"reader:{n:08d}", reason=reason, comment=comment
    )


def flagged_case(*, reports=1, reasons=("violence",), image=None, start=0) -> ImageCase:
    image = image or ImageFactory()
    for n in range(start, start + reports):
        report(image, n, reason=reasons[n % len(reasons)])
    return ImageCase.objects.get(image=image)


def blocked_case(**kwargs) -> ImageCase:
    """A case the machine blocked (default threshold: 5 distinct reporters)."""
    kwargs.setdefault("reports", 5)
    case = flagged_case(**kwargs)
    assert services.case_auto_block(image_id=case.image_id)
    case.refresh_from_db()
    return case


def protected_case() -> ImageCase:
    case = flagged_case()
    services.case_decide(
        case_id=case.pk, decision=Decision.PROTECT, actor=UserFactory(is_staff=True)
    )
    case.refresh_from_db()
    return case


def in_french(text) -> str:
    """A message or a (lazy) label as the admin shows it: in French, the site's language."""
    with translation.override("fr"):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def messages_of(response) -> list[str]:
    return [item.text for item in parse(response).select("ul.messagelist li")]


def queue_rows(response) -> list:
    return parse(response).select("#result_list tbody tr")


def queue_ids(response) -> list[int]:
    return [case.pk for case in response.context["cl"].result_list]


# --- who may use which path ------------------------------------------------------------


# Every moderator path in admin: name -> (method, path built from the objects, data).
PATHS = {
    "queue": ("get", lambda o: QUEUE, None),
    "case page": ("get", lambda o: f"{QUEUE}{o['case'].pk}/change/", None),
    "case image": ("get", lambda o: f"{QUEUE}{o['case'].pk}/image/", None),
    **{
        f"decide {d.value}": (
            "post",
            lambda o, d=d: f"{QUEUE}{o['case'].pk}/decide/{d.value}/",
            {"note": "n"},
        )
        for d in Decision
    },
    "queue action": (
        "post",
        lambda o: QUEUE,
        lambda o: {"action": "protect", "_selected_action": [o["case"].pk], "index": 0},
    ),
    "audit log": ("get", lambda o: AUDIT_LOG, None),
    "audit row": ("get", lambda o: f"{AUDIT_LOG}{o['action'].pk}/change/", None),
    "reports": ("get", lambda o: REPORTS, None),
    "policies": ("get", lambda o: POLICIES, None),
    "policy add form": ("get", lambda o: f"{POLICIES}add/", None),
    "policy add": (
        "post",
        lambda o: f"{POLICIES}add/",
        {"source": "", "threshold": 3, "window_days": 10},
    ),
    "policy change form": ("get", lambda o: f"{POLICIES}{o['policy'].pk}/change/", None),
    "policy change": (
        "post",
        lambda o: f"{POLICIES}{o['policy'].pk}/change/",
        {"threshold": 2, "window_days": 9},
    ),
}


@pytest.fixture
def open_path(moderator):
    """Call one of PATHS, by name, as a given client."""
    objects = {"case": flagged_case(reports=2)}
    objects["policy"] = services.policy_save(
        source_id=SourceFactory().pk, threshold=4, window_days=30, actor=moderator
    )
    objects["action"] = ModerationAction.objects.get(action=ActionKind.POLICY_CHANGE)

    def call(client, name):
        method, url, data = PATHS[name]
        data = data(objects) if callable(data) else data
        if method == "post":
            return "post", client.post(url(objects), data)
        return "get", client.get(url(objects))

    return call


@pytest.mark.parametrize("name", PATHS)
@pytest.mark.parametrize("who", ["anonymous", "reader"])
def test_anonymous_and_plain_readers_are_sent_to_sign_in(open_path, name, who):
    # given a visitor who is not staff
    user = None if who == "anonymous" else UserFactory()
    actions_before = ModerationAction.objects.count()

    # when they open a moderator path
    _method, response = open_path(client_for(user), name)

    # then they are sent to the admin's sign-in page, and nothing is written
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    assert ModerationAction.objects.count() == actions_before


@pytest.mark.parametrize("name", PATHS)
def test_staff_outside_the_group_are_refused(open_path, name):
    # given a staff member who is not a moderator
    staff = UserFactory(is_staff=True)
    actions_before = ModerationAction.objects.count()

    # when they open a moderator path
    _method, response = open_path(client_for(staff), name)

    # then it is forbidden, and nothing is written
    assert response.status_code == 403
    assert ModerationAction.objects.count() == actions_before


@pytest.mark.parametrize("name", PATHS)
def test_moderators_can_use_every_path(open_path, moderator_client, name):
    method, response = open_path(moderator_client, name)

    # a page (200) or, after a POST, a redirect to the next page (302)
    assert response.status_code == (200 if method == "get" else 302)
    if method == "post":
        assert not response["Location"].startswith("/admin/login/")


def test_decision_urls_refuse_get_and_unknown_decisions(moderator_client):
    case = flagged_case()

    assert moderator_client.get(f"{QUEUE}{case.pk}/decide/note/").status_code == 405
    assert moderator_client.post(f"{QUEUE}{case.pk}/decide/erase/").status_code == 404
    assert moderator_client.post(f"{QUEUE}999999/decide/protect/").status_code == 404
    assert not ModerationAction.objects.exists()


def test_decision_buttons_are_csrf_protected(moderator):
    # given a moderator's browser, which checks CSRF tokens
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(moderator)
    case = flagged_case()

    # when a forged form posts a decision without the token
    response = browser.post(f"{QUEUE}{case.pk}/decide/protect/", {"note": ""})

    # then it is refused and nothing changes
    assert response.status_code == 403
    assert not ModerationAction.objects.exists()


def test_decision_form_on_the_case_page_posts_with_its_token(moderator):
    # given a moderator's browser, which checks CSRF tokens, on the case page
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(moderator)
    case = flagged_case()
    form = parse(browser.get(f"{QUEUE}{case.pk}/change/")).one("#case-decision-form")
    token = form.one('input[name="csrfmiddlewaretoken"]')["value"]
    protect_url = next(
        button["formaction"]
        for button in form.select("button")
        if "/decide/protect/" in button["formaction"]
    )

    # when they press "Protect"
    response = browser.post(protect_url, {"note": "", "csrfmiddlewaretoken": token})

    # then the decision is taken
    assert response.status_code == 302
    assert ImageCase.objects.get(pk=case.pk).protected


# --- the staff image view ---------------------------------------------------------------


def test_moderators_see_a_blocked_image_that_the_public_media_url_hides(moderator_client):
    # given an image the machine blocked
    case = blocked_case()
    image = Image.objects.get(pk=case.image_id)
    assert image.is_blocked
    assert Client().get(image.original.url).status_code == 404

    # when a moderator opens it through the admin
    response = moderator_client.get(f"{QUEUE}{case.pk}/image/")

    # then they get the file, marked private and uncacheable
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    with image.original.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()
    assert "private" in response["Cache-Control"]
    assert "no-store" in response["Cache-Control"]


def test_the_queue_and_the_case_page_show_images_through_the_staff_view(moderator_client):
    case = blocked_case()
    image_url = f"{QUEUE}{case.pk}/image/"

    queue = parse(moderator_client.get(QUEUE))
    page = parse(moderator_client.get(f"{QUEUE}{case.pk}/change/"))

    assert queue.one(".field-thumbnail img")["src"] == image_url
    assert page.one("img.case-image")["src"] == image_url
    # and never the public media URL
    public_url = Image.objects.get(pk=case.image_id).original.url
    assert public_url not in moderator_client.get(QUEUE).content.decode()


# --- the queue --------------------------------------------------------------------------


def test_the_queue_shows_each_case_with_its_facts_and_reason_breakdown(moderator_client):
    # given a case the machine blocked: 3 violence, 2 nudity
    source = SourceFactory(name="Le Quotidien")
    image = ImageFactory(article=ArticleFactory(title="Crue de la Seine", source=source))
    case = blocked_case(image=image, reasons=("violence", "nudity"))

    # when a moderator opens the queue (in French, the site's language)
    response = moderator_client.get(QUEUE)

    # then the row shows the article, source, state, reporters, score and reasons
    assert response.status_code == 200
    (row,) = queue_rows(response)
    assert row.one("td.field-article_and_source").text == "Crue de la Seine Le Quotidien"
    assert row.one("td.field-state_display").text.startswith(
        in_french(CaseState.AUTO_BLOCKED.label)
    )
    assert row.one("td.field-reporters").text == "5"
    assert row.one("td.field-score").text == "5"
    assert row.one("td.field-reasons").text == "violence 3 · nudité 2"
    assert row.one("td.field-first_reported_at").text != "-"
    assert row.one("td.field-since_block").text.startswith("0")
    assert case.pk in queue_ids(response)


def test_the_queue_runs_a_bounded_number_of_queries(
    moderator_client, django_assert_max_num_queries
):
    # given 30 cases with several reports each, some blocked
    for i in range(30):
        if i % 5 == 0:
            blocked_case(reasons=("violence", "nudity", "spam"))
        else:
            flagged_case(reports=3, reasons=("hate", "violence"))

    # when a moderator opens the queue
    with django_assert_max_num_queries(12):
        response = moderator_client.get(QUEUE)

    # then every case is on the page, each with its breakdown
    rows = queue_rows(response)
    assert len(rows) == 30
    breakdowns = {row.one("td.field-reasons").text for row in rows}
    assert breakdowns == {"nudité 2 · violence 2 · spam 1", "haine 2 · violence 1"}


def test_the_case_page_runs_a_bounded_number_of_queries(
    moderator_client, django_assert_max_num_queries
):
    case = blocked_case(reports=20, reasons=("violence", "nudity", "spam"))
    services.case_decide(case_id=case.pk, decision=Decision.NOTE, actor=UserFactory(), note="vu")

    with django_assert_max_num_queries(12):
        response = moderator_client.get(f"{QUEUE}{case.pk}/change/")

    assert len(parse(response).select("tr.case-report")) == 20


def test_default_order_is_awaiting_review_first_then_by_score(moderator_client, moderator):
    # given (default threshold 5: "rising" from 3 reporters, half the threshold rounded up)
    low = flagged_case(reports=1)
    two = flagged_case(reports=2)
    rising = flagged_case(reports=3)
    blocked = blocked_case(reports=6)
    reviewed = blocked_case(reports=7)
    services.case_decide(case_id=reviewed.pk, decision=Decision.CONFIRM, actor=moderator)

    # when the moderator opens the queue
    response = moderator_client.get(QUEUE)

    # then cases awaiting review come first, each group by score
    assert queue_ids(response) == [blocked.pk, rising.pk, reviewed.pk, two.pk, low.pk]


def test_a_column_header_sorts_the_queue(moderator_client):
    # given cases with different scores
    cases = [flagged_case(reports=n) for n in (2, 1, 3)]

    # when the moderator clicks the score header
    header = parse(moderator_client.get(QUEUE)).one("th.column-score div.text a")
    response = moderator_client.get(QUEUE + header["href"])

    # then the queue follows that column
    scores = [case.score for case in response.context["cl"].result_list]
    assert sorted(scores) in (scores, scores[::-1])
    assert {c.pk for c in response.context["cl"].result_list} == {c.pk for c in cases}


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("needs_review", {"auto_blocked", "rising"}),
        ("blocked", {"auto_blocked", "confirmed"}),
        ("restored", {"restored"}),
        ("protected", {"protected"}),
    ],
)
def test_the_queue_filter(moderator_client, moderator, queue, expected):
    # given one case in each situation
    cases = {
        "quiet": flagged_case(reports=1),
        "rising": flagged_case(reports=3),
        "auto_blocked": blocked_case(),
        "confirmed": blocked_case(),
        "restored": blocked_case(),
        "protected": protected_case(),
    }
    services.case_decide(case_id=cases["confirmed"].pk, decision=Decision.CONFIRM, actor=moderator)
    services.case_decide(case_id=cases["restored"].pk, decision=Decision.RESTORE, actor=moderator)

    # when the moderator picks a queue
    response = moderator_client.get(QUEUE, {"queue": queue})

    # then exactly those cases are listed
    names = {pk: name for name, case in cases.items() for pk in [case.pk]}
    assert {names[pk] for pk in queue_ids(response)} == expected


def test_the_source_filter(moderator_client):
    ours = SourceFactory(slug="le-quotidien")
    mine = flagged_case(image=ImageFactory(article=ArticleFactory(source=ours)))
    flagged_case()

    response = moderator_client.get(QUEUE, {"source": "le-quotidien"})

    assert queue_ids(response) == [mine.pk]


def test_the_reason_filter_reads_open_reports(moderator_client, moderator):
    nudity = flagged_case(reports=2, reasons=("nudity",))
    flagged_case(reports=2, reasons=("spam",))
    dismissed = flagged_case(reports=2, reasons=("nudity",))
    services.case_decide(case_id=dismissed.pk, decision=Decision.DISMISS, actor=moderator)

    response = moderator_client.get(QUEUE, {"reason": "nudity"})

    assert queue_ids(response) == [nudity.pk]


def test_the_date_filter_on_the_last_report(moderator_client):
    recent = flagged_case()
    old = flagged_case()
    ImageCase.objects.filter(pk=old.pk).update(last_reported_at=timezone.now() - timedelta(days=40))
    # as the filter's "past 7 days" link says it
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    response = moderator_client.get(
        QUEUE,
        {
            "last_reported_at__gte": str(today - timedelta(days=7)),
            "last_reported_at__lt": str(today + timedelta(days=1)),
        },
    )

    assert queue_ids(response) == [recent.pk]


@pytest.mark.parametrize("query", ["Seine", "pont"])
def test_search_by_article_title_or_caption(moderator_client, query):
    found = flagged_case(
        image=ImageFactory(
            caption="Le pont submergé", article=ArticleFactory(title="Crue de la Seine")
        )
    )
    flagged_case(image=ImageFactory(caption="Un stade", article=ArticleFactory(title="Football")))

    response = moderator_client.get(QUEUE, {"q": query})

    assert queue_ids(response) == [found.pk]


def test_cases_cannot_be_added_changed_or_deleted_in_admin(client):
    # not even by a superuser: state changes only through decisions
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    case = flagged_case()

    assert client.get(f"{QUEUE}add/").status_code == 403
    assert client.post(f"{QUEUE}{case.pk}/change/", {"state": "blocked"}).status_code == 403
    assert client.get(f"{QUEUE}{case.pk}/delete/").status_code == 403
    assert ImageCase.objects.get(pk=case.pk).state == CaseState.FLAGGED
    page = parse(client.get(f"{QUEUE}{case.pk}/change/"))
    assert not page.select("#imagecase_form input[name=state]")
    assert not page.select("#imagecase_form select")


# --- the case page ----------------------------------------------------------------------


def test_the_case_page_shows_the_image_every_report_the_article_and_the_audit_trail(
    moderator_client, moderator
):
    # given a blocked case whose first reporter has an earlier report upheld
    article = ArticleFactory(title="Crue de la Seine")
    image = ImageFactory(article=article)
    earlier = flagged_case(reports=1)
    services.case_decide(case_id=earlier.pk, decision=Decision.CONFIRM, actor=moderator)
    report(image, 0, reason="violence", comment="Insoutenable")
    case = blocked_case(image=image, reports=4, start=1, reasons=("nudity",))
    services.case_decide(case_id=case.pk, decision=Decision.NOTE, actor=moderator, note="À revoir")

    # when a moderator opens the case
    page = parse(moderator_client.get(f"{QUEUE}{case.pk}/change/"))

    # then the image is large, with a link to the article
    assert page.one("img.case-image")["width"] == "64"  # never scaled up
    links = [a["href"] for a in page.select(".field-article_link a")]
    assert links == [f"/admin/articles/article/{article.pk}/change/", f"/articles/{article.slug}/"]
    # every report with its reason, comment and the reporter's record
    rows = page.select("tr.case-report")
    assert len(rows) == 5
    first = next(row for row in rows if "Insoutenable" in row.text)
    assert "violence" in first.text
    assert first.one("td.case-report-record").text == (
        f"{in_french(ReportOutcome.OPEN.label)} 1 · {in_french(ReportOutcome.UPHELD.label)} 1"
    )
    # the audit trail, newest first, naming the moderator and the system
    trail = page.select("tr.case-action")
    assert [row.children[2].text for row in trail] == ["modo", in_french("system")]
    assert "À revoir" in trail[0].text
    # and no form field: only the decision form
    assert not page.select("#imagecase_form textarea, #imagecase_form select")
    assert page.select("#case-decision-form textarea[name=note]")


def test_staff_who_may_only_view_see_no_decision_buttons(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*_permissions("view_imagecase"))
    client.force_login(staff)
    case = flagged_case()

    page = parse(client.get(f"{QUEUE}{case.pk}/change/"))

    assert not page.select("#case-decision-form")
    assert client.post(f"{QUEUE}{case.pk}/decide/protect/").status_code == 403


def _permissions(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="moderation", codename__in=codenames)


# --- decisions: buttons and admin actions -------------------------------------------------

# Each decision: how to set up a case it applies to, and its effect.


def _setup(decision) -> ImageCase:
    match decision:
        case Decision.CONFIRM | Decision.RESTORE:
            return blocked_case()
        case Decision.UNPROTECT:
            return protected_case()
        case _:
            return flagged_case(reports=2)


def _assert_effect(decision, case_id):
    case = ImageCase.objects.select_related("image").get(pk=case_id)
    open_reports = Report.objects.filter(image_id=case.image_id, outcome=ReportOutcome.OPEN)
    match decision:
        case Decision.CONFIRM:
            assert case.state == CaseState.BLOCKED
            assert case.image.is_blocked
            assert not open_reports.exists()
        case Decision.RESTORE:
            assert case.state == CaseState.RESTORED
            assert not case.image.is_blocked
            assert (case.open_report_count, case.score) == (0, 0)
        case Decision.DISMISS:
            assert not open_reports.exists()
            assert case.open_report_count == 0
            assert not case.image.is_blocked
        case Decision.PROTECT:
            assert case.protected
        case Decision.UNPROTECT:
            assert not case.protected
        case Decision.NOTE:
            assert case.state == CaseState.FLAGGED


def _new_actions(before_id):
    return ModerationAction.objects.filter(id__gt=before_id).order_by("id")


def _last_action_id():
    return ModerationAction.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("decision", list(Decision))
def test_each_button_writes_one_audit_row_naming_the_moderator(
    moderator_client, moderator, decision
):
    # given a case the decision applies to
    case = _setup(decision)
    before = _last_action_id()

    # when the moderator presses the button, with a note
    response = moderator_client.post(
        f"{QUEUE}{case.pk}/decide/{decision.value}/", {"note": "  Vu avec la rédaction "}
    )

    # then back to the case page, with one audit row naming the moderator, and its effect
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}{case.pk}/change/"
    (action,) = _new_actions(before)
    assert action.actor == moderator
    assert action.image_id == case.image_id
    assert action.action == decision.value
    assert action.reason == "Vu avec la rédaction"
    _assert_effect(decision, case.pk)
    assert messages_of(moderator_client.get(response["Location"]))


def test_a_refused_decision_shows_why_and_writes_nothing(moderator_client):
    # given a case that is not blocked
    case = flagged_case(reports=2)
    before = _last_action_id()

    # when the moderator presses "Restore"
    response = moderator_client.post(f"{QUEUE}{case.pk}/decide/restore/", follow=True)

    # then the service's reason is shown as an error, and nothing is written
    assert response.status_code == 200
    page = parse(response)
    (message,) = page.select("ul.messagelist li.error")
    assert message.text == in_french("Only a blocked image can be restored.")
    assert not _new_actions(before).exists()
    assert ImageCase.objects.get(pk=case.pk).state == CaseState.FLAGGED


def test_an_empty_note_is_refused(moderator_client):
    case = flagged_case()

    response = moderator_client.post(f"{QUEUE}{case.pk}/decide/note/", {"note": "  "}, follow=True)

    assert parse(response).select("ul.messagelist li.error")
    assert not ModerationAction.objects.exists()


def test_an_overlong_note_is_refused(moderator_client):
    case = flagged_case()

    response = moderator_client.post(
        f"{QUEUE}{case.pk}/decide/protect/", {"note": "x" * 2001}, follow=True
    )

    assert parse(response).select("ul.messagelist li.error")
    assert not ModerationAction.objects.exists()
    assert not ImageCase.objects.get(pk=case.pk).protected


def test_the_decision_returns_to_the_case_with_the_queue_filters_kept(moderator_client):
    case = flagged_case()

    response = moderator_client.post(
        f"{QUEUE}{case.pk}/decide/protect/?_changelist_filters=queue%3Dneeds_review"
    )

    assert response["Location"] == (
        f"{QUEUE}{case.pk}/change/?_changelist_filters=queue%3Dneeds_review"
    )


ACTIONS = [d for d in Decision if d != Decision.NOTE]


@pytest.mark.parametrize("size", [1, 3], ids=["single", "bulk"])
@pytest.mark.parametrize("decision", ACTIONS)
def test_each_admin_action_writes_one_audit_row_per_case(
    moderator_client, moderator, decision, size
):
    # given cases the decision applies to, and one it doesn't touch
    cases = [_setup(decision) for _ in range(size)]
    untouched = _setup(decision)
    before = _last_action_id()

    # when the moderator applies the action to the selected cases
    response = moderator_client.post(
        QUEUE,
        {"action": decision.value, "_selected_action": [c.pk for c in cases], "index": 0},
        follow=True,
    )

    # then one audit row per case, naming the moderator, and the effect on each
    assert response.status_code == 200
    actions = list(_new_actions(before))
    assert sorted(a.image_id for a in actions) == sorted(c.image_id for c in cases)
    assert {(a.actor_id, a.action) for a in actions} == {(moderator.pk, decision.value)}
    for case in cases:
        _assert_effect(decision, case.pk)
    assert not ModerationAction.objects.filter(id__gt=before, image_id=untouched.image_id).exists()
    (message,) = parse(response).select("ul.messagelist li.success")
    assert str(size) in message.text


def test_a_bulk_action_reports_successes_and_refusals(moderator_client, moderator):
    # given two blocked cases and one that is not
    blocked = [blocked_case(), blocked_case()]
    flagged = flagged_case()
    before = _last_action_id()

    # when the moderator restores all three
    response = moderator_client.post(
        QUEUE,
        {
            "action": "restore",
            "_selected_action": [c.pk for c in [*blocked, flagged]],
            "index": 0,
        },
        follow=True,
    )

    # then two are restored, and the third is named with the reason it was refused
    page = parse(response)
    assert "2" in page.one("ul.messagelist li.success").text
    refusal = page.one("ul.messagelist li.error").text
    assert f"#{flagged.pk}" in refusal
    assert in_french("Only a blocked image can be restored.") in refusal
    assert _new_actions(before).count() == 2
    assert ImageCase.objects.get(pk=flagged.pk).state == CaseState.FLAGGED


def test_the_queue_offers_no_delete_action(moderator_client, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    flagged_case()

    for c in (moderator_client, client):
        options = parse(c.get(QUEUE)).select("select[name=action] option")
        values = {o["value"] for o in options if o["value"]}
        assert values == {"confirm", "restore", "dismiss", "protect", "unprotect"}


# --- the audit log and reports ------------------------------------------------------------


def test_the_audit_log_has_no_add_change_or_delete_even_for_a_superuser(client):
    # given a superuser and an audit row
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    case = blocked_case()
    action = ModerationAction.objects.get(image_id=case.image_id)

    # then they can read it, and nothing more
    assert client.get(AUDIT_LOG).status_code == 200
    assert client.get(f"{AUDIT_LOG}{action.pk}/change/").status_code == 200
    assert client.get(f"{AUDIT_LOG}add/").status_code == 403
    assert client.post(f"{AUDIT_LOG}{action.pk}/change/", {"reason": "x"}).status_code == 403
    assert client.get(f"{AUDIT_LOG}{action.pk}/delete/").status_code == 403
    assert client.post(f"{AUDIT_LOG}{action.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(
        AUDIT_LOG, {"action": "delete_selected", "_selected_action": [action.pk], "index": 0}
    )
    assert response.status_code in (200, 302)
    assert ModerationAction.objects.filter(pk=action.pk, reason=action.reason).exists()
    assert not parse(client.get(AUDIT_LOG)).select("select[name=action]")


def test_the_audit_log_filters_by_action_and_actor(moderator_client, moderator):
    blocked_case()
    case = flagged_case()
    services.case_decide(case_id=case.pk, decision=Decision.PROTECT, actor=moderator)

    by_action = moderator_client.get(AUDIT_LOG, {"action__exact": "auto_block"})
    by_actor = moderator_client.get(AUDIT_LOG, {"actor__id__exact": moderator.pk})
    by_system = moderator_client.get(AUDIT_LOG, {"actor__isnull": "True"})

    assert [a.action for a in by_action.context["cl"].result_list] == ["auto_block"]
    assert [a.action for a in by_actor.context["cl"].result_list] == ["protect"]
    assert [a.action for a in by_system.context["cl"].result_list] == ["auto_block"]
    # and a date hierarchy
    assert parse(moderator_client.get(AUDIT_LOG)).select("nav.toplinks")


def test_reports_are_a_read_only_list(client, moderator_client):
    case = flagged_case(reports=2)
    report_row = Report.objects.filter(image_id=case.image_id).first()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert len(moderator_client.get(REPORTS).context["cl"].result_list) == 2
    assert client.get(f"{REPORTS}add/").status_code == 403
    assert client.post(f"{REPORTS}{report_row.pk}/change/", {"reason": "spam"}).status_code == 403
    assert client.get(f"{REPORTS}{report_row.pk}/delete/").status_code == 403


# --- policies -----------------------------------------------------------------------------


def test_adding_a_policy_in_admin_writes_one_policy_change_row(moderator_client, moderator):
    source = SourceFactory()

    response = moderator_client.post(
        f"{POLICIES}add/", {"source": source.pk, "threshold": 3, "window_days": 10}
    )

    assert response.status_code == 302
    policy = Policy.objects.get(source=source)
    assert (policy.threshold, policy.window_days) == (3, 10)
    (action,) = ModerationAction.objects.all()
    assert (action.action, action.actor, action.image_id) == (
        ActionKind.POLICY_CHANGE,
        moderator,
        None,
    )
    assert action.details["after"] == {"threshold": 3, "window_days": 10}


def test_changing_a_policy_in_admin_writes_one_policy_change_row(moderator_client, moderator):
    # given the global policy
    policy = services.policy_save(source_id=None, threshold=5, window_days=30, actor=moderator)
    before = _last_action_id()

    # when a moderator lowers its threshold
    response = moderator_client.post(
        f"{POLICIES}{policy.pk}/change/", {"threshold": 2, "window_days": 30}
    )

    # then the policy changes through the service, which logs it once
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.source_id, policy.threshold) == (None, 2)
    (action,) = _new_actions(before)
    assert (action.action, action.actor) == (ActionKind.POLICY_CHANGE, moderator)
    assert action.details["before"] == {"threshold": 5, "window_days": 30}
    assert action.details["after"] == {"threshold": 2, "window_days": 30}


def test_policy_form_refuses_a_threshold_below_one_and_a_second_global_policy(
    moderator_client, moderator
):
    services.policy_save(source_id=None, threshold=5, window_days=30, actor=moderator)
    before = _last_action_id()

    zero = moderator_client.post(
        f"{POLICIES}add/", {"source": "", "threshold": 0, "window_days": 3}
    )
    second = moderator_client.post(
        f"{POLICIES}add/", {"source": "", "threshold": 4, "window_days": 3}
    )

    assert zero.status_code == second.status_code == 200  # the form, with errors
    assert Policy.objects.count() == 1
    assert not _new_actions(before).exists()


def test_policies_cannot_be_deleted(moderator_client, client, moderator):
    policy = services.policy_save(source_id=None, threshold=5, window_days=30, actor=moderator)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert moderator_client.get(f"{POLICIES}{policy.pk}/delete/").status_code == 403
    assert client.post(f"{POLICIES}{policy.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Policy.objects.filter(pk=policy.pk).exists()


def test_case_page_lists_the_latest_reports_and_links_to_all(moderator_client, monkeypatch):
    # given a case with more reports than the page lists
    monkeypatch.setattr("moderation.admin.CASE_PAGE_REPORTS", 2)
    case = flagged_case(reports=3)

    # when a moderator opens it
    page = parse(moderator_client.get(f"/admin/moderation/imagecase/{case.pk}/change/"))

    # then it says 3 reports, lists the latest 2, and links to every report of the image
    assert page.one("#case-reports-title").text == "3 signalements"
    assert len(page.select("tr.case-report")) == 2
    link = page.one(".case-reports p.help a")["href"]
    all_reports = moderator_client.get(link)
    assert all_reports.status_code == 200
    assert f"?image__id__exact={case.image_id}" in link
    assert all_reports.context["cl"].result_count == 3
