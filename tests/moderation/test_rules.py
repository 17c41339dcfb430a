"""The moderation rules as pure functions: properties over generated facts, no database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from moderation import rules
from moderation.models import CaseState

thresholds = st.integers(min_value=1, max_value=50)
weights = st.sampled_from([Decimal("0.25") * n for n in range(1, 9)])


@given(threshold=thresholds, report_weights=st.lists(weights, min_size=1, max_size=80))
def test_exactly_one_report_crosses_the_threshold_when_it_is_reached(threshold, report_weights):
    # given reports counted one after the other
    count, score, crossings = 0, Decimal(0), 0
    for weight in report_weights:
        count, score = count + 1, score + weight
        # when each asks whether it is the one that reached the threshold
        crossings += rules.crosses_threshold(
            count=count, score=score, weight=weight, threshold=threshold
        )
    # then one did if the threshold was reached, none otherwise
    reached = rules.threshold_reached(open_report_count=count, score=score, threshold=threshold)
    assert crossings == int(reached)


@given(
    state=st.sampled_from(CaseState.values),
    protected=st.booleans(),
    count=st.integers(min_value=0, max_value=100),
    threshold=thresholds,
    grouped_held=st.booleans(),
)
def test_needs_review_never_turns_off_as_reports_come_in(
    state, protected, count, threshold, grouped_held
):
    # given a case the rule judges at some count (the report path relies on this)
    facts = {
        "state": state,
        "protected": protected,
        "threshold": threshold,
        "grouped_held": grouped_held,
        "blocked_at": None,
        "reviewed_at": None,
    }
    before = rules.needs_review(open_report_count=count, **facts)
    # when one more report is counted
    after = rules.needs_review(open_report_count=count + 1, **facts)
    # then a case that needed review still does
    assert after or not before


@given(threshold=st.integers(min_value=1, max_value=1000))
def test_one_network_alone_never_reaches_a_threshold_above_one(threshold):
    allowance = rules.network_allowance(threshold=threshold)
    assert allowance >= 1
    assert allowance < threshold or threshold == 1


@given(
    judged=st.integers(min_value=0, max_value=200),
    share=st.floats(min_value=0, max_value=1),
    is_staff=st.booleans(),
)
def test_a_weight_is_a_whole_number_of_steps_within_its_bounds(judged, share, is_staff):
    upheld = round(judged * share)
    weight = rules.weight_from_verdicts(upheld=upheld, judged=judged, is_staff=is_staff)
    assert settings.REPORT_WEIGHT_FLOOR <= weight <= settings.REPORT_WEIGHT_MAX
    assert weight % rules.WEIGHT_STEP == 0


def test_a_reporter_with_a_better_record_weighs_at_least_as_much():
    weights = [
        rules.weight_from_verdicts(upheld=upheld, judged=10, is_staff=False) for upheld in range(11)
    ]
    assert weights == sorted(weights)
    assert weights[0] < weights[-1]


@given(recent=st.integers(min_value=0, max_value=500), network=st.integers(0, 20))
def test_a_burst_of_the_rate_rule_outranks_a_network_burst(recent, network):
    counts = rules.BurstCounts(recent=recent, earlier=0, network_counted=network)
    burst = rules.burst_of(counts=counts, allowance=2)
    if recent > settings.BRIGADE_RATE_MIN:
        assert burst is rules.Burst.RATE
    elif network > 2:
        assert burst is rules.Burst.NETWORK
    else:
        assert burst is None


class _User:
    def __init__(self, *, is_staff: bool, is_active: bool) -> None:
        self.is_staff, self.is_active = is_staff, is_active


def test_only_an_active_staff_account_weighs_as_staff():
    assert rules.is_active_staff(_User(is_staff=True, is_active=True))
    assert not rules.is_active_staff(_User(is_staff=True, is_active=False))
    assert not rules.is_active_staff(_User(is_staff=False, is_active=True))
    assert not rules.is_active_staff(None)


# --- claims and undo -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder_id", "ends_in_seconds", "blocks"),
    [
        (None, None, False),  # no claim
        (7, 60, False),  # one's own
        (8, 60, True),  # another's, running
        (8, 0, False),  # another's, ending now
        (8, -1, False),  # another's, over
    ],
)
def test_only_another_moderators_running_claim_keeps_one_off_a_case(
    holder_id, ends_in_seconds, blocks
):
    now = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    expires_at = None if ends_in_seconds is None else now + timedelta(seconds=ends_in_seconds)
    assert (
        rules.claim_blocks(holder_id=holder_id, expires_at=expires_at, moderator_id=7, now=now)
        is blocks
    )


def test_a_decision_can_be_undone_for_the_configured_seconds(settings):
    settings.MODERATION_UNDO_SECONDS = 10
    decided_at = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert rules.undo_deadline(decided_at=decided_at) == decided_at + timedelta(seconds=10)
