"""The moderators' workspace in Django admin: the queue, the case page, decisions
(buttons and actions), the audit log, reports and policies, and who may use them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from articles.models import Image
from moderation import rules, selectors, services
from moderation.models import (
    ActionKind,
    CaseState,
    ImageCase,
    ModerationAction,
    Policy,
    Report,
    ReporterMute,
    ReportOutcome,
)
from moderation.services import Decision
from tests.factories import ArticleFactory, ImageFactory, SourceFactory, UserFactory
from tests.html import parse
from tests.raw_http import NOT_UTF8, NULS, OUT_OF_RANGE
from tests.readers import held_case

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/imagecase/"
AUDIT_LOG = "/admin/moderation/moderationaction/"
REPORTS = "/admin/moderation/report/"
POLICIES = "/admin/moderation/policy/"
MUTES = "/admin/moderation/reportermute/"


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


def reader_key(n: int) -> str:
    return f"reader:{n:08d}"


def report(image, n, reason="violence", comment=""):
    return services.report_create(
        image_id=image.pk, reporter_key=reader_key(n), reason=reason, comment=comment
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


def mute_url(case: ImageCase, report: Report, *, unmute: bool = False) -> str:
    verb = "unmute" if unmute else "mute"
    return f"{QUEUE}{case.pk}/reports/{report.pk}/{verb}-reporter/"


def first_report(case: ImageCase) -> Report:
    return Report.objects.filter(image_id=case.image_id).order_by("id").first()


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
        lambda o: {
            "action": "protect",
            "_selected_action": [o["case"].pk],
            "index": 0,
            "post": "yes",
        },
    ),
    "mute a reporter": ("post", lambda o: mute_url(o["case"], o["report"]), {"reason": "r"}),
    "unmute a reporter": (
        "post",
        lambda o: mute_url(o["case"], o["muted_report"], unmute=True),
        {"reason": "r"},
    ),
    "muted reporters": ("get", lambda o: MUTES, None),
    "muted reporter": ("get", lambda o: f"{MUTES}{o['mute'].pk}/change/", None),
    "unmute action": (
        "post",
        lambda o: MUTES,
        lambda o: {"action": "unmute", "_selected_action": [o["mute"].pk], "index": 0},
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
    objects["report"] = first_report(objects["case"])
    # A reader a moderator muted, who reported the case too.
    report(objects["case"].image, 99)
    objects["muted_report"] = Report.objects.get(reporter_key=reader_key(99))
    services.reporter_mute(reporter_key=reader_key(99), actor=moderator)
    objects["mute"] = ReporterMute.objects.get()
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
    # the score against the threshold in force, over the distinct readers
    assert row.one("td.field-score_and_readers").text == "5 / 5 5 lecteurs"
    assert row.one("td.field-reasons").text == "violence 3 · nudité 2"
    assert row.one("td.field-reported").text not in ("", "-", "—")
    assert row.one("td.field-since_block").text.startswith("0")
    assert case.pk in queue_ids(response)


def test_the_queue_runs_a_bounded_number_of_queries(
    moderator_client, django_assert_max_num_queries
):
    # given 30 cases with several reports each, some blocked, some held as grouped
    for i in range(30):
        if i % 5 == 0:
            blocked_case(reasons=("violence", "nudity", "spam"))
        elif i % 5 == 1:
            held_case(held_reports=2)
        else:
            flagged_case(reports=3, reasons=("hate", "violence"))

    # when a moderator opens the queue
    with django_assert_max_num_queries(12):
        response = moderator_client.get(QUEUE)

    # then every case is on the page, each with its breakdown and held reports
    rows = queue_rows(response)
    assert len(rows) == 30
    breakdowns = {row.one("td.field-reasons").text for row in rows}
    assert breakdowns == {
        "nudité 2 · violence 2 · spam 1",
        "haine 2 · violence 1",
        "violence 3",
    }
    markers = [row for row in rows if in_french("Grouped reports") in row.text]
    assert len(markers) == 6
    assert all(f"{in_french('Grouped reports')} (2)" in row.text for row in markers)


def test_the_case_page_runs_a_bounded_number_of_queries(
    moderator_client, django_assert_max_num_queries
):
    case = blocked_case(reports=20, reasons=("violence", "nudity", "spam"))
    services.case_decide(case_id=case.pk, decision=Decision.NOTE, actor=UserFactory(), note="vu")

    with django_assert_max_num_queries(12):
        response = moderator_client.get(f"{QUEUE}{case.pk}/change/")

    assert len(parse(response).select("tr.case-report")) == 20


def test_the_case_page_runs_as_many_queries_for_20_reporters_as_for_2(moderator_client, settings):
    # given reporters whose records are longer than the history that sets their
    # weight (so their latest verdicts are ranked), some of them muted
    settings.REPUTATION_HISTORY = 1
    moderator = UserFactory(is_staff=True)
    cases = {}
    for size, start in [(2, 100), (20, 200)]:
        upheld = flagged_case(reports=size, start=start)
        services.case_decide(case_id=upheld.pk, decision=Decision.CONFIRM, actor=moderator)
        dismissed = flagged_case(reports=size, start=start)
        services.case_decide(case_id=dismissed.pk, decision=Decision.DISMISS, actor=moderator)
        cases[size] = flagged_case(reports=size, start=start)
        services.reporter_mute(reporter_key=reader_key(start), actor=moderator)

    # when a moderator opens the small case, then the large one (after a first
    # page that fills the caches of content types and permissions)
    moderator_client.get(f"{QUEUE}{cases[2].pk}/change/")
    counts = {}
    for size, case in cases.items():
        with CaptureQueriesContext(connection) as captured:
            response = moderator_client.get(f"{QUEUE}{case.pk}/change/")
        assert len(parse(response).select("tr.case-report")) == size
        counts[size] = len(captured.captured_queries)

    # then the records, weights and mutes cost no query per report
    assert counts[20] == counts[2] <= 12


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
    header = parse(moderator_client.get(QUEUE)).one("th.column-score_and_readers div.text a")
    response = moderator_client.get(QUEUE + header["href"])

    # then the queue follows that column
    scores = [case.score for case in response.context["cl"].result_list]
    assert sorted(scores) in (scores, scores[::-1])
    assert {c.pk for c in response.context["cl"].result_list} == {c.pk for c in cases}


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("needs_review", {"auto_blocked", "rising", "held"}),
        ("grouped", {"held"}),
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
        "held": held_case(),
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
    assert not page.select(".case-mute-form")
    assert client.post(f"{QUEUE}{case.pk}/decide/protect/").status_code == 403
    assert client.post(mute_url(case, first_report(case))).status_code == 403
    assert not ReporterMute.objects.exists()


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
        case Decision.RELEASE:
            return held_case(held_reports=2)
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
        case Decision.RELEASE:
            # the 2 held reports count now, and nothing holds the automatic block
            assert case.brigade_held_at is None
            assert not Report.objects.filter(
                image_id=case.image_id, outcome=ReportOutcome.HELD
            ).exists()
            allowance = settings.BRIGADE_NETWORK_ALLOWANCE
            assert (case.open_report_count, case.score) == (allowance + 2, allowance + 2)


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
        {
            "action": decision.value,
            "_selected_action": [c.pk for c in cases],
            "index": 0,
            "post": "yes",
        },
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
            "post": "yes",
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


def test_a_bulk_action_asks_for_confirmation_before_deciding(moderator_client, moderator):
    # given two blocked cases and one that is not
    blocked = [blocked_case(), blocked_case()]
    flagged = flagged_case()
    selected = [*blocked, flagged]
    before = _last_action_id()

    # when the moderator picks "restore" for the three
    response = moderator_client.post(
        QUEUE, {"action": "restore", "_selected_action": [c.pk for c in selected], "index": 0}
    )

    # then a confirmation page, and nothing decided yet
    assert response.status_code == 200
    assert not _new_actions(before).exists()
    assert ImageCase.objects.filter(state=CaseState.AUTO_BLOCKED).count() == 2
    page = parse(response)
    rows = page.select(".case-confirmation-list tbody tr")
    assert len(rows) == 3
    # it says which case will be refused, and why
    (refused,) = page.select("tr.case-confirmation-refused")
    assert f"/{flagged.pk}/change/" in refused.one("a")["href"]
    assert in_french("Only a blocked image can be restored.") in refused.text
    assert len(page.select("tr.case-confirmation-applied")) == 2
    # a way back to the queue that decides nothing
    assert page.one("a.cancel-link")["href"].startswith(QUEUE)
    # and a form carrying the action, every selected id and post=yes
    form = page.one("form#case-action-confirm-form")
    fields = [(i["name"], i["value"]) for i in form.select("input[type=hidden]")]
    carried = {value for name, value in fields if name == "_selected_action"}
    assert carried == {str(c.pk) for c in selected}
    assert ("action", "restore") in fields
    assert ("post", "yes") in fields

    # when they confirm, with what the form carries
    data = {"_selected_action": sorted(carried), "action": "restore", "post": "yes"}
    confirmed = moderator_client.post(QUEUE, data, follow=True)

    # then the two blocked cases are restored, one audit row each, and the third refused
    assert confirmed.status_code == 200
    assert sorted(a.image_id for a in _new_actions(before)) == sorted(c.image_id for c in blocked)
    assert ImageCase.objects.filter(state=CaseState.RESTORED).count() == 2
    assert f"#{flagged.pk}" in parse(confirmed).one("ul.messagelist li.error").text


def test_a_bulk_action_on_all_the_filtered_cases_is_confirmed_for_all_of_them(
    moderator_client,
):
    # given more protected cases than a page shows, and one unprotected case
    protected = [protected_case() for _ in range(3)]
    other = flagged_case()
    before = _last_action_id()
    filtered = f"{QUEUE}?queue=protected"

    # when the moderator selects "all" the protected ones (one box ticked on the page)
    page = parse(
        moderator_client.post(
            filtered,
            {
                "action": "unprotect",
                "_selected_action": [protected[0].pk],
                "select_across": "1",
                "index": 0,
            },
        )
    )

    # then the confirmation counts every filtered case, and carries the selection across
    assert len(page.select(".case-confirmation-list tbody tr")) == 3
    fields = {
        (i["name"], i["value"]) for i in page.select("#case-action-confirm-form input[type=hidden]")
    }
    assert ("select_across", "1") in fields

    # when they confirm, on the same filtered URL
    data = {name: value for name, value in fields if name != "csrfmiddlewaretoken"}
    moderator_client.post(filtered, data)

    # then the three are unprotected, and the other case untouched
    assert sorted(a.image_id for a in _new_actions(before)) == sorted(c.image_id for c in protected)
    assert not ImageCase.objects.filter(protected=True).exists()
    assert ImageCase.objects.get(pk=other.pk).state == CaseState.FLAGGED


@pytest.mark.parametrize("decision", ACTIONS)
def test_every_bulk_action_waits_for_its_confirmation(moderator_client, decision):
    # given a case the decision applies to
    case = _setup(decision)
    before = _last_action_id()

    # when the action is chosen, without confirming
    response = moderator_client.post(
        QUEUE, {"action": decision.value, "_selected_action": [case.pk], "index": 0}
    )

    # then the confirmation page, naming the decision, and nothing written
    assert response.status_code == 200
    assert "case-action-confirmation" in parse(response).one("body")["class"]
    assert not _new_actions(before).exists()


def test_the_queue_offers_no_delete_action(moderator_client, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    flagged_case()

    for c in (moderator_client, client):
        options = parse(c.get(QUEUE)).select("select[name=action] option")
        values = {o["value"] for o in options if o["value"]}
        assert values == {"confirm", "restore", "dismiss", "protect", "unprotect", "release"}


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

    listing = moderator_client.get(REPORTS)
    assert len(listing.context["cl"].result_list) == 2
    assert [row.one("td.field-weight_display").text for row in queue_rows(listing)] == ["1", "1"]
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
    monkeypatch.setattr("moderation.admin.case_page.CASE_PAGE_REPORTS", 2)
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


# --- grouped reports ("signalements groupés") ---------------------------------------------


def test_a_held_case_is_marked_in_the_queue_with_its_held_reports(moderator_client):
    # given a case whose burst of reports is held, and a case reported as usual
    held = held_case(held_reports=4)
    usual = flagged_case(reports=3)

    # when a moderator opens the queue
    response = moderator_client.get(QUEUE)
    rows = dict(zip(queue_ids(response), queue_rows(response), strict=True))

    # then the held case carries the marker with its number of held reports, the other none
    badges = [b.text for b in rows[held.pk].select("td.field-state_display .case-badge")]
    assert f"{in_french('Grouped reports')} (4)" in badges
    assert in_french("Grouped reports") not in rows[usual.pk].text


def test_the_grouped_reports_filter_is_offered_in_the_queue(moderator_client):
    held = held_case()
    flagged_case(reports=3)

    page = parse(moderator_client.get(QUEUE))
    link = next(a for a in page.select("#changelist-filter a") if "queue=grouped" in a["href"])
    response = moderator_client.get(QUEUE + link["href"])

    assert link.text == in_french("Grouped reports")
    assert queue_ids(response) == [held.pk]


def test_the_case_page_shows_the_hold_each_reports_outcome_and_weight(moderator_client, moderator):
    # given a held burst (3 counted, 2 held), one of whose counted reporters was then muted
    case = held_case(held_reports=2)
    muted = first_report(case)
    services.reporter_mute(reporter_key=muted.reporter_key, actor=moderator)
    case.refresh_from_db()

    # when a moderator opens the case
    page = parse(moderator_client.get(f"{QUEUE}{case.pk}/change/"))

    # then the page says since when the burst is held and how many reports it holds
    assert page.one(".field-brigade_held_at .readonly").text not in ("", "-", "—")
    assert page.one(".field-held_report_count_display .readonly").text == "2"
    assert "2" in page.one(".case-hold-text").text
    assert page.one(".field-score_display .readonly").text == "2 / 5"
    # every report with its outcome and weight, the held and the muted ones marked uncounted
    rows = page.select("tr.case-report")
    assert [row.one("td.case-report-weight").text for row in rows] == ["1"] * 5
    held_rows = page.select("tr.case-report-held")
    muted_rows = page.select("tr.case-report-muted")
    assert len(held_rows) == 2 and len(muted_rows) == 1
    for row in [*held_rows, *muted_rows]:
        assert "case-report-uncounted" in row["class"]
        assert row.one(".case-report-outcome .case-badge")
    assert held_rows[0].one(".case-report-outcome .case-badge").text == in_french(
        ReportOutcome.HELD.label
    )
    assert len(page.select("tr.case-report-uncounted")) == 3
    # each reporter's record counts their held and muted reports
    assert held_rows[0].one("td.case-report-record").text == (
        f"{in_french(ReportOutcome.HELD.label)} 1"
    )
    (muted_row,) = muted_rows
    assert muted_row.one("td.case-report-record").text == (
        f"{in_french(ReportOutcome.MUTED.label)} 1"
    )
    # the muted reporter is marked, with an Unmute button; the others can be muted
    assert muted_row.one(".case-reporter-muted").text == in_french("muted")
    assert muted_row.select("button.case-unmute") and not muted_row.select("button.case-mute")
    assert len(page.select("button.case-mute")) == 4
    # and "count the held reports" is offered
    labels = [b.text for b in page.select("#case-decision-form button")]
    assert in_french("Count the held reports") in labels


def test_count_the_held_reports_is_offered_only_where_reports_are_held(moderator_client):
    case = flagged_case(reports=3)

    page = parse(moderator_client.get(f"{QUEUE}{case.pk}/change/"))
    response = moderator_client.post(f"{QUEUE}{case.pk}/decide/release/", follow=True)

    labels = [b.text for b in page.select("#case-decision-form button")]
    assert in_french("Count the held reports") not in labels
    assert in_french("Confirm the block") in labels
    (error,) = parse(response).select("ul.messagelist li.error")
    assert error.text == in_french("No grouped reports are held on this image.")
    assert not ModerationAction.objects.filter(action=ActionKind.RELEASE).exists()


def test_counting_the_held_reports_counts_them_and_lifts_the_hold(moderator_client, moderator):
    # given a held burst: 3 reports counted, 3 held
    case = held_case(held_reports=3)
    before = _last_action_id()

    # when the moderator presses "Count the held reports"
    response = moderator_client.post(f"{QUEUE}{case.pk}/decide/release/", follow=True)

    # then the held reports are open and counted, the hold is lifted, one audit row
    case.refresh_from_db()
    assert (case.open_report_count, case.score) == (6, Decimal(6))
    assert case.brigade_held_at is None
    outcomes = set(Report.objects.filter(image_id=case.image_id).values_list("outcome", flat=True))
    assert outcomes == {ReportOutcome.OPEN}
    (action,) = _new_actions(before)
    assert (action.action, action.actor) == (ActionKind.RELEASE, moderator)
    assert action.details["released_reports"] == 3
    assert parse(response).select("ul.messagelist li.success")
    # and the queue no longer marks it
    assert case.pk not in queue_ids(moderator_client.get(QUEUE, {"queue": "grouped"}))


# --- reporters: records, weights, mutes ---------------------------------------------------


def test_the_case_page_shows_each_reporters_weight_now(moderator_client, moderator, settings):
    # given, on one image, reporters whose record changed after they reported it
    settings.REPUTATION_HISTORY = 2
    image = ImageFactory()
    report(image, 1)  # later upheld twice
    report(image, 2)  # later dismissed three times
    report(image, 3)  # dismissed once, then upheld twice: only the latest 2 verdicts count
    staff = UserFactory(is_staff=True)
    services.report_create(
        image_id=image.pk, reporter_key=f"user:{staff.pk}", user_id=staff.pk, reason="spam"
    )
    for n, verdicts in [(1, "CC"), (2, "DDD"), (3, "DCC")]:
        for verdict in verdicts:
            other = flagged_case(reports=1, start=n)
            decision = Decision.CONFIRM if verdict == "C" else Decision.DISMISS
            services.case_decide(case_id=other.pk, decision=decision, actor=moderator)
    case = ImageCase.objects.get(image=image)

    # when a moderator opens the case
    page = parse(moderator_client.get(f"{QUEUE}{case.pk}/change/"))

    # then each report shows what it weighed then, and its reporter's weight now:
    # the weight their next report would carry
    shown = {
        row.one("td.case-report-reporter").text: (
            row.one("td.case-report-weight").text,
            row.one("td.case-report-current-weight").text,
        )
        for row in page.select("tr.case-report")
    }
    # (each reporter by the one pseudonym the API and the audit log show too)
    assert shown == {
        rules.reporter_label(reporter_key=reader_key(1)): ("1", "1,25"),
        rules.reporter_label(reporter_key=reader_key(2)): ("1", "0,75"),
        rules.reporter_label(reporter_key=reader_key(3)): ("1", "1,25"),
        rules.reporter_label(reporter_key=f"user:{staff.pk}"): ("2", "2"),
    }
    expected = {
        reader_key(n): selectors.reporter_weight(reporter_key=reader_key(n)) for n in (1, 2, 3)
    }
    assert expected == {
        reader_key(1): Decimal("1.25"),
        reader_key(2): Decimal("0.75"),
        reader_key(3): Decimal("1.25"),
    }


def test_muting_a_reporter_from_the_case_page(moderator_client, moderator):
    # given reader 0, who reported this image and another one, both still open
    case = flagged_case(reports=3)
    other = flagged_case(reports=1)
    target = Report.objects.get(image_id=case.image_id, reporter_key=reader_key(0))
    before = _last_action_id()

    # when the moderator mutes them from this case, with a reason
    response = moderator_client.post(mute_url(case, target), {"reason": "  Signale tout  "})

    # then back to the case; the reporter is muted, by this moderator, for that reason
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}{case.pk}/change/"
    mute = ReporterMute.objects.get()
    assert (mute.reporter_key, mute.muted_by, mute.reason) == (
        reader_key(0),
        moderator,
        "Signale tout",
    )
    # their open reports leave both cases' counts and scores
    case.refresh_from_db()
    other.refresh_from_db()
    assert (case.open_report_count, case.score) == (2, 2)
    assert (other.open_report_count, other.score) == (0, 0)
    assert set(
        Report.objects.filter(reporter_key=reader_key(0)).values_list("outcome", flat=True)
    ) == {ReportOutcome.MUTED}
    # one audit row
    (action,) = _new_actions(before)
    assert (action.action, action.actor, action.reason, action.image_id) == (
        ActionKind.MUTE,
        moderator,
        "Signale tout",
        None,
    )
    # and the page says so, offering to unmute them
    page = parse(moderator_client.get(response["Location"]))
    (message,) = page.select("ul.messagelist li.success")
    assert message.text == in_french("Reporter muted.")
    (row,) = [r for r in page.select("tr.case-report") if r.select(".case-reporter-muted")]
    assert row.one("td.case-report-reporter").text.startswith(
        rules.reporter_label(reporter_key=reader_key(0))
    )
    assert row.one("button.case-unmute")


def test_muting_a_reporter_already_muted_shows_why_and_writes_nothing(moderator_client, moderator):
    case = flagged_case(reports=2)
    target = first_report(case)
    services.reporter_mute(reporter_key=target.reporter_key, actor=moderator)
    before = _last_action_id()

    response = moderator_client.post(mute_url(case, target), follow=True)

    (error,) = parse(response).select("ul.messagelist li.error")
    assert error.text == in_french("This reporter is already muted.")
    assert not _new_actions(before).exists()
    assert ReporterMute.objects.count() == 1


def test_unmuting_a_reporter_from_the_case_page(moderator_client, moderator):
    # given a muted reporter
    case = flagged_case(reports=2)
    target = first_report(case)
    services.reporter_mute(reporter_key=target.reporter_key, actor=moderator)
    before = _last_action_id()

    # when the moderator unmutes them
    response = moderator_client.post(mute_url(case, target, unmute=True), follow=True)

    # then they are no longer muted, one audit row, and their muted report stays uncounted
    assert not ReporterMute.objects.exists()
    (action,) = _new_actions(before)
    assert (action.action, action.actor) == (ActionKind.UNMUTE, moderator)
    assert Report.objects.get(pk=target.pk).outcome == ReportOutcome.MUTED
    assert ImageCase.objects.get(pk=case.pk).open_report_count == 1
    (message,) = parse(response).select("ul.messagelist li.success")
    assert message.text == in_french("Reporter unmuted.")
    # unmuting again is refused
    again = moderator_client.post(mute_url(case, target, unmute=True), follow=True)
    (error,) = parse(again).select("ul.messagelist li.error")
    assert error.text == in_french("This reporter is not muted.")


def test_mute_urls_refuse_get_other_cases_reports_and_overlong_reasons(moderator_client):
    case = flagged_case(reports=1)
    elsewhere = first_report(flagged_case(reports=1, start=50))

    assert moderator_client.get(mute_url(case, first_report(case))).status_code == 405
    assert moderator_client.post(mute_url(case, elsewhere)).status_code == 404
    response = moderator_client.post(
        mute_url(case, first_report(case)), {"reason": "x" * 2001}, follow=True
    )
    assert parse(response).select("ul.messagelist li.error")
    assert not ReporterMute.objects.exists()
    assert not ModerationAction.objects.exists()


def test_the_mute_button_is_csrf_protected_and_posts_with_its_token(moderator):
    # given a moderator's browser, which checks CSRF tokens
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(moderator)
    case = flagged_case(reports=1)
    url = mute_url(case, first_report(case))

    # when a forged form posts without the token, then the page's own form with it
    forged = browser.post(url, {"reason": ""})
    form = parse(browser.get(f"{QUEUE}{case.pk}/change/")).one(".case-mute-form")
    token = form.one('input[name="csrfmiddlewaretoken"]')["value"]
    pressed = browser.post(form["action"], {"reason": "", "csrfmiddlewaretoken": token})

    # then the forged one is refused, the real one mutes
    assert forged.status_code == 403
    assert form["action"] == url
    assert pressed.status_code == 302
    assert ReporterMute.objects.filter(reporter_key=reader_key(0)).exists()


# --- the muted reporters ------------------------------------------------------------------


def test_the_muted_reporters_list(moderator_client, moderator):
    # given two reporters muted, one with a reason
    services.reporter_mute(reporter_key=reader_key(1), actor=moderator, reason="Brigade")
    services.reporter_mute(reporter_key=reader_key(2), actor=moderator)

    # when a moderator opens the list
    response = moderator_client.get(MUTES)

    # then each is listed, newest first, with who muted them, why and when
    rows = queue_rows(response)
    assert [row.one("td.field-reporter_key, th.field-reporter_key").text for row in rows] == [
        reader_key(2),
        reader_key(1),
    ]
    assert rows[1].one("td.field-muted_by").text == "modo"
    assert rows[1].one("td.field-reason").text == "Brigade"
    assert rows[1].one("td.field-created_at").text not in ("", "-")


def test_the_muted_reporters_are_read_only_even_for_a_superuser(client, moderator):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    services.reporter_mute(reporter_key=reader_key(1), actor=moderator)
    mute = ReporterMute.objects.get()

    assert client.get(f"{MUTES}{mute.pk}/change/").status_code == 200
    assert client.get(f"{MUTES}add/").status_code == 403
    assert client.post(f"{MUTES}{mute.pk}/change/", {"reason": "x"}).status_code == 403
    assert client.post(f"{MUTES}{mute.pk}/delete/", {"post": "yes"}).status_code == 403
    options = parse(client.get(MUTES)).select("select[name=action] option")
    assert {o["value"] for o in options if o["value"]} == {"unmute"}
    assert ReporterMute.objects.filter(pk=mute.pk, reason="").exists()


def test_the_unmute_action_unmutes_each_selected_reporter_through_the_service(
    moderator_client, moderator
):
    # given three muted reporters
    for n in (1, 2, 3):
        services.reporter_mute(reporter_key=reader_key(n), actor=moderator)
    selected = ReporterMute.objects.filter(reporter_key__in=[reader_key(1), reader_key(2)])
    before = _last_action_id()

    # when the moderator unmutes two of them
    response = moderator_client.post(
        MUTES,
        {"action": "unmute", "_selected_action": [m.pk for m in selected], "index": 0},
        follow=True,
    )

    # then those two are unmuted, each with an audit row naming the moderator
    assert list(ReporterMute.objects.values_list("reporter_key", flat=True)) == [reader_key(3)]
    actions = list(_new_actions(before))
    assert sorted(a.details["reporter_key"] for a in actions) == [reader_key(1), reader_key(2)]
    assert {(a.action, a.actor_id) for a in actions} == {(ActionKind.UNMUTE, moderator.pk)}
    (message,) = parse(response).select("ul.messagelist li.success")
    assert "2" in message.text


def test_staff_who_may_only_view_the_mutes_cannot_unmute(client, moderator):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*_permissions("view_reportermute"))
    client.force_login(staff)
    services.reporter_mute(reporter_key=reader_key(1), actor=moderator)
    mute = ReporterMute.objects.get()

    listing = client.get(MUTES)
    forced = client.post(MUTES, {"action": "unmute", "_selected_action": [mute.pk], "index": 0})

    assert listing.status_code == 200
    assert not parse(listing).select("select[name=action]")
    assert forced.status_code in (200, 302)
    assert ReporterMute.objects.filter(pk=mute.pk).exists()


# --- hostile input ---------------------------------------------------------------------------


def admin_changelists(app_label: str) -> dict[str, type[models.Model]]:
    return {
        f"/admin/{app_label}/{model._meta.model_name}/": model
        for model in admin.site._registry
        if model._meta.app_label == app_label
    }


def hostile_filters(model: type[models.Model]) -> list[str]:
    """Query strings that name the model's own fields, as the admin takes them, with
    values the database or the calendar cannot take."""
    filters = []
    for field in model._meta.concrete_fields:
        name = field.name
        if isinstance(field, models.DateField):
            filters += [f"{name}__year={year}" for year in ("2147483648", "0", "-1", "9999")]
            filters += [
                f"{name}__year=2024&{name}__month=99999999999999999999",
                f"{name}__year=2024&{name}__month=2&{name}__day=30",
                f"{name}__iso_year=99999999999999999999",
            ]
        elif isinstance(field, models.CharField | models.TextField):
            filters += [f"{name}__regex=%5B", f"{name}__iregex=(", f"{name}=%FF"]
        elif isinstance(field, models.IntegerField | models.DecimalField):
            filters += [f"{name}__gte={value.decode()}" for value in OUT_OF_RANGE if value]
        elif isinstance(field, models.ForeignKey):
            filters += [f"{name}__id__exact=99999999999999999999", f"{name}__in=1,%C0%AF"]
    return filters + [f"q={value.decode('latin-1')}" for value in NOT_UTF8] + ["p=99999999999"]


@pytest.mark.parametrize("who", ["moderator", "superuser"])
def test_filters_the_database_or_the_calendar_cannot_take_show_the_list_again(moderator, who):
    # given cases, reports, a mute and an audit trail, and the project's lists
    blocked_case()
    flagged_case(reports=2)
    services.reporter_mute(reporter_key=reader_key(1), actor=moderator)
    user = moderator if who == "moderator" else UserFactory(is_staff=True, is_superuser=True)
    client = client_for(user)
    # Every list on the site: the project's, and Django's and DRF's (users, groups, tokens).
    changelists = {
        url: model
        for app_label in {model._meta.app_label for model in admin.site._registry}
        for url, model in admin_changelists(app_label).items()
    }
    assert {"auth", "authtoken"} <= {model._meta.app_label for model in changelists.values()}

    for url, model in changelists.items():
        opts = model._meta
        viewable = user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
        for query in hostile_filters(model):
            # when the list is opened with such a filter
            response = client.get(f"{url}?{query}")

            # then the list (a filter it applies), or the list again without its filters,
            # as Django's admin answers a filter it does not know, or its 400 for a lookup it
            # never allows (a user's password); never a server error
            if not viewable:
                assert response.status_code == 403, (url, query)
                continue
            assert response.status_code in (200, 302, 400), (url, query, response.status_code)
            if response.status_code == 302:
                assert response["Location"] == f"{url}?e=1", (url, query)
                assert client.get(response["Location"]).status_code == 200


def test_a_nul_in_a_filter_or_a_search_is_a_400(moderator_client):
    flagged_case()
    keys = ["q", "state", "queue", "source", "reason", "o", "p", "image__id__exact", "action"]

    answers = {
        (url, key, value): moderator_client.get(f"{url}?{key}={value.decode('latin-1')}")
        for url in admin_changelists("moderation")
        for key in keys
        for value in NULS
    }

    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 400)
    assert "caractère nul" in parse(next(iter(answers.values()))).one(".not-found").text


def test_an_empty_to_field_is_a_400_on_every_models_pages(moderator_client):
    # given a case, and every model the admin site shows, whoever registered it
    case = flagged_case()
    pages = [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/{object_id}/{page}/"
        for model in admin.site._registry
        for object_id in (case.pk, 1, 99999999999999999999)
        for page in ("change", "delete")
    ]

    # when each page is opened, and posted, as a popup naming no field
    answers = {
        (url, method): getattr(moderator_client, method)(f"{url}?_to_field=&_popup=1")
        for url in pages
        for method in ("get", "post")
    }

    # then a bad request, before the admin looks anything up
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 400)


def test_an_action_on_selected_ids_that_are_not_ids_changes_nothing(moderator_client):
    # given flagged cases
    cases = [flagged_case(), flagged_case(image=ImageFactory())]
    before = _last_action_id()
    selections = [[value.decode("latin-1")] for value in NULS + NOT_UTF8 + OUT_OF_RANGE]
    selections += [[cases[0].pk, "1e9"], ["99999999999999999999"], [" 1 ", "x"]]

    for selection in selections:
        for action in ("protect", "dismiss", "confirm"):
            # when an action is posted with a selection that names no case by its id
            response = moderator_client.post(
                QUEUE,
                {"action": action, "_selected_action": selection, "index": 0, "post": "yes"},
            )

            # then the list again, or back to it, and nothing decided
            assert response.status_code in (200, 302), (selection, action)
    assert not _new_actions(before).exists()
    assert set(ImageCase.objects.values_list("state", flat=True)) == {CaseState.FLAGGED}
    assert not ImageCase.objects.filter(protected=True).exists()


def test_a_nul_in_a_note_or_a_mute_reason_is_refused_and_writes_nothing(moderator_client):
    # given a flagged case and one of its reports
    case = flagged_case(reports=2)
    reported = first_report(case)
    before = _last_action_id()

    for value in ("\x00", "avant\x00après", "\x00" * 3000):
        # when a moderator decides with a note holding a NUL, or mutes with such a reason
        decided = moderator_client.post(
            f"{QUEUE}{case.pk}/decide/protect/", {"note": value}, follow=True
        )
        muted = moderator_client.post(mute_url(case, reported), {"reason": value}, follow=True)

        # then the case page again, saying why, and nothing written
        for response in (decided, muted):
            assert response.status_code == 200
            errors = [item.text for item in parse(response).select("ul.messagelist li.error")]
            assert errors, value
    assert not _new_actions(before).exists()
    assert not ImageCase.objects.get(pk=case.pk).protected
    assert not ReporterMute.objects.exists()
