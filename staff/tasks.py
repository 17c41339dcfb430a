from celery import shared_task
from django.conf import settings

from staff import services


@shared_task(name="staff.tasks.purge_login_records", acks_late=True)
def purge_login_records() -> dict[str, int]:
    """Erase django-axes' records older than STAFF_LOGIN_RECORDS_DAYS (nightly, by
    beat; a second run finds nothing left)."""
    return services.staff_login_records_purge(older_than_days=settings.STAFF_LOGIN_RECORDS_DAYS)
