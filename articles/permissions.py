from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

# Given by the Editors group (migration 0003).
ADD_IMAGES = "articles.add_image"


class IsEditor(BasePermission):
    """An active user allowed to add images (the Editors group, or a superuser).

    Anonymous callers fail the authentication check first (401), anyone else
    signed in without the permission gets 403.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.has_perm(ADD_IMAGES))
