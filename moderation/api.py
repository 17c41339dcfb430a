from django.db.models import F
from django.http import Http404
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.api import NO_SUCH_PAGE, id_path_parameter
from articles.models import Image
from articles.serializers import DetailSerializer
from moderation import rules, selectors, services, submission
from moderation.messages import REPORT_THANKS, report_throttled
from moderation.models import ImageCase, ReportOutcome
from moderation.permissions import (
    DECIDE_CASES,
    VIEW_ACTIONS,
    VIEW_CASES,
    VIEW_REPORTS,
    IsModerator,
    acting_moderator,
)
from moderation.readers import reader_from_request
from moderation.serializers import (
    ActionFilterErrorsSerializer,
    ActionFilterSerializer,
    ActionSerializer,
    CaseDetailSerializer,
    CaseQueueFilterErrorsSerializer,
    CaseQueueFilterSerializer,
    CaseSerializer,
    ConflictSerializer,
    DecisionErrorsSerializer,
    DecisionInputSerializer,
    ReporterMuteErrorsSerializer,
    ReporterMuteInputSerializer,
    ReportErrorsSerializer,
    ReportInputSerializer,
    conflict_body,
)


class ReaderSessionAuthentication(SessionAuthentication):
    """Session authentication that checks CSRF for anonymous readers too.

    DRF checks it only for signed-in users, but an anonymous reader is also
    known by a cookie (moderation.readers), which another site's page would
    send along: without the token, its report is refused (403).
    """

    def authenticate(self, request: Request):
        self.enforce_csrf(request)
        return super().authenticate(request)


class ReaderSessionScheme(SessionScheme):
    """The OpenAPI description of ReaderSessionAuthentication: the session cookie."""

    target_class = "moderation.api.ReaderSessionAuthentication"
    name = "readerCookieAuth"


class ImageReportApi(APIView):
    """POST /api/images/{id}/reports/: a reader flags an image.

    201 for a new report; 200 with the same thanks for a repeat or an image
    already blocked, so a reader learns nothing from the difference.
    """

    # A token is not sent by browsers on their own, so it needs no CSRF token.
    authentication_classes = [TokenAuthentication, ReaderSessionAuthentication]

    @extend_schema(
        operation_id="image_report_create",
        summary="Report an image",
        tags=["images"],
        parameters=[id_path_parameter("image_id")],
        request=ReportInputSerializer,
        responses={
            201: OpenApiResponse(DetailSerializer, description="A new report: the thanks."),
            200: OpenApiResponse(
                DetailSerializer,
                description="A repeat by the same reader, or an image already blocked: "
                "the same thanks, nothing counted.",
            ),
            400: OpenApiResponse(
                ReportErrorsSerializer,
                description="An unknown reason, a comment too long, a body that is not "
                "a JSON object.",
            ),
            404: OpenApiResponse(
                DetailSerializer,
                description="No such image, or one not processed yet (shown to no reader).",
            ),
            403: OpenApiResponse(
                DetailSerializer,
                description="No valid CSRF token: every report made with the site's cookies "
                "needs one, anonymous ones included.",
            ),
            413: OpenApiResponse(DetailSerializer, description="The body is too large."),
            415: OpenApiResponse(DetailSerializer, description="The body is not JSON."),
            429: OpenApiResponse(
                DetailSerializer,
                description="Too many reports from this reader or this network: nothing "
                "was recorded; `Retry-After` says when to try again.",
            ),
            503: OpenApiResponse(
                DetailSerializer,
                description="The database dropped out mid-report: nothing was recorded; "
                "`Retry-After` says when to try again.",
            ),
        },
    )
    def post(self, request: Request, image_id: int) -> Response:
        reader = reader_from_request(request)

        def fields() -> dict:
            # Reading request.data parses the body: 400, 413 and 415 come from here.
            serializer = ReportInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return serializer.validated_data

        try:
            receipt = submission.report_submit(reader=reader, image_id=image_id, fields=fields)
        except submission.ReportThrottled as refused:
            return Response(
                {"detail": report_throttled(retry_after=refused.retry_after)},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(refused.retry_after)},
            )
        except Image.DoesNotExist:
            raise Http404 from None
        created = receipt.result is services.ReportResult.CREATED
        return submission.report_answered(
            Response(
                {"detail": REPORT_THANKS},
                status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            ),
            reader=reader,
        )


