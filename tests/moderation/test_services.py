import threading

import pytest
from django.db import IntegrityError, connections, transaction

from articles.models import Image
from moderation import services, tasks
from moderation.models import (
    ActionKind,
    BlockedHash,
    CaseState,
    ImageCase,
    ModerationAction,
    Report,
)
from moderation.services import BlockVia, ReportResult
from tests.factories import ImageFactory, PolicyFactory, SourceFactory

pytestmark = pytest.mark.django_db


def report(image, n, **kwargs):
    kwargs.setdefault("reason", "violence")
    return services.report_create(image_id=image.pk, reporter_key=f"reader:{n}", **kwargs)


def report_many(image, count, start=0):
    return [report(image, n) for n in range(start, start + count)]


@pytest.fixture
def enqueued_blocks(monkeypatch):
    """The image ids handed to auto_block after commit. (The first report also
    enqueues an email to the moderators: tests/moderation/test_notifications.py.)"""
    sent = []
    monkeypatch.setattr(tasks.case_auto_block, "delay", sent.append)
    monkeypatch.setattr(tasks.first_report_notify, "delay", lambda report_id: None)
    return sent


# --- report_create -------------------------------------------------------------------


def test_first_report_opens_a_case_and_counts_one():
    # given a visible image nobody has reported
    image = ImageFactory()

    # when a reader reports it
    receipt = report(image, 1, comment="Trop violent")

    # then the report is stored and counted once
    assert receipt.result is ReportResult.CREATED
    stored = Report.objects.get(image=image)
    assert (stored.reporter_key, stored.reason, stored.comment) == (
        "reader:1",
        "violence",
        "Trop violent",
    )
    case = ImageCase.objects.get(image=image)
    assert (case.open_report_count, case.score, case.state) == (1, 1, CaseState.FLAGGED)
    assert case.first_reported_at == case.last_reported_at == stored.created_at


def test_repeat_by_the_same_reader_counts_nothing():
    # given an image this reader has already reported
    image = ImageFactory()
    report(image, 1)

    # when the same reader reports it again, with another reason
    receipt = report(image, 1, reason="spam")

    # then nothing more is stored or counted
    assert receipt.result is ReportResult.REPEAT
    assert Report.objects.filter(image=image).count() == 1
    assert ImageCase.objects.get(image=image).open_report_count == 1


def test_report_on_a_blocked_image_is_not_stored():
    # given a blocked image
    image = ImageFactory(visibility=Image.Visibility.BLOCKED)

    # when a reader reports it
    receipt = report(image, 1)

    # then nothing is stored
    assert receipt.result is ReportResult.ALREADY_BLOCKED
    assert not Report.objects.exists()
    assert not ImageCase.objects.exists()


def test_report_on_an_unknown_image_raises():
    with pytest.raises(Image.DoesNotExist):
        services.report_create(image_id=999_999, reporter_key="reader:1", reason="spam")


def test_unknown_reason_is_refused_before_anything_is_written():
    image = ImageFactory()
    with pytest.raises(ValueError):
        report(image, 1, reason="boring")
    assert not Report.objects.exists()


def test_block_is_enqueued_once_after_commit_when_the_threshold_is_reached(
    django_capture_on_commit_callbacks, enqueued_blocks
):
    # given an image under the default threshold of 5
    image = ImageFactory()

    # when four readers report it, nothing is scheduled
    with django_capture_on_commit_callbacks(execute=True):
        receipts = report_many(image, 4)
    assert enqueued_blocks == []
    assert not any(r.block_enqueued for r in receipts)

    # when the fifth does, one auto_block is scheduled for after the commit
    with django_capture_on_commit_callbacks() as at_threshold:
        fifth = report(image, 5)
    assert fifth.block_enqueued
    assert enqueued_blocks == []
    at_threshold[0]()
    assert enqueued_blocks == [image.pk]

    # when more readers report before the worker ran, no further message is sent
    with django_capture_on_commit_callbacks(execute=True):
        later = report_many(image, 3, start=6)
    assert enqueued_blocks == [image.pk]
    assert not any(r.block_enqueued for r in later)


