"""The moderators' workspace in Django admin.

The queue is the ImageCase changelist. Cases are never edited through a form:
every state change is a decision (an admin action or a button on the case
page) that goes through `services.case_decide` and writes one audit row.
"""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from articles.models import Image, Source
from moderation import bans, rules, selectors, services
from moderation.models import (
    BLOCKABLE_STATES,
    BLOCKED_STATES,
    NOTE_MAX_LENGTH,
    BlockedHash,
    CaseState,
    ImageCase,
    ModerationAction,
    ModeratorNotification,
    Policy,
    Reason,
    Report,
    ReporterMute,
    ReportOutcome,
)
from moderation.permissions import DECIDE_CASES
from moderation.services import Decision, DecisionError
from newsroom.admin_inputs import InputCheckedAdmin, InputCheckedChangeList

THUMBNAIL_BOX = (96, 72)
LARGE_BOX = (720, 540)
# Reports listed on a case page; the rest are one link away.
CASE_PAGE_REPORTS = 100

DECISION_LABELS = {
    Decision.CONFIRM: _("Confirm the block"),
    Decision.RESTORE: _("Restore"),
    Decision.DISMISS: _("Dismiss the reports"),
    Decision.PROTECT: _("Protect"),
    Decision.UNPROTECT: _("Unprotect"),
    Decision.NOTE: _("Add a note"),
    Decision.RELEASE: _("Count the held reports"),
}
# Reports that count nothing, marked on the case page.
UNCOUNTED_OUTCOMES = (ReportOutcome.HELD, ReportOutcome.MUTED)
# A reason given when muting a reporter; the audit log keeps it.
MUTE_REASON_MAX_LENGTH = NOTE_MAX_LENGTH


class NoteForm(forms.Form):
    """The note of a decision on the case page. A form field refuses, besides a note too
    long, what no text column stores (a NUL character)."""

    note = forms.CharField(required=False)

    def clean_note(self) -> str:
        note = self.cleaned_data["note"]
        if len(note) > NOTE_MAX_LENGTH:
            raise forms.ValidationError(
                _("A note can be at most %(max)d characters long.") % {"max": NOTE_MAX_LENGTH}
            )
        return note


class MuteReasonForm(forms.Form):
    """The reason for muting (or unmuting) a reporter, as NoteForm checks a note."""

    reason = forms.CharField(required=False)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if len(reason) > MUTE_REASON_MAX_LENGTH:
            raise forms.ValidationError(
                _("A reason can be at most %(max)d characters long.")
                % {"max": MUTE_REASON_MAX_LENGTH}
            )
        return reason


def _fit(image: Image, box: tuple[int, int]) -> tuple[int, int]:
    """The image's size scaled down (never up) to fit in box, for width/height."""
    if not image.width or not image.height:
        return box
    scale = min(box[0] / image.width, box[1] / image.height, 1)
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


def _reason_label(reason: str) -> str:
    return Reason(reason).label if reason in Reason.values else reason


def _decision_error_text(error: DecisionError) -> str:
    return str(error.args[0]) if error.args else str(error)


def _number(value: Decimal | int | None) -> str:
    """A score or a weight as people write it: "5", "4,75" (in French), never "5,00"."""
    if value is None:
        return "—"
    value = Decimal(value)
    places = 0 if value == value.to_integral_value() else -value.normalize().as_tuple().exponent
    return number_format(value, decimal_pos=places)


# --- the queue -----------------------------------------------------------------------


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("needs_review", _("needs review")),
            ("grouped", _("Grouped reports")),
            ("blocked", _("blocked")),
            ("restored", _("restored")),
            ("protected", _("protected")),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "needs_review":
                return selectors.case_queue_filter(queryset, needs_review=True)
            case "grouped":
                # Reports held as grouped wait for a moderator.
                return queryset.filter(brigade_held_at__isnull=False)
            case "blocked":
                # Blocked by the machine or by a moderator.
                return queryset.filter(state__in=BLOCKED_STATES)
            case "restored":
                return selectors.case_queue_filter(queryset, state=CaseState.RESTORED)
            case "protected":
                return queryset.filter(protected=True)
        return queryset


