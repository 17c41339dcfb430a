from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Image
from moderation import services
from moderation.models import ActionKind, CaseState, ImageCase, ModerationAction, Policy, Report
from moderation.services import Decision, DecisionError
from tests.factories import ImageFactory, PolicyFactory, SourceFactory

pytestmark = pytest.mark.django_db


def report_many(image, count, start=0):
    for n in range(start, start + count):
        services.report_create(image_id=image.pk, reporter_key=f"reader:{n}", reason="violence")


def auto_blocked_case(image=None):
    image = image or ImageFactory()
    report_many(image, 5)
    services.case_auto_block(image_id=image.pk)
    return ImageCase.objects.get(image=image)


def decide(case, decision, actor, note=""):
    return services.case_decide(case_id=case.pk, decision=decision, actor=actor, note=note)


def visibility(case):
    return Image.objects.values_list("visibility", flat=True).get(pk=case.image_id)


def moderator_actions(case):
    return ModerationAction.objects.filter(image_id=case.image_id, actor__isnull=False)


def test_confirm_keeps_the_block_upholds_the_reports_and_logs_one_action(moderator):
    # given an image the machine blocked
    case = auto_blocked_case()

    # when a moderator confirms it
    action = decide(case, Decision.CONFIRM, moderator, note="Clairement violent")

    # then the case is blocked for good, reviewed, its reports upheld, one row names the moderator
    case.refresh_from_db()
    assert (case.state, case.reviewed_by, visibility(case)) == (
        CaseState.BLOCKED,
        moderator,
        Image.Visibility.BLOCKED,
    )
    assert set(Report.objects.filter(image_id=case.image_id).values_list("outcome", flat=True)) == {
        "upheld"
    }
    assert list(moderator_actions(case)) == [action]
    assert (action.action, action.actor, action.reason) == (
        ActionKind.CONFIRM,
        moderator,
        "Clairement violent",
    )
    assert action.details["previous_state"] == "auto_blocked"


def test_confirm_before_the_threshold_blocks_the_image(moderator):
    image = ImageFactory()
    report_many(image, 2)
    case = ImageCase.objects.get(image=image)

    decide(case, Decision.CONFIRM, moderator)

    case.refresh_from_db()
    assert case.state == CaseState.BLOCKED and case.blocked_at is not None
    assert visibility(case) == Image.Visibility.BLOCKED


def test_restore_shows_the_image_again_and_dismisses_its_reports(moderator):
    # given an image the machine blocked
    case = auto_blocked_case()

    # when a moderator restores it
    decide(case, Decision.RESTORE, moderator)

    # then it is visible, its reports dismissed and no longer counted
    case.refresh_from_db()
    assert visibility(case) == Image.Visibility.VISIBLE
    assert (case.state, case.open_report_count, case.score, case.blocked_at) == (
        CaseState.RESTORED,
        0,
        0,
        None,
    )
    assert set(Report.objects.filter(image_id=case.image_id).values_list("outcome", flat=True)) == {
        "dismissed"
    }
    assert moderator_actions(case).get().action == ActionKind.RESTORE


def test_after_restore_the_same_reporters_can_never_block_it_again(moderator):
    # given a restored image
    case = auto_blocked_case()
    decide(case, Decision.RESTORE, moderator)

    # when the five readers who reported it report again
    receipts = [
        services.report_create(image_id=case.image_id, reporter_key=f"reader:{n}", reason="hate")
        for n in range(5)
    ]

    # then nothing is counted and the sweeper finds nothing to block
    assert {r.result for r in receipts} == {services.ReportResult.REPEAT}
    assert services.sweep_due_blocks() == []
    assert visibility(case) == Image.Visibility.VISIBLE

    # when five new readers report it, it is blocked again
    report_many(case.image, 5, start=100)
    assert services.sweep_due_blocks() == [case.image_id]
    assert visibility(case) == Image.Visibility.BLOCKED


def test_restoring_a_confirmed_block_overturns_the_upheld_reports(moderator):
    case = auto_blocked_case()
    decide(case, Decision.CONFIRM, moderator)

    decide(case, Decision.RESTORE, moderator)

    outcomes = set(Report.objects.filter(image_id=case.image_id).values_list("outcome", flat=True))
    assert outcomes == {"dismissed"}
    assert visibility(case) == Image.Visibility.VISIBLE


