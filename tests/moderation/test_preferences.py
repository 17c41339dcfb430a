"""Notifications that respect attention: each moderator chooses which first reports are
mailed to them at once (by default: illegal content) and whether automatic blocks are;
everything else waits for the daily digest, and a reader's report publishes nothing
unless an email is due. Each moderator sets this in the admin ("My notifications")."""

from collections import Counter

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from moderation import selectors, services, tasks
from moderation.models import (
    MODERATORS_GROUP,
    ActionKind,
    ImageCase,
    ModerationAction,
    ModeratorPreferences,
    Reason,
    Report,
)
from tests.factories import ImageFactory, PolicyFactory, UserFactory
from tests.html import parse
from tests.moderation.mailing import FakeBroker, committed_runner, reader_reports
from tests.readers import reader_client
from tests.waiting import wait_until

SITE = "https://signalement.example"
ADA, BEA, CYD = "ada@example.org", "bea@example.org", "cyd@example.org"
PREFERENCES = "/admin/moderation/moderatorpreferences/"
MINE = f"{PREFERENCES}mine/"


@pytest.fixture(autouse=True)
def mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = SITE
    settings.MODERATION_NOTIFY_EMAILS = []
    settings.EMAIL_SUBJECT_PREFIX = "[Signalement] "
    # English: these tests read the subjects, whatever the translators do.
    settings.LANGUAGE_CODE = "en"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def broker(monkeypatch, django_capture_on_commit_callbacks):
    return FakeBroker(monkeypatch, django_capture_on_commit_callbacks)


@pytest.fixture
def committed(broker, django_capture_on_commit_callbacks):
    return committed_runner(django_capture_on_commit_callbacks)


def moderator(name: str, **preferences):
    """An active moderator with an address; with a preferences row when given any."""
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    user = UserFactory(username=name, email=f"{name}@example.org", is_staff=True)
    user.groups.add(group)
    if preferences:
        ModeratorPreferences.objects.create(moderator=user, **preferences)
    return user


@pytest.fixture
def three_moderators(db):
    """ada keeps the defaults (no row); bea also wants nudity at once and no digest; cyd
    wants nothing at once, not even automatic blocks, only the digest."""
    return {
        "ada": moderator("ada"),
        "bea": moderator("bea", immediate_reasons=["illegal", "nudity"], daily_digest=False),
        "cyd": moderator("cyd", immediate_reasons=[], immediate_auto_blocks=False),
    }


def kind(email) -> str:
    return email.subject.removeprefix("[Signalement] ").split(":")[0]


# --- who is mailed what ----------------------------------------------------------------


