"""The database connection drops in the middle of a report: the reader gets a 503 with
Retry-After (JSON on the API, a page on the form), nothing of the report is stored, and
the next report, on the same server thread, connects afresh and is counted."""

import logging
import re
import threading
from collections.abc import Iterator

import pytest
import requests
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import OperationalError, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils.crypto import get_random_string

from moderation import services
from moderation.models import ImageCase, Report
from tests.factories import ImageFactory
from tests.readers import LiveReader, reader_address, reports_by_new_readers

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

UNAVAILABLE = "The service is briefly unavailable. Try again in a few seconds."


def terminate_backend(pid: int) -> None:
    """Kill a connection's server process from another connection, as a PostgreSQL
    restart or failover would: its next statement fails."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            # Waits (up to 5 s) until the backend has exited.
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


# A report's row, as report_create inserts it (raw SQL or the ORM's quoted name).
REPORT_INSERT = re.compile(r'INSERT INTO "?moderation_report"?[\s(]')


class DropAfterReportInsert:
    """A database execute wrapper for the live server's connections: once armed, the first
    statement after a report's INSERT (inside report_create's transaction: the report is
    written, the case not yet counted) finds its connection's backend terminated.

    It also records the (server thread, backend pid) of every connection it sees, in order.
    """

    def __init__(self):
        self.armed = False
        self.after_insert = False
        self.dropped: list[tuple[int, int]] = []
        self.backends: list[tuple[int, int]] = []

    def __call__(self, execute, sql, params, many, context):
        backend = (threading.get_ident(), context["connection"].connection.info.backend_pid)
        if not self.backends or self.backends[-1] != backend:
            self.backends.append(backend)
        if self.after_insert:
            self.armed = self.after_insert = False
            terminate_backend(backend[1])
            self.dropped.append(backend)
        result = execute(sql, params, many, context)
        if self.armed and REPORT_INSERT.search(sql):
            self.after_insert = True
        return result


@pytest.fixture
def drop_next_report(monkeypatch) -> Iterator[DropAfterReportInsert]:
    """The wrapper, installed on the connection of every request the live server handles
    (`.armed = True` arms it). The server threads keep their connection between requests
    (CONN_MAX_AGE), so a broken one that Django failed to drop would fail the next."""
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 600)
    wrapper = DropAfterReportInsert()

    def install(**kwargs) -> None:
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    def uninstall(**kwargs) -> None:
        if wrapper in connection.execute_wrappers:
            connection.execute_wrappers.remove(wrapper)

    request_started.connect(install, dispatch_uid="drop_next_report")
    request_finished.connect(uninstall, dispatch_uid="drop_next_report")
    try:
        yield wrapper
    finally:
        request_started.disconnect(dispatch_uid="drop_next_report")
        request_finished.disconnect(dispatch_uid="drop_next_report")


@pytest.fixture
def reported_twice(messages_sent, settings):
    """An image two readers reported, served to readers behind one proxy."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.READER_COOKIE_SECURE = False
    image = ImageFactory()
    reports_by_new_readers(image, 2, reason="nudity")
    return image


def stored(image) -> tuple[int, int]:
    """(reports stored, the case's count) of an image."""
    return (
        Report.objects.filter(image=image).count(),
        ImageCase.objects.get(image=image).open_report_count,
    )


def test_a_report_api_call_that_loses_its_database_is_a_503_and_stores_nothing(
    live_server, reported_twice, drop_next_report, caplog
):
    # given an image two readers reported, and a database connection that will drop
    # right after the next report's INSERT
    image = reported_twice
    assert stored(image) == (2, 2)
    drop_next_report.armed = True

    with LiveReader(live_server.url, 3) as reader:
        reader.session.headers["Accept-Language"] = "en"
        # when a third reader reports it and the connection drops inside the transaction
        with caplog.at_level(logging.ERROR, logger="newsroom.middleware"):
            dropped = reader.report(image.pk, "violence")
        [(server_thread, dead_backend)] = drop_next_report.dropped

        # then the answer is a 503 to try again in 5 s, with a JSON detail
        assert dropped.status_code == 503
        assert dropped.headers["Retry-After"] == "5"
        assert dropped.headers["Content-Type"] == "application/json"
        assert dropped.json() == {"detail": UNAVAILABLE}
        # and it was logged at ERROR, with the database's error
        [record] = [r for r in caplog.records if r.name == "newsroom.middleware"]
        assert record.levelno == logging.ERROR
        assert isinstance(record.exc_info[1], OperationalError)
        # and nothing of the report was stored or counted
        assert stored(image) == (2, 2)

        # when the reader tries again, on the same connection to the server
        retried = reader.report(image.pk, "violence")

    # then it is a new report (a stored half of the first would make it a repeat, 200)
    assert retried.status_code == 201
    assert stored(image) == (3, 3)
    # and the server thread that lost its database connection opened a new one
    [first, second] = drop_next_report.backends
    assert first == (server_thread, dead_backend)
    assert second[0] == server_thread
    assert second[1] != dead_backend


def test_the_report_form_that_loses_its_database_answers_a_503_page_and_stores_nothing(
    live_server, reported_twice, drop_next_report
):
    # given an image two readers reported, and a database connection that will drop
    # right after the next report's INSERT
    image = reported_twice
    drop_next_report.armed = True
    session = requests.Session()
    session.headers.update({"X-Forwarded-For": reader_address(3), "Accept-Language": "en"})
    token = get_random_string(32)
    session.cookies.set(settings.CSRF_COOKIE_NAME, token)
    form = {"reason": "violence", "csrfmiddlewaretoken": token}
    url = f"{live_server.url}/images/{image.pk}/report/"

    # when a reader without JavaScript sends the form and the connection drops
    dropped = session.post(url, data=form, allow_redirects=False, timeout=30)
    assert len(drop_next_report.dropped) == 1

    # then the answer is the 503 page, to try again in 5 s
    assert dropped.status_code == 503
    assert dropped.headers["Retry-After"] == "5"
    assert dropped.headers["Content-Type"].startswith("text/html")
    assert UNAVAILABLE in dropped.text
    # and nothing of the report was stored or counted
    assert stored(image) == (2, 2)

    # when they send it again, the report is recorded and they are sent to the thanks
    retried = session.post(url, data=form, allow_redirects=False, timeout=30)
    session.close()
    assert retried.status_code == 303
    assert stored(image) == (3, 3)


def test_the_503_page_reads_nothing_from_the_database(client, monkeypatch):
    # given a report whose database fails once the view reached report_create
    image = ImageFactory()
    queries = CaptureQueriesContext(connection)
    failed_after: list[int] = []

    def report_create(**kwargs):
        failed_after.append(len(queries.captured_queries))
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "report_create", report_create)

    # when the form is posted
    with queries:
        response = client.post(
            f"/images/{image.pk}/report/", {"reason": "spam"}, HTTP_ACCEPT_LANGUAGE="en"
        )

    # then the 503 page was rendered without a single query after the failure
    assert response.status_code == 503
    assert UNAVAILABLE in response.content.decode()
    assert len(queries.captured_queries) == failed_after[0]
