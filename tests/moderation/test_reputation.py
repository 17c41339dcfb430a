"""What a report weighs: the reporter's record with the moderators, staff, and muting."""

from decimal import Decimal

import pytest

from moderation import selectors, services
from moderation.models import ActionKind, ImageCase, ModerationAction, Report, ReportOutcome
from moderation.services import Decision
from tests.factories import ImageFactory, PolicyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.portable]


def report(image, reporter_key: str, **kwargs):
    kwargs.setdefault("reason", "violence")
    return services.report_create(image_id=image.pk, reporter_key=reporter_key, **kwargs)


def with_record(reporter_key: str, *, upheld: int = 0, dismissed: int = 0) -> None:
    """A reporter whose past reports moderators judged, through the decisions."""
    moderator = UserFactory(is_staff=True)
    for outcome, count in ((Decision.CONFIRM, upheld), (Decision.DISMISS, dismissed)):
        for _ in range(count):
            image = ImageFactory()
            report(image, reporter_key)
            case = ImageCase.objects.get(image=image)
            services.case_decide(case_id=case.pk, decision=outcome, actor=moderator)


def weight_of(reporter_key: str, **kwargs) -> Decimal:
    return selectors.reporter_weight(reporter_key=reporter_key, **kwargs)


def test_a_new_reader_weighs_one():
    assert weight_of("reader:" + "a" * 32) == 1


@pytest.mark.parametrize(
    ("upheld", "dismissed", "expected"),
    [
        (1, 0, Decimal("1.00")),  # one verdict is little evidence: +0.1, rounded
        (3, 0, Decimal("1.25")),
        (10, 0, Decimal("2.00")),
        (8, 2, Decimal("1.50")),
        (5, 5, Decimal("1.00")),
        (0, 3, Decimal("0.75")),
        (0, 10, Decimal("0.25")),  # the floor: never nothing
    ],
)
def test_weight_follows_the_moderators_verdicts_within_bounds(upheld, dismissed, expected):
    key = "reader:" + "b" * 32
    with_record(key, upheld=upheld, dismissed=dismissed)
    assert weight_of(key) == expected


def test_only_the_last_verdicts_count(settings):
    # given a reporter once reliable, lately not, and a history of 10 verdicts
    settings.REPUTATION_HISTORY = 10
    key = "reader:" + "c" * 32
    with_record(key, upheld=10)
    with_record(key, dismissed=10)

    # then their weight is that of their last ten verdicts
    assert weight_of(key) == settings.REPORT_WEIGHT_FLOOR


def test_staff_count_more_and_are_capped(settings):
    user = UserFactory(is_staff=True)
    key = f"user:{user.pk}"
    assert weight_of(key, is_staff=True) == settings.REPORT_WEIGHT_STAFF
    with_record(key, upheld=20)
    assert weight_of(key, is_staff=True) == settings.REPORT_WEIGHT_MAX == 3


def test_a_report_carries_its_reporters_weight_into_the_score():
    # given a reliable reader and a staff member
    reliable = "reader:" + "d" * 32
    with_record(reliable, upheld=10)
    staff = UserFactory(is_staff=True)
    image = ImageFactory()

    # when both report one image
    report(image, reliable)
    report(image, f"user:{staff.pk}", user_id=staff.pk)

    # then the score sums their weights, the count their persons
    case = ImageCase.objects.get(image=image)
    assert (case.open_report_count, case.score) == (2, Decimal("4.00"))
    assert sorted(Report.objects.filter(image=image).values_list("weight", flat=True)) == [2, 2]


def test_the_threshold_needs_both_enough_people_and_enough_score():
    # given five readers whose reports were always dismissed (0.25 each), threshold 5
    PolicyFactory(threshold=5)
    keys = [f"reader:{n:032x}" for n in range(5)]
    for key in keys:
        with_record(key, dismissed=10)
    image = ImageFactory()

    # when all five report the image
    receipts = [report(image, key) for key in keys]

    # then five people are not enough: their score is 1.25
    case = ImageCase.objects.get(image=image)
    assert (case.open_report_count, case.score) == (5, Decimal("1.25"))
    assert not any(receipt.block_enqueued for receipt in receipts)
    assert services.case_auto_block(image_id=image.pk) is False

    # and three more ordinary readers are not either (8 people, score 4.25),
    # while a fourth brings the score to 5.25
    for n in range(5, 8):
        assert report(image, f"reader:{n:032x}").block_enqueued is False
    assert report(image, f"reader:{8:032x}").block_enqueued is True


# --- muting ---------------------------------------------------------------------------


def test_muting_a_reporter_takes_their_open_reports_out_of_every_case(moderator):
    # given a reporter with open reports on two images, beside other readers
    noisy = "reader:" + "e" * 32
    first, second = ImageFactory.create_batch(2)
    report(first, noisy)
    report(first, "reader:" + "f" * 32)
    report(second, noisy)

    # when a moderator mutes them
    action = services.reporter_mute(reporter_key=noisy, actor=moderator, reason="spammeur")

    # then their reports no longer count anywhere, and one mute action records it
    assert ImageCase.objects.get(image=first).open_report_count == 1
    assert ImageCase.objects.get(image=first).score == 1
    assert ImageCase.objects.get(image=second).open_report_count == 0
    assert set(Report.objects.filter(reporter_key=noisy).values_list("outcome", flat=True)) == {
        ReportOutcome.MUTED
    }
    assert (action.action, action.actor, action.reason) == (ActionKind.MUTE, moderator, "spammeur")
    assert action.details["discounted_images"] == sorted([first.pk, second.pk])
    assert ModerationAction.objects.count() == 1


def test_a_muted_reporters_new_reports_are_stored_but_count_nothing(moderator):
    noisy = "reader:" + "e" * 32
    services.reporter_mute(reporter_key=noisy, actor=moderator)
    image = ImageFactory()

    receipt = report(image, noisy)

    assert receipt.outcome == ReportOutcome.MUTED
    assert Report.objects.get(image=image).outcome == ReportOutcome.MUTED
    assert not ImageCase.objects.filter(image=image, open_report_count__gt=0).exists()


def test_muting_twice_or_unmuting_the_unmuted_is_refused_and_writes_nothing(moderator):
    key = "reader:" + "e" * 32
    services.reporter_mute(reporter_key=key, actor=moderator)

    with pytest.raises(services.DecisionError):
        services.reporter_mute(reporter_key=key, actor=moderator)
    services.reporter_unmute(reporter_key=key, actor=moderator)
    with pytest.raises(services.DecisionError):
        services.reporter_unmute(reporter_key=key, actor=moderator)

    assert list(ModerationAction.objects.values_list("action", flat=True).order_by("pk")) == [
        ActionKind.MUTE,
        ActionKind.UNMUTE,
    ]


def test_an_unmuted_reporter_counts_again_from_then_on(moderator):
    key = "reader:" + "e" * 32
    services.reporter_mute(reporter_key=key, actor=moderator)
    services.reporter_unmute(reporter_key=key, actor=moderator)
    image = ImageFactory()

    assert report(image, key).outcome == ReportOutcome.OPEN
    assert ImageCase.objects.get(image=image).open_report_count == 1
