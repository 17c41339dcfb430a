from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from moderation import bans, services
from moderation.admin.base import ReadOnlyAdmin
from moderation.admin.display import image_case_link
from moderation.models import BlockedHash
from moderation.permissions import acting_moderator

# Bigger than any hash list a moderator uploads by hand (a million sha256 lines is ~70 MB).
BAN_IMPORT_MAX_BYTES = 20 * 1024 * 1024


class BanImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))


@admin.register(BlockedHash)
class BlockedHashAdmin(ReadOnlyAdmin):
    """The banned hashes: read-only rows, a CSV export, and an import view.

    Bans are created by blocks and by imports (services.bans)
    and lifted by restores; never edited here.
    """

    list_display = [
        "created_at",
        "kind",
        "value_text",
        "source",
        "label",
        "image_link",
        "lifted_at",
    ]
    list_filter = ["kind", "source", ("lifted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["source_image__case"]
    search_fields = ["sha256", "label"]
    date_hierarchy = "created_at"

    @admin.display(description=_("value"))
    def value_text(self, ban: BlockedHash) -> str:
        return ban.value_text

    @admin.display(description=_("source image"), ordering="source_image")
    def image_link(self, ban: BlockedHash) -> str:
        return image_case_link(ban.source_image)

    def has_import_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "export/",
                wrap(require_safe(self.export_view)),
                name="{}_{}_export".format(*info),
            ),
            path("import/", wrap(self.import_view), name="{}_{}_import".format(*info)),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The active bans as CSV (kind,value,label,created_at), oldest first."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        active = BlockedHash.objects.filter(lifted_at__isnull=True).order_by("id")
        response = HttpResponse(
            bans.csv_export(active.iterator()), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="banned-hashes.csv"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        line_errors: list[tuple[int, str]] = []
        form = BanImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > BAN_IMPORT_MAX_BYTES:
                form.add_error("file", _("The file is larger than 20 MB."))
            else:
                try:
                    text = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    form.add_error("file", _("The file is not UTF-8 text."))
                else:
                    rows, line_errors = bans.csv_parse(text)
                    if not line_errors and not rows:
                        form.add_error("file", _("The file holds no bans."))
                    elif not line_errors:
                        created = services.bans_import(rows=rows, actor=acting_moderator(request))
                        self.message_user(
                            request,
                            _("%(created)d ban(s) imported, %(skipped)d already in force.")
                            % {"created": len(created), "skipped": len(rows) - len(created)},
                            messages.SUCCESS,
                        )
                        return HttpResponseRedirect(
                            reverse("admin:moderation_blockedhash_changelist")
                        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import banned hashes"),
            "form": form,
            "line_errors": line_errors,
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(
            request, "admin/moderation/blockedhash/import.html", context, status=status
        )