def test_protected_case_is_never_enqueued(django_capture_on_commit_callbacks):
    image = ImageFactory()
    report(image, 0)
    ImageCase.objects.filter(image=image).update(protected=True)

    with django_capture_on_commit_callbacks() as callbacks:
        receipts = report_many(image, 10, start=1)

    assert callbacks == []
    assert not any(r.block_enqueued for r in receipts)


def test_source_policy_overrides_the_global_one(
    settings, django_capture_on_commit_callbacks, enqueued_blocks
):
    # given a global policy of 4 and a stricter one of 2 for this image's source
    settings.REPORT_THRESHOLD = 9
    source = SourceFactory()
    PolicyFactory(source=None, threshold=4)
    PolicyFactory(source=source, threshold=2)
    image = ImageFactory(article__source=source)
    other = ImageFactory()

    # when two readers report each image
    with django_capture_on_commit_callbacks(execute=True):
        report_many(image, 2)
        report_many(other, 2)

    # then only the image under the source policy is due
    assert enqueued_blocks == [image.pk]
    assert services.case_auto_block(image_id=image.pk)
    assert not services.case_auto_block(image_id=other.pk)


def test_threshold_setting_is_the_default_without_a_policy(settings):
    settings.REPORT_THRESHOLD = 2
    image = ImageFactory()
    receipts = report_many(image, 3)
    assert [r.block_enqueued for r in receipts] == [False, True, False]


# --- case_auto_block -----------------------------------------------------------------


def test_auto_block_blocks_the_image_and_writes_one_audit_row():
    # given an image reported by five distinct readers
    image = ImageFactory()
    report_many(image, 5)

    # when the block runs
    assert services.case_auto_block(image_id=image.pk) is True

    # then the image is blocked, the case auto-blocked, and one action written by the system
    image.refresh_from_db()
    case = ImageCase.objects.get(image=image)
    assert image.visibility == Image.Visibility.BLOCKED
    assert case.state == CaseState.AUTO_BLOCKED and case.blocked_at is not None
    action = ModerationAction.objects.get(image=image)
    assert action.action == ActionKind.AUTO_BLOCK
    assert action.actor is None
    assert action.details == {
        "open_report_count": 5,
        "score": 5,
        "threshold": 5,
        "previous_state": "flagged",
        "via": "task",
        # its hashes, banned in the same transaction (tests/moderation/test_bans.py)
        "banned_hashes": sorted(
            BlockedHash.objects.filter(source_image=image).values_list("pk", flat=True)
        ),
    }


def test_auto_block_three_times_gives_the_state_of_one_run():
    image = ImageFactory()
    report_many(image, 5)

    results = [services.case_auto_block(image_id=image.pk) for _ in range(3)]

    assert results == [True, False, False]
    assert ModerationAction.objects.filter(image=image).count() == 1
    assert ImageCase.objects.get(image=image).state == CaseState.AUTO_BLOCKED


def test_auto_block_rechecks_the_threshold_in_force_now():
    # given a case enqueued at 5, then the global threshold raised to 10
    image = ImageFactory()
    report_many(image, 5)
    PolicyFactory(threshold=10)

    # when the task runs, it blocks nothing
    assert services.case_auto_block(image_id=image.pk) is False
    image.refresh_from_db()
    assert image.visibility == Image.Visibility.VISIBLE
    assert not ModerationAction.objects.exists()


def test_auto_block_leaves_protected_cases_alone():
    image = ImageFactory()
    report_many(image, 5)
    ImageCase.objects.filter(image=image).update(protected=True)

    assert services.case_auto_block(image_id=image.pk) is False
    assert not ModerationAction.objects.exists()


def test_auto_block_without_a_case_does_nothing():
    image = ImageFactory()
    assert services.case_auto_block(image_id=image.pk) is False


def test_restored_case_can_be_blocked_again_by_new_reports():
    # given a case a moderator restored (its count back to zero)
    image = ImageFactory()
    report_many(image, 1)
    ImageCase.objects.filter(image=image).update(
        state=CaseState.RESTORED, open_report_count=0, score=0
    )

    # when five new readers report it
    report_many(image, 5, start=100)

    # then it blocks again
    assert services.case_auto_block(image_id=image.pk) is True
    assert ModerationAction.objects.get().details["previous_state"] == "restored"


