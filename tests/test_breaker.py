"""The circuit breaker the broker's publishing and the limiter's Redis share
(common/breaker.py): a unit, on a clock of the test's own."""

import pytest

from common.breaker import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock) -> Breaker:
    return Breaker(retry_after=lambda: 10, clock=clock)


def test_a_new_breaker_is_closed(breaker):
    assert not breaker.is_open()
    assert breaker.open_since() is None


def test_one_failure_opens_it_for_the_pause(breaker, clock):
    # given a call that failed
    breaker.failed()

    # when the next call comes within the pause
    clock.now += 4

    # then it is not to be tried, and the breaker says since when
    assert breaker.is_open()
    assert breaker.open_since() == 4


def test_after_the_pause_it_is_half_open_and_calls_are_tried(breaker, clock):
    breaker.failed()

    clock.now += 10

    assert not breaker.is_open()


def test_a_failure_when_half_open_opens_it_again_from_then(breaker, clock):
    # given a breaker half-open after its pause
    breaker.failed()
    clock.now += 15

    # when the call tried fails again
    breaker.failed()
    clock.now += 9

    # then a whole new pause runs from that failure
    assert breaker.open_since() == 9
    clock.now += 1
    assert not breaker.is_open()


def test_a_success_closes_it(breaker, clock):
    # given a breaker half-open after its pause
    breaker.failed()
    clock.now += 10

    # when the call tried goes through
    breaker.succeeded()

    # then it stays closed, however soon the next call comes
    clock.now -= 5
    assert not breaker.is_open()


def test_reset_closes_it_within_the_pause(breaker, clock):
    breaker.failed()
    clock.now += 1

    breaker.reset()

    assert not breaker.is_open()


def test_the_pause_is_read_at_each_call(clock):
    # given a pause that is a setting, changed after the failure
    pause = {"seconds": 60}
    breaker = Breaker(retry_after=lambda: pause["seconds"], clock=clock)
    breaker.failed()
    clock.now += 5
    assert breaker.is_open()

    # when it is set to 0
    pause["seconds"] = 0

    # then the breaker no longer holds
    assert not breaker.is_open()
    assert breaker.retry_after() == 0
