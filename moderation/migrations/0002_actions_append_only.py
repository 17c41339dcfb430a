"""Make the audit log append-only in the database itself on PostgreSQL.

Application code never updates or deletes a ModerationAction; the trigger makes
that a guarantee rather than a convention, whoever holds a database connection.
TRUNCATE is refused by a statement trigger of its own (0010_actions_refuse_truncate),
except for the project's flush command.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION moderation_action_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moderation_moderationaction is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER moderation_action_append_only
    BEFORE UPDATE OR DELETE ON moderation_moderationaction
    FOR EACH ROW EXECUTE FUNCTION moderation_action_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS moderation_action_append_only ON moderation_moderationaction;
DROP FUNCTION IF EXISTS moderation_action_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
