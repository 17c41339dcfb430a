from django.contrib import admin
from django.db import models

from articles import services
from articles.forms import ImageForm, ImageInlineFormSet
from articles.models import Article, Image, Source
from common.admin_inputs import InputCheckedAdmin

# A publication's address typed without a scheme ("lemonde.fr") is an HTTPS one
# (Django 6 makes that the default).
HTTPS_URLS: dict[type[models.Field], dict[str, object]] = {
    models.URLField: {"assume_scheme": "https"}
}
# What an editor changes on an image already stored (never its original).
IMAGE_EDITABLE_FIELDS = ("position", "caption", "credit")


@admin.register(Source)
class SourceAdmin(InputCheckedAdmin):
    list_display = ["name", "slug", "language", "site_url"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = HTTPS_URLS


class ImageInline(admin.TabularInline):
    model = Image
    form = ImageForm
    formset = ImageInlineFormSet
    extra = 0
    fields = ["position", "caption", "credit", "original", "status", "visibility"]
    # Visibility changes only through moderation decisions, which are audited;
    # status only through processing.
    readonly_fields = ["status", "visibility"]


@admin.register(Article)
class ArticleAdmin(InputCheckedAdmin):
    list_display = ["title", "source", "published_at", "language"]
    list_filter = ["source", "language"]
    list_select_related = ["source"]
    search_fields = ["title", "byline"]
    formfield_overrides = HTTPS_URLS
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ImageInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Image:
            return super().save_formset(request, form, formset, change)
        # Existing images: caption, credit, position edits and deletions as usual.
        formset.save(commit=False)
        for image in formset.deleted_objects:
            image.delete()
        changed_images = [
            (image, [name for name in changed if name in IMAGE_EDITABLE_FIELDS])
            for image, changed in formset.changed_objects
        ]
        _park_moved_images(
            article=form.instance,
            images=[image for image, changed in changed_images if "position" in changed],
        )
        for image, changed in changed_images:
            if changed:
                image.save(update_fields=changed)
        # New images: stored and queued for processing by the one upload service.
        deleted = set(formset.deleted_forms)
        for image_form in formset.extra_forms:
            if image_form in deleted or not image_form.has_changed():
                continue
            services.image_create(
                article=form.instance,
                upload=image_form.validated_upload,
                caption=image_form.cleaned_data.get("caption", ""),
                credit=image_form.cleaned_data.get("credit", ""),
                position=image_form.cleaned_data.get("position"),
            )
        return None


def _park_moved_images(*, article: Article, images: list[Image]) -> None:
    """Move images whose positions change to positions no image holds, before they are
    saved at their new ones: two images trading places (or more, in a cycle) would
    otherwise collide one save at a time on the unique (article, position). The formset
    has made sure their new positions collide with no image left in place."""
    if len(images) < 2:
        return
    held = set(Image.objects.filter(article=article).values_list("position", flat=True))
    held.update(image.position for image in images)
    free = (position for position in range(Image.POSITION_MAX, -1, -1) if position not in held)
    for image in images:
        Image.objects.filter(pk=image.pk).update(position=next(free))


@admin.register(Image)
class ImageAdmin(InputCheckedAdmin):
    list_display = ["__str__", "article", "position", "status", "visibility", "width", "height"]
    list_filter = ["status", "visibility"]
    list_select_related = ["article"]
    search_fields = ["caption", "article__title"]
    readonly_fields = [
        "original",
        "status",
        "visibility",
        "width",
        "height",
        "format",
        "byte_size",
        "sha256",
        "phash",
        "thumbnail",
        "rendition",
        "thumbnail_webp",
        "rendition_webp",
        "processed_at",
        # Kept by the processing sweep (services.images_requeue_stuck), never by hand.
        "processing_attempts",
        "processing_activity_at",
    ]

    def has_add_permission(self, request):
        # Images are uploaded on their article's page (or through the API), where
        # the upload is validated and processed.
        return False
