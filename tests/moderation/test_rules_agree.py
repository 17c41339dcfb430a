"""Every rule the database also applies (in a filter or in the report path's SQL) gives
the same answer in each of its forms, over a table of every combination of the facts it
reads: rules.py's Python against its Q and SQL forms."""

import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from articles.models import Image
from moderation import rules, selectors, services
from moderation.models import BLOCKED_STATES, CaseState, ImageCase, Policy
from moderation.services import Decision, DecisionError
from moderation.services.reports import _COUNT_REPORT_SQL
from tests.factories import ArticleFactory, ImageFactory, PolicyFactory, SourceFactory
from tests.readers import held_case

pytestmark = pytest.mark.django_db

THRESHOLDS = range(1, 7)
COUNTS = range(8)
# When the moderator last looked, against when the image was blocked.
REVIEWS = ("never", "before_block", "after_block")


def _images(count: int) -> list[Image]:
    # Rows only: no rule here reads an image's files.
    article = ArticleFactory()
    return Image.objects.bulk_create(
        Image(article=article, position=n, original=f"rules/{n}.jpg") for n in range(count)
    )


def _score_of(count: int) -> Decimal:
    # Off the count by half a report, up for odd counts and down for even ones, so that
    # the count and the score each decide some cases alone.
    return max(Decimal(0), Decimal(count) + (Decimal("0.5") if count % 2 else Decimal("-0.5")))


@pytest.fixture
def every_case() -> list[ImageCase]:
    """One case for each combination of the facts needs_review and block_due read."""
    now = timezone.now()
    combinations = [
        (state, protected, count, held, block_held, review)
        for state, protected, count, held, block_held, review in itertools.product(
            CaseState.values, (False, True), COUNTS, (False, True), (False, True), REVIEWS
        )
        # The model's constraints: a blocked case is not protected.
        if not (state in BLOCKED_STATES and protected)
    ]
    images = _images(len(combinations))
    cases = []
    for image, (state, protected, count, held, block_held, review) in zip(
        images, combinations, strict=True
    ):
        blocked_at = now - timedelta(hours=1) if state in BLOCKED_STATES else None
        reviewed_at = {
            "never": None,
            "before_block": now - timedelta(hours=2),
            "after_block": now,
        }[review]
        cases.append(
            ImageCase(
                image=image,
                state=state,
                protected=protected,
                open_report_count=count,
                score=_score_of(count),
                brigade_held_at=now if held else None,
                auto_block_held_at=now if block_held else None,
                blocked_at=blocked_at,
                reviewed_at=reviewed_at,
            )
        )
    return ImageCase.objects.bulk_create(cases)


def _needs_review(case: ImageCase, threshold: int) -> bool:
    return rules.needs_review(
        state=case.state,
        protected=case.protected,
        open_report_count=case.open_report_count,
        threshold=threshold,
        grouped_held=case.brigade_held_at is not None,
        blocked_at=case.blocked_at,
        reviewed_at=case.reviewed_at,
    )


def test_needs_review_reads_the_same_in_python_and_as_a_filter(every_case):
    for threshold in THRESHOLDS:
        # given every case, under one threshold
        # when the database filters them by the rule's Q form
        flagged = set(
            ImageCase.objects.filter(rules.needs_review_condition(threshold=threshold)).values_list(
                "pk", flat=True
            )
        )
        # then it picks exactly the cases the Python form picks
        expected = {case.pk for case in every_case if _needs_review(case, threshold)}
        assert flagged == expected, f"threshold {threshold}"
        assert 0 < len(expected) < len(every_case)


def test_the_report_paths_count_keeps_needs_review_as_the_rule_says(every_case):
    # given cases whose stored needs_review is the rule's, under each threshold
    counted = [case for case in every_case if case.state in (CaseState.FLAGGED, CaseState.RESTORED)]
    now = timezone.now()
    for threshold in THRESHOLDS:
        for case in counted:
            ImageCase.objects.filter(pk=case.pk).update(
                needs_review=_needs_review(case, threshold),
                open_report_count=case.open_report_count,
            )
        # when one more report is counted by the report path's own statement
        with connection.cursor() as cursor:
            for case in counted:
                cursor.execute(
                    _COUNT_REPORT_SQL,
                    {
                        "image_id": case.image_id,
                        "weight": Decimal(1),
                        "now": now,
                        "half": rules.half_threshold(threshold),
                    },
                )
        # then each case's needs_review is the rule's for the count it has now
        stored = dict(
            ImageCase.objects.filter(pk__in=[c.pk for c in counted]).values_list(
                "pk", "needs_review"
            )
        )
        for case in counted:
            case.open_report_count += 1
            assert stored[case.pk] is _needs_review(case, threshold), (threshold, case.pk)
            case.open_report_count -= 1


