"""Settings read from the environment: the parsers of newsroom/env.py."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from newsroom.env import parse_rates


@pytest.mark.parametrize(
    ("raw", "rates"),
    [
        ("10/minute,100/day", [(10, 60), (100, 86400)]),
        ("3/2s", [(3, 2)]),
        ("1/second, 20/hour , 5/90s", [(1, 1), (20, 3600), (5, 90)]),
        ("10/Minute", [(10, 60)]),
        ("", []),
        ("  ", []),
    ],
)
def test_rates_are_read_as_counts_per_window_in_seconds(raw, rates):
    assert parse_rates(raw) == rates


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("10", "bad rate '10'"),
        ("10/week", "bad rate '10/week'"),
        ("ten/minute", "bad rate 'ten/minute'"),
        ("10 / minute", "bad rate '10 / minute'"),
        ("-1/minute", "bad rate '-1/minute'"),
        ("10/2", "bad rate '10/2'"),
        ("10/minute,", "bad rate ''"),
        ("10/minute;100/day", "bad rate '10/minute;100/day'"),
        ("0/minute", "must be at least 1"),
        ("3/0s", "must be at least 1"),
        ("10/minute,20/60s", "two rates with a 60 s window"),
    ],
)
def test_bad_rates_are_refused_with_what_is_wrong(raw, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_rates(raw)


def test_a_rate_that_does_not_parse_is_answered_with_the_forms_that_do():
    with pytest.raises(ImproperlyConfigured) as raised:
        parse_rates("100/day,10/mn")

    assert str(raised.value) == (
        "bad rate '10/mn' in '100/day,10/mn': write N/second, N/minute, N/hour, N/day or "
        "N/<k>s, comma-separated (e.g. '10/minute,100/day'); empty turns limits off"
    )
