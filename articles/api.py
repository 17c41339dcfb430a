from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles import selectors, services
from articles.models import Article, Image
from articles.permissions import IsEditor
from articles.serializers import (
    ArticleDetailSerializer,
    ArticleListSerializer,
    DetailSerializer,
    ImageSerializer,
    ImageUploadedSerializer,
    ImageUploadErrorsSerializer,
    ImageUploadSerializer,
)
from articles.validators import ImageRejected, validate_image_upload

# The routes' converters (<slug:…>, <int:…>) as the schema tells clients; drf-spectacular says
# only "string" and "integer", but a value outside them matches no route at all.
SLUG_PATH_PARAMETER = OpenApiParameter(
    "slug", {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$"}, OpenApiParameter.PATH
)


def id_path_parameter(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)


# A paginated list answers 404 for a page that does not exist (0, past the last, not a number).
NO_SUCH_PAGE = OpenApiResponse(DetailSerializer, description="No such page.")


@extend_schema_view(
    get=extend_schema(
        operation_id="article_list",
        summary="Articles, newest first",
        responses={200: ArticleListSerializer(many=True), 404: NO_SUCH_PAGE},
    )
)
class ArticleListApi(ListAPIView):
    serializer_class = ArticleListSerializer

    def get_queryset(self):
        return selectors.article_list()


@extend_schema_view(
    get=extend_schema(
        operation_id="article_retrieve",
        summary="An article with its images in order",
        parameters=[SLUG_PATH_PARAMETER],
        responses={
            200: ArticleDetailSerializer,
            404: OpenApiResponse(DetailSerializer, description="No such article."),
        },
    )
)
class ArticleDetailApi(RetrieveAPIView):
    serializer_class = ArticleDetailSerializer

    def get_object(self) -> Article:
        try:
            return selectors.article_get(slug=self.kwargs["slug"])
        except Article.DoesNotExist:
            raise Http404 from None


@extend_schema_view(
    get=extend_schema(
        operation_id="image_retrieve",
        summary="An image; its url is null once it is blocked",
        tags=["images"],
        parameters=[id_path_parameter("image_id")],
        responses={
            200: ImageSerializer,
            404: OpenApiResponse(DetailSerializer, description="No such image."),
        },
    )
)
class ImageDetailApi(RetrieveAPIView):
    serializer_class = ImageSerializer

    def get_object(self) -> Image:
        try:
            return selectors.image_get(image_id=self.kwargs["image_id"])
        except Image.DoesNotExist:
            raise Http404 from None


class ArticleImageCreateApi(APIView):
    """Editors add an image to an article. The bytes are validated before
    anything is stored; the image is `pending` until the worker has processed it."""

    # Token first: an anonymous caller is told 401 with `WWW-Authenticate: Token`.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsEditor]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="article_image_create",
        summary="Upload an image to an article (editors)",
        tags=["images"],
        parameters=[SLUG_PATH_PARAMETER],
        request={"multipart/form-data": ImageUploadSerializer},
        responses={
            201: ImageUploadedSerializer,
            400: OpenApiResponse(
                ImageUploadErrorsSerializer,
                description="Not a JPEG, PNG or WebP; truncated, empty, too many pixels.",
            ),
            401: OpenApiResponse(DetailSerializer, description="Not signed in."),
            403: OpenApiResponse(DetailSerializer, description="Not an editor."),
            404: OpenApiResponse(DetailSerializer, description="No such article."),
            413: OpenApiResponse(
                ImageUploadErrorsSerializer, description="Larger than IMAGE_UPLOAD_MAX_BYTES."
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        try:
            article = selectors.article_get(slug=slug)
        except Article.DoesNotExist:
            raise Http404 from None
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            upload = validate_image_upload(data=data["file"])
        except ImageRejected as rejected:
            return Response({"file": [rejected.message]}, status=rejected.status)
        try:
            image = services.image_create(
                article=article,
                upload=upload,
                caption=data["caption"],
                credit=data["credit"],
                position=data.get("position"),
            )
        except ValidationError as error:
            return Response(error.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            ImageUploadedSerializer(image, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )
