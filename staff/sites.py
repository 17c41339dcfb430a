from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice

from staff.forms import StaffAuthenticationForm
from staff.selectors import session_passes_two_factor


class StaffAdminSite(admin.AdminSite):
    """The admin site: when STAFF_REQUIRE_2FA is on, its login asks for the code
    and a staff session without it is sent back to the login page."""

    # The name moderators know the tool by, in their language (Django's own says
    # "Django administration", which reads as a stray English page).
    site_header = _("Signalement — moderation")
    site_title = _("Signalement — moderation")
    index_title = _("Moderation and content")
    login_form = StaffAuthenticationForm
    login_template = "staff/login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and session_passes_two_factor(request.user)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().login(request, extra_context)
        device = getattr(request.user, "otp_device", None)
        if request.method == "POST" and isinstance(device, StaticDevice):
            # A recovery code stands in for a lost phone: say how many remain while
            # there is still time to ask for new ones.
            left = device.token_set.count()
            messages.warning(
                request,
                ngettext(
                    "You signed in with a recovery code. %(count)d recovery code left: "
                    "ask an operator for new ones.",
                    "You signed in with a recovery code. %(count)d recovery codes left: "
                    "ask an operator for new ones.",
                    left,
                )
                % {"count": left},
            )
        return response