# --- the moderators' API ------------------------------------------------------------

UNAUTHENTICATED = OpenApiResponse(DetailSerializer, description="Not signed in.")
FORBIDDEN = OpenApiResponse(DetailSerializer, description="Not a moderator.")


class ModeratorPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class ModeratorApi(GenericAPIView):
    """Base of the moderators' endpoints: a token or a session, and the
    permissions each view lists in `moderator_permissions`."""

    # Token first: an anonymous caller is told 401 with `WWW-Authenticate: Token`
    # rather than a bare 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsModerator]
    pagination_class = ModeratorPagination
    moderator_permissions: tuple[str, ...] = (VIEW_CASES,)


def _case_or_404(*, case_id: int) -> ImageCase:
    try:
        return selectors.case_get(case_id=case_id)
    except ImageCase.DoesNotExist:
        raise Http404 from None


class CaseListApi(ModeratorApi):
    """GET /api/moderation/cases/: the queue, awaiting review first."""

    @extend_schema(
        operation_id="moderation_case_list",
        summary="The moderation queue",
        tags=["moderation"],
        parameters=[CaseQueueFilterSerializer],
        responses={
            200: CaseSerializer(many=True),
            400: CaseQueueFilterErrorsSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NO_SUCH_PAGE,
        },
    )
    def get(self, request: Request) -> Response:
        params = CaseQueueFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        ordering = filters.pop("ordering", None)
        cases = selectors.case_queue_filter(selectors.case_queue_list(), **filters)
        if ordering:
            cases = cases.order_by(*_case_order_by(ordering))
        page = self.paginate_queryset(cases)
        assert page is not None  # None is for a view without a pagination_class
        # One query for the reasons of the whole page, and one for the held
        # reports of its held cases (none when no case is held: an empty IN).
        reasons = selectors.reason_breakdown(image_ids=[case.image_id for case in page])
        held_counts = selectors.held_report_counts(
            image_ids=[case.image_id for case in page if case.brigade_held_at]
        )
        context = {
            **self.get_serializer_context(),
            "reasons": reasons,
            "held_counts": held_counts,
        }
        return self.get_paginated_response(CaseSerializer(page, many=True, context=context).data)


def _case_order_by(ordering: str) -> list:
    field = ordering.removeprefix("-")
    descending = ordering.startswith("-")
    # Cases never blocked have no block time: last whichever the direction.
    # The id breaks ties, so that pages neither overlap nor skip.
    if descending:
        return [F(field).desc(nulls_last=True), "-pk"]
    return [F(field).asc(nulls_last=True), "pk"]


