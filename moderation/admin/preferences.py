"""Each moderator's choice of what is mailed to them at once ("My notifications").

A moderator has no permission on ModeratorPreferences (migration 0004 gives the group
exactly what moderating needs): they reach their own row through `mine/`, which makes
it with the defaults on the first visit, and may view and change that row only.
Anyone else's is refused (403), and the list of everyone's is for those holding the
model's permissions (superusers).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.admin_inputs import InputCheckedAdmin
from moderation.models import ModeratorPreferences, Reason
from moderation.permissions import VIEW_CASES, acting_moderator
from moderation.services.preferences import (
    moderator_preferences_ensure,
    moderator_preferences_update,
)


class ModeratorPreferencesForm(forms.ModelForm):
    # The JSON list of reason codes, as one checkbox per reason: a code that is not a
    # reason is a form error ("Select a valid choice"), never stored.
    immediate_reasons = forms.MultipleChoiceField(
        label=_("Reports mailed at once"),
        choices=Reason.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "An image's first report with one of these reasons is mailed to you at once. "
            "Every other case waits for the daily digest and the queue."
        ),
    )

    class Meta:
        model = ModeratorPreferences
        fields = ["immediate_reasons", "immediate_auto_blocks", "daily_digest"]
        help_texts = {
            "immediate_auto_blocks": _("An email each time the machine blocks an image."),
            "daily_digest": _("Every morning, the list of the cases that wait."),
        }


@admin.register(ModeratorPreferences)
class ModeratorPreferencesAdmin(InputCheckedAdmin):
    form = ModeratorPreferencesForm
    list_display = ["moderator", "reasons_display", "immediate_auto_blocks", "daily_digest"]
    list_select_related = ["moderator"]
    search_fields = ["moderator__username", "moderator__email"]
    fields = ["moderator_display", "immediate_reasons", "immediate_auto_blocks", "daily_digest"]
    readonly_fields = ["moderator_display"]

    def get_urls(self) -> list[URLPattern]:
        mine = path(
            "mine/",
            self.admin_site.admin_view(self.mine_view),
            name="moderation_moderatorpreferences_mine",
        )
        return [mine, *super().get_urls()]

    def mine_view(self, request: HttpRequest) -> HttpResponse:
        """The signed-in moderator's own preferences, made with the defaults the first time."""
        if not _may_choose(request):
            raise PermissionDenied
        preferences = moderator_preferences_ensure(moderator_id=acting_moderator(request).pk)
        return HttpResponseRedirect(
            reverse("admin:moderation_moderatorpreferences_change", args=[preferences.pk])
        )

    # --- who may do what ---------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A row is made by its moderator's first visit (mine/), with the defaults.
        return False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or _own(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) or _own(request, obj)

    # --- the page ------------------------------------------------------------------------

    @admin.display(description=_("moderator"))
    def moderator_display(self, preferences: ModeratorPreferences) -> str:
        # The name, without the link to the user's page that moderators may not open.
        moderator = preferences.moderator
        name = moderator.get_username()
        return f"{name} <{moderator.email}>" if moderator.email else name

    @admin.display(description=_("reasons mailed at once"))
    def reasons_display(self, preferences: ModeratorPreferences) -> str:
        codes = (
            preferences.immediate_reasons if isinstance(preferences.immediate_reasons, list) else []
        )
        return ", ".join(str(Reason(code).label) for code in codes if code in Reason.values) or "-"

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ) -> HttpResponse:
        if _own(request, obj):
            context["title"] = gettext("My notifications")
        context["own_preferences"] = _own(request, obj)
        # The breadcrumbs link to the list of everyone's only for who may open it.
        context["may_list_preferences"] = super().has_view_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: ModeratorPreferences, form, change) -> None:
        # Through the service; never obj.save().
        moderator_preferences_update(
            preferences=obj,
            immediate_reasons=form.cleaned_data["immediate_reasons"],
            immediate_auto_blocks=form.cleaned_data["immediate_auto_blocks"],
            daily_digest=form.cleaned_data["daily_digest"],
        )

    def response_change(self, request: HttpRequest, obj: ModeratorPreferences) -> HttpResponse:
        if not _own(request, obj) or super().has_view_permission(request):
            return super().response_change(request, obj)
        # A moderator stays on their page (Django would send them to the list of
        # everyone's, which is not theirs to open).
        self.message_user(
            request, gettext("Your notification preferences were saved."), messages.SUCCESS
        )
        return HttpResponseRedirect(request.path)


def _may_choose(request: HttpRequest) -> bool:
    # Whoever moderates: the permission comes with the Moderators group, whose active
    # members with an address are mailed, and superusers have it. Django caches a
    # user's permissions on the request's user: the admin asks this many times a page.
    return request.user.has_perm(VIEW_CASES)


def _own(request: HttpRequest, obj: ModeratorPreferences | None) -> bool:
    return obj is not None and obj.pk == request.user.pk and _may_choose(request)