class SourceFilter(admin.SimpleListFilter):
    title = _("source")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return list(Source.objects.order_by("name").values_list("slug", "name"))

    def queryset(self, request, queryset):
        return selectors.case_queue_filter(queryset, source=self.value())


class ReasonFilter(admin.SimpleListFilter):
    title = _("reason (open reports)")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return Reason.choices

    def queryset(self, request, queryset):
        return selectors.case_queue_filter(queryset, reason=self.value())


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


@admin.register(ImageCase)
class ImageCaseAdmin(ReadOnlyAdmin):
    list_display = [
        "thumbnail",
        "article_and_source",
        "state_display",
        "reporters",
        "score_display",
        "reasons",
        "first_reported_at",
        "last_reported_at",
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
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]
    change_form_template = "admin/moderation/imagecase/change_form.html"

    # --- permissions: read-only (ReadOnlyAdmin), plus deciding

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.decide_imagecase")

    # --- reads

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImageCase]:
        return selectors.case_queue_list()

    def get_ordering(self, request: HttpRequest) -> Iterable[str]:
        # The changelist re-applies an ordering of its own: keep the selector's
        # (awaiting review first, then by score).
        return list(selectors.case_queue_list().query.order_by)

    def get_changelist(self, request: HttpRequest, **kwargs):
        return CaseChangeList

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # The case page shows every report and the audit trail: fetch them with it.
        try:
            return selectors.case_get(case_id=int(object_id))
        except (ValueError, ImageCase.DoesNotExist):
            return None

    # --- the queue's columns

    @admin.display(description=_("image"))
    def thumbnail(self, case: ImageCase) -> str:
        return self._image_tag(case, THUMBNAIL_BOX, css_class="case-thumbnail")

    @admin.display(description=_("article and source"), ordering="image__article__title")
    def article_and_source(self, case: ImageCase) -> str:
        article = case.image.article
        return format_html("{}<br><small>{}</small>", article.title, article.source.name)

    @admin.display(description=_("state"), ordering="state")
    def state_display(self, case: ImageCase) -> str:
        badges = []
        if getattr(case, "needs_review", False):
            badges.append(_("needs review"))
        if case.protected:
            badges.append(_("protected"))
        if case.brigade_held_at:
            held = getattr(case, "held_report_count", None)
            badges.append(
                format_html("{} ({})", _("Grouped reports"), held) if held else _("Grouped reports")
            )
        return format_html(
            "{}{}",
            case.get_state_display(),
            format_html_join(
                "", '<br><small class="case-badge">{}</small>', ((b,) for b in badges)
            ),
        )

    @admin.display(description=_("distinct reporters"), ordering="open_report_count")
    def reporters(self, case: ImageCase) -> int:
        return case.open_report_count

    @admin.display(description=_("score"), ordering="score")
    def score_display(self, case: ImageCase) -> str:
        return _number(case.score)

    @admin.display(description=_("reasons"))
    def reasons(self, case: ImageCase) -> str:
        counts = getattr(case, "reason_counts", [])
        return " · ".join(f"{_reason_label(reason)} {n}" for reason, n in counts) or "—"

    @admin.display(description=_("blocked for"), ordering="blocked_at")
    def since_block(self, case: ImageCase) -> str:
        if case.state not in BLOCKED_STATES or case.blocked_at is None:
            return "—"
        return timesince(case.blocked_at)

    # --- the case page's fields

    @admin.display(description=_("image"))
    def image_large(self, case: ImageCase) -> str:
        return self._image_tag(case, LARGE_BOX, css_class="case-image")

    @admin.display(description=_("article"))
    def article_link(self, case: ImageCase) -> str:
        article = case.image.article
        return format_html(
            '<a href="{}">{}</a> (<a href="{}">{}</a>)',
            reverse("admin:articles_article_change", args=[article.pk]),
            article.title,
            reverse("article-detail", kwargs={"slug": article.slug}),
            _("public page"),
        )

    @admin.display(description=_("source"))
    def source_name(self, case: ImageCase) -> str:
        return case.image.article.source.name

    @admin.display(description=_("caption"))
    def caption(self, case: ImageCase) -> str:
        return case.image.caption or "—"

    @admin.display(description=_("needs review"), boolean=True)
    def needs_review_display(self, case: ImageCase) -> bool:
        return bool(getattr(case, "needs_review", False))

    @admin.display(description=_("threshold"))
    def threshold_display(self, case: ImageCase) -> int | None:
        return getattr(case, "threshold", None)

    @admin.display(description=_("held reports (grouped, not counted)"))
    def held_report_count_display(self, case: ImageCase) -> int:
        # From the reports selectors.case_get prefetched: no query.
        return sum(r.outcome == ReportOutcome.HELD for r in case.image.reports.all())

    def _image_tag(self, case: ImageCase, box: tuple[int, int], *, css_class: str) -> str:
        if not case.image.original:
            return "—"
        width, height = _fit(case.image, box)
        return format_html(
            '<img src="{}" alt="{}" width="{}" height="{}" class="{}" loading="lazy">',
            reverse("admin:moderation_imagecase_image", args=[case.pk]),
            case.image.caption,
            width,
            height,
            css_class,
        )

    # --- the case page

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._case_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _case_context(self, request: HttpRequest, case: ImageCase) -> dict:
        all_reports = case.image.reports.all()
        # A brigaded image can carry thousands: the page shows the latest, and
        # links to the full list in the reports changelist.
        reports = list(all_reports[:CASE_PAGE_REPORTS])
        # Records, current weights and mutes of every reporter listed: a fixed
        # number of queries, whatever the number of reports.
        profiles = selectors.reporter_profiles(
            reporter_keys=[report.reporter_key for report in reports],
            staff_keys=[report.reporter_key for report in reports if _is_active_staff(report)],
        )
        preserved = {
            "preserved_filters": self.get_preserved_filters(request),
            "opts": self.opts,
        }
        can_decide = self.has_decide_permission(request)
        decisions = []
        if can_decide:
            decisions = [
                {
                    "value": decision.value,
                    "label": DECISION_LABELS[decision],
                    "url": add_preserved_filters(
                        preserved,
                        reverse(
                            "admin:moderation_imagecase_decide",
                            args=[case.pk, decision.value],
                        ),
                    ),
                }
                for decision in Decision
                if decision != Decision.RELEASE or _has_held_reports(case)
            ]
        actions = list(case.image.moderation_actions.all())
        for action in actions:
            action.details_text = json.dumps(action.details, ensure_ascii=False, sort_keys=True)
        return {
            "case_reports_total": len(all_reports),
            "case_reports_all_url": (
                reverse("admin:moderation_report_changelist") + f"?image__id__exact={case.image_id}"
            ),
            "case_reports": [
                self._report_row(
                    request, case, report, profiles[report.reporter_key], can_decide, preserved
                )
                for report in reports
            ],
            "case_actions": actions,
            "case_held_since": case.brigade_held_at,
            "case_block_held": case.auto_block_held_at is not None,
            "case_held_count": sum(r.outcome == ReportOutcome.HELD for r in all_reports),
            "can_decide": can_decide,
            "decisions": decisions,
            "mute_reason_max_length": MUTE_REASON_MAX_LENGTH,
            # Enter in the form without a button adds a note, never a block.
            "note_url": next((d["url"] for d in decisions if d["value"] == Decision.NOTE), ""),
            "note_max_length": NOTE_MAX_LENGTH,
        }

    def _report_row(
        self,
        request: HttpRequest,
        case: ImageCase,
        report: Report,
        profile: selectors.ReporterProfile,
        can_decide: bool,
        preserved: dict,
    ) -> dict:
        mute_action = ""
        if can_decide:
            name = "unmute_reporter" if profile.muted else "mute_reporter"
            mute_action = add_preserved_filters(
                preserved,
                reverse(f"admin:moderation_imagecase_{name}", args=[case.pk, report.pk]),
            )
        return {
            "report": report,
            "weight": _number(report.weight),
            "uncounted": report.outcome in UNCOUNTED_OUTCOMES,
            "reporter": rules.reporter_label(
                reporter_key=report.reporter_key,
                username=report.user.get_username() if report.user is not None else None,
                named=True,
            ),
            "record": _record_text(profile.record),
            "current_weight": _number(profile.weight),
            "muted": profile.muted,
            "mute_action": mute_action,
        }

    # --- the staff image view, the decision buttons, muting a reporter

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

    def image_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
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
        change_url = add_preserved_filters(
            {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts},
            reverse("admin:moderation_imagecase_change", args=[object_id]),
        )
        form = NoteForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.errors["note"][0])
            return HttpResponseRedirect(change_url)
        note = form.cleaned_data["note"]
        try:
            services.case_decide(
                case_id=object_id, decision=decision, actor=request.user, note=note
            )
        except ImageCase.DoesNotExist:
            raise Http404 from None
        except DecisionError as error:
            messages.error(request, _decision_error_text(error))
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
        done: str,
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
        change_url = add_preserved_filters(
            {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts},
            reverse("admin:moderation_imagecase_change", args=[object_id]),
        )
        form = MuteReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.errors["reason"][0])
            return HttpResponseRedirect(change_url)
        reason = form.cleaned_data["reason"]
        try:
            service(reporter_key=reporter_key, actor=request.user, reason=reason)
        except DecisionError as error:
            messages.error(request, _decision_error_text(error))
        else:
            messages.success(request, done)
        return HttpResponseRedirect(change_url)

    # --- admin actions: the same decisions on the selected cases

    def _decide_each(self, request: HttpRequest, queryset: QuerySet, decision: Decision) -> None:
        done = 0
        refused: dict[str, list[int]] = defaultdict(list)
        for case_id in queryset.values_list("pk", flat=True):
            try:
                services.case_decide(case_id=case_id, decision=decision, actor=request.user)
            except ImageCase.DoesNotExist:
                refused[str(_("The case no longer exists."))].append(case_id)
            except DecisionError as error:
                refused[_decision_error_text(error)].append(case_id)
            else:
                done += 1
        label = DECISION_LABELS[decision]
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(decision)s: %(count)d case.",
                    "%(decision)s: %(count)d cases.",
                    done,
                )
                % {"decision": label, "count": done},
                messages.SUCCESS,
            )
        for reason, case_ids in refused.items():
            self.message_user(
                request,
                ngettext(
                    "%(decision)s refused for case %(ids)s: %(reason)s",
                    "%(decision)s refused for cases %(ids)s: %(reason)s",
                    len(case_ids),
                )
                % {
                    "decision": label,
                    "ids": ", ".join(f"#{case_id}" for case_id in case_ids),
                    "reason": reason,
                },
                messages.ERROR,
            )

    @admin.action(description=_("Confirm the block of the selected cases"), permissions=["decide"])
    def confirm(self, request, queryset):
        self._decide_each(request, queryset, Decision.CONFIRM)

    @admin.action(description=_("Restore the selected images"), permissions=["decide"])
    def restore(self, request, queryset):
        self._decide_each(request, queryset, Decision.RESTORE)

    @admin.action(
        description=_("Dismiss the open reports of the selected cases"), permissions=["decide"]
    )
    def dismiss(self, request, queryset):
        self._decide_each(request, queryset, Decision.DISMISS)

    @admin.action(description=_("Protect the selected images"), permissions=["decide"])
    def protect(self, request, queryset):
        self._decide_each(request, queryset, Decision.PROTECT)

    @admin.action(description=_("Unprotect the selected images"), permissions=["decide"])
    def unprotect(self, request, queryset):
        self._decide_each(request, queryset, Decision.UNPROTECT)

    @admin.action(
        description=_("Count the held reports of the selected cases"), permissions=["decide"]
    )
    def release(self, request, queryset):
        self._decide_each(request, queryset, Decision.RELEASE)