def test_dismiss_clears_the_count_without_changing_visibility(moderator):
    # given a flagged image with three reports
    image = ImageFactory()
    report_many(image, 3)
    case = ImageCase.objects.get(image=image)

    # when a moderator dismisses the reports
    decide(case, Decision.DISMISS, moderator)

    # then it stays visible and flagged, with nothing counted
    case.refresh_from_db()
    assert (case.state, case.open_report_count, case.score) == (CaseState.FLAGGED, 0, 0)
    assert visibility(case) == Image.Visibility.VISIBLE
    assert not Report.objects.filter(image=image, outcome="open").exists()
    assert moderator_actions(case).get().action == ActionKind.DISMISS


def test_protected_image_is_never_auto_blocked_until_unprotected(moderator, settings):
    # given a protected image
    image = ImageFactory()
    report_many(image, 1)
    case = ImageCase.objects.get(image=image)
    decide(case, Decision.PROTECT, moderator)

    # when enough readers report it, nothing blocks it
    report_many(image, 10, start=1)
    assert services.sweep_due_blocks() == []
    assert services.case_auto_block(image_id=image.pk) is False
    assert visibility(case) == Image.Visibility.VISIBLE

    # when it is unprotected, the next sweep blocks it
    decide(case, Decision.UNPROTECT, moderator)
    assert services.sweep_due_blocks() == [image.pk]
    assert [a.action for a in moderator_actions(case).order_by("id")] == [
        ActionKind.PROTECT,
        ActionKind.UNPROTECT,
    ]


def test_note_changes_nothing_but_is_logged(moderator):
    case = auto_blocked_case()

    decide(case, Decision.NOTE, moderator, note="Vérifier la source")

    case.refresh_from_db()
    assert case.state == CaseState.AUTO_BLOCKED and case.reviewed_by is None
    action = moderator_actions(case).get()
    assert (action.action, action.reason) == (ActionKind.NOTE, "Vérifier la source")


@pytest.mark.parametrize(
    ("setup", "decision"),
    [
        ("flagged", Decision.RESTORE),
        ("blocked", Decision.CONFIRM),
        ("blocked", Decision.PROTECT),
        ("flagged", Decision.UNPROTECT),
        ("dismissed", Decision.DISMISS),
        ("flagged", Decision.NOTE),
        ("protected", Decision.CONFIRM),
        ("protected", Decision.PROTECT),
    ],
)
def test_decisions_that_do_not_apply_change_and_log_nothing(moderator, setup, decision):
    # given a case in a state where the decision makes no sense
    image = ImageFactory()
    report_many(image, 2)
    case = ImageCase.objects.get(image=image)
    if setup == "blocked":
        decide(case, Decision.CONFIRM, moderator)
    elif setup == "dismissed":
        decide(case, Decision.DISMISS, moderator)
    elif setup == "protected":
        decide(case, Decision.PROTECT, moderator)
    before = ModerationAction.objects.count()
    snapshot = ImageCase.objects.values().get(pk=case.pk)

    # when it is taken anyway, it is refused with a reason and nothing changes
    with pytest.raises(DecisionError) as refused:
        decide(case, decision, moderator)
    assert str(refused.value)
    assert ModerationAction.objects.count() == before
    assert ImageCase.objects.values().get(pk=case.pk) == snapshot


def test_policy_save_logs_each_change(moderator):
    # given no policy for a source
    source = SourceFactory()

    # when a moderator sets one, then changes it
    services.policy_save(source_id=source.pk, threshold=3, window_days=7, actor=moderator)
    services.policy_save(source_id=source.pk, threshold=2, window_days=7, actor=moderator)

    # then one policy, two logged changes with before and after
    assert Policy.objects.get(source=source).threshold == 2
    changes = ModerationAction.objects.filter(action=ActionKind.POLICY_CHANGE).order_by("id")
    assert [c.details["before"] for c in changes] == [None, {"threshold": 3, "window_days": 7}]
    assert changes[1].details["after"] == {"threshold": 2, "window_days": 7}
    assert {c.actor for c in changes} == {moderator}


