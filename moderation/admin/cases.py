"""The queue (the ImageCase changelist) and the case page.

Cases are never edited through a form: every state change is a decision (an admin
action or a button on the case page) that goes through `services.case_decide` and
writes one audit row. The class is assembled from mixins by role: columns and fields
(case_columns), the case page's lists (case_page), its views (case_views) and the
queue's actions (case_actions).
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.expressions import Combinable
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from common.admin_inputs import InputCheckedChangeList
from moderation import selectors
from moderation.admin.base import ReadOnlyAdmin
from moderation.admin.case_actions import CaseActionsMixin
from moderation.admin.case_columns import CaseFieldsMixin, CaseQueueColumnsMixin
from moderation.admin.case_page import CasePageMixin
from moderation.admin.case_views import CaseViewsMixin
from moderation.admin.filters import QueueFilter, ReasonFilter, SourceFilter
from moderation.models import ImageCase


class CaseChangeList(InputCheckedChangeList):
    def get_results(self, request):
        super().get_results(request)
        # Evaluate the page once (the template iterates this same, now cached,
        # queryset) and fetch the reasons of all its cases in one query.
        cases = list(self.result_list)
        breakdown = selectors.reason_breakdown(image_ids=[case.image_id for case in cases])
        # Held reports only for the cases held (none, mostly: then no query).
        held = selectors.held_report_counts(
            image_ids=[case.image_id for case in cases if case.brigade_held_at]
        )
        for case in cases:
            case.reason_counts = breakdown[case.image_id]
            case.held_report_count = held.get(case.image_id, 0)


@admin.register(ImageCase)
class ImageCaseAdmin(
    CaseQueueColumnsMixin,
    CaseFieldsMixin,
    CasePageMixin,
    CaseViewsMixin,
    CaseActionsMixin,
    ReadOnlyAdmin,
):
    list_display = [
        "thumbnail",
        "article_and_source",
        "state_display",
        "score_and_readers",
        "reasons",
        "reported",
        "since_block",
    ]
    list_display_links = ["thumbnail", "article_and_source"]
    list_filter = [
        QueueFilter,
        SourceFilter,
        ReasonFilter,
        ("last_reported_at", admin.DateFieldListFilter),
    ]
    # The same relations case_queue_list() selects: the admin would otherwise
    # replace them with a select_related() of its own.
    list_select_related = ["image__article__source", "reviewed_by"]
    search_fields = ["image__article__title", "image__caption"]
    search_help_text = _("Article title or image caption.")
    list_per_page = 50
    # One COUNT of the filtered queue, not a second one of the whole table.
    show_full_result_count = False
    actions = ["confirm", "restore", "dismiss", "protect", "unprotect", "release"]

    fieldsets = [
        (None, {"fields": ["image_large"]}),
        (_("Image"), {"fields": ["article_link", "source_name", "caption"]}),
        (
            _("Case"),
            {
                "fields": [
                    "state",
                    "protected",
                    "needs_review_display",
                    "open_report_count",
                    "score_display",
                    "threshold_display",
                    "brigade_held_at",
                    "auto_block_held_at",
                    "held_report_count_display",
                    "first_reported_at",
                    "last_reported_at",
                    "blocked_at",
                    "reviewed_by",
                    "reviewed_at",
                ]
            },
        ),
    ]
    # State changes only through decisions: nothing on the case page is a form field.
    # Each entry of these fieldsets is one field name, never a row of several.
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]  # type: ignore[misc]
    change_form_template = "admin/moderation/imagecase/change_form.html"

    # --- permissions: read-only (ReadOnlyAdmin), plus deciding

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.decide_imagecase")

    # --- reads

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImageCase]:
        return selectors.case_queue_list()

    def get_ordering(self, request: HttpRequest) -> list[str | Combinable]:
        # The changelist re-applies an ordering of its own: keep the selector's
        # (awaiting review first, then by score).
        return list(selectors.case_queue_list().query.order_by)

    def get_changelist(self, request: HttpRequest, **kwargs):
        return CaseChangeList

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The queue needs the width of a 1366 px screen for its columns: no navigation
        # sidebar here (the breadcrumbs lead back to the other models).
        extra_context = {
            "title": capfirst(self.opts.verbose_name_plural),
            **(extra_context or {}),
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # The case page shows every report and the audit trail: fetch them with it.
        try:
            return selectors.case_get(case_id=int(object_id))
        except (ValueError, ImageCase.DoesNotExist):
            return None
