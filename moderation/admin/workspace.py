"""The moderators' workspace: /admin/moderation/workspace/, one column of case cards
worked by keyboard (moderation/static/moderation/js/workspace.js) or by plain forms.

Served by the admin site (its login, its look), with the ImageCase admin's permissions:
viewing the queue to see it, deciding to act. Each view is a thin adapter: one selector
to read, one service to write. Opening a case (?case=ID) claims it; a decision moves on
to the next case the moderator may take, with an Undo for MODERATION_UNDO_SECONDS.
"""

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from moderation import selectors, services
from moderation.admin.display import DECISION_LABELS, decision_error_text, number_text, reason_label
from moderation.admin.forms import NoteForm
from moderation.models import (
    MODERATORS_GROUP,
    NOTE_MAX_LENGTH,
    ImageCase,
    ModerationAction,
)
from moderation.permissions import acting_moderator
from moderation.rules import undo_deadline
from moderation.selectors import QueueTab as Tab
from moderation.selectors import WorkspaceCard
from moderation.services import ClaimConflict, Decision, DecisionError

if TYPE_CHECKING:
    from moderation.admin.cases import ImageCaseAdmin

# How often the page asks whether new cases arrived; the browser tests shorten it.
POLL_SECONDS = 10
# The live counter's texts are rendered here for 0..LIVE_TEXTS-1 new cases (ngettext in
# the page's language; the script has no catalog): past that, the script reuses the one
# of the same last two digits, which every language's plural rule agrees with.
LIVE_TEXTS = 200

TAB_LABELS = {
    Tab.NEEDS_REVIEW: _("needs review"),
    Tab.GROUPED: _("Grouped reports"),
    Tab.BLOCKED: _("blocked"),
    Tab.PROTECTED: _("protected"),
    Tab.ALL: _("all"),
}
# The key of each decision (workspace.js); the help overlay lists them.
DECISION_KEYS = {
    Decision.CONFIRM: "c",
    Decision.RESTORE: "r",
    Decision.DISMISS: "d",
    Decision.PROTECT: "p",
    Decision.NOTE: "n",
}
SHORTCUTS = [
    ("j", _("next case")),
    ("k", _("previous case")),
    ("c", _("confirm the block")),
    ("r", _("restore")),
    ("d", _("dismiss the reports")),
    ("p", _("protect")),
    ("n", _("add a note (Enter sends it, Escape cancels)")),
    ("x", _("reveal the image")),
    ("u", _("undo the last decision")),
    ("?", _("this help (Escape closes it)")),
]


class WorkspaceDecisionForm(NoteForm):
    """A decision's note, and the latest audit row of the case the moderator saw."""

    seen_action_id = forms.IntegerField(required=False, min_value=0)
    tab = forms.ChoiceField(choices=[(tab.value, tab.value) for tab in Tab], required=False)


def _case_admin() -> "ImageCaseAdmin":
    return admin.site.get_model_admin(ImageCase)  # type: ignore[return-value]


def _check_view(request: HttpRequest) -> None:
    request.current_app = admin.site.name
    if not _case_admin().has_view_permission(request):
        raise PermissionDenied


def _check_decide(request: HttpRequest) -> None:
    request.current_app = admin.site.name
    if not _case_admin().has_decide_permission(request):
        raise PermissionDenied


def workspace_url(*, tab: str = Tab.NEEDS_REVIEW, case_id: int | None = None, **extra) -> str:
    query = {"tab": tab} if tab != Tab.NEEDS_REVIEW else {}
    if case_id is not None:
        query["case"] = str(case_id)
    query.update({key: str(value) for key, value in extra.items() if value is not None})
    url = reverse("moderation-workspace")
    return f"{url}?{urlencode(query)}" if query else url


def _int_param(request: HttpRequest, name: str) -> int | None:
    """A positive integer from the query string; anything else there is a 404."""
    value = request.GET.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise Http404
    return int(value)


def _tab_param(value: str | None) -> Tab:
    if value is None or value == "":
        return Tab.NEEDS_REVIEW
    try:
        return Tab(value)
    except ValueError:
        raise Http404 from None


# --- the page --------------------------------------------------------------------------


