"""The audit log refuses TRUNCATE too, on PostgreSQL.

0002 refuses UPDATE and DELETE row by row; TRUNCATE fires no row trigger, so it took the
whole log at once, alone (`TRUNCATE moderation_moderationaction`) or cascaded from a table
it refers to (`TRUNCATE articles_image CASCADE`, an operator "resetting the content").
This statement trigger refuses both.

Wiping the whole database must stay possible: `manage.py flush`, which pytest-django also
runs after each transactional test, empties every table with one TRUNCATE. The project's
flush command (moderation/management/commands/flush.py) sets `signalement.audit_log_wipe`
to 'on' for its session around Django's; nothing else sets it. Whoever can run SQL as the
table's owner can still set it, disable the trigger or drop the table: this guards against
mistakes, and tamper-proofing is a database role that does not own the table
(docs/architecture.md).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION moderation_action_refuse_truncate() RETURNS trigger AS $$
BEGIN
    -- current_setting(..., true): NULL rather than an error when the session never set it.
    IF current_setting('signalement.audit_log_wipe', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'moderation_moderationaction is append-only (TRUNCATE refused)'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'manage.py flush empties the whole database, the log included.';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER moderation_action_refuse_truncate
    BEFORE TRUNCATE ON moderation_moderationaction
    FOR EACH STATEMENT EXECUTE FUNCTION moderation_action_refuse_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS moderation_action_refuse_truncate ON moderation_moderationaction;
DROP FUNCTION IF EXISTS moderation_action_refuse_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("moderation", "0009_one_person_per_network")]

    operations = [migrations.RunPython(forwards, backwards)]
