from rest_framework import serializers

from articles.models import Article, Image, Source


class DetailSerializer(serializers.Serializer):
    """A one-message answer: DRF's errors (401, 403, 404, 409, 413, 415) and the
    report's thanks. For the schema; views answer `{"detail": ...}` directly."""

    detail = serializers.CharField()


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["slug", "name", "site_url", "language"]


class ImageSerializer(serializers.ModelSerializer):
    """An image as readers get it: the URLs of its renditions (re-encoded, no
    metadata), never of the uploaded original. Every URL is null while the image
    is blocked or not processed yet (`status: "pending"`)."""

    article: serializers.SlugRelatedField[Article] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    url = serializers.SerializerMethodField(
        help_text="The article-size rendition (JPEG, at most 1024 px a side); null when "
        "blocked or pending."
    )
    thumbnail_url = serializers.SerializerMethodField(
        help_text="The thumbnail (JPEG, at most 320 px a side); null when blocked or pending."
    )
    webp_url = serializers.SerializerMethodField(
        help_text="The article-size rendition in WebP; null when blocked or pending."
    )
    thumbnail_webp_url = serializers.SerializerMethodField(
        help_text="The thumbnail in WebP; null when blocked or pending."
    )

    class Meta:
        model = Image
        fields = [
            "id",
            "article",
            "position",
            "caption",
            "credit",
            "width",
            "height",
            "visibility",
            "status",
            "url",
            "thumbnail_url",
            "webp_url",
            "thumbnail_webp_url",
        ]

    def get_url(self, image: Image) -> str | None:
        return self._file_url(image, "rendition")

    def get_thumbnail_url(self, image: Image) -> str | None:
        return self._file_url(image, "thumbnail")

    def get_webp_url(self, image: Image) -> str | None:
        return self._file_url(image, "rendition_webp")

    def get_thumbnail_webp_url(self, image: Image) -> str | None:
        return self._file_url(image, "thumbnail_webp")

    def _file_url(self, image: Image, field: str) -> str | None:
        # A blocked image's addresses never leave the server; a pending one has none yet.
        file = getattr(image, field)
        if image.is_blocked or image.status != Image.Status.READY or not file:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(file.url) if request else file.url


class ArticleListSerializer(serializers.ModelSerializer):
    # A field named like Field.source, the attribute DRF's stubs type as str | None.
    source = SourceSerializer(read_only=True)  # type: ignore[assignment]
    url = serializers.HyperlinkedIdentityField(view_name="api-article-detail", lookup_field="slug")

    class Meta:
        model = Article
        fields = [
            "slug",
            "title",
            "source",
            "byline",
            "published_at",
            "language",
            "original_url",
            "url",
        ]


class ArticleDetailSerializer(ArticleListSerializer):
    images = ImageSerializer(many=True, read_only=True)

    class Meta(ArticleListSerializer.Meta):
        fields = [*ArticleListSerializer.Meta.fields, "body", "images"]


class ImageUploadSerializer(serializers.Serializer):
    """`POST /api/articles/{slug}/images/`, multipart. The file's bytes are checked
    by articles.validators (Pillow decides the format), not by this field."""

    file = serializers.FileField(allow_empty_file=True, use_url=False)
    caption = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    credit = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    position = serializers.IntegerField(min_value=0, max_value=Image.POSITION_MAX, required=False)


class ImageUploadErrorsSerializer(serializers.Serializer):
    """A refused upload: messages by field (the file's names the limit it broke)."""

    file = serializers.ListField(child=serializers.CharField(), required=False)
    caption = serializers.ListField(child=serializers.CharField(), required=False)
    credit = serializers.ListField(child=serializers.CharField(), required=False)
    position = serializers.ListField(child=serializers.CharField(), required=False)


class ImageUploadedSerializer(ImageSerializer):
    """The new image: `pending` (and no URLs) until the worker has made its renditions."""
