"""Emails to the moderators: one per image per event (first report, automatic
block), a daily digest of what waits for review, and never at a reader's expense.

The moderators here keep the defaults (tests/moderation/test_preferences.py changes
them): a first report is mailed at once when its reason is illegal content, which is
the reason these readers give unless a test says otherwise."""

import logging
import smtplib
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse
from django.utils import translation
from kombu.exceptions import OperationalError

from articles.models import Image
from moderation import notifications, services, tasks
from moderation.models import (
    MODERATORS_GROUP,
    ActionKind,
    ImageCase,
    ModerationAction,
    ModeratorNotification,
    NotificationEvent,
    Report,
)
from moderation.services import Decision, ReportResult, case_decide
from newsroom.celery import app
from tests.factories import ImageFactory, PolicyFactory, UserFactory
from tests.moderation.mailing import FakeBroker, committed_runner, reader_reports
from tests.readers import reader_client
from tests.waiting import wait_until

SITE = "https://signalement.example"
PREFERENCES_URL = f"{SITE}/admin/moderation/moderatorpreferences/mine/"
MODERATORS = ["ada@example.org", "bea@example.org"]


@pytest.fixture(autouse=True)
def mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = SITE
    settings.MODERATION_NOTIFY_EMAILS = []
    settings.EMAIL_SUBJECT_PREFIX = "[Signalement] "
    settings.LANGUAGE_CODE = "fr"
    # Five users a test: don't spend a second hashing their passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def moderators(db):
    """Two moderators with an address, and three people who must not be mailed."""
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    for address in MODERATORS:
        UserFactory(username=address.split("@")[0], email=address, is_staff=True).groups.add(group)
    UserFactory(username="noaddress", email="", is_staff=True).groups.add(group)
    UserFactory(username="gone", email="gone@example.org", is_active=False).groups.add(group)
    UserFactory(username="reader", email="reader@example.org")
    return MODERATORS


@pytest.fixture
def broker(monkeypatch, django_capture_on_commit_callbacks):
    return FakeBroker(monkeypatch, django_capture_on_commit_callbacks)


@pytest.fixture
def committed(broker, django_capture_on_commit_callbacks):
    return committed_runner(django_capture_on_commit_callbacks)


def case_url(image) -> str:
    case = ImageCase.objects.get(image=image)
    return SITE + reverse("admin:moderation_imagecase_change", args=[case.pk])


# --- the first report ------------------------------------------------------------------


@pytest.mark.django_db
def test_first_report_mails_the_moderators_once_in_french(
    moderators, broker, committed, mailoutbox
):
    # given a visible image and two moderators with an address
    image = ImageFactory(article__title="Inondations à Valence", caption="La rue principale")

    # when a reader reports it and the worker delivers the message
    (receipt,) = reader_reports(committed, image, 1, comment="Des corps visibles")
    assert broker.names() == ["first_report_notify"]
    # (in whatever language the request that led here was in)
    with translation.override("en"):
        assert broker.deliver() == [True]

    # then one email, to the active moderators with an address only, in French,
    # linking to the case's admin page
    assert receipt.result == ReportResult.CREATED
    (email,) = mailoutbox
    assert sorted(email.to) == moderators
    assert email.subject == "[Signalement] Image signalée : Inondations à Valence"
    assert "Un lecteur a signalé une image pour la première fois." in email.body
    assert "Article : Inondations à Valence" in email.body
    assert "Légende : La rue principale" in email.body
    assert "Motif : contenu illégal" in email.body
    assert "Commentaire : Des corps visibles" in email.body
    assert f"Voir le dossier : {case_url(image)}" in email.body
    assert PREFERENCES_URL in email.body
    # and the notification is recorded as sent
    notification = ModeratorNotification.objects.get()
    assert notification.event == NotificationEvent.FIRST_REPORT
    assert notification.image_id == image.pk
    assert notification.sent_at is not None


