from django.contrib import admin

from articles.models import Article, Image, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "language", "site_url"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ["position", "caption", "credit", "original", "visibility"]
    # Visibility changes only through moderation decisions, which are audited.
    readonly_fields = ["visibility"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "published_at", "language"]
    list_filter = ["source", "language"]
    list_select_related = ["source"]
    search_fields = ["title", "byline"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ImageInline]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "article", "position", "visibility", "width", "height"]
    list_filter = ["visibility"]
    list_select_related = ["article"]
    search_fields = ["caption", "article__title"]
    readonly_fields = ["visibility", "width", "height", "format", "byte_size", "sha256", "phash"]
