"""rules.reporter_label: how a reporter is shown, named in the admin, by pseudonym in the
API. Pure: no database."""

import pytest
from django.test import override_settings

from moderation import rules

READER_KEY = "reader:0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("reporter_key", "username", "shown"),
    [
        # an account, by its username
        ("user:42", "lectrice", "lectrice"),
        # an anonymous reader, by the kind of key and the start of its id
        (READER_KEY, None, "reader 01234567"),
        # an id shorter than the start shown, whole
        ("reader:abc", None, "reader abc"),
        # an account whose user is gone, by its key like a reader
        ("user:42", None, "user 42"),
        # a key of no known shape, as it is
        ("legacy-key", None, "legacy-key"),
        ("reader:", None, "reader:"),
    ],
)
def test_the_admin_names_the_reporter(reporter_key, username, shown):
    label = rules.reporter_label(reporter_key=reporter_key, username=username, named=True)
    assert label == shown


@override_settings(SECRET_KEY="pinned-secret-key-for-the-label-table-0000000")
@pytest.mark.parametrize(
    ("reporter_key", "username", "shown"),
    [
        # the username never enters the pseudonym: an account is its key
        ("user:42", "lectrice", "r-e4c11d7356bc"),
        ("user:42", None, "r-e4c11d7356bc"),
        (READER_KEY, None, "r-82cbf3566b87"),
    ],
)
def test_the_api_shows_a_pseudonym_that_names_no_one(reporter_key, username, shown):
    # (the labels the API has always shown under this secret key)
    assert rules.reporter_label(reporter_key=reporter_key, username=username) == shown


def test_a_pseudonym_is_stable_and_tells_reporters_apart():
    # the same key, the same label (on every case); another key, another label;
    # the username never enters it
    first = rules.reporter_label(reporter_key="user:42", username="lectrice")
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