@pytest.mark.django_db
def test_later_reports_of_the_same_episode_send_nothing_more(
    moderators, broker, committed, mailoutbox
):
    # given an image whose first report was mailed
    image = ImageFactory()
    reader_reports(committed, image, 1)
    broker.deliver()

    # when three more readers report it (under the threshold of 5)
    reader_reports(committed, image, 3, start=1)

    # then nothing is even enqueued, and the moderators got one email
    assert broker.messages == []
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_repeat_by_the_same_reader_sends_nothing(moderators, broker, committed, mailoutbox):
    image = ImageFactory()
    reader_reports(committed, image, 1)
    broker.deliver()

    (repeat,) = reader_reports(committed, image, 1)

    assert repeat.result == ReportResult.REPEAT
    assert broker.messages == []
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_the_same_message_delivered_twice_sends_one_email(
    moderators, broker, committed, mailoutbox
):
    # given a first report whose message is in the queue
    image = ImageFactory()
    reader_reports(committed, image, 1)
    assert broker.names() == ["first_report_notify"]
    ((_, args),) = broker.messages

    # when the message is delivered twice (a redelivery, a duplicate)
    results = [tasks.first_report_notify.run(*args) for _ in range(2)]

    # then the second delivery finds the claim and sends nothing
    assert results == [True, False]
    assert len(mailoutbox) == 1
    assert ModeratorNotification.objects.count() == 1


@pytest.mark.django_db
def test_a_restore_opens_a_new_episode_with_its_own_first_report_email(
    moderators, broker, committed, mailoutbox
):
    # given an image blocked by 2 readers, then restored by a moderator
    PolicyFactory(threshold=2)
    moderator = UserFactory(username="ada")
    image = ImageFactory()
    reader_reports(committed, image, 2)
    broker.deliver()
    assert len(mailoutbox) == 2  # its first report, its block
    case = ImageCase.objects.get(image=image)
    committed(case_decide, case_id=case.pk, decision=Decision.RESTORE, actor=moderator)

    # when a new reader reports it, then another
    reader_reports(committed, image, 1, start=2)
    assert broker.names() == ["first_report_notify"]
    broker.deliver()
    reader_reports(committed, image, 1, start=3)
    assert broker.deliver() == [True, True]  # the second reaches the threshold: block, email

    # then one more first-report email saying the image had been restored, and
    # the new block's email
    subjects = [email.subject for email in mailoutbox]
    assert subjects == [
        f"[Signalement] Image signalée : {image.article.title}",
        f"[Signalement] Image bloquée automatiquement : {image.article.title}",
        f"[Signalement] Image signalée : {image.article.title}",
        f"[Signalement] Image bloquée automatiquement : {image.article.title}",
    ]
    assert "avait rétablie a de nouveau été signalée" in mailoutbox[2].body


@pytest.mark.django_db
def test_a_dismissal_opens_a_new_episode_too(moderators, broker, committed, mailoutbox):
    # given a reported image whose reports a moderator dismissed
    moderator = UserFactory(username="ada")
    image = ImageFactory()
    reader_reports(committed, image, 2)
    broker.deliver()
    case = ImageCase.objects.get(image=image)
    committed(case_decide, case_id=case.pk, decision=Decision.DISMISS, actor=moderator)

    # when a new reader reports it
    reader_reports(committed, image, 1, start=2)
    broker.deliver()

    # then the moderators hear of it again, once
    assert len(mailoutbox) == 2
    assert "de nouveau été signalée après le classement" in mailoutbox[1].body


@pytest.mark.django_db
def test_a_protected_image_mails_nobody(moderators, broker, committed, mailoutbox):
    # given a protected image whose reports were dismissed
    moderator = UserFactory(username="ada")
    image = ImageFactory()
    reader_reports(committed, image, 1)
    broker.deliver()
    case = ImageCase.objects.get(image=image)
    committed(case_decide, case_id=case.pk, decision=Decision.PROTECT, actor=moderator)
    committed(case_decide, case_id=case.pk, decision=Decision.DISMISS, actor=moderator)

    # when a new reader reports it
    reader_reports(committed, image, 1, start=1)

    # then nothing is enqueued: it waits for nobody's review
    assert broker.messages == []
    assert len(mailoutbox) == 1


