"""Undoing a decision: for MODERATION_UNDO_SECONDS its author takes it back exactly,
through the services, with its own audit row."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import translation

from articles.models import Image
from moderation import selectors, services
from moderation.models import (
    ActionKind,
    BlockedHash,
    ImageCase,
    ModerationAction,
    Report,
    ReportOutcome,
)
from moderation.services import Decision, DecisionConflict, DecisionError
from tests.factories import ImageFactory, ModeratorFactory, PolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    # The refusals are read in English, whatever language an earlier test left active.
    with translation.override("en"):
        yield


NETWORK = "b" * 64


def report(image, n: int, *, network: str | None = None):
    return services.report_create(
        image_id=image.pk,
        reporter_key=f"reader:{n:032x}",
        reason="violence",
        ip_hash=f"{n:064x}",
        network_hash=network if network is not None else f"{n + 10**6:064x}",
    )


def fingerprint(image) -> dict:
    """Everything a decision may change, as a moderator or a reader would notice it."""
    case = ImageCase.objects.get(image=image)
    keys = list(Report.objects.filter(image=image).values_list("reporter_key", flat=True))
    return {
        "case": model_to_dict(case),
        "reports": dict(Report.objects.filter(image=image).values_list("pk", "outcome")),
        "weights": {key: selectors.reporter_weight(reporter_key=key) for key in keys},
        "visibility": Image.objects.values_list("visibility", flat=True).get(pk=image.pk),
        "active_bans": set(
            BlockedHash.objects.filter(source_image=image, lifted_at__isnull=True).values_list(
                "kind", "phash", "sha256"
            )
        ),
    }


def flagged(settings, *, held: bool = False):
    """A case below its threshold of 5: two readers, plus (held) grouped reports."""
    settings.BRIGADE_NETWORK_ALLOWANCE = 1
    image = ImageFactory()
    report(image, 1)
    report(image, 2)
    if held:
        for n in range(3, 6):
            report(image, n, network=NETWORK)
    return image


def auto_blocked(settings):
    image = ImageFactory()
    for n in range(5):
        report(image, n)
    assert services.case_auto_block(image_id=image.pk)
    return image


def protected(settings):
    image = flagged(settings)
    services.case_decide(
        case_id=ImageCase.objects.get(image=image).pk,
        decision=Decision.PROTECT,
        actor=ModeratorFactory(),
    )
    return image


SCENARIOS = [
    ("confirm of the machine's block", auto_blocked, Decision.CONFIRM),
    ("confirm before the threshold (bans made)", flagged, Decision.CONFIRM),
    ("confirm with grouped reports held", lambda s: flagged(s, held=True), Decision.CONFIRM),
    ("restore (bans lifted, reports dismissed)", auto_blocked, Decision.RESTORE),
    ("dismiss with grouped reports held", lambda s: flagged(s, held=True), Decision.DISMISS),
    ("protect", flagged, Decision.PROTECT),
    ("unprotect", protected, Decision.UNPROTECT),
    ("release of grouped reports", lambda s: flagged(s, held=True), Decision.RELEASE),
]


@pytest.mark.parametrize(
    ("given", "decision"),
    [pytest.param(given, decision, id=name) for name, given, decision in SCENARIOS],
)
def test_undo_takes_a_decision_back_exactly(settings, moderator, given, decision):
    # given a case in a state the decision applies to, and how it stands
    PolicyFactory(threshold=5)
    image = given(settings)
    before = fingerprint(image)
    case_id = ImageCase.objects.get(image=image).pk

    # when the moderator decides, which changes the case, then undoes it
    action = services.case_decide(case_id=case_id, decision=decision, actor=moderator)
    assert fingerprint(image) != before
    undo = services.decision_undo(action_id=action.pk, actor=moderator)

    # then everything is as it was: case row, reports, weights, visibility, bans
    assert fingerprint(image) == before
    # and the undo wrote its own row, naming what it undid
    assert (undo.action, undo.actor, undo.details["undone_action"]) == (
        ActionKind.UNDO,
        moderator,
        action.pk,
    )
    assert ModerationAction.objects.filter(image=image, pk__gt=action.pk).count() == 1


def test_reports_that_arrive_before_the_undo_stay_counted(settings, moderator):
    # given a dismissed case
    PolicyFactory(threshold=5)
    image = flagged(settings)
    case_id = ImageCase.objects.get(image=image).pk
    action = services.case_decide(case_id=case_id, decision=Decision.DISMISS, actor=moderator)

    # when a new reader reports it before the moderator undoes the dismissal
    report(image, 40)
    services.decision_undo(action_id=action.pk, actor=moderator)

    # then the two dismissed reports are open again and the new one still counts
    case = ImageCase.objects.get(pk=case_id)
    assert (case.open_report_count, case.score) == (3, 3)
    assert Report.objects.filter(image=image, outcome=ReportOutcome.OPEN).count() == 3


def undoable(settings, moderator):
    PolicyFactory(threshold=5)
    image = auto_blocked(settings)
    case_id = ImageCase.objects.get(image=image).pk
    return services.case_decide(case_id=case_id, decision=Decision.RESTORE, actor=moderator)


def test_only_the_author_may_undo(settings, moderator):
    action = undoable(settings, moderator)
    with pytest.raises(DecisionError, match="Only the moderator"):
        services.decision_undo(action_id=action.pk, actor=ModeratorFactory())


def test_undo_is_refused_after_its_deadline(settings, moderator):
    action = undoable(settings, moderator)
    too_late = action.created_at + timedelta(seconds=settings.MODERATION_UNDO_SECONDS + 1)
    with pytest.raises(DecisionError, match="Too late"):
        services.decision_undo(action_id=action.pk, actor=moderator, now=too_late)


def test_a_decision_is_undone_once(settings, moderator):
    action = undoable(settings, moderator)
    services.decision_undo(action_id=action.pk, actor=moderator)
    with pytest.raises(DecisionError, match="already undone"):
        services.decision_undo(action_id=action.pk, actor=moderator)
    assert ModerationAction.objects.filter(action=ActionKind.UNDO).count() == 1


def test_undo_is_refused_when_someone_acted_since(settings, moderator):
    # given a restore, then another moderator's protect on the same case
    action = undoable(settings, moderator)
    other = ModeratorFactory(first_name="Ana", last_name="Ruiz")
    services.case_decide(
        case_id=ImageCase.objects.get(image_id=action.image_id).pk,
        decision=Decision.PROTECT,
        actor=other,
    )
    # when the first moderator tries to undo, then they are told who did what
    with pytest.raises(DecisionConflict, match="Ana Ruiz"):
        services.decision_undo(action_id=action.pk, actor=moderator)


def test_notes_and_the_machines_actions_cannot_be_undone(settings, moderator):
    PolicyFactory(threshold=5)
    image = auto_blocked(settings)
    case_id = ImageCase.objects.get(image=image).pk
    note = services.case_decide(case_id=case_id, decision=Decision.NOTE, actor=moderator, note="x")
    machine = ModerationAction.objects.get(image=image, action=ActionKind.AUTO_BLOCK)
    for action in (note, machine):
        with pytest.raises(DecisionError, match="cannot be undone"):
            services.decision_undo(action_id=action.pk, actor=moderator)


def test_undo_of_nothing_raises_does_not_exist(moderator):
    with pytest.raises(ModerationAction.DoesNotExist):
        services.decision_undo(action_id=10**9, actor=moderator)