@pytest.mark.django_db
def test_twenty_cases_in_five_minutes_mail_only_what_each_moderator_asked_for(
    three_moderators, broker, committed, mailoutbox
):
    # given a threshold of 3 and 20 images, reported within a few seconds for mixed
    # reasons: 4 each of illegal content, nudity, violence, spam and hate
    PolicyFactory(threshold=3)
    reasons = ["illegal", "nudity", "violence", "spam", "hate"]
    images = {
        reason: [ImageFactory(article__title=f"{reason} {n}") for n in range(4)]
        for reason in reasons
    }
    for n, image in enumerate(image for group in images.values() for image in group):
        reason = image.article.title.split()[0]
        reader_reports(committed, image, 1, start=100 * n, reason=reason)
    # and a violent one reported by 2 more readers: the machine blocks it
    reader_reports(committed, images["violence"][0], 2, start=5000, reason="violence")

    # then the report path published only the 8 first reports someone wants, and the block
    assert Counter(broker.names()) == {"first_report_notify": 8, "case_auto_block": 1}

    # when the worker runs them
    broker.deliver()

    # then the 4 illegal-content first reports went to ada and bea, the 4 nudity ones to
    # bea alone, and the block to ada and bea, not to cyd, who turned blocks off: 9
    # emails for 20 cases, where every first report used to mail everyone
    sent = [(kind(email), email.body, sorted(email.to)) for email in mailoutbox]
    assert len(sent) == 9
    first_reports = [(body, to) for subject, body, to in sent if subject == "Image reported"]
    assert len(first_reports) == 8
    for image in images["illegal"]:
        (to,) = [to for body, to in first_reports if image.article.title in body]
        assert to == [ADA, BEA]
    for image in images["nudity"]:
        (to,) = [to for body, to in first_reports if image.article.title in body]
        assert to == [BEA]
    (block,) = [
        (body, to) for subject, body, to in sent if subject == "Image blocked automatically"
    ]
    assert images["violence"][0].article.title in block[0]
    assert block[1] == [ADA, BEA]
    assert not any(CYD in to for _, _, to in sent)

    # when the digest task runs
    mailoutbox.clear()
    assert tasks.review_digest_send.run() is True

    # then it goes to ada and cyd (bea turned it off), and lists the cases whose first
    # report nobody was mailed: the 12 others, besides the blocked one
    (digest,) = mailoutbox
    assert sorted(digest.to) == [ADA, CYD]
    assert digest.subject == "[Signalement] 20 images await review"
    for reason in ("violence", "spam", "hate"):
        for image in images[reason]:
            case = ImageCase.objects.get(image=image)
            assert f"/admin/moderation/imagecase/{case.pk}/change/" in digest.body
    assert "reported, below half their threshold: 19" in digest.body


@pytest.mark.django_db
def test_the_report_path_publishes_nothing_for_a_reason_nobody_wants(
    three_moderators, broker, django_capture_on_commit_callbacks, mailoutbox
):
    # given the three moderators: nobody wants violence at once
    image = ImageFactory()

    # when a reader reports it for violence through the API
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = reader_client(1).post(
            f"/api/images/{image.pk}/reports/", {"reason": "violence"}, format="json"
        )

    # then the report is taken, and nothing is published after commit
    assert response.status_code == 201
    assert Report.objects.filter(image=image).count() == 1
    assert len(callbacks) == 1
    assert broker.messages == []

    # when another image's first report is for illegal content
    other = ImageFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = reader_client(2).post(
            f"/api/images/{other.pk}/reports/", {"reason": "illegal"}, format="json"
        )

    # then its email's task is published, once
    assert response.status_code == 201
    assert broker.names() == ["first_report_notify"]


@pytest.mark.django_db
def test_the_wanted_reasons_cost_one_query_after_commit_on_first_reports_only(
    three_moderators, broker, django_capture_on_commit_callbacks, django_assert_num_queries
):
    # given an image
    image = ImageFactory()

    # when its first report (for nudity) commits
    with django_capture_on_commit_callbacks() as callbacks:
        services.report_create(image_id=image.pk, reporter_key="reader:1", reason="nudity")

    # then the question is left for after the commit (no lock held), and costs one query
    (announce,) = callbacks
    with django_assert_num_queries(1):
        announce()
    assert broker.names() == ["first_report_notify"]

    # when a second reader reports it, nothing is asked after commit
    with django_capture_on_commit_callbacks() as callbacks:
        services.report_create(image_id=image.pk, reporter_key="reader:2", reason="illegal")
    assert callbacks == []


@pytest.mark.django_db
def test_who_counts_for_the_wanted_reasons(settings):
    # given nobody: nothing is wanted, so nothing is published
    assert selectors.immediate_reasons_wanted() == frozenset()

    # given moderators who wanted spam but are inactive or have no address
    inactive = moderator("gone", immediate_reasons=["spam"])
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    group = Group.objects.get(name=MODERATORS_GROUP)
    UserFactory(username="noaddress", email="", is_staff=True).groups.add(group)
    assert selectors.immediate_reasons_wanted() == frozenset()

    # given an address in the settings: the defaults
    settings.MODERATION_NOTIFY_EMAILS = ["alerts@example.org"]
    assert selectors.immediate_reasons_wanted() == {"illegal"}

    # given a moderator without a row (defaults) and one with hate, and a stale code
    moderator("ada")
    moderator("bea", immediate_reasons=["hate", "no-longer-a-reason"])
    assert selectors.immediate_reasons_wanted() == {"illegal", "hate"}


