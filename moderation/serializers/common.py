"""What the API's serializers share: the schema of a 400 answer, and scores and weights
as JSON numbers."""

from typing import cast

from django.db.models import DecimalField, Model
from rest_framework import serializers


def field_errors_serializer(
    input_serializer: type[serializers.Serializer], *, name: str, with_detail: bool = False
) -> type[serializers.Serializer]:
    """The 400 answer of an input serializer, for the schema: each field's messages.

    `with_detail` adds the `detail` of a body that could not be parsed.
    """
    names = [*input_serializer().fields, "non_field_errors"]
    attrs: dict = {
        field: serializers.ListField(child=serializers.CharField(), required=False)
        for field in names
    }
    if with_detail:
        attrs["detail"] = serializers.CharField(required=False)
    source = input_serializer.__name__.removesuffix("Serializer")
    attrs["__doc__"] = f"{source}'s field errors: each invalid field with its messages."
    return type(name, (serializers.Serializer,), attrs)


def number_field(*, like: tuple[type[Model], str], **kwargs) -> serializers.DecimalField:
    """A score or a weight (multiples of 0.25) as a JSON number, not a string, with
    the digits of the model field `like` names: (model, field name)."""
    model, name = like
    field = cast(DecimalField, model._meta.get_field(name))
    return serializers.DecimalField(
        max_digits=field.max_digits,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        **kwargs,
    )