@pytest.mark.portable
@pytest.mark.django_db(transaction=True)
def test_two_blocks_at_once_write_one_action():
    """Exact on PostgreSQL (row lock) and SQLite (compare-and-set)."""
    # given a case over its threshold
    image = ImageFactory()
    report_many(image, 5)
    barrier = threading.Barrier(4)
    results = []

    def block():
        barrier.wait()
        try:
            results.append(services.case_auto_block(image_id=image.pk))
        finally:
            connections.close_all()

    # when four workers run the block at the same moment
    threads = [threading.Thread(target=block) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one of them blocked it
    assert sorted(results) == [False, False, False, True]
    assert ModerationAction.objects.filter(action=ActionKind.AUTO_BLOCK).count() == 1


@pytest.mark.portable
@pytest.mark.django_db(transaction=True)
def test_concurrent_distinct_reports_lose_no_count(settings):
    # given one image and 40 readers reporting it at once from 8 threads (a
    # burst, which is not what this test is about: tests/moderation/test_brigades.py)
    settings.BRIGADE_RATE_MIN = 1000
    image = ImageFactory()
    barrier = threading.Barrier(8)

    def reporters(offset):
        barrier.wait()
        try:
            for n in range(offset, 40, 8):
                report(image, n)
                report(image, n)  # a repeat
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reporters, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then every distinct reader counted exactly once
    case = ImageCase.objects.get(image=image)
    assert Report.objects.filter(image=image).count() == 40
    assert (case.open_report_count, case.score) == (40, 40)


# --- the sweeper ---------------------------------------------------------------------


def test_sweeper_blocks_due_cases_only():
    # given a due case, a case under threshold, a protected due case and a blocked one
    due, under, protected, blocked = ImageFactory.create_batch(4)
    for image in (due, protected, blocked):
        report_many(image, 5)
    report_many(under, 4)
    ImageCase.objects.filter(image=protected).update(protected=True)
    services.case_auto_block(image_id=blocked.pk)

    # when the sweeper runs twice
    first = services.sweep_due_blocks()
    second = services.sweep_due_blocks()

    # then it blocked only the due case, once, and says it came from the sweeper
    assert first == [due.pk]
    assert second == []
    action = ModerationAction.objects.get(image=due)
    assert action.details["via"] == BlockVia.SWEEPER


def test_sweeper_applies_a_lowered_threshold():
    # given cases at 3 reports under a threshold of 5, one in a source whose policy drops to 3
    source = SourceFactory()
    lowered = ImageFactory(article__source=source)
    untouched = ImageFactory()
    report_many(lowered, 3)
    report_many(untouched, 3)
    PolicyFactory(source=source, threshold=3)

    # when the sweeper runs
    blocked = services.sweep_due_blocks()

    # then the source's image is blocked and the other is not
    assert blocked == [lowered.pk]


# --- invariants held by the database -------------------------------------------------


def test_database_refuses_a_second_report_by_the_same_reporter():
    image = ImageFactory()
    Report.objects.create(image=image, reporter_key="reader:1", reason="spam")
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(image=image, reporter_key="reader:1", reason="hate")


@pytest.mark.parametrize(
    "fields",
    [{"reason": "boring"}, {"reason": "spam", "weight": 0}, {"reason": "spam", "reporter_key": ""}],
)
def test_database_refuses_invalid_reports(fields):
    image = ImageFactory()
    fields.setdefault("reporter_key", "reader:1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(image=image, **fields)


def test_database_refuses_a_blocked_case_without_time_and_a_second_global_policy():
    image = ImageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ImageCase.objects.create(image=image, state=CaseState.AUTO_BLOCKED)
    PolicyFactory(threshold=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyFactory(threshold=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyFactory(source=SourceFactory(), threshold=0)


def test_audit_log_is_append_only_in_postgresql(django_db_blocker):
    image = ImageFactory()
    report_many(image, 5)
    services.case_auto_block(image_id=image.pk)
    action = ModerationAction.objects.get()

    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        ModerationAction.objects.filter(pk=action.pk).update(reason="rewritten")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        ModerationAction.objects.filter(pk=action.pk).delete()
    assert ModerationAction.objects.get().reason == action.reason
