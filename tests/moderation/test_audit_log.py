"""The audit log's TRUNCATE refusal (migration 0010) and the flush that may still empty it,
on the real PostgreSQL. UPDATE and DELETE: tests/moderation/test_services.py."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from moderation import services
from moderation.management.commands.flush import AUDIT_LOG_WIPE
from moderation.models import ModerationAction
from tests.factories import ImageFactory
from tests.readers import reports_by_new_readers

LOG = "moderation_moderationaction"
REFUSED = "append-only \\(TRUNCATE refused\\)"


def audit_row() -> ModerationAction:
    image = ImageFactory()
    reports_by_new_readers(image, 5)
    services.case_auto_block(image_id=image.pk)
    # Django's foreign keys are checked at commit; PostgreSQL will not TRUNCATE a table
    # with checks pending, whatever the trigger says. Run them now.
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    return ModerationAction.objects.get(image=image)


def execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def tables_a_cascade_reaches_the_log_from() -> list[str]:
    """Every table whose `TRUNCATE ... CASCADE` empties the log too: those the log refers
    to by a foreign key, and those they refer to, and so on."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE referred(rel) AS (
                SELECT %s::regclass
                UNION
                SELECT c.confrelid FROM pg_constraint c JOIN referred r ON c.conrelid = r.rel
                WHERE c.contype = 'f'
            )
            SELECT rel::regclass::text FROM referred WHERE rel <> %s::regclass ORDER BY 1
            """,
            [LOG, LOG],
        )
        return [name for (name,) in cursor.fetchall()]


def wipe_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [AUDIT_LOG_WIPE])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_every_form_of_truncate_on_the_log_is_refused():
    # given an audit row
    action = audit_row()
    statements = [
        f"TRUNCATE {LOG}",
        f"TRUNCATE TABLE {LOG}",
        f"TRUNCATE ONLY {LOG}",
        f"TRUNCATE {LOG} RESTART IDENTITY",
        f"TRUNCATE {LOG} CONTINUE IDENTITY CASCADE",
        f"TRUNCATE moderation_report, {LOG}",
        f"TRUNCATE public.{LOG} *",
    ]

    for sql in statements:
        # when someone truncates the log, alone or among others
        with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
            execute(sql)

    # then the row is still there, unchanged
    assert ModerationAction.objects.get().reason == action.reason


@pytest.mark.django_db
def test_a_truncate_cascading_from_any_table_the_log_refers_to_is_refused():
    # given an audit row, and the tables whose CASCADE would reach the log
    audit_row()
    tables = tables_a_cascade_reaches_the_log_from()
    assert {"articles_image", "articles_article", "auth_user"} <= set(tables), tables

    for table in tables:
        # when an operator "resets the content" with a cascade
        with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
            execute(f"TRUNCATE {table} CASCADE")

    # then the log keeps its row, and the content too (the statement failed whole)
    assert ModerationAction.objects.count() == 1
    assert ModerationAction.objects.get().image_id is not None


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["off", "ON", "On", "true", "1", "yes", "", " on", "on "])
def test_only_the_flush_setting_on_opens_the_log_to_truncate(value):
    # given an audit row, and a session that set the flush's setting to something else
    audit_row()

    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        execute(f"SET LOCAL {AUDIT_LOG_WIPE} = '{value}'")
        # when it truncates the log, then it is refused
        execute(f"TRUNCATE {LOG} CASCADE")

    assert ModerationAction.objects.count() == 1


@pytest.mark.django_db
def test_the_flush_setting_lets_a_whole_wipe_through():
    # given an audit row, and a session that set the setting as the flush command does
    audit_row()
    with transaction.atomic():
        execute(f"SET LOCAL {AUDIT_LOG_WIPE} = 'on'")

        # when it truncates the images with a cascade
        execute("TRUNCATE articles_image CASCADE")

        # then the log went with them (rolled back with the savepoint below)
        assert ModerationAction.objects.count() == 0
        transaction.set_rollback(True)

    assert ModerationAction.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_log_then_closes_it_again():
    # given an audit row, outside any test transaction (as an operator's session)
    audit_row()

    # when the database is flushed with manage.py flush
    call_command("flush", interactive=False, verbosity=0)

    # then the log is empty with everything else
    assert ModerationAction.objects.count() == 0
    # and the session that flushed may no longer truncate it
    assert wipe_setting() != "on"
    with pytest.raises(DatabaseError, match=REFUSED):
        execute(f"TRUNCATE {LOG}")
