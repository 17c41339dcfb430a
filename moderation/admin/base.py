from typing import TYPE_CHECKING

from django.http import HttpRequest

from common.admin_inputs import InputCheckedAdmin


class ReadOnlyAdmin(InputCheckedAdmin):
    """Viewable by whoever has the view permission; never added, changed or
    deleted in admin, by anyone, superusers included: cases open with a first
    report and change only through decisions, and the logs are append-only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


if TYPE_CHECKING:
    # What ImageCaseAdmin's mixins see of the admin they are mixed into, for mypy only:
    # at run time they derive from object, and the admin brings all of it.
    class CaseAdminMixinBase(ReadOnlyAdmin):
        def has_decide_permission(self, request: HttpRequest) -> bool: ...

else:
    CaseAdminMixinBase = object
