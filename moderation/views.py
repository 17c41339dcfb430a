from collections.abc import Callable
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from articles.models import Image
from articles.selectors import image_shown_get
from common.api_errors import body_too_large_message
from moderation import metrics, submission
from moderation.forms import ReportForm
from moderation.messages import report_throttled
from moderation.readers import reader_from_request


def _body_size_checked(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, counted as a refused report, as
    on the API; the rest goes through the CSRF check, then the view.

    The CSRF middleware would read the body first, and the error would escape it as
    Django's bare 400, uncounted. So the view is exempt from the middleware's check and
    makes that same check itself (csrf_protect), once the body is known to fit.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            try:
                request.POST  # noqa: B018  (reads and parses the body, once)
            except RequestDataTooBig:
                metrics.report_refused(reason="invalid")
                context = {"message": body_too_large_message()}
                return render(request, "413.html", context, status=413)
        return protected(request, *args, **kwargs)

    return csrf_exempt(checked)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_body_size_checked
def image_report(request: HttpRequest, image_id: int) -> HttpResponse:
    """GET/POST /images/<id>/report/: the report form for readers without JavaScript.

    A report is recorded exactly as the API records it, then the reader is sent
    back (303) to the image in its article, where the thanks are shown.
    """
    try:
        image = image_shown_get(image_id=image_id)
    except Image.DoesNotExist:
        # Unknown, or not processed yet: readers are not shown it anywhere, so
        # nothing to report.
        if request.method == "POST":
            metrics.report_refused(reason="not_found")
        raise Http404 from None
    article_url = reverse("article-detail", kwargs={"slug": image.article.slug})
    if image.is_blocked:
        # Nothing left to report: the article shows the placeholder.
        return HttpResponseRedirect(f"{article_url}#image-{image.pk}", status=303)

    form = ReportForm.for_image(image.pk, request.POST if request.method == "POST" else None)
    context = {"image": image, "article": image.article, "form": form}
    if not form.is_bound:
        return render(request, "moderation/image_report.html", context)

    def fields() -> dict:
        if not form.is_valid():
            raise submission.ReportInvalid
        return form.cleaned_data

    reader = reader_from_request(request)
    try:
        submission.report_submit(reader=reader, image_id=image.pk, fields=fields)
    except submission.ReportThrottled as refused:
        context["refusal"] = report_throttled(retry_after=refused.retry_after)
        response = render(request, "moderation/image_report.html", context, status=429)
        response["Retry-After"] = str(refused.retry_after)
        return response
    except submission.ReportInvalid:
        return render(request, "moderation/image_report.html", context, status=400)
    except Image.DoesNotExist:
        raise Http404 from None
    # New, repeat or blocked meanwhile: the same answer, as the API gives.
    return submission.report_answered(
        HttpResponseRedirect(f"{article_url}?reported={image.pk}#image-{image.pk}", status=303),
        reader=reader,
    )
