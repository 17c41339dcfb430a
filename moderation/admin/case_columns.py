"""What the queue's columns and the case page's fields show of a case."""

from typing import TYPE_CHECKING

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from articles.models import Image
from moderation.admin.display import number_text, reason_label
from moderation.models import BLOCKED_STATES, ImageCase, ReportOutcome

if TYPE_CHECKING:
    # django-stubs-ext is a development requirement: the annotations are for mypy only.
    from django_stubs_ext import StrOrPromise

# Small enough for a row of two lines, large enough to tell an image from another:
# the case page (LARGE_BOX) is where an image is judged.
THUMBNAIL_BOX = (64, 48)
LARGE_BOX = (720, 540)


def fit(image: Image, box: tuple[int, int]) -> tuple[int, int]:
    """The image's size scaled down (never up) to fit in box, for width/height."""
    if not image.width or not image.height:
        return box
    scale = min(box[0] / image.width, box[1] / image.height, 1)
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


def image_tag(case: ImageCase, box: tuple[int, int], *, css_class: str) -> str:
    """The case's image through the staff image view (blocked or not), fitted in box."""
    if not case.image.original:
        return "—"
    width, height = fit(case.image, box)
    return format_html(
        '<img src="{}" alt="{}" width="{}" height="{}" class="{}" loading="lazy">',
        reverse("admin:moderation_imagecase_image", args=[case.pk]),
        case.image.caption,
        width,
        height,
        css_class,
    )


def short_time(value) -> str:
    """A date and time in the active language's short form ("08/12/2026 14:05")."""
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


class CaseQueueColumnsMixin:
    """The queue's columns (ImageCaseAdmin.list_display), narrow enough for a 1366 px
    screen with the admin's sidebars (case-admin.css clamps the titles)."""

    @admin.display(description=_("image"))
    def thumbnail(self, case: ImageCase) -> str:
        return image_tag(case, THUMBNAIL_BOX, css_class="case-thumbnail")

    @admin.display(description=_("article and source"), ordering="image__article__title")
    def article_and_source(self, case: ImageCase) -> str:
        article = case.image.article
        # The full title as a tooltip: the cell shows two lines of it at most.
        return format_html(
            '<span class="case-title" title="{}">{}</span> <small>{}</small>',
            article.title,
            article.title,
            article.source.name,
        )

    @admin.display(description=_("state"), ordering="state")
    def state_display(self, case: ImageCase) -> str:
        badges: list[StrOrPromise] = []
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

    @admin.display(description=_("readers"), ordering="open_report_count")
    def reporters(self, case: ImageCase) -> int:
        return case.open_report_count

    @admin.display(description=_("score / threshold"), ordering="score")
    def score_display(self, case: ImageCase) -> str:
        # The queue's selector annotates the threshold in force for each case.
        threshold = getattr(case, "threshold", None)
        if threshold is None:
            return number_text(case.score)
        return f"{number_text(case.score)} / {number_text(threshold)}"

    @admin.display(description=_("score / threshold"), ordering="score")
    def score_and_readers(self, case: ImageCase) -> str:
        """The score against its threshold, and under it the distinct readers counted:
        one column instead of two, for the queue's width."""
        count = case.open_report_count
        return format_html(
            "{}<br><small>{}</small>",
            self.score_display(case),
            ngettext("%(count)d reader", "%(count)d readers", count) % {"count": count},
        )

    @admin.display(description=_("reasons"))
    def reasons(self, case: ImageCase) -> str:
        counts = getattr(case, "reason_counts", [])
        if not counts:
            return "—"
        # A reason never breaks inside itself; the list wraps between reasons, the
        # separator staying at the end of a line.
        last = len(counts) - 1
        return format_html_join(
            " ",
            '<span class="case-reason">{} {}{}</span>',
            (
                (reason_label(reason), n, "" if i == last else " ·")
                for i, (reason, n) in enumerate(counts)
            ),
        )

    @admin.display(description=_("last report"), ordering="last_reported_at")
    def reported(self, case: ImageCase) -> str:
        if case.last_reported_at is None:
            return "—"
        return format_html(
            '{}<br><small title="{}">{}</small>',
            short_time(case.last_reported_at),
            _("first report"),
            short_time(case.first_reported_at or case.last_reported_at),
        )

    @admin.display(description=_("blocked for"), ordering="blocked_at")
    def since_block(self, case: ImageCase) -> str:
        if case.state not in BLOCKED_STATES or case.blocked_at is None:
            return "—"
        return timesince(case.blocked_at, depth=1)


class CaseFieldsMixin:
    """The case page's read-only fields (ImageCaseAdmin.fieldsets)."""

    @admin.display(description=_("image"))
    def image_large(self, case: ImageCase) -> str:
        return image_tag(case, LARGE_BOX, css_class="case-image")

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
