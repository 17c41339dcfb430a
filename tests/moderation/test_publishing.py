import logging

import pytest
from kombu.exceptions import OperationalError

from common import publishing
from moderation import tasks

AUTO_BLOCK = tasks.case_auto_block.name
NOTIFY_FIRST_REPORT = tasks.first_report_notify.name


@pytest.fixture
def dead_broker(monkeypatch):
    """Every publish fails as against a stopped Redis; counts the attempts."""
    attempts = []

    def refuse(*args):
        attempts.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for task in (tasks.case_auto_block, tasks.first_report_notify):
        monkeypatch.setattr(task, "delay", refuse)
    return attempts


def test_after_a_failure_the_broker_is_not_tried_again_for_a_while(dead_broker, caplog, settings):
    # given a broker that just failed
    settings.BROKER_RETRY_AFTER_SECONDS = 60
    with caplog.at_level(logging.ERROR, logger="common.publishing"):
        first = publishing.enqueue(task_name=AUTO_BLOCK, argument=1, if_lost="swept later")

        # when more messages come within the pause
        second = publishing.enqueue(task_name=AUTO_BLOCK, argument=2, if_lost="swept later")
        third = publishing.enqueue(task_name=NOTIFY_FIRST_REPORT, argument=3, if_lost="no mail")

    # then none was sent, only the first tried the broker, and each loss is logged
    assert (first, second, third) == (False, False, False)
    assert len(dead_broker) == 1
    assert "could not enqueue case_auto_block(1); swept later" in caplog.text
    assert "could not enqueue case_auto_block(2): the broker failed" in caplog.text
    assert "could not enqueue first_report_notify(3): the broker failed" in caplog.text


def test_after_the_pause_the_broker_is_tried_again(dead_broker, settings):
    settings.BROKER_RETRY_AFTER_SECONDS = 0
    publishing.enqueue(task_name=AUTO_BLOCK, argument=1, if_lost="swept later")

    publishing.enqueue(task_name=AUTO_BLOCK, argument=2, if_lost="swept later")

    assert len(dead_broker) == 2


def test_a_successful_send_clears_the_failure(monkeypatch, settings):
    # given a broker that failed once, then came back after the pause
    settings.BROKER_RETRY_AFTER_SECONDS = 0
    sent = []
    monkeypatch.setattr(tasks.case_auto_block, "delay", lambda *a: sent.append(a))
    publishing.BROKER_BREAKER.failed()

    # when two messages are sent with a long pause configured
    assert publishing.enqueue(task_name=AUTO_BLOCK, argument=1, if_lost="-")
    settings.BROKER_RETRY_AFTER_SECONDS = 60
    assert publishing.enqueue(task_name=AUTO_BLOCK, argument=2, if_lost="-")

    # then both went through
    assert sent == [(1,), (2,)]
