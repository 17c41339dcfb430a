from celery import shared_task
from django.conf import settings

from common.task_names import former_name
from staff import services


@shared_task(name="staff.tasks.staff_login_records_purge", acks_late=True)
@former_name("staff.tasks.purge_login_records", acks_late=True)
def staff_login_records_purge() -> dict[str, int]:
    """Erase django-axes' records older than STAFF_LOGIN_RECORDS_DAYS (nightly, by
    beat; a second run finds nothing left)."""
    return services.staff_login_records_purge(older_than_days=settings.STAFF_LOGIN_RECORDS_DAYS)
