"""Reports' personal data is erased after REPORT_PERSONAL_DATA_DAYS; what they say stays."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from moderation import services, tasks
from moderation.models import ActionKind, ImageCase, ModerationAction, Report, ReportOutcome
from tests.factories import ImageFactory

pytestmark = [pytest.mark.django_db, pytest.mark.portable]


def report(image, n: int, *, days_ago: int, comment: str = "vu sur la une"):
    services.report_create(
        image_id=image.pk,
        reporter_key=f"reader:{n:032x}",
        reason="violence",
        comment=comment,
        ip_hash=f"{n:064x}",
        network_hash=f"{n + 1:064x}",
    )
    Report.objects.filter(image=image, reporter_key=f"reader:{n:032x}").update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )


def test_the_purge_erases_old_reports_personal_data_and_keeps_the_counts():
    # given reports of 120 and 10 days ago on one image
    image = ImageFactory()
    report(image, 1, days_ago=120)
    report(image, 2, days_ago=10)
    case_before = ImageCase.objects.values("open_report_count", "score").get(image=image)

    # when the nightly purge runs (the beat task)
    purged = tasks.reports_purge_personal_data.run()

    # then the old report lost its hashes and comment, kept reason, weight and outcome
    assert purged == 1
    old = Report.objects.get(reporter_key=f"reader:{1:032x}")
    assert (old.ip_hash, old.network_hash, old.comment) == ("", "", "")
    assert (old.reason, old.weight, old.outcome) == ("violence", 1, ReportOutcome.OPEN)
    recent = Report.objects.get(reporter_key=f"reader:{2:032x}")
    assert recent.ip_hash and recent.network_hash and recent.comment == "vu sur la une"
    # and the case's counts are untouched; one action records the purge
    assert ImageCase.objects.values("open_report_count", "score").get(image=image) == case_before
    action = ModerationAction.objects.get(action=ActionKind.PURGE)
    assert action.details == {
        "purged_reports": 1,
        "forgotten_muted_addresses": 0,
        "older_than_days": settings.REPORT_PERSONAL_DATA_DAYS,
    }


def test_a_second_purge_finds_nothing_and_writes_nothing():
    image = ImageFactory()
    report(image, 1, days_ago=120)
    services.reports_purge_personal_data()

    assert services.reports_purge_personal_data() == 0
    assert ModerationAction.objects.filter(action=ActionKind.PURGE).count() == 1


def test_the_retention_is_a_setting(settings):
    settings.REPORT_PERSONAL_DATA_DAYS = 5
    image = ImageFactory()
    report(image, 1, days_ago=10)

    assert services.reports_purge_personal_data() == 1


def test_an_address_is_one_person_again_once_its_hash_is_purged():
    # given an anonymous report whose address hash was purged
    image = ImageFactory()
    report(image, 1, days_ago=120)
    services.reports_purge_personal_data()

    # when a reader reports from that address (a new cookie), nothing conflicts
    receipt = services.report_create(
        image_id=image.pk, reporter_key=f"reader:{9:032x}", reason="spam", ip_hash=f"{1:064x}"
    )

    assert receipt.result is services.ReportResult.CREATED


def test_beat_runs_the_purge_every_night():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-personal-data"]
    assert entry["task"] == tasks.reports_purge_personal_data.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {30})