def test_block_due_reads_the_same_in_python_and_as_the_sweepers_filter(every_case):
    for threshold in THRESHOLDS:
        # given every case under a global policy of this threshold
        Policy.objects.update_or_create(source=None, defaults={"threshold": threshold})
        # when the sweeper's query lists the cases due for a block
        due = set(selectors.case_list_due_for_block().values_list("pk", flat=True))
        # then they are exactly those the Python form says are due
        expected = {
            case.pk
            for case in every_case
            if rules.block_due(
                state=case.state,
                protected=case.protected,
                block_held=case.auto_block_held_at is not None,
                open_report_count=case.open_report_count,
                score=case.score,
                threshold=threshold,
            )
        }
        assert due == expected, f"threshold {threshold}"
        assert expected


@pytest.mark.parametrize(
    ("own", "global_threshold"),
    list(itertools.product((None, 2, 7), (None, 3))),
)
def test_the_policy_in_force_reads_the_same_in_its_three_forms(settings, own, global_threshold):
    # given a source with or without its own policy, with or without a global one
    settings.REPORT_THRESHOLD = 4
    source = SourceFactory()
    other = SourceFactory()
    if own is not None:
        PolicyFactory(source=source, threshold=own)
    if global_threshold is not None:
        PolicyFactory(source=None, threshold=global_threshold)
    PolicyFactory(source=other, threshold=9)
    image = ImageFactory(article__source=source)
    case = ImageCase.objects.create(image=image)

    # when each form says which threshold is in force for the image
    in_python = selectors.policy_for(source_id=source.pk).threshold
    in_report_sql = selectors.image_report_target(image_id=image.pk)[1]
    in_orm = selectors.case_list_with_threshold().get(pk=case.pk).threshold

    # then they agree, and it is the one the rule names
    expected = own or global_threshold or 4
    assert in_python == in_report_sql == in_orm == expected


# --- which decisions apply: the workspace's offer, the services' verdict ---------------------


def _case_in(kind: str, moderator) -> ImageCase:
    """A case in one of the states a moderator meets, built through the services."""
    PolicyFactory(threshold=5)
    if kind == "held":
        return held_case()
    image = ImageFactory()
    readers = 5 if kind in ("auto_blocked", "confirmed", "restored") else 2
    for n in range(readers):
        services.report_create(image_id=image.pk, reporter_key=f"reader:{n}", reason="hate")
    case = ImageCase.objects.get(image=image)
    if kind in ("auto_blocked", "confirmed", "restored"):
        assert services.case_auto_block(image_id=image.pk)
    follow_up = {
        "confirmed": Decision.CONFIRM,
        "restored": Decision.RESTORE,
        "dismissed": Decision.DISMISS,
        "protected": Decision.PROTECT,
    }.get(kind)
    if follow_up:
        services.case_decide(case_id=case.pk, decision=follow_up, actor=moderator)
    return ImageCase.objects.get(pk=case.pk)


@pytest.mark.parametrize(
    "kind",
    ["flagged", "held", "auto_blocked", "confirmed", "restored", "dismissed", "protected"],
)
def test_the_workspace_offers_exactly_the_decisions_the_services_accept(kind, moderator):
    # given a case in this state, as the workspace shows it
    case = _case_in(kind, moderator)
    card = next(
        card
        for card in selectors.workspace_page(
            tab=selectors.QueueTab.ALL, moderator_id=moderator.pk, now=timezone.now()
        ).cards
        if card.case.pk == case.pk
    )

    # when each decision is tried (and rolled back)
    accepted = []
    for decision in rules.DECISIONS:
        try:
            with transaction.atomic():
                services.case_decide(case_id=case.pk, decision=decision, actor=moderator, note="vu")
                accepted.append(decision)
                transaction.set_rollback(True)
        except DecisionError:
            pass

    # then the workspace's card and the case page offer exactly those
    assert card.decisions == accepted
    client = Client()
    client.force_login(moderator)
    page = client.get(f"/admin/moderation/imagecase/{case.pk}/change/").content.decode()
    offered = re.findall(rf'formaction="/admin/moderation/imagecase/{case.pk}/decide/(\w+)/', page)
    assert offered == accepted
