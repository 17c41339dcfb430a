"""rules.reporter_label: how a reporter is shown, by one pseudonym in the admin, the API and
the audit log. Pure: no database."""

import pytest
from django.test import override_settings

from moderation import rules

READER_KEY = "reader:0123456789abcdef0123456789abcdef"


@override_settings(SECRET_KEY="pinned-secret-key-for-the-label-table-0000000")
@pytest.mark.parametrize(
    ("reporter_key", "shown"),
    [
        # an account is its key, never its username
        ("user:42", "r-e4c11d7356bc"),
        (READER_KEY, "r-82cbf3566b87"),
    ],
)
def test_a_reporter_is_shown_by_a_pseudonym_that_names_no_one(reporter_key, shown):
    # (the labels the API has always shown under this secret key)
    assert rules.reporter_label(reporter_key=reporter_key) == shown


def test_a_pseudonym_is_stable_and_tells_reporters_apart():
    # the same key, the same label (on every case); another key, another label;
    first = rules.reporter_label(reporter_key="user:42")
    assert first == rules.reporter_label(reporter_key="user:42")
    assert first != rules.reporter_label(reporter_key="user:43")
    assert first != rules.reporter_label(reporter_key=READER_KEY)


def test_a_pseudonym_depends_on_the_secret_key():
    # so that nobody without the key can compute a reporter's label from their id
    with override_settings(SECRET_KEY="one-secret-key-long-enough-for-django-checks-000"):
        one = rules.reporter_label(reporter_key="user:42")
    with override_settings(SECRET_KEY="another-secret-key-long-enough-for-django-checks"):
        another = rules.reporter_label(reporter_key="user:42")
    assert one != another
