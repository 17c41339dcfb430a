"""`manage.py flush`, allowed to empty the audit log along with everything else.

On PostgreSQL the audit log refuses TRUNCATE (migration 0010) unless the session has set
`signalement.audit_log_wipe` to 'on'. This command, which Django finds before its own
(an app's command wins over a core one), sets it around Django's flush and resets it
after, so that a whole-database reset (an operator's, or pytest-django's after each
transactional test) still works while any other TRUNCATE reaching the log is refused.
"""

from django.core.management.commands import flush
from django.db import connections

AUDIT_LOG_WIPE = "signalement.audit_log_wipe"


class Command(flush.Command):
    def handle(self, **options) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            super().handle(**options)
            return
        # Session-wide, not transaction-local: Django's flush runs its TRUNCATE in a
        # transaction of its own. Inside a caller's transaction, a rollback undoes the SET
        # as well, so the session is never left open to the next TRUNCATE.
        with connection.cursor() as cursor:
            cursor.execute(f"SET {AUDIT_LOG_WIPE} = 'on'")
        try:
            super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"RESET {AUDIT_LOG_WIPE}")
