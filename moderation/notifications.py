"""Emails to the moderators: an image's first report, each automatic block, and a
daily digest of what waits for review. Called by the tasks in moderation.tasks.

Each goes only to those who want it (selectors.notification_recipients): a first report
to the moderators who chose its reason (by default: illegal content), an automatic
block to those who keep them on (the default), the digest to those who take it (the
default). The digest lists every case that waits, including those whose first report
nobody was mailed. The report path publishes a first report's task only when someone
wants its reason (services.reports); the task checks again, preferences having maybe
changed meanwhile.

Delivery is *at most once* per event, with a retry when the mail server says no.
Each email has a key naming its event; the first delivery inserts a
ModeratorNotification row with that key (a unique column) and commits it
*before* sending, and every other delivery of the same event (a duplicated
message, a redelivery after the worker died, the sweeper and the task both
blocking) finds the row and sends nothing. `sent_at` is set once the mail server
has taken the message. So:

- the send raises (server unreachable, refused): nothing went out, so the claim is
  deleted and the error re-raised for the task's retry;
- the worker dies between the claim and the send: the row stays with `sent_at`
  empty and that one email is lost. We prefer this to at-least-once, where a
  redelivered message would have to guess whether the dead worker had sent it
  and would mail every moderator twice when it had. Nothing is lost from the
  moderators' view: the case is in the admin queue and in the next digest.
"""

import logging
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext

from articles.models import Image
from moderation.models import (
    BLOCKABLE_STATES,
    ActionKind,
    CaseState,
    ModerationAction,
    ModeratorNotification,
    NotificationEvent,
    Reason,
    Report,
    ReportOutcome,
)
from moderation.selectors import (
    CaseWithThreshold,
    NotificationRecipient,
    case_list_with_threshold,
    case_queue_list,
    notification_recipients,
    reason_breakdown,
)

logger = logging.getLogger(__name__)

# The digest lists this many cases at most, then says how many more wait.
DIGEST_MAX_CASES = 50
_SUBJECT_TITLE_CHARS = 60


def first_report_notify(*, report_id: int) -> bool:
    """Tell the moderators that an image has been reported: its first report, or
    the first since its open reports were all closed (restored, dismissed,
    expired). Returns True when this call sent the email."""
    report = Report.objects.select_related("image__article__source").filter(pk=report_id).first()
    if report is None:
        return False
    case = case_list_with_threshold().filter(image_id=report.image_id).first()
    if case is None:
        return False
    recipients = _recipients_or_log(
        event=NotificationEvent.FIRST_REPORT,
        wanted=lambda recipient: report.reason in recipient.immediate_reasons,
        what=f"reason {report.reason}",
    )
    if not recipients:
        return False

    image = report.image
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Image reported: %(title)s") % {"title": _short(image.article.title)}
        body = render_to_string(
            "moderation/email/first_report.txt",
            {
                **_image_context(image=image, case=case),
                "report": report,
                "reason": Reason(report.reason).label,
                # A report closed before this one means the image was seen already.
                "restored": case.state == CaseState.RESTORED,
                "reported_before": Report.objects.filter(image_id=image.pk)
                .exclude(outcome=ReportOutcome.OPEN)
                .exists(),
            },
        )
    return _send_once(
        key=f"first_report:{image.pk}:{report.pk}",
        event=NotificationEvent.FIRST_REPORT,
        image_id=image.pk,
        message=_message(subject=subject, body=body, recipients=recipients),
    )


def auto_block_notify(*, action_id: int) -> bool:
    """Tell the moderators that the machine blocked an image (one audit row of
    kind auto_block). Returns True when this call sent the email."""
    action = (
        ModerationAction.objects.select_related("image__article__source")
        .filter(pk=action_id, action=ActionKind.AUTO_BLOCK, image__isnull=False)
        .first()
    )
    # The query asks for an image: `image is None` is for the type checker.
    if action is None or action.image is None:
        return False
    image = action.image
    case = case_list_with_threshold().filter(image_id=image.pk).first()
    if case is None:
        return False
    recipients = _recipients_or_log(
        event=NotificationEvent.AUTO_BLOCK,
        wanted=lambda recipient: recipient.immediate_auto_blocks,
        what="automatic blocks",
    )
    if not recipients:
        return False

    details = action.details
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Image blocked automatically: %(title)s") % {
            "title": _short(image.article.title)
        }
        body = render_to_string(
            "moderation/email/auto_block.txt",
            {
                **_image_context(image=image, case=case),
                "reporters": details.get("open_report_count", case.open_report_count),
                "threshold": details.get("threshold", case.threshold),
                "blocked_at": action.created_at,
                "reasons": _reasons_line(reason_breakdown(image_ids=[image.pk])[image.pk]),
            },
        )
    return _send_once(
        key=f"auto_block:{action.pk}",
        event=NotificationEvent.AUTO_BLOCK,
        image_id=image.pk,
        message=_message(subject=subject, body=body, recipients=recipients),
    )