@pytest.mark.django_db
def test_an_address_both_in_the_settings_and_a_moderators_wants_what_either_wants(
    settings, three_moderators
):
    settings.MODERATION_NOTIFY_EMAILS = ["CYD@example.org", "alerts@example.org"]

    recipients = {r.address: r for r in selectors.notification_recipients()}

    assert sorted(recipients) == [ADA, "alerts@example.org", BEA, CYD]
    assert recipients[CYD].immediate_reasons == {"illegal"}
    assert recipients[CYD].immediate_auto_blocks is True
    assert recipients[BEA].daily_digest is False


@pytest.mark.django_db
def test_preferences_changed_after_the_publish_are_those_the_email_follows(
    three_moderators, broker, committed, mailoutbox
):
    # given a first report for illegal content, its email's task published
    reader_reports(committed, ImageFactory(), 1, reason="illegal")
    assert broker.names() == ["first_report_notify"]

    # when bea turns illegal content off before the worker runs it
    preferences = ModeratorPreferences.objects.get(moderator=three_moderators["bea"])
    services_update(preferences, immediate_reasons=["nudity"])
    broker.deliver()

    # then only ada is mailed
    (email,) = mailoutbox
    assert email.to == [ADA]


@pytest.mark.django_db
def test_an_auto_block_nobody_wants_at_once_is_not_mailed(broker, committed, mailoutbox):
    # given a single moderator who turned automatic blocks off
    moderator("cyd", immediate_reasons=[], immediate_auto_blocks=False)
    PolicyFactory(threshold=2)
    image = ImageFactory()

    # when two readers block an image
    reader_reports(committed, image, 2, reason="spam")
    assert broker.names() == ["case_auto_block"]
    results = broker.deliver()

    # then it is blocked, and its email's task found nobody to mail
    assert results == [True, False]
    assert ModerationAction.objects.filter(image=image, action=ActionKind.AUTO_BLOCK).exists()
    assert mailoutbox == []


def services_update(preferences, **changes):
    from moderation.services.preferences import moderator_preferences_update

    current = {
        "immediate_reasons": preferences.immediate_reasons,
        "immediate_auto_blocks": preferences.immediate_auto_blocks,
        "daily_digest": preferences.daily_digest,
    }
    return moderator_preferences_update(preferences=preferences, **{**current, **changes})


# --- My notifications, in the admin ----------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(user) -> str:
    return f"{PREFERENCES}{user.pk}/change/"


def form_data(*reasons, auto_blocks=True, digest=True) -> dict:
    data = {"immediate_reasons": list(reasons), "_save": "Save"}
    if auto_blocks:
        data["immediate_auto_blocks"] = "on"
    if digest:
        data["daily_digest"] = "on"
    return data


@pytest.mark.django_db
def test_a_moderator_opens_their_notifications_with_the_defaults_and_changes_them(
    three_moderators,
):
    ada = three_moderators["ada"]
    client = client_for(ada)

    # when ada opens My notifications for the first time
    response = client.get(MINE)

    # then her row is made with the defaults, and she is on its page
    assert response.status_code == 302
    assert response["Location"] == change_url(ada)
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = parse(page)
    checked = {box["value"] for box in html.select("input[name=immediate_reasons][checked]")}
    assert checked == {"illegal"}
    assert len(html.select("input[name=immediate_reasons]")) == len(Reason.values)
    assert html.select("input[name=immediate_auto_blocks][checked]")
    assert html.select("input[name=daily_digest][checked]")
    assert "My notifications" in html.one("h1").text
    # (no link to the list of everyone's, which is not hers to open)
    assert not html.select(f'.breadcrumbs a[href="{PREFERENCES}"]')

    # when she asks for nudity and violence too, and turns the digest off
    saved = client.post(change_url(ada), form_data("violence", "nudity", "illegal", digest=False))

    # then she stays on her page, and her choice is stored in the reasons' order
    assert saved.status_code == 302
    assert saved["Location"] == change_url(ada)
    preferences = ModeratorPreferences.objects.get(moderator=ada)
    assert preferences.immediate_reasons == ["nudity", "violence", "illegal"]
    assert preferences.immediate_auto_blocks is True
    assert preferences.daily_digest is False
    assert "nudity" in selectors.immediate_reasons_wanted()

    # when she opens My notifications again, the same row
    assert client.get(MINE)["Location"] == change_url(ada)
    assert ModeratorPreferences.objects.filter(moderator=ada).count() == 1


