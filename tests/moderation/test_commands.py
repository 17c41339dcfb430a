"""`manage.py reconcile` (the sweepers once, saying what they fixed) and
`manage.py moderation_stats` (what moderation did over a period)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from articles import services as articles_services
from articles import tasks as articles_tasks
from articles.models import Image
from articles.services import PROCESSING_MAX_ATTEMPTS
from moderation import services
from moderation.models import ActionKind, ModerationAction, Report
from tests.factories import ImageFactory, PolicyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.portable]


def reconcile() -> str:
    out = StringIO()
    call_command("reconcile", stdout=out)
    return out.getvalue()


def report(image, n: int) -> None:
    services.report_create(
        image_id=image.pk, reporter_key=f"reader:{n:032x}", reason="hate", ip_hash=f"{n:064x}"
    )


def test_reconcile_applies_the_blocks_the_broker_missed_and_names_them():
    # given an image at its threshold whose block message never ran (in this test's
    # transaction, nothing is sent after commit)
    PolicyFactory(threshold=2)
    image = ImageFactory()
    report(image, 1)
    report(image, 2)
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.VISIBLE

    # when an operator runs reconcile
    output = reconcile()

    # then the image is blocked by the sweeper, once, and the output names it
    assert f"Blocked 1 image(s) that were due: {image.pk}." in output
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED
    action = ModerationAction.objects.get(image=image, action=ActionKind.AUTO_BLOCK)
    assert action.details["via"] == "sweeper"
    # and a second run finds nothing
    assert reconcile().strip() == "Nothing to fix."


def test_reconcile_expires_reports_past_their_window():
    image = ImageFactory()
    report(image, 1)
    Report.objects.update(created_at=timezone.now() - timedelta(days=400))

    output = reconcile()

    assert "Expired reports on 1 case(s)." in output
    assert ModerationAction.objects.filter(image=image, action=ActionKind.EXPIRE).count() == 1


def test_reconcile_with_nothing_due_says_so():
    assert reconcile().strip() == "Nothing to fix."


# --- reconcile: uploads left pending ------------------------------------------------------


@pytest.fixture
def processing_sent(monkeypatch) -> list[int]:
    """The image ids of the processing messages handed to the broker."""
    messages: list[int] = []
    monkeypatch.setattr(articles_tasks.process_image, "delay", messages.append)
    return messages


def upload(*, silent_for: timedelta, attempts: int = 0) -> Image:
    """An upload still pending, whose processing was last sent or started that long ago."""
    image = ImageFactory(processed=False, processing_attempts=attempts)
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - silent_for)
    return image


def test_reconcile_sends_uploads_left_pending_again_gives_up_the_hopeless_and_names_them(
    settings, processing_sent
):
    # given uploads past the grace period: two whose message was lost, one whose every
    # attempt died; and one upload still within it
    past = timedelta(seconds=settings.IMAGE_PROCESSING_GRACE_SECONDS + 60)
    lost = [upload(silent_for=past * 2), upload(silent_for=past)]
    hopeless = upload(silent_for=past, attempts=PROCESSING_MAX_ATTEMPTS)
    recent = upload(silent_for=timedelta(minutes=1))

    # when an operator runs reconcile
    output = reconcile()

    # then it says which it sent again, oldest first, and which it gave up
    assert output.splitlines() == [
        f"Sent 2 image(s) left pending for processing again: {lost[0].pk}, {lost[1].pk}.",
        f"Gave up 1 image(s) as failed, their processing attempts used up: {hopeless.pk}.",
    ]
    assert processing_sent == [lost[0].pk, lost[1].pk]
    assert Image.objects.get(pk=hopeless.pk).status == Image.Status.FAILED
    assert Image.objects.get(pk=recent.pk).processing_activity_at is None
    # and a second run, within the grace period of what it sent, finds nothing
    assert reconcile().strip() == "Nothing to fix."
    assert processing_sent == [lost[0].pk, lost[1].pk]


def test_reconcile_says_which_uploads_it_could_not_send(settings, monkeypatch):
    # given an upload left pending, and a broker that refuses every message
    def refuse(image_id):
        raise OSError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(articles_tasks.process_image, "delay", refuse)
    image = upload(silent_for=timedelta(seconds=settings.IMAGE_PROCESSING_GRACE_SECONDS * 2))

    # when an operator runs reconcile, then it names the image it could not send
    assert reconcile().splitlines() == [
        f"Could not send 1 image(s) left pending (is the broker up?): {image.pk}."
    ]


def test_reconcile_sends_a_bounded_batch_and_says_when_more_wait(
    settings, processing_sent, monkeypatch
):
    # given more uploads left pending than one batch holds
    monkeypatch.setattr(articles_services, "STUCK_BATCH_SIZE", 3)
    silent = timedelta(seconds=settings.IMAGE_PROCESSING_GRACE_SECONDS * 2)
    images = [upload(silent_for=silent + timedelta(minutes=10 - n)) for n in range(5)]

    # when an operator runs reconcile twice
    first, second = reconcile(), reconcile()

    # then the first sends a batch and says more wait, the second sends the rest
    sent_first = ", ".join(str(image.pk) for image in images[:3])
    sent_second = ", ".join(str(image.pk) for image in images[3:])
    assert first.splitlines() == [
        f"Sent 3 image(s) left pending for processing again: {sent_first}.",
        "More images are left pending: run it again.",
    ]
    assert second.splitlines() == [
        f"Sent 2 image(s) left pending for processing again: {sent_second}."
    ]


# --- moderation_stats -------------------------------------------------------------------


def stats(*args) -> str:
    out = StringIO()
    call_command("moderation_stats", *args, stdout=out)
    return out.getvalue()


def test_moderation_stats_counts_the_period_and_times_block_and_review(moderator):
    # given an image blocked by the machine at its threshold, then confirmed, and a
    # second image reported once, then a report from long ago
    PolicyFactory(threshold=2)
    blocked, reported = ImageFactory.create_batch(2)
    report(blocked, 1)
    report(blocked, 2)
    assert services.case_auto_block(image_id=blocked.pk)
    services.case_decide(
        case_id=blocked.case.pk, decision=services.Decision.CONFIRM, actor=moderator
    )
    report(reported, 3)
    old = ImageFactory()
    report(old, 4)
    Report.objects.filter(image=old).update(created_at=timezone.now() - timedelta(days=30))

    # when an editor asks for the last week, as JSON
    figures = json.loads(stats("--days", "7", "--json"))

    # then three reports on two images, one automatic block and its confirmation, and
    # both medians measured (a block a few ms after its crossing report)
    assert figures["reports"] == 3
    assert figures["reports_by_outcome"] == {"upheld": 2, "open": 1}
    assert figures["images_reported"] == 2
    assert figures["blocks_by_kind"] == {"auto_block": 1, "confirm": 1}
    assert (figures["restores"], figures["dismissals"]) == (0, 0)
    assert 0 <= figures["median_time_to_block"] < 60
    assert 0 <= figures["median_time_to_review"] < 60

    # and the text says the same for people
    text = stats("--days", "7")
    assert "reports: 3 (open 1, upheld 2) on 2 image(s)" in text
    assert "blocks: auto_block 1, confirm 1" in text


def test_moderation_stats_of_a_quiet_period_measures_nothing():
    text = stats("--days", "1")
    assert "reports: 0 (none) on 0 image(s)" in text
    assert "median time to block: nothing measured" in text


def test_moderation_stats_refuses_a_period_of_no_days():
    with pytest.raises(CommandError):
        stats("--days", "0")