# --- the automatic block ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_auto_block_mails_the_moderators_once(moderators, broker, committed, mailoutbox):
    # given a threshold of 3 and an image whose first report was mailed
    PolicyFactory(threshold=3)
    image = ImageFactory(article__title="Manifestation", caption="")
    reader_reports(committed, image, 1)
    broker.deliver()

    # when two more readers report it and the worker blocks it
    reader_reports(committed, image, 2, start=1, reason="nudity")
    assert broker.names() == ["case_auto_block"]
    assert broker.deliver() == [True, True]  # the block, then its email

    # then one email about the block, with the reasons and a link to the case
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED
    assert len(mailoutbox) == 2
    email = mailoutbox[1]
    assert email.subject == "[Signalement] Image bloquée automatiquement : Manifestation"
    assert "3 lecteurs distincts l'ont signalée (seuil : 3)" in email.body
    assert "Motifs : nudité 2 · contenu illégal 1" in email.body
    assert "Légende" not in email.body
    assert f"Confirmez le blocage ou rétablissez l'image : {case_url(image)}" in email.body
    action = ModerationAction.objects.get(image=image, action=ActionKind.AUTO_BLOCK)
    assert ModeratorNotification.objects.filter(key=f"auto_block:{action.pk}").exists()

    # when the block task, the sweeper and the email task run again
    assert tasks.case_auto_block.run(image.pk) is False
    assert tasks.sweep_due_blocks.run() == 0
    assert tasks.auto_block_notify.run(action.pk) is False
    assert broker.deliver() == []

    # then nothing more was sent
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_a_block_applied_by_the_sweeper_is_mailed_too(moderators, broker, committed, mailoutbox):
    # given an image over its threshold whose auto_block message was lost
    PolicyFactory(threshold=2)
    image = ImageFactory()
    reader_reports(committed, image, 2)
    broker.messages = [m for m in broker.messages if m[0] != "case_auto_block"]
    broker.deliver()

    # when the sweeper blocks it
    assert committed(services.sweep_due_blocks) == [image.pk]
    broker.deliver()

    # then the moderators get the block's email
    assert [e.subject.split(" : ")[0] for e in mailoutbox] == [
        "[Signalement] Image signalée",
        "[Signalement] Image bloquée automatiquement",
    ]


# --- delivery --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_broker_down_costs_neither_the_report_nor_the_block(
    moderators, monkeypatch, committed, caplog, mailoutbox
):
    # given a broker that refuses every message
    def refuse(*args):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for name in FakeBroker.TASKS:
        monkeypatch.setattr(getattr(tasks, name), "delay", refuse)
    PolicyFactory(threshold=1)
    image = ImageFactory()

    # when a reader reports the image (first report, and at the threshold of 1)
    with caplog.at_level(logging.ERROR, logger="common.publishing"):
        (receipt,) = reader_reports(committed, image, 1)

    # then the report is saved and answered, and the failures are logged
    assert receipt.result == ReportResult.CREATED
    assert receipt.block_enqueued
    assert Report.objects.filter(image=image).count() == 1
    assert "could not enqueue first_report_notify" in caplog.text
    assert "could not enqueue case_auto_block" in caplog.text

    # when the sweeper blocks it while the broker is still down
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="common.publishing"):
        assert committed(services.sweep_due_blocks) == [image.pk]

    # then the block stands though its email could not be enqueued
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED
    assert "could not enqueue auto_block_notify" in caplog.text
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_refused_send_gives_the_claim_back_and_the_retry_sends_it(
    moderators, broker, committed, monkeypatch, mailoutbox
):
    # given a first report, and a mail server that fails once
    image = ImageFactory()
    reader_reports(committed, image, 1)
    ((_, args),) = broker.messages
    send = EmailBackend.send_messages
    failures = [smtplib.SMTPServerDisconnected("Connection unexpectedly closed")]

    def flaky_send(self, messages):
        if failures:
            raise failures.pop()
        return send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", flaky_send)

    # when the task runs: the error reaches Celery, which retries (OSError)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        tasks.first_report_notify.run(*args)
    assert issubclass(smtplib.SMTPServerDisconnected, tasks.first_report_notify.autoretry_for)

    # then nothing was sent and nothing is claimed, so the retry sends it, once
    assert mailoutbox == []
    assert not ModeratorNotification.objects.exists()
    assert tasks.first_report_notify.run(*args) is True
    assert tasks.first_report_notify.run(*args) is False
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_worker_lost_between_claim_and_send_means_no_email_not_two(
    moderators, broker, committed, mailoutbox
):
    # given a first report whose delivery claimed the email, then died unsent
    image = ImageFactory()
    reader_reports(committed, image, 1)
    ((_, (report_id,)),) = broker.messages
    ModeratorNotification.objects.create(
        key=f"first_report:{image.pk}:{report_id}",
        event=NotificationEvent.FIRST_REPORT,
        image=image,
    )

    # when the broker redelivers the message
    assert tasks.first_report_notify.run(report_id) is False

    # then at most once: nothing is sent, and the claim shows it never went out
    assert mailoutbox == []
    assert ModeratorNotification.objects.get().sent_at is None


