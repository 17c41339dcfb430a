"""The moderators' workspace API: claim and release a case, the queue's summary for the
live counter, and undoing a decision. Each view checks who asks and calls one service or
selector."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from articles.api import id_path_parameter
from articles.serializers import DetailSerializer
from moderation import selectors, services
from moderation.api import FORBIDDEN, UNAUTHENTICATED, ModeratorApi
from moderation.models import ImageCase, ModerationAction
from moderation.permissions import DECIDE_CASES, VIEW_CASES, acting_moderator
from moderation.serializers import (
    ActionSerializer,
    ClaimSerializer,
    ConflictSerializer,
    QueueSummarySerializer,
    conflict_body,
)

_NO_CASE = OpenApiResponse(DetailSerializer, description="No such case.")


class CaseClaimApi(ModeratorApi):
    """POST /api/moderation/cases/{id}/claim/: examine a case; DELETE: let go of it."""

    moderator_permissions = (VIEW_CASES, DECIDE_CASES)

    @extend_schema(
        operation_id="moderation_case_claim",
        summary="Claim a case while examining it",
        description="Other moderators see who examines the case and their workspace skips "
        "it; their decisions on it are refused (409) until the claim ends: a decision, a "
        "release, or MODERATION_CLAIM_SECONDS. A moderator holds one claim at a time: "
        "claiming a case lets go of the previous one. Claiming one's own case again "
        "extends it.",
        tags=["moderation"],
        parameters=[id_path_parameter("case_id")],
        request=None,
        responses={
            200: ClaimSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: _NO_CASE,
            409: OpenApiResponse(
                ConflictSerializer, description="Another moderator examines the case."
            ),
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        try:
            claim = services.case_claim(case_id=case_id, moderator=acting_moderator(request))
        except ImageCase.DoesNotExist:
            raise Http404 from None
        except services.ClaimConflict as error:
            return Response(conflict_body(error), status=status.HTTP_409_CONFLICT)
        return Response(ClaimSerializer(claim).data)

    @extend_schema(
        operation_id="moderation_case_release",
        summary="Let go of one's claim on a case",
        description="Idempotent: 204 whether or not the caller held a claim on the case.",
        tags=["moderation"],
        parameters=[id_path_parameter("case_id")],
        request=None,
        responses={204: None, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: _NO_CASE},
    )
    def delete(self, request: Request, case_id: int) -> Response:
        try:
            services.case_release(case_id=case_id, moderator=acting_moderator(request))
        except ImageCase.DoesNotExist:
            raise Http404 from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class QueueSummaryApi(ModeratorApi):
    """GET /api/moderation/queue/summary/: each tab's count and the newest case."""

    @extend_schema(
        operation_id="moderation_queue_summary",
        summary="The queue's tab counts, for the workspace's live counter",
        tags=["moderation"],
        responses={200: QueueSummarySerializer, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    )
    def get(self, request: Request) -> Response:
        summary = selectors.queue_summary()
        return Response(
            QueueSummarySerializer(
                {"tabs": summary.tabs, "latest_case_id": summary.latest_case_id}
            ).data
        )


class ActionUndoApi(ModeratorApi):
    """POST /api/moderation/actions/{id}/undo/: take one's decision back."""

    moderator_permissions = (VIEW_CASES, DECIDE_CASES)

    @extend_schema(
        operation_id="moderation_action_undo",
        summary="Undo one's decision",
        description="Within MODERATION_UNDO_SECONDS (10) of the decision, by its author, while "
        "nothing else happened to the case: the case's state, counts and holds, its reports' "
        "outcomes (and so their reporters' weights), the image's visibility and the bans "
        "return to what they were. Answers the undo's own audit row.",
        tags=["moderation"],
        parameters=[id_path_parameter("action_id")],
        request=None,
        responses={
            201: OpenApiResponse(ActionSerializer, description="The undo's audit row."),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(DetailSerializer, description="No such audit row."),
            409: OpenApiResponse(
                ConflictSerializer,
                description="Not a decision, not the caller's, too late, already undone, or "
                "the case changed since; nothing was changed.",
            ),
        },
    )
    def post(self, request: Request, action_id: int) -> Response:
        try:
            undone = services.decision_undo(action_id=action_id, actor=acting_moderator(request))
        except ModerationAction.DoesNotExist:
            raise Http404 from None
        except services.DecisionError as error:
            return Response(conflict_body(error), status=status.HTTP_409_CONFLICT)
        return Response(ActionSerializer(undone).data, status=status.HTTP_201_CREATED)