def test_lowering_a_threshold_blocks_the_images_now_over_it(moderator):
    image = ImageFactory()
    report_many(image, 3)

    services.policy_save(source_id=None, threshold=3, window_days=30, actor=moderator)

    assert services.sweep_due_blocks() == [image.pk]


def test_reports_older_than_the_window_stop_counting():
    # given a source whose policy counts the last 7 days, and an image with 4 old and 1 new report
    source = SourceFactory()
    PolicyFactory(source=source, threshold=5, window_days=7)
    image = ImageFactory(article__source=source)
    report_many(image, 5)
    old = Report.objects.filter(image=image).order_by("id")[:4]
    Report.objects.filter(pk__in=[r.pk for r in old]).update(
        created_at=timezone.now() - timedelta(days=8)
    )

    # when the sweeper runs
    blocked = services.sweep_due_blocks()

    # then the old reports expired, one count is left, nothing is blocked, one system row says so
    case = ImageCase.objects.get(image=image)
    assert blocked == []
    assert (case.open_report_count, case.score) == (1, 1)
    assert Report.objects.filter(image=image, outcome="expired").count() == 4
    action = ModerationAction.objects.get(image=image)
    assert (action.action, action.actor, action.details["expired_reports"]) == (
        ActionKind.EXPIRE,
        None,
        4,
    )
    # and a second pass finds nothing more to expire
    assert services.reports_expire() == 0


def test_the_global_window_applies_to_sources_without_a_policy(settings):
    settings.REPORT_WINDOW_DAYS = 2
    image = ImageFactory()
    report_many(image, 2)
    Report.objects.filter(image=image).update(created_at=timezone.now() - timedelta(days=3))

    assert services.reports_expire() == 1
    assert ImageCase.objects.get(image=image).open_report_count == 0


# --- the stored "needs review" flag ---------------------------------------------------


def needs_review(image):
    return ImageCase.objects.values_list("needs_review", flat=True).get(image=image)


@pytest.mark.portable
def test_a_case_needs_review_from_half_its_threshold():
    # given the default threshold of 5 (half: 3)
    image = ImageFactory()

    # when two readers report it, it does not wait for review yet; at three it does
    report_many(image, 2)
    assert needs_review(image) is False
    report_many(image, 1, start=2)
    assert needs_review(image) is True


def test_review_flag_follows_blocks_decisions_and_policies(moderator):
    # given an auto-blocked case: it waits for review
    case = auto_blocked_case()
    assert needs_review(case.image) is True

    # when a moderator restores it, it no longer does
    decide(case, Decision.RESTORE, moderator)
    assert needs_review(case.image) is False

    # when new readers block it again, it waits again although reviewed before
    report_many(case.image, 5, start=100)
    services.case_auto_block(image_id=case.image_id)
    assert needs_review(case.image) is True

    # when it is confirmed, it is done
    decide(case, Decision.CONFIRM, moderator)
    assert needs_review(case.image) is False


def test_a_lowered_threshold_puts_cases_in_review(moderator):
    image = ImageFactory()
    report_many(image, 2)
    assert needs_review(image) is False

    services.policy_save(source_id=None, threshold=4, window_days=30, actor=moderator)

    assert needs_review(image) is True


def test_protecting_or_expiring_takes_a_case_out_of_review(moderator):
    protected, expiring = ImageFactory.create_batch(2)
    report_many(protected, 3)
    report_many(expiring, 3)

    decide(ImageCase.objects.get(image=protected), Decision.PROTECT, moderator)
    Report.objects.filter(image=expiring).update(created_at=timezone.now() - timedelta(days=31))
    services.reports_expire()

    assert needs_review(protected) is False
    assert needs_review(expiring) is False


def test_refresh_all_recomputes_flags_written_around_the_services():
    # given cases whose stored flag was written wrong by a bulk import
    source = SourceFactory()
    PolicyFactory(source=source, threshold=2)
    strict, lenient = ImageFactory(article__source=source), ImageFactory()
    report_many(strict, 1)
    report_many(lenient, 1)
    ImageCase.objects.update(needs_review=True)

    # when every flag is recomputed
    services.needs_review_refresh_all()

    # then each follows its own policy: half of 2 is 1, half of 5 is 3
    assert needs_review(strict) is True
    assert needs_review(lenient) is False
