from django.http import Http404
from rest_framework.generics import ListAPIView, RetrieveAPIView

from articles import selectors
from articles.models import Article, Image
from articles.serializers import ArticleDetailSerializer, ArticleListSerializer, ImageSerializer


class ArticleListApi(ListAPIView):
    serializer_class = ArticleListSerializer

    def get_queryset(self):
        return selectors.article_list()


class ArticleDetailApi(RetrieveAPIView):
    serializer_class = ArticleDetailSerializer

    def get_object(self) -> Article:
        try:
            return selectors.article_get(slug=self.kwargs["slug"])
        except Article.DoesNotExist:
            raise Http404 from None


class ImageDetailApi(RetrieveAPIView):
    serializer_class = ImageSerializer

    def get_object(self) -> Image:
        try:
            return selectors.image_get(image_id=self.kwargs["image_id"])
        except Image.DoesNotExist:
            raise Http404 from None
