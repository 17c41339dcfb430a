from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _

from articles.models import Image
from articles.validators import ImageRejected, ValidatedImage, validate_image_upload


class ImageForm(forms.ModelForm):
    """The admin's image form: a new original goes through the same validator as the API.

    `validated_upload` holds the checked bytes for articles.services.image_create.
    An existing image's original cannot be swapped here (its renditions, hashes
    and moderation history belong to those bytes): upload a new image instead.
    """

    # A plain file field: Django's ImageField would let Pillow try every format it knows.
    original = forms.FileField(label=Image._meta.get_field("original").verbose_name)
    # The column's range on every database (the model's own validators give the range of
    # the database in use: SQLite's is 64 bits).
    position = forms.IntegerField(
        label=Image._meta.get_field("position").verbose_name,
        min_value=0,
        max_value=Image.POSITION_MAX,
        initial=0,
    )

    class Meta:
        model = Image
        fields = ["position", "caption", "credit", "original"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.validated_upload: ValidatedImage | None = None
        if self.instance.pk:
            self.fields["original"].disabled = True
            self.fields["original"].required = False

    def clean_original(self):
        original = self.cleaned_data.get("original")
        if self.instance.pk or not isinstance(original, UploadedFile):
            return original
        try:
            self.validated_upload = validate_image_upload(data=original)
        except ImageRejected as rejected:
            raise forms.ValidationError(rejected.message, code="image_rejected") from None
        return original


class ImageInlineFormSet(BaseInlineFormSet):
    """The images of an article on its admin page.

    Django's formset checks the positions of the forms against each other; this also checks
    them against the article's images the page does not list (uploaded since it was
    loaded), which would otherwise collide when saved.
    """

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        listed = [form.instance.pk for form in self.initial_forms]
        unlisted = set(
            Image.objects.filter(article=self.instance)
            .exclude(pk__in=listed)
            .values_list("position", flat=True)
        )
        for form in self.forms:
            # A private BaseFormSet method that django-stubs leaves out.
            if not form.has_changed() or self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            position = form.cleaned_data.get("position")
            if position in unlisted:
                form.add_error(
                    "position",
                    _("Position %(position)d is already taken in this article.")
                    % {"position": position},
                )
