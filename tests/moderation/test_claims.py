"""Claims: two moderators never work the same case, and a decision on a case someone
else acted on meanwhile is refused with who did what."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from moderation import services
from moderation.models import CaseClaim, ImageCase, ModerationAction
from moderation.services import ClaimConflict, Decision, DecisionConflict
from tests.factories import ImageFactory, ModeratorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    # The refusals are read in English, whatever language an earlier test left active.
    with translation.override("en"):
        yield


def reported_case() -> ImageCase:
    image = ImageFactory()
    for n in range(2):
        services.report_create(image_id=image.pk, reporter_key=f"reader:{n}", reason="hate")
    return ImageCase.objects.get(image=image)


@pytest.fixture
def ana(db):
    return ModeratorFactory(username="ana", first_name="Ana", last_name="Ruiz")


def test_a_claimed_case_is_refused_to_another_moderator_with_the_holders_name(moderator, ana):
    # given Ana examining a case
    case = reported_case()
    services.case_claim(case_id=case.pk, moderator=ana)

    # when another moderator opens or decides it, then both are refused, naming Ana
    with pytest.raises(ClaimConflict, match="Ana Ruiz is examining this case") as refused:
        services.case_claim(case_id=case.pk, moderator=moderator)
    assert refused.value.holder.name == "Ana Ruiz"
    with pytest.raises(ClaimConflict):
        services.case_decide(case_id=case.pk, decision=Decision.DISMISS, actor=moderator)
    # and nothing was written
    assert not ModerationAction.objects.filter(image_id=case.image_id, actor=moderator).exists()


def test_an_expired_claim_is_anybodys(moderator, ana):
    case = reported_case()
    long_ago = timezone.now() - timedelta(hours=1)
    services.case_claim(case_id=case.pk, moderator=ana, now=long_ago)

    claim = services.case_claim(case_id=case.pk, moderator=moderator)

    assert claim.moderator == moderator and claim.expires_at > timezone.now()


def test_a_moderator_holds_one_claim_at_a_time(moderator):
    first, second = reported_case(), reported_case()
    services.case_claim(case_id=first.pk, moderator=moderator)

    services.case_claim(case_id=second.pk, moderator=moderator)

    assert list(CaseClaim.objects.values_list("case_id", flat=True)) == [second.pk]


def test_claiming_ones_own_case_again_extends_it(moderator, settings):
    case = reported_case()
    earlier = timezone.now() - timedelta(seconds=60)
    services.case_claim(case_id=case.pk, moderator=moderator, now=earlier)

    claim = services.case_claim(case_id=case.pk, moderator=moderator)

    assert claim.expires_at > earlier + timedelta(seconds=settings.MODERATION_CLAIM_SECONDS)


def test_a_decision_ends_the_deciders_claim(moderator):
    case = reported_case()
    services.case_claim(case_id=case.pk, moderator=moderator)

    services.case_decide(case_id=case.pk, decision=Decision.DISMISS, actor=moderator)

    assert not CaseClaim.objects.exists()


def test_release_is_idempotent_and_only_lets_go_of_ones_own(moderator, ana):
    case = reported_case()
    services.case_claim(case_id=case.pk, moderator=ana)

    assert services.case_release(case_id=case.pk, moderator=moderator) is False
    assert services.case_release(case_id=case.pk, moderator=ana) is True
    assert services.case_release(case_id=case.pk, moderator=ana) is False


def test_claiming_no_case_raises_does_not_exist(moderator):
    with pytest.raises(ImageCase.DoesNotExist):
        services.case_claim(case_id=10**9, moderator=moderator)


def test_a_decision_on_a_case_changed_since_it_was_seen_is_refused(moderator, ana):
    # given a moderator who saw the case with no audit row, then Ana dismissed its reports
    case = reported_case()
    services.case_decide(case_id=case.pk, decision=Decision.DISMISS, actor=ana)

    # when the moderator protects it on what they saw, then it is refused, naming Ana's act
    with pytest.raises(DecisionConflict, match="Ana Ruiz") as refused:
        services.case_decide(
            case_id=case.pk, decision=Decision.PROTECT, actor=moderator, seen_action_id=0
        )
    assert refused.value.action.actor == ana
    case.refresh_from_db()
    assert not case.protected


def test_ones_own_rows_and_notes_are_no_conflict(moderator, ana):
    case = reported_case()
    own = services.case_decide(case_id=case.pk, decision=Decision.PROTECT, actor=moderator)
    services.case_decide(case_id=case.pk, decision=Decision.NOTE, actor=ana, note="vu")

    services.case_decide(
        case_id=case.pk, decision=Decision.UNPROTECT, actor=moderator, seen_action_id=own.pk - 1
    )

    case.refresh_from_db()
    assert not case.protected