@pytest.mark.django_db
def test_a_moderator_cannot_see_or_change_anothers_notifications(three_moderators):
    ada, bea = three_moderators["ada"], three_moderators["bea"]
    client = client_for(ada)

    # when ada opens bea's page, posts to it, or opens the list of everyone's
    answers = {
        "page": client.get(change_url(bea)).status_code,
        "post": client.post(change_url(bea), form_data()).status_code,
        "history": client.get(f"{PREFERENCES}{bea.pk}/history/").status_code,
        "list": client.get(PREFERENCES).status_code,
        "delete": client.post(f"{PREFERENCES}{bea.pk}/delete/", {"post": "yes"}).status_code,
    }

    # then each is refused, and bea's choice is as it was
    assert answers == dict.fromkeys(answers, 403)
    assert ModeratorPreferences.objects.get(moderator=bea).immediate_reasons == [
        "illegal",
        "nudity",
    ]


@pytest.mark.django_db
def test_an_unknown_reason_is_a_form_error_not_a_server_error(three_moderators):
    cyd = three_moderators["cyd"]
    client = client_for(cyd)

    response = client.post(change_url(cyd), form_data("illegal", "bogus"))

    assert response.status_code == 200
    assert parse(response).select(".errorlist")
    assert "bogus" in parse(response).one(".errorlist").text
    assert ModeratorPreferences.objects.get(moderator=cyd).immediate_reasons == []


@pytest.mark.django_db
def test_staff_outside_the_moderators_group_have_no_notifications_page(db):
    staff = UserFactory(username="clerk", is_staff=True)

    assert client_for(staff).get(MINE).status_code == 403
    assert not ModeratorPreferences.objects.filter(moderator=staff).exists()


@pytest.mark.django_db
def test_a_superuser_sees_everyones_notifications(three_moderators):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = client_for(root)

    listing = client.get(PREFERENCES)
    page = client.get(change_url(three_moderators["bea"]))

    assert listing.status_code == 200
    assert {"bea", "cyd"} <= {a.text for a in parse(listing).select("#result_list th a")}
    assert page.status_code == 200


# --- through the real worker -----------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_real_worker_mails_only_who_asked(celery_worker, three_moderators, mailoutbox):
    # given the three moderators, and two images
    violent, illegal = ImageFactory(article__title="Rixe"), ImageFactory(article__title="Trafic")

    # when readers report one for violence, the other for illegal content
    for n, (image, reason) in enumerate([(violent, "violence"), (illegal, "illegal")]):
        response = reader_client(n).post(
            f"/api/images/{image.pk}/reports/", {"reason": reason}, format="json"
        )
        assert response.status_code == 201

    # then one email, about the illegal content, to ada and bea
    wait_until(lambda: len(mailoutbox) == 1)
    (email,) = mailoutbox
    assert email.subject == "[Signalement] Image reported: Trafic"
    assert sorted(email.to) == [ADA, BEA]
    # (and nothing else arrives: the violent one was never published)
    tasks.review_digest_send.delay()
    wait_until(lambda: len(mailoutbox) == 2)
    assert sorted(mailoutbox[1].to) == [ADA, CYD]
