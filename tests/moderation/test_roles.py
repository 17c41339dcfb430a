"""The Moderators group (migration moderation 0004) and `manage.py createmoderator`."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODERATOR_PERMISSIONS = {
    "moderation.view_imagecase",
    "moderation.decide_imagecase",
    "moderation.view_report",
    "moderation.view_moderationaction",
    "moderation.view_policy",
    "moderation.add_policy",
    "moderation.change_policy",
    # Hash bans: the list and its CSV export, and the CSV import (migration 0007).
    "moderation.view_blockedhash",
    "moderation.add_blockedhash",
    # The muted reporters' list (migration 0008); muting itself is decide_imagecase.
    "moderation.view_reportermute",
    "articles.view_image",
    "articles.view_article",
    "articles.view_source",
}
STRONG_PASSWORD = "a moderator's long passphrase"


def group_permissions(group) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def createmoderator(*args) -> str:
    out = StringIO()
    call_command("createmoderator", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_migration_creates_the_group_with_exactly_the_moderators_permissions():
    # given the migrated database
    # when we read the Moderators group
    group = Group.objects.get(name="Moderators")

    # then it holds exactly what the queue, decisions and policies need
    assert group_permissions(group) == MODERATOR_PERMISSIONS


def test_a_group_member_can_decide_but_not_edit_cases_or_the_audit_log():
    # given a staff user in the group
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    user = get_user_model().objects.get(pk=user.pk)  # no permission cache

    # then they can see and decide, and nothing that bypasses the services
    assert user.has_perm("moderation.decide_imagecase")
    assert user.has_perm("moderation.change_policy")
    for forbidden in [
        "moderation.change_imagecase",
        "moderation.delete_imagecase",
        "moderation.change_moderationaction",
        "moderation.delete_moderationaction",
        "moderation.delete_policy",
        "moderation.change_report",
        "moderation.add_reportermute",
        "moderation.change_reportermute",
        "moderation.delete_reportermute",
        "articles.change_image",
        "auth.view_user",
    ]:
        assert not user.has_perm(forbidden), forbidden


def test_createmoderator_creates_a_staff_non_superuser_in_the_group_with_a_printed_password():
    # when an operator creates a moderator without being asked anything
    out = createmoderator("camille", "--email", "camille@example.org", "--no-input")

    # then the user is staff, not superuser, in the group, and the printed password works
    user = get_user_model().objects.get(username="camille")
    assert (user.is_staff, user.is_superuser, user.is_active) == (True, False, True)
    assert user.email == "camille@example.org"
    assert list(user.groups.values_list("name", flat=True)) == ["Moderators"]
    printed = [line for line in out.splitlines() if line.startswith("Password: ")]
    assert len(printed) == 1
    assert user.check_password(printed[0].removeprefix("Password: "))
    assert "Created moderator 'camille'." in out


def test_createmoderator_with_a_password_sets_it_and_prints_none():
    # when the operator gives the password
    out = createmoderator("dominique", "--password", STRONG_PASSWORD)

    # then that password is set and not echoed
    user = get_user_model().objects.get(username="dominique")
    assert user.check_password(STRONG_PASSWORD)
    assert STRONG_PASSWORD not in out
    assert user.groups.filter(name="Moderators").exists()


def test_createmoderator_refuses_a_weak_password():
    with pytest.raises(CommandError):
        createmoderator("eve", "--password", "123")
    assert not get_user_model().objects.filter(username="eve").exists()


def test_createmoderator_prompts_for_the_password_when_interactive(monkeypatch):
    # given a terminal where the operator types the password twice
    answers = iter([STRONG_PASSWORD, STRONG_PASSWORD])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    # when they create a moderator
    out = createmoderator("france")

    # then the typed password is set and nothing is printed
    assert get_user_model().objects.get(username="france").check_password(STRONG_PASSWORD)
    assert "Password:" not in out


def test_createmoderator_turns_an_existing_superuser_into_a_moderator_keeping_the_password():
    # given an existing superuser
    user = UserFactory(username="gael", is_staff=True, is_superuser=True)

    # when the operator makes them a moderator
    out = createmoderator("gael", "--no-input")

    # then they are a moderator, no longer a superuser, with their password unchanged
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert user.groups.filter(name="Moderators").exists()
    assert user.check_password("correct horse battery staple")
    assert "no longer a superuser" in out
    assert "Password unchanged." in out


def test_createmoderator_twice_changes_nothing_more():
    createmoderator("hugo", "--password", STRONG_PASSWORD)
    createmoderator("hugo", "--no-input")

    user = get_user_model().objects.get(username="hugo")
    assert user.groups.count() == 1
    assert user.check_password(STRONG_PASSWORD)


def test_createmoderator_without_the_group_says_to_migrate():
    # given a database where the group was removed
    Group.objects.filter(name="Moderators").delete()

    # then the command refuses, and creates no one
    with pytest.raises(CommandError, match="migrate"):
        createmoderator("ines", "--no-input")
    assert not get_user_model().objects.filter(username="ines").exists()


def test_a_created_moderator_can_sign_in_to_the_admin_and_see_the_queue(client):
    # given a moderator created by the command
    createmoderator("jules", "--password", STRONG_PASSWORD)

    # when they sign in on the admin's login page (django-axes counts logins by
    # their request: client.login, which has none, is refused)
    response = client.post("/admin/login/", {"username": "jules", "password": STRONG_PASSWORD})
    assert response.status_code == 302

    # then the admin shows them their workspace, and the queue
    assert client.get("/admin/")["Location"] == "/admin/moderation/workspace/"
    assert client.get("/admin/moderation/workspace/").status_code == 200
    assert client.get("/admin/moderation/imagecase/").status_code == 200