def _has_held_reports(case: ImageCase) -> bool:
    """Whether "count the held reports" applies (services.decisions decides for good)."""
    return case.brigade_held_at is not None and case.state in BLOCKABLE_STATES


def _is_active_staff(report: Report) -> bool:
    # As services.report_create weighs a signed-in reporter.
    return report.user is not None and report.user.is_staff and report.user.is_active


def _record_text(record: dict[str, int]) -> str:
    """A reporter's reports by outcome, every outcome they have: "open 1 · upheld 3 ·
    held (grouped reports) 1"."""
    parts = [
        f"{ReportOutcome(outcome).label} {n}"
        for outcome, n in record.items()
        if n and outcome in ReportOutcome.values
    ]
    return " · ".join(parts) or "—"


# --- the audit log, reports and policies ---------------------------------------------


def _case_link(image: Image | None) -> str:
    if image is None:
        return "—"
    case = getattr(image, "case", None)
    if case is None:
        return str(image)
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:moderation_imagecase_change", args=[case.pk]), image
    )


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "case_link", "actor_display", "reason", "details"]
    list_filter = ["action", ("actor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["actor", "image__case"]
    date_hierarchy = "created_at"
    search_fields = ["reason"]
    fields = ["created_at", "action", "image", "actor", "reason", "details"]
    readonly_fields = fields

    @admin.display(description=_("image"), ordering="image")
    def case_link(self, action: ModerationAction) -> str:
        return _case_link(action.image)

    @admin.display(description=_("actor"), ordering="actor")
    def actor_display(self, action: ModerationAction) -> str:
        return action.actor.get_username() if action.actor else _("system")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "case_link",
        "reason",
        "outcome",
        "weight_display",
        "comment",
        "reporter_key",
    ]
    list_filter = ["reason", "outcome", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["image__case"]
    search_fields = ["reporter_key", "comment"]
    date_hierarchy = "created_at"

    @admin.display(description=_("image"), ordering="image")
    def case_link(self, report: Report) -> str:
        return _case_link(report.image)

    @admin.display(description=_("weight"), ordering="weight")
    def weight_display(self, report: Report) -> str:
        return _number(report.weight)


@admin.register(ReporterMute)
class ReporterMuteAdmin(ReadOnlyAdmin):
    """The muted reporters. A mute is made on a case page (a report's reporter) and
    lifted here or there; both go through the services, which log them."""

    list_display = ["reporter_key", "muted_by", "reason", "created_at"]
    list_select_related = ["muted_by"]
    search_fields = ["reporter_key", "reason"]
    date_hierarchy = "created_at"
    fields = ["reporter_key", "muted_by", "reason", "created_at"]
    readonly_fields = fields
    actions = ["unmute"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        # Muting and unmuting are decisions: the same permission as the case buttons.
        return request.user.has_perm(DECIDE_CASES)

    @admin.action(description=_("Unmute the selected reporters"), permissions=["decide"])
    def unmute(self, request: HttpRequest, queryset: QuerySet[ReporterMute]) -> None:
        done = 0
        refused = []
        for reporter_key in queryset.values_list("reporter_key", flat=True):
            try:
                services.reporter_unmute(reporter_key=reporter_key, actor=request.user)
            except DecisionError as error:
                # Unmuted meanwhile by someone else.
                refused.append(f"{reporter_key}: {_decision_error_text(error)}")
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d reporter unmuted.", "%(count)d reporters unmuted.", done)
                % {"count": done},
                messages.SUCCESS,
            )
        for refusal in refused:
            self.message_user(request, refusal, messages.ERROR)


@admin.register(ModeratorNotification)
class ModeratorNotificationAdmin(ReadOnlyAdmin):
    """For operators: a row without `sent_at` is an email a dead worker never sent."""

    list_display = ["created_at", "event", "case_link", "sent_at"]
    list_filter = ["event", ("sent_at", admin.EmptyFieldListFilter)]
    list_select_related = ["image__case"]
    date_hierarchy = "created_at"

    @admin.display(description=_("image"), ordering="image")
    def case_link(self, notification: ModeratorNotification) -> str:
        return _case_link(notification.image)


@admin.register(Policy)
class PolicyAdmin(InputCheckedAdmin):
    list_display = ["__str__", "source", "threshold", "window_days", "updated_at"]
    list_select_related = ["source"]
    fields = ["source", "threshold", "window_days"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A policy belongs to its scope; another scope gets a policy of its own.
        return ["source"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # A policy is changed (and the change logged), never removed without a trace.
        return False

    def save_model(self, request: HttpRequest, obj: Policy, form, change: bool) -> None:
        # Through the service, which logs the change; never obj.save().
        saved = services.policy_save(
            source_id=obj.source_id,
            threshold=obj.threshold,
            window_days=obj.window_days,
            actor=request.user,
        )
        obj.pk = saved.pk
        obj.updated_at = saved.updated_at


# --- hash bans -------------------------------------------------------------------------

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
        return _case_link(ban.source_image)

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
                        created = services.bans_import(rows=rows, actor=request.user)
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
