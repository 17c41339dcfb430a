"""The case page's own URLs: the staff image view, the decision buttons, and muting or
unmuting a report's reporter. Each view checks who asks and calls one service."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from articles.models import Image
from moderation import selectors, services
from moderation.admin.base import CaseAdminMixinBase
from moderation.admin.display import DECISION_LABELS, decision_error_text
from moderation.admin.forms import MuteReasonForm, NoteForm
from moderation.models import ImageCase, ModerationAction, Report
from moderation.permissions import acting_moderator
from moderation.services import Decision, DecisionError

if TYPE_CHECKING:
    # django-stubs-ext is a development requirement: the annotation is for mypy only.
    from django_stubs_ext import StrOrPromise


class CaseViewsMixin(CaseAdminMixinBase):
    """ImageCaseAdmin's views besides the changelist and the change form."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/image/",
                wrap(require_safe(self.image_view)),
                name="{}_{}_image".format(*info),
            ),
            path(
                "<int:object_id>/decide/<str:decision>/",
                wrap(require_POST(self.decide_view)),
                name="{}_{}_decide".format(*info),
            ),
            path(
                "<int:object_id>/reports/<int:report_id>/mute-reporter/",
                wrap(require_POST(self.mute_reporter_view)),
                name="{}_{}_mute_reporter".format(*info),
            ),
            path(
                "<int:object_id>/reports/<int:report_id>/unmute-reporter/",
                wrap(require_POST(self.unmute_reporter_view)),
                name="{}_{}_unmute_reporter".format(*info),
            ),
            *super().get_urls(),
        ]

    def image_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        """The case's image, blocked or not, for staff who may see the queue.

        The public media view answers 404 for a blocked file; moderators still
        need to see what they judge. admin_view makes the answer uncacheable.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        name = (
            ImageCase.objects.filter(pk=object_id).values_list("image__original", flat=True).first()
        )
        if not name:
            raise Http404
        storage = Image._meta.get_field("original").storage
        try:
            file = storage.open(name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(file)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def decide_view(self, request: HttpRequest, object_id: int, decision: str) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        try:
            decision = Decision(decision)
        except ValueError:
            raise Http404 from None
        change_url = self._change_url(request, object_id)
        form = NoteForm(request.POST)
        if not form.is_valid():
            messages.error(request, str(form.errors["note"][0]))
            return HttpResponseRedirect(change_url)
        note = form.cleaned_data["note"]
        try:
            services.case_decide(
                case_id=object_id, decision=decision, actor=acting_moderator(request), note=note
            )
        except ImageCase.DoesNotExist:
            raise Http404 from None
        except DecisionError as error:
            messages.error(request, decision_error_text(error))
        else:
            messages.success(
                request, _("%(decision)s: done.") % {"decision": DECISION_LABELS[decision]}
            )
        return HttpResponseRedirect(change_url)

    def mute_reporter_view(self, request: HttpRequest, object_id: int, report_id: int):
        """Mute the reporter of one of the case's reports (services.reporter_mute)."""
        return self._mute_toggle(
            request, object_id, report_id, services.reporter_mute, _("Reporter muted.")
        )

    def unmute_reporter_view(self, request: HttpRequest, object_id: int, report_id: int):
        """Count the reporter's future reports again (services.reporter_unmute)."""
        return self._mute_toggle(
            request, object_id, report_id, services.reporter_unmute, _("Reporter unmuted.")
        )

    def _mute_toggle(
        self,
        request: HttpRequest,
        object_id: int,
        report_id: int,
        service: Callable[..., ModerationAction],
        done: "StrOrPromise",
    ) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        image_id = ImageCase.objects.filter(pk=object_id).values_list("image_id", flat=True).first()
        if image_id is None:
            raise Http404
        try:
            reporter_key = selectors.report_reporter_key(report_id=report_id, image_id=image_id)
        except Report.DoesNotExist:
            raise Http404 from None
        change_url = self._change_url(request, object_id)
        form = MuteReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, str(form.errors["reason"][0]))
            return HttpResponseRedirect(change_url)
        reason = form.cleaned_data["reason"]
        try:
            service(reporter_key=reporter_key, actor=acting_moderator(request), reason=reason)
        except DecisionError as error:
            messages.error(request, decision_error_text(error))
        else:
            messages.success(request, done)
        return HttpResponseRedirect(change_url)

    def _change_url(self, request: HttpRequest, object_id: int) -> str:
        """The case page to go back to, keeping the queue's filters."""
        return add_preserved_filters(
            {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts},
            reverse("admin:moderation_imagecase_change", args=[object_id]),
        )