def workspace_view(request: HttpRequest) -> HttpResponse:
    _check_view(request)
    moderator = acting_moderator(request)
    tab = _tab_param(request.GET.get("tab"))
    page_number = _int_param(request, "page") or 1
    case_id = _int_param(request, "case")
    undo_id = _int_param(request, "undo")
    can_decide = _case_admin().has_decide_permission(request)
    if case_id is not None and can_decide:
        # Opening a case claims it, so that others skip it (services.case_claim).
        try:
            services.case_claim(case_id=case_id, moderator=moderator)
        except ImageCase.DoesNotExist:
            case_id = None
        except ClaimConflict as conflict:
            messages.warning(request, decision_error_text(conflict))
    now = timezone.now()
    page = selectors.workspace_page(tab=tab, moderator_id=moderator.pk, now=now, page=page_number)
    summary = selectors.queue_summary()
    figures = selectors.moderator_figures(moderator=moderator, now=now)
    ids = [card.case.pk for card in page.cards]
    if case_id not in ids:
        case_id = next((card.case.pk for card in page.cards if not card.claimed_by), None)
    context = {
        **admin.site.each_context(request),
        "title": _("Moderators' workspace"),
        "subtitle": None,
        "tabs": [
            {
                "label": TAB_LABELS[each],
                "count": summary.tabs[each.value],
                "url": workspace_url(tab=each),
                "current": each == tab,
            }
            for each in Tab
        ],
        "tab": tab,
        "cards": [
            _card(card, tab=tab, current=card.case.pk == case_id, can_decide=can_decide)
            for card in page.cards
        ],
        "page": page,
        "previous_url": workspace_url(tab=tab, page=page.page - 1) if page.page > 1 else None,
        "next_url": workspace_url(tab=tab, page=page.page + 1) if page.has_next else None,
        "undo": _undo(undo_id, moderator_id=moderator.pk, now=now) if undo_id else None,
        "latest_case_id": summary.latest_case_id or 0,
        "all_count": summary.tabs[Tab.ALL.value],
        "summary_url": reverse("api-moderation-queue-summary"),
        "claim_url_template": reverse("moderation-workspace-claim", args=[0]),
        "release_url_template": reverse("moderation-workspace-release", args=[0]),
        # The script renews the claim of the case it shows well before it runs out.
        "claim_renew_seconds": max(settings.MODERATION_CLAIM_SECONDS // 3, 5),
        "poll_seconds": POLL_SECONDS,
        "live_texts": {
            str(n): ngettext("%(count)s new case", "%(count)s new cases", n) % {"count": n}
            for n in range(LIVE_TEXTS)
        },
        "shortcuts": SHORTCUTS,
        "figures": _figures(figures),
        "note_max_length": NOTE_MAX_LENGTH,
        "index_url": reverse("admin:index") + "?index=1",
        "queue_url": reverse("admin:moderation_imagecase_changelist"),
    }
    return TemplateResponse(request, "admin/moderation/workspace.html", context)


def _card(card: WorkspaceCard, *, tab: Tab, current: bool, can_decide: bool) -> dict:
    case = card.case
    image = case.image
    held = card.held_count
    reports = ngettext("%(count)s report", "%(count)s reports", card.report_count) % {
        "count": card.report_count
    }
    networks = ngettext("%(count)s network", "%(count)s networks", card.network_count) % {
        "count": card.network_count
    }
    grouping = _("%(reports)s from %(networks)s") % {"reports": reports, "networks": networks}
    if held:
        grouping = ngettext("%(text)s, %(count)s held", "%(text)s, %(count)s held", held) % {
            "text": grouping,
            "count": held,
        }
    return {
        "card": card,
        "case": case,
        "current": current,
        "open_url": workspace_url(tab=tab, case_id=case.pk),
        "page_url": reverse("admin:moderation_imagecase_change", args=[case.pk]),
        "image_url": reverse("admin:moderation_imagecase_image", args=[case.pk]),
        "title": image.article.title,
        "source": image.article.source.name,
        "position": image.position + 1,
        "caption": image.caption,
        "score": number_text(case.score),
        "threshold": case.threshold,
        "reasons": [(reason_label(reason), count) for reason, count in card.reasons],
        "comments": [
            (reason_label(reason), comment, created_at)
            for reason, comment, created_at in card.comments
        ],
        "grouping": grouping,
        "decisions": [
            {
                "value": value,
                "label": DECISION_LABELS[Decision(value)],
                "key": DECISION_KEYS.get(Decision(value), ""),
                "url": reverse("moderation-workspace-decide", args=[case.pk, value]),
            }
            for value in card.decisions
        ]
        if can_decide
        else [],
    }


def _figures(figures: selectors.ModeratorFigures) -> list[str]:
    """The moderator's own figures, as short phrases."""
    phrases = [
        ngettext("%(count)s decision today", "%(count)s decisions today", figures.decisions_today)
        % {"count": figures.decisions_today},
        ngettext("%(count)s this week", "%(count)s this week", figures.decisions_week)
        % {"count": figures.decisions_week},
    ]
    if figures.median_seconds is not None:
        phrases.append(
            _("%(seconds)s s per decision (median)") % {"seconds": round(figures.median_seconds)}
        )
    if figures.reversed_share is not None:
        phrases.append(
            _("%(percent)s %% later reversed") % {"percent": round(100 * figures.reversed_share)}
        )
    return phrases


def _undo(action_id: int, *, moderator_id: int, now) -> dict | None:
    """The Undo offered after a decision, while its author may still take it back."""
    action = selectors.undoable_decision(action_id=action_id, moderator_id=moderator_id, now=now)
    if action is None:
        return None
    left = (undo_deadline(decided_at=action.created_at) - now).total_seconds()
    return {
        "url": reverse("moderation-workspace-undo", args=[action.pk]),
        "label": action.get_action_display(),
        "milliseconds_left": int(left * 1000),
    }


# --- writes ----------------------------------------------------------------------------


def decide_view(request: HttpRequest, case_id: int, decision: str) -> HttpResponse:
    """Decide, then open the next case (a note stays on the case it notes)."""
    _check_decide(request)
    try:
        decision = Decision(decision)
    except ValueError:
        raise Http404 from None
    moderator = acting_moderator(request)
    form = WorkspaceDecisionForm(request.POST)
    tab = _tab_param(request.POST.get("tab")) if form.is_valid() else Tab.NEEDS_REVIEW
    if not form.is_valid():
        messages.error(request, str(next(iter(form.errors.values()))[0]))
        return HttpResponseRedirect(workspace_url(tab=tab, case_id=case_id))
    try:
        action = services.case_decide(
            case_id=case_id,
            decision=decision,
            actor=moderator,
            note=form.cleaned_data["note"],
            seen_action_id=form.cleaned_data["seen_action_id"],
        )
    except ImageCase.DoesNotExist:
        raise Http404 from None
    except DecisionError as error:
        # Opening the case again says who claims it (workspace_view): say it once.
        if not isinstance(error, ClaimConflict):
            messages.error(request, decision_error_text(error))
        return HttpResponseRedirect(workspace_url(tab=tab, case_id=case_id))
    messages.success(request, _("%(decision)s: done.") % {"decision": DECISION_LABELS[decision]})
    if decision == Decision.NOTE:
        return HttpResponseRedirect(workspace_url(tab=tab, case_id=case_id))
    next_id = selectors.workspace_next_case_id(
        tab=tab, moderator_id=moderator.pk, now=timezone.now(), after_case_id=case_id
    )
    return HttpResponseRedirect(workspace_url(tab=tab, case_id=next_id, undo=action.pk))


def undo_view(request: HttpRequest, action_id: int) -> HttpResponse:
    _check_decide(request)
    tab = _tab_param(request.POST.get("tab"))
    try:
        undone = services.decision_undo(action_id=action_id, actor=acting_moderator(request))
    except ModerationAction.DoesNotExist:
        raise Http404 from None
    except DecisionError as error:
        messages.error(request, decision_error_text(error))
        return HttpResponseRedirect(workspace_url(tab=tab))
    messages.success(request, _("Decision undone."))
    # An undo is always of a decision on an image's case.
    case_id = selectors.case_id_of_image(image_id=undone.image_id) if undone.image_id else None
    return HttpResponseRedirect(workspace_url(tab=tab, case_id=case_id))


def claim_view(request: HttpRequest, case_id: int) -> JsonResponse:
    """The script claims the card the moderator moves to: 200, or 409 with who holds it."""
    _check_decide(request)
    try:
        claim = services.case_claim(case_id=case_id, moderator=acting_moderator(request))
    except ImageCase.DoesNotExist:
        raise Http404 from None
    except ClaimConflict as conflict:
        return JsonResponse(
            {"detail": decision_error_text(conflict), "holder": conflict.holder.name}, status=409
        )
    return JsonResponse({"case_id": case_id, "expires_at": claim.expires_at.isoformat()})


def release_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The script lets go of the moderator's claim when they leave the page (a beacon),
    so that others need not wait for it to expire. 204 whether or not there was one; 404
    for no such case."""
    _check_decide(request)
    try:
        services.case_release(case_id=case_id, moderator=acting_moderator(request))
    except ImageCase.DoesNotExist:
        raise Http404 from None
    return HttpResponse(status=204)


def index_view(request: HttpRequest) -> HttpResponse:
    """The admin's index, except for moderators, whose home is the workspace (the
    workspace links to the index with ?index=1)."""
    user = request.user
    if (
        "index" not in request.GET
        and not user.is_superuser
        and user.groups.filter(name=MODERATORS_GROUP).exists()
    ):
        return HttpResponseRedirect(reverse("moderation-workspace"))
    return admin.site.index(request)


def urls() -> list[URLPattern]:
    """Mounted under /admin/ before the admin's own URLs (newsroom/urls.py): the admin
    site's get_urls offers no place for a page that is not one model's."""
    wrap = admin.site.admin_view
    return [
        path("", wrap(index_view), name="moderation-admin-index"),
        path(
            "moderation/workspace/",
            wrap(require_safe(workspace_view)),
            name="moderation-workspace",
        ),
        path(
            "moderation/workspace/<int:case_id>/claim/",
            wrap(require_POST(claim_view)),
            name="moderation-workspace-claim",
        ),
        path(
            "moderation/workspace/<int:case_id>/release/",
            wrap(require_POST(release_view)),
            name="moderation-workspace-release",
        ),
        path(
            "moderation/workspace/<int:case_id>/decide/<str:decision>/",
            wrap(require_POST(decide_view)),
            name="moderation-workspace-decide",
        ),
        path(
            "moderation/workspace/undo/<int:action_id>/",
            wrap(require_POST(undo_view)),
            name="moderation-workspace-undo",
        ),
    ]
