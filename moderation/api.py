from django.http import Http404
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.models import Image
from moderation import services
from moderation.messages import REPORT_THANKS
from moderation.readers import reader_from_request, remember_reader
from moderation.serializers import ReportInputSerializer


class ImageReportApi(APIView):
    """POST /api/images/{id}/reports/: a reader flags an image.

    201 for a new report; 200 with the same thanks for a repeat or an image
    already blocked, so a reader learns nothing from the difference.
    """

    def post(self, request: Request, image_id: int) -> Response:
        serializer = ReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reader = reader_from_request(request)
        try:
            receipt = services.report_create(
                image_id=image_id,
                reporter_key=reader.reporter_key,
                user_id=reader.user_id,
                **serializer.validated_data,
            )
        except Image.DoesNotExist:
            raise Http404 from None
        created = receipt.result is services.ReportResult.CREATED
        response = Response(
            {"detail": REPORT_THANKS},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
        remember_reader(response, reader)
        return response
