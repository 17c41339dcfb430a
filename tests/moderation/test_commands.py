"""`manage.py reconcile`: the sweeper, run once by hand, saying what it fixed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
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
