from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from staff.selectors import session_passes_two_factor

# The queue and a case; the admin's "view" permission.
VIEW_CASES = "moderation.view_imagecase"
# Confirming, restoring, dismissing, protecting, noting.
DECIDE_CASES = "moderation.decide_imagecase"
# The reports behind a case, with each reporter's record.
VIEW_REPORTS = "moderation.view_report"
# The audit log.
VIEW_ACTIONS = "moderation.view_moderationaction"


class IsModerator(BasePermission):
    """An active staff member holding the permissions the view names.

    A view lists what it needs in `moderator_permissions` (default: reading
    cases). Staff status alone is not enough: the permissions come with the
    Moderators group (or a superuser). Anonymous callers fail the
    authentication check first (401), anyone else signed in gets 403.

    With STAFF_REQUIRE_2FA, a session must have given the second factor at the
    admin's login. A token (`Authorization: Token`, made by an operator with
    drf_create_token for a script) is not a session and needs no code.
    """

    message = None

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        if request.auth is None and not session_passes_two_factor(user):
            self.message = _(
                "This session has not given a verification code: sign in again at /admin/."
            )
            return False
        required = getattr(view, "moderator_permissions", (VIEW_CASES,))
        # has_perms caches the user's and their groups' permissions on the
        # user object: two queries per request, whatever the number asked.
        return user.has_perms(required)


def acting_moderator(request: HttpRequest | Request) -> User:
    """The user behind a request that a moderator's permission has let through
    (IsModerator, the admin's own checks): signed in, so never AnonymousUser."""
    return cast(User, request.user)