def review_digest_send(*, day: date | None = None) -> bool:
    """Send the moderators the list of cases that wait, once a day: those awaiting
    review (blocked by the machine, held, at half their threshold), then those reported
    below that, whose first report was mailed only to whoever chose its reason, if anyone.

    Nothing is sent when nothing waits. Returns True when this call sent it.
    """
    day = day or timezone.localdate()
    waiting = case_queue_list().filter(
        Q(needs_review=True)
        | Q(state__in=BLOCKABLE_STATES, protected=False, open_report_count__gt=0)
    )
    totals = waiting.aggregate(
        total=Count("pk"),
        auto_blocked=Count("pk", filter=Q(needs_review=True, state=CaseState.AUTO_BLOCKED)),
        quiet=Count("pk", filter=Q(needs_review=False)),
    )
    if not totals["total"]:
        return False
    recipients = _recipients_or_log(
        event=NotificationEvent.REVIEW_DIGEST,
        wanted=lambda recipient: recipient.daily_digest,
        what="the daily digest",
    )
    if not recipients:
        return False

    cases = list(waiting[:DIGEST_MAX_CASES])
    breakdown = reason_breakdown(image_ids=[case.image_id for case in cases])
    with translation.override(settings.LANGUAGE_CODE):
        subject = ngettext(
            "%(count)s image awaits review", "%(count)s images await review", totals["total"]
        ) % {"count": totals["total"]}
        body = render_to_string(
            "moderation/email/review_digest.txt",
            {
                "total": totals["total"],
                "auto_blocked": totals["auto_blocked"],
                "rising": totals["total"] - totals["auto_blocked"] - totals["quiet"],
                "quiet": totals["quiet"],
                "cases": [
                    {
                        **_image_context(image=case.image, case=case),
                        "state": case.get_state_display(),
                        "reasons": _reasons_line(breakdown[case.image_id]),
                    }
                    for case in cases
                ],
                "more": totals["total"] - len(cases),
                "queue_url": _absolute(reverse("admin:moderation_imagecase_changelist")),
                "preferences_url": _preferences_url(),
            },
        )
    return _send_once(
        key=f"review_digest:{day.isoformat()}",
        event=NotificationEvent.REVIEW_DIGEST,
        image_id=None,
        message=_message(subject=subject, body=body, recipients=recipients),
    )


def _send_once(*, key: str, event: str, image_id: int | None, message: EmailMessage) -> bool:
    if not _claim(key=key, event=event, image_id=image_id):
        logger.info("moderator notification %s was sent already; not sending it again", key)
        return False
    connection = get_connection()
    try:
        connection.open()
        sent = connection.send_messages([message])
    except Exception:
        # The mail server did not take the message: give the claim back so that
        # the task's retry (or a later delivery) can send it.
        ModeratorNotification.objects.filter(key=key, sent_at__isnull=True).delete()
        raise
    finally:
        # Past send_messages the message is out or not; an error while saying
        # goodbye to the server must not make us send it twice.
        try:
            connection.close()
        except Exception:
            logger.warning("error closing the mail connection after %s", key, exc_info=True)
    if not sent:
        ModeratorNotification.objects.filter(key=key, sent_at__isnull=True).delete()
        logger.warning("the mail backend sent nothing for %s", key)
        return False
    ModeratorNotification.objects.filter(key=key).update(sent_at=timezone.now())
    logger.info("moderator notification %s sent to %d address(es)", key, len(message.to))
    return True


def _claim(*, key: str, event: str, image_id: int | None) -> bool:
    """Insert the notification's row; False if another delivery inserted it first.

    Committed before the email goes out (the caller is a task, outside any
    transaction), so that a concurrent delivery of the same event waits on the
    unique index and then finds it.
    """
    try:
        with transaction.atomic():
            ModeratorNotification.objects.create(key=key, event=event, image_id=image_id)
    except IntegrityError:
        if ModeratorNotification.objects.filter(key=key).exists():
            return False
        raise
    return True


def _recipients_or_log(
    *, event: str, wanted: Callable[[NotificationRecipient], bool], what: str
) -> list[str]:
    everyone = notification_recipients()
    if not everyone:
        logger.warning(
            "no %s email: no active moderator has an email address and "
            "MODERATION_NOTIFY_EMAILS is empty",
            event,
        )
        return []
    recipients = [recipient.address for recipient in everyone if wanted(recipient)]
    if not recipients:
        # Their choice, not a fault: what is not mailed now waits in the queue and the digest.
        logger.info("no %s email: no moderator wants %s mailed", event, what)
    return recipients


def _message(*, subject: str, body: str, recipients: list[str]) -> EmailMessage:
    return EmailMessage(
        subject=f"{settings.EMAIL_SUBJECT_PREFIX}{subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )


def _image_context(*, image: Image, case: CaseWithThreshold) -> dict[str, object]:
    return {
        "image": image,
        "article": image.article,
        "source": image.article.source,
        "case": case,
        "threshold": case.threshold,
        "case_url": _absolute(reverse("admin:moderation_imagecase_change", args=[case.pk])),
        "preferences_url": _preferences_url(),
    }


def _reasons_line(reasons: list[tuple[str, int]]) -> str:
    # "violence 3 · nudité 1", in the language in force.
    return " · ".join(f"{Reason(reason).label} {n}" for reason, n in reasons)


def _short(text: str) -> str:
    return Truncator(text).chars(_SUBJECT_TITLE_CHARS)


def _preferences_url() -> str:
    # Where each moderator chooses what is mailed to them (moderation.admin.preferences).
    return _absolute(reverse("admin:moderation_moderatorpreferences_mine"))


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"
