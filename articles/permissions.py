from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from staff.selectors import session_passes_two_factor

# Given by the Editors group (migration 0003).
ADD_IMAGES = "articles.add_image"


class IsEditor(BasePermission):
    """An active user allowed to add images (the Editors group, or a superuser).

    Anonymous callers fail the authentication check first (401), anyone else
    signed in without the permission gets 403.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        # A staff session must have given its second factor, as for the moderators' API
        # (moderation/permissions.py); a token, made by an operator, stands on its own.
        if request.auth is None and not session_passes_two_factor(user):
            self.message = _(
                "This session has not given a verification code: sign in again at /admin/."
            )
            return False
        return user.has_perm(ADD_IMAGES)
