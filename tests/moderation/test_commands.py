"""`manage.py reconcile` (the sweeper once, saying what it fixed) and
`manage.py moderation_stats` (what moderation did over a period)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from articles.models import Image
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
