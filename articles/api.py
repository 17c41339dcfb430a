from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView

from articles import selectors
from articles.models import Article, Image
from articles.serializers import (
    ArticleDetailSerializer,
    ArticleListSerializer,
    DetailSerializer,
    ImageSerializer,
)


@extend_schema_view(
    get=extend_schema(operation_id="article_list", summary="Articles, newest first")
)
class ArticleListApi(ListAPIView):
    serializer_class = ArticleListSerializer

    def get_queryset(self):
        return selectors.article_list()


@extend_schema_view(
    get=extend_schema(
        operation_id="article_retrieve",
        summary="An article with its images in order",
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