@pytest.mark.django_db
def test_no_email_without_a_moderator_with_an_address(broker, committed, mailoutbox, caplog):
    # given moderators without an address, an inactive one, and a mere reader
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    UserFactory(username="noaddress", email="").groups.add(group)
    UserFactory(username="gone", email="gone@example.org", is_active=False).groups.add(group)
    UserFactory(username="reader", email="reader@example.org")
    image = ImageFactory()

    # when a reader reports the image
    (receipt,) = reader_reports(committed, image, 1)

    # then nobody wants it mailed, so nothing is even published
    assert receipt.result == ReportResult.CREATED
    assert broker.messages == []

    # when the task runs all the same (published before the last moderator left)
    report = Report.objects.get(image=image)
    with caplog.at_level(logging.WARNING, logger="moderation.notifications"):
        assert tasks.first_report_notify.run(report.pk) is False

    # then nothing is sent, nor claimed, and the reason is logged
    assert mailoutbox == []
    assert not ModeratorNotification.objects.exists()
    assert "no active moderator has an email address" in caplog.text


@pytest.mark.django_db
def test_extra_addresses_from_the_settings_are_mailed_once(
    settings, moderators, broker, committed, mailoutbox
):
    settings.MODERATION_NOTIFY_EMAILS = ["alerts@example.org", "ADA@example.org"]
    reader_reports(committed, ImageFactory(), 1)

    broker.deliver()

    assert sorted(mailoutbox[0].to) == sorted([*MODERATORS, "alerts@example.org"])


@pytest.mark.django_db
def test_tasks_ignore_ids_that_no_longer_exist(moderators, mailoutbox):
    assert tasks.first_report_notify.run(987654321) is False
    assert tasks.auto_block_notify.run(987654321) is False
    assert mailoutbox == []


def test_email_tasks_go_to_the_moderation_queue_with_late_acks():
    for task in (tasks.first_report_notify, tasks.auto_block_notify, tasks.review_digest_send):
        assert app.amqp.router.route({}, task.name)["queue"].name == "moderation"
        assert task.acks_late is True


# --- the daily digest ------------------------------------------------------------------


@pytest.fixture
def queue_of_cases(moderators, committed):
    """Under a threshold of 4: one image blocked by the machine and not reviewed,
    one reported by 2 readers (half the threshold), one by a single reader for a reason
    nobody had mailed at once, one whose block a moderator confirmed, and one protected."""
    PolicyFactory(threshold=4)
    moderator = UserFactory(username="ada")
    blocked = ImageFactory(article__title="Bloquée")
    reader_reports(committed, blocked, 4, reason="hate")
    services.case_auto_block(image_id=blocked.pk)
    rising = ImageFactory(article__title="Montante")
    reader_reports(committed, rising, 2, reason="spam")
    quiet = ImageFactory(article__title="Calme")
    reader_reports(committed, quiet, 1, reason="violence")
    reviewed = ImageFactory(article__title="Confirmée")
    reader_reports(committed, reviewed, 4)
    services.case_auto_block(image_id=reviewed.pk)
    case = ImageCase.objects.get(image=reviewed)
    case_decide(case_id=case.pk, decision=Decision.CONFIRM, actor=moderator)
    protected = ImageFactory(article__title="Protégée")
    reader_reports(committed, protected, 1)
    case = ImageCase.objects.get(image=protected)
    case_decide(case_id=case.pk, decision=Decision.PROTECT, actor=moderator)
    return {
        "blocked": blocked,
        "rising": rising,
        "quiet": quiet,
        "reviewed": reviewed,
        "protected": protected,
    }