class CaseDetailApi(ModeratorApi):
    """GET /api/moderation/cases/{id}/: a case, its reports and its audit trail."""

    moderator_permissions = (VIEW_CASES, VIEW_REPORTS)

    @extend_schema(
        operation_id="moderation_case_retrieve",
        summary="A case with its reports and audit trail",
        tags=["moderation"],
        parameters=[id_path_parameter("case_id")],
        responses={
            200: CaseDetailSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(DetailSerializer, description="No such case."),
        },
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = _case_or_404(case_id=case_id)
        # Prefetched by case_get, with their users.
        reports = case.image.reports.all()
        context = {
            **self.get_serializer_context(),
            "reasons": selectors.reason_breakdown(image_ids=[case.image_id]),
            "held_counts": {
                case.image_id: sum(report.outcome == ReportOutcome.HELD for report in reports)
            },
            "reporters": selectors.reporter_profiles(
                reporter_keys=[report.reporter_key for report in reports],
                staff_keys=[
                    report.reporter_key for report in reports if rules.is_active_staff(report.user)
                ],
            ),
        }
        return Response(CaseDetailSerializer(case, context=context).data)


class CaseDecisionApi(ModeratorApi):
    """POST /api/moderation/cases/{id}/decisions/: confirm, restore, dismiss,
    protect, unprotect, note or release (count the held grouped reports);
    answers the audit row written."""

    moderator_permissions = (VIEW_CASES, DECIDE_CASES)

    @extend_schema(
        operation_id="moderation_case_decide",
        summary="Take a decision on a case",
        tags=["moderation"],
        parameters=[id_path_parameter("case_id")],
        request=DecisionInputSerializer,
        responses={
            201: OpenApiResponse(ActionSerializer, description="The audit row written."),
            400: DecisionErrorsSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(DetailSerializer, description="No such case."),
            409: OpenApiResponse(
                ConflictSerializer,
                description="The decision does not apply to the case as it stands, another "
                "moderator examines it (a claim), or someone acted on it since `seen_action`; "
                "nothing was changed.",
            ),
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            action = services.case_decide(
                case_id=case_id,
                decision=services.Decision(serializer.validated_data["action"]),
                actor=acting_moderator(request),
                note=serializer.validated_data["note"],
                seen_action_id=serializer.validated_data["seen_action"],
            )
        except ImageCase.DoesNotExist:
            raise Http404 from None
        except services.DecisionError as error:
            return Response(conflict_body(error), status=status.HTTP_409_CONFLICT)
        return Response(ActionSerializer(action).data, status=status.HTTP_201_CREATED)


class ActionListApi(ModeratorApi):
    """GET /api/moderation/actions/: the audit log, newest first."""

    moderator_permissions = (VIEW_ACTIONS,)

    @extend_schema(
        operation_id="moderation_action_list",
        summary="The audit log",
        tags=["moderation"],
        parameters=[ActionFilterSerializer],
        responses={
            200: ActionSerializer(many=True),
            400: ActionFilterErrorsSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NO_SUCH_PAGE,
        },
    )
    def get(self, request: Request) -> Response:
        params = ActionFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.action_list(**params.validated_data))
        return self.get_paginated_response(ActionSerializer(page, many=True).data)


class ReporterMuteBaseApi(ModeratorApi):
    """Mute or unmute a reporter, named by key or by one of their reports."""

    moderator_permissions = (DECIDE_CASES,)

    def _apply(self, request: Request, service) -> Response:
        serializer = ReporterMuteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            action = service(
                reporter_key=serializer.validated_data["reporter_key"],
                actor=acting_moderator(request),
                reason=serializer.validated_data["reason"],
            )
        except services.DecisionError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(ActionSerializer(action).data, status=status.HTTP_200_OK)


def _mute_responses(conflict: str) -> dict:
    return {
        200: OpenApiResponse(ActionSerializer, description="The audit row written."),
        400: OpenApiResponse(
            ReporterMuteErrorsSerializer,
            description="Neither or both of `reporter_key` and `report`, an unknown report, "
            "a reason too long, a body that is not a JSON object.",
        ),
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        409: OpenApiResponse(DetailSerializer, description=conflict),
    }


class ReporterMuteApi(ReporterMuteBaseApi):
    """POST /api/moderation/reporters/mute/: stop counting a reporter. Their open
    reports leave their cases' counts and scores, their held ones stop waiting, and
    their future reports are stored uncounted."""

    @extend_schema(
        operation_id="moderation_reporter_mute",
        summary="Mute a reporter",
        tags=["moderation"],
        request=ReporterMuteInputSerializer,
        responses=_mute_responses("The reporter is already muted; nothing was changed."),
    )
    def post(self, request: Request) -> Response:
        return self._apply(request, services.reporter_mute)


class ReporterUnmuteApi(ReporterMuteBaseApi):
    """POST /api/moderation/reporters/unmute/: count a muted reporter's future
    reports again (those made while muted stay uncounted)."""

    @extend_schema(
        operation_id="moderation_reporter_unmute",
        summary="Unmute a reporter",
        tags=["moderation"],
        request=ReporterMuteInputSerializer,
        responses=_mute_responses("The reporter is not muted; nothing was changed."),
    )
    def post(self, request: Request) -> Response:
        return self._apply(request, services.reporter_unmute)
