from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with the staff site as `admin.site`: every
    `@admin.register` of the project lands on it unchanged."""

    # Listed by its path in INSTALLED_APPS; "staff" alone means StaffConfig.
    default = False
    default_site = "staff.sites.StaffAdminSite"


class StaffConfig(AppConfig):
    default = True
    name = "staff"
    verbose_name = _("Staff accounts")

    def ready(self) -> None:
        from staff import signals  # noqa: F401  (connects the receivers)
