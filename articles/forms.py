from django import forms
from django.core.files.uploadedfile import UploadedFile

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
