"""Rules the report path writes in SQL for speed, held to their ORM definition."""

import itertools

import pytest

from articles.models import Image
from articles.selectors import SHOWN
from moderation import selectors
from tests.factories import ImageFactory

pytestmark = [pytest.mark.django_db, pytest.mark.portable]


def test_the_report_path_finds_exactly_the_images_readers_may_be_shown():
    # given an image in every status, with and without its rendition, visible or blocked
    images = []
    for status, rendition, visibility in itertools.product(
        Image.Status.values, ("", "renditions/x.jpg"), Image.Visibility.values
    ):
        image = ImageFactory(processed=False)
        Image.objects.filter(pk=image.pk).update(
            status=status, rendition=rendition, visibility=visibility
        )
        images.append(image)

    # then image_report_target finds those SHOWN finds, and no other
    shown = set(Image.objects.filter(SHOWN).values_list("pk", flat=True))
    found = set()
    for image in images:
        try:
            visibility, _threshold = selectors.image_report_target(image_id=image.pk)
        except Image.DoesNotExist:
            continue
        found.add(image.pk)
        assert visibility == Image.objects.get(pk=image.pk).visibility
    assert found == shown
    assert len(shown) == len(Image.Visibility.values)  # ready with a rendition, both ways