@pytest.mark.django_db
def test_digest_lists_what_waits_for_review_with_links(broker, queue_of_cases, mailoutbox):
    mailoutbox.clear()

    # when the digest task runs
    assert tasks.review_digest_send.run() is True

    # then one email counts and lists the three cases that wait, those awaiting review
    # first, each with its admin link: the quiet one too, whose first report nobody
    # was mailed; it leaves out the reviewed and the protected ones
    (email,) = mailoutbox
    assert sorted(email.to) == MODERATORS
    assert email.subject == "[Signalement] 3 images en attente de vérification"
    body = email.body
    assert "3 images attendent une vérification." in body
    assert "bloquées automatiquement, pas encore vérifiées : 1" in body
    assert "signalées, à la moitié de leur seuil ou plus : 1" in body
    assert body.index("Bloquée") < body.index("Montante") < body.index("Calme")
    assert "lecteurs distincts : 4/4 · haine 4" in body
    assert "lecteurs distincts : 2/4 · spam 2" in body
    assert "lecteurs distincts : 1/4 · violence 1" in body
    assert case_url(queue_of_cases["blocked"]) in body
    assert case_url(queue_of_cases["rising"]) in body
    assert case_url(queue_of_cases["quiet"]) in body
    assert case_url(queue_of_cases["reviewed"]) not in body
    assert case_url(queue_of_cases["protected"]) not in body
    assert SITE + reverse("admin:moderation_imagecase_changelist") in body
    assert PREFERENCES_URL in body


@pytest.mark.django_db
def test_digest_goes_out_once_a_day(queue_of_cases, mailoutbox):
    mailoutbox.clear()

    sent = [
        notifications.review_digest_send(day=date(2026, 11, 27)),
        notifications.review_digest_send(day=date(2026, 11, 27)),
        notifications.review_digest_send(day=date(2026, 11, 28)),
    ]

    assert sent == [True, False, True]
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_digest_sends_nothing_when_nothing_waits(moderators, committed, mailoutbox):
    # given an image whose reports a moderator dismissed, and a protected one
    moderator = UserFactory(username="ada")
    for decision in (Decision.DISMISS, Decision.PROTECT):
        image = ImageFactory()
        reader_reports(committed, image, 1)
        case = ImageCase.objects.get(image=image)
        case_decide(case_id=case.pk, decision=decision, actor=moderator)
    mailoutbox.clear()

    # when the digest task runs
    assert tasks.review_digest_send.run() is False

    # then nothing is sent, nor claimed
    assert mailoutbox == []
    assert not ModeratorNotification.objects.filter(event=NotificationEvent.REVIEW_DIGEST).exists()


def test_digest_is_scheduled_by_beat_at_seven_paris_time(settings):
    entry = app.conf.beat_schedule["moderation-review-digest"]
    assert entry["task"] == tasks.review_digest_send.name
    assert entry["schedule"].hour == {7}
    assert entry["schedule"].minute == {0}
    assert app.conf.timezone == settings.TIME_ZONE == "Europe/Paris"


# --- through the real worker -----------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_real_worker_mails_the_first_report_and_the_block_once_each(
    celery_worker, moderators, mailoutbox
):
    # given an image and the default threshold of 5
    image = ImageFactory(article__title="Incendie")

    def post_report(n):
        response = reader_client(n).post(
            f"/api/images/{image.pk}/reports/", {"reason": "illegal"}, format="json"
        )
        assert response.status_code == 201

    # when the first reader reports it, the worker mails the moderators
    post_report(0)
    wait_until(lambda: len(mailoutbox) == 1)
    assert mailoutbox[0].subject == "[Signalement] Image signalée : Incendie"

    # when four more do, the worker blocks it and mails them once more
    for n in range(1, 5):
        post_report(n)
    wait_until(lambda: len(mailoutbox) == 2)
    assert mailoutbox[1].subject == "[Signalement] Image bloquée automatiquement : Incendie"
    assert sorted(mailoutbox[1].to) == moderators

    # when the same messages reach the worker again, followed by the digest
    action = ModerationAction.objects.get(image=image, action=ActionKind.AUTO_BLOCK)
    report = Report.objects.filter(image=image).order_by("pk").first()
    tasks.auto_block_notify.delay(action.pk)
    tasks.first_report_notify.delay(report.pk)
    tasks.case_auto_block.delay(image.pk)
    tasks.review_digest_send.delay()

    # then (one queue, one worker: in order) only the digest is new
    wait_until(lambda: len(mailoutbox) == 3)
    assert mailoutbox[2].subject == "[Signalement] 1 image en attente de vérification"
    # (the worker marks a row sent just after the mail leaves: wait for that too)
    wait_until(lambda: ModeratorNotification.objects.filter(sent_at__isnull=False).count() == 3)
    assert ModeratorNotification.objects.count() == 3
    assert len(mailoutbox) == 3
