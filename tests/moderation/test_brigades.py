"""Grouped reports ("signalements groupés"): a burst from one network, or far above an
image's usual rate, is held for a moderator instead of counted in full."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

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
from tests.factories import ImageFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db

NETWORK = "a" * 64  # the keyed hash of one /24


def report(image, n: int, *, network: str | None = None, **kwargs):
    """Reader n, on an address and (unless told) a network of their own."""
    kwargs.setdefault("reason", "hate")
    return services.report_create(
        image_id=image.pk,
        reporter_key=f"reader:{n:032x}",
        ip_hash=f"{n:064x}",
        network_hash=network if network is not None else f"{n + 10**6:064x}",
        **kwargs,
    )


def case_of(image) -> ImageCase:
    return ImageCase.objects.get(image=image)


@pytest.mark.portable
def test_a_network_beyond_its_allowance_is_held_but_does_not_hold_the_case(
    settings, django_capture_on_commit_callbacks
):
    # given threshold 5 and a network allowance of 3 per image
    PolicyFactory(threshold=5)
    settings.BRIGADE_NETWORK_ALLOWANCE = 3
    image = ImageFactory()

    # when eight readers on one network report the image
    receipts = [report(image, n, network=NETWORK) for n in range(8)]

    # then three count, five are held, the case is marked and awaits a moderator
    assert [r.outcome for r in receipts] == [ReportOutcome.OPEN] * 3 + [ReportOutcome.HELD] * 5
    case = case_of(image)
    assert (case.open_report_count, case.score) == (3, 3)
    assert case.brigade_held_at is not None and case.needs_review
    assert case.auto_block_held_at is None
    assert Report.objects.filter(image=image, outcome=ReportOutcome.HELD).count() == 5
    # and one action says so, for the whole episode
    hold = ModerationAction.objects.get(image=image, action=ActionKind.BRIGADE_HOLD)
    assert hold.actor is None
    assert (hold.details["burst"], hold.details["from_one_network"]) == ("network", 4)

    # when two readers from elsewhere bring the count to the threshold
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        receipts = [report(image, n) for n in (100, 101)]

    # then the second one's block is enqueued and applies: independent readers decide
    assert [r.block_enqueued for r in receipts] == [False, True] and len(callbacks) == 1
    assert services.case_auto_block(image_id=image.pk) is True
    case = case_of(image)
    assert (case.state, case.open_report_count) == (CaseState.AUTO_BLOCKED, 5)
    # and the held reports still wait for the moderator's review of the block
    assert case.needs_review
    assert Report.objects.filter(image=image, outcome=ReportOutcome.HELD).count() == 5


@pytest.mark.portable
def test_a_burst_across_networks_holds_the_automatic_block(settings):
    # given a rate floor of 6 reports in the window, and ten readers of ten networks who
    # report an image at once while its threshold is 50
    policy = PolicyFactory(threshold=50)
    settings.BRIGADE_RATE_MIN = 6
    image = ImageFactory()
    receipts = [report(image, n) for n in range(10)]
    assert [r.outcome for r in receipts].count(ReportOutcome.HELD) == 4

    # when the threshold is lowered under the six reports that count
    Policy.objects.filter(pk=policy.pk).update(threshold=5)

    # then neither the task nor the sweeper applies the block: it waits for a moderator
    case = case_of(image)
    assert case.open_report_count == 6 and case.auto_block_held_at is not None
    assert services.case_auto_block(image_id=image.pk) is False
    assert services.sweep_due_blocks() == []
    assert case_of(image).state == CaseState.FLAGGED
    hold = ModerationAction.objects.get(image=image, action=ActionKind.BRIGADE_HOLD)
    assert hold.details["burst"] == "rate"


@pytest.mark.portable
def test_readers_of_many_networks_are_not_a_brigade():
    PolicyFactory(threshold=50)
    image = ImageFactory()

    receipts = [report(image, n) for n in range(15)]

    assert all(r.outcome == ReportOutcome.OPEN for r in receipts)
    assert case_of(image).brigade_held_at is None


@pytest.mark.portable
def test_far_above_the_images_usual_rate_is_a_burst(settings):
    # given an image whose usual rate is nil, a high threshold, and a burst floor of 6
    PolicyFactory(threshold=50)
    settings.BRIGADE_RATE_MIN = 6
    image = ImageFactory()

    # when ten readers from ten networks report it at once
    receipts = [report(image, n) for n in range(10)]

    # then the first six count and the rest are held
    assert [r.outcome for r in receipts].count(ReportOutcome.OPEN) == 6
    assert case_of(image).brigade_held_at is not None


@pytest.mark.portable
def test_an_image_used_to_many_reports_tolerates_more(settings):
    # given an image that received 300 reports over the day before (its usual rate:
    # about 2 per 10 minutes), and a factor of 10
    PolicyFactory(threshold=1000)
    image = ImageFactory()
    settings.BRIGADE_RATE_MIN = 1000
    for n in range(300):
        report(image, 5000 + n)
    Report.objects.filter(image=image).update(created_at=timezone.now() - timedelta(hours=5))
    settings.BRIGADE_RATE_MIN = 6

    # when twelve more come in the window: above the floor, under 10 x usual
    receipts = [report(image, n) for n in range(12)]

    # then they count
    assert all(r.outcome == ReportOutcome.OPEN for r in receipts)


@pytest.mark.portable
def test_staff_reports_are_never_held(settings):
    settings.BRIGADE_NETWORK_ALLOWANCE = 1
    image = ImageFactory()
    report(image, 1, network=NETWORK)
    staff = UserFactory(is_staff=True)

    receipt = services.report_create(
        image_id=image.pk,
        reporter_key=f"user:{staff.pk}",
        user_id=staff.pk,
        reason="hate",
        network_hash=NETWORK,
    )

    assert receipt.outcome == ReportOutcome.OPEN


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_burst_from_one_network_counts_exactly_the_allowance(settings):
    # given an allowance of 3, and 24 readers of one network reporting at once
    settings.BRIGADE_NETWORK_ALLOWANCE = 3
    settings.BRIGADE_RATE_MIN = 1000
    PolicyFactory(threshold=100)
    image = ImageFactory()
    barrier = threading.Barrier(8)

    def readers(offset):
        barrier.wait()
        try:
            for n in range(offset, 24, 8):
                report(image, n, network=NETWORK)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=readers, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then the checks, made under the case's lock, let exactly three through
    assert case_of(image).open_report_count == 3
    assert Report.objects.filter(image=image, outcome=ReportOutcome.HELD).count() == 21
    assert ModerationAction.objects.filter(action=ActionKind.BRIGADE_HOLD).count() == 1


# --- the moderator decides ------------------------------------------------------------


def held_case(settings) -> ImageCase:
    PolicyFactory(threshold=5)
    settings.BRIGADE_NETWORK_ALLOWANCE = 3
    image = ImageFactory()
    for n in range(8):
        report(image, n, network=NETWORK)
    return case_of(image)


def test_releasing_counts_the_held_reports_and_lets_the_block_happen(
    settings, moderator, django_capture_on_commit_callbacks
):
    case = held_case(settings)

    # when a moderator judges the burst genuine
    with django_capture_on_commit_callbacks() as callbacks:
        action = services.case_decide(case_id=case.pk, decision=Decision.RELEASE, actor=moderator)

    # then every report counts, the hold is lifted, one action, and the block path runs
    case.refresh_from_db()
    assert (case.open_report_count, case.score, case.brigade_held_at) == (8, 8, None)
    assert not Report.objects.filter(image=case.image, outcome=ReportOutcome.HELD).exists()
    assert (action.action, action.details["released_reports"]) == (ActionKind.RELEASE, 5)
    assert len(callbacks) == 1
    assert services.case_auto_block(image_id=case.image_id) is True


def test_dismissing_a_burst_judges_held_reports_too_and_lifts_the_hold(settings, moderator):
    case = held_case(settings)

    services.case_decide(case_id=case.pk, decision=Decision.DISMISS, actor=moderator)

    case.refresh_from_db()
    assert (case.open_report_count, case.brigade_held_at, case.needs_review) == (0, None, False)
    assert set(Report.objects.filter(image=case.image).values_list("outcome", flat=True)) == {
        ReportOutcome.DISMISSED
    }


def test_confirming_blocks_and_upholds_the_held_reports(settings, moderator):
    case = held_case(settings)

    services.case_decide(case_id=case.pk, decision=Decision.CONFIRM, actor=moderator)

    # then the block counts every report it upheld, the held ones included
    case.refresh_from_db()
    assert (case.state, case.brigade_held_at) == (CaseState.BLOCKED, None)
    assert Report.objects.filter(image=case.image, outcome=ReportOutcome.UPHELD).count() == 8
    assert (case.open_report_count, case.score) == (8, 8)


def test_release_is_refused_when_nothing_is_held(moderator):
    image = ImageFactory()
    report(image, 1)

    with pytest.raises(services.DecisionError):
        services.case_decide(case_id=case_of(image).pk, decision=Decision.RELEASE, actor=moderator)
    assert not ModerationAction.objects.exists()


def test_held_reports_expire_with_the_window(settings, moderator):
    case = held_case(settings)
    Report.objects.filter(image=case.image).update(created_at=timezone.now() - timedelta(days=60))

    services.reports_expire()

    assert set(Report.objects.filter(image=case.image).values_list("outcome", flat=True)) == {
        ReportOutcome.EXPIRED
    }
    expire = ModerationAction.objects.get(image=case.image, action=ActionKind.EXPIRE)
    assert (expire.details["expired_reports"], expire.details["expired_held_reports"]) == (3, 5)
