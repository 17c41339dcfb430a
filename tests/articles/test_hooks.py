"""articles.hooks: what moderation plugs into image processing, without articles
importing moderation."""

import pytest
from django.db import transaction
from PIL import Image as PILImage

from articles import hooks, processing
from articles.models import Image
from moderation import hashing
from moderation import hooks as moderation_hooks
from tests.factories import ImageFactory


@pytest.fixture
def empty_hooks(monkeypatch):
    """Nothing registered, as without moderation installed."""
    monkeypatch.setattr(hooks, "_perceptual_hasher", None)
    monkeypatch.setattr(hooks, "_image_ready_receivers", [])


def test_moderation_registers_its_hasher_and_its_ban_check_at_start():
    # (ModerationConfig.ready() ran when Django started)
    assert hooks._perceptual_hasher is hashing.perceptual_hashes
    assert hooks._image_ready_receivers == [moderation_hooks.image_ready]


def test_registering_again_connects_a_receiver_once(monkeypatch):
    monkeypatch.setattr(hooks, "_image_ready_receivers", list(hooks._image_ready_receivers))

    moderation_hooks.register()

    assert hooks._image_ready_receivers == [moderation_hooks.image_ready]


def test_receivers_are_called_in_the_order_they_were_connected(empty_hooks):
    calls = []
    hooks.image_ready_connect(lambda *, image_id: calls.append(("first", image_id)))
    hooks.image_ready_connect(lambda *, image_id: calls.append(("second", image_id)))

    hooks.image_ready(image_id=7)

    assert calls == [("first", 7), ("second", 7)]


def test_without_a_hasher_there_are_no_perceptual_hashes(empty_hooks):
    picture = PILImage.new("RGB", (32, 32), "teal")

    assert hooks.perceptual_hashes(picture) is None

    hooks.perceptual_hasher_set(lambda picture: (1, 2))
    assert hooks.perceptual_hashes(picture) == (1, 2)


@pytest.mark.django_db
def test_processing_tells_the_receivers_inside_its_transaction_and_after_it(
    empty_hooks, django_capture_on_commit_callbacks
):
    # given a receiver that notes the image's status and how deep in transactions it was
    # told
    told = []

    def receiver(*, image_id: int) -> None:
        status = Image.objects.values_list("status", flat=True).get(pk=image_id)
        told.append((image_id, status, len(transaction.get_connection().atomic_blocks)))

    hooks.image_ready_connect(receiver)
    image = ImageFactory(processed=False)

    # when the image is processed
    with django_capture_on_commit_callbacks(execute=True):
        assert processing.process_image(image_id=image.pk)

    # then it was told twice that the image is ready: inside processing's transaction,
    # then outside it (one level less: the test's own transaction is open around both)
    (first, second) = told
    assert first[:2] == second[:2] == (image.pk, Image.Status.READY)
    assert first[2] == second[2] + 1
    # and without a hasher the image has no perceptual hashes
    image.refresh_from_db()
    assert (image.phash, image.phash_mirror) == (None, None)


@pytest.mark.django_db
def test_processing_stores_the_registered_hashers_hashes(django_capture_on_commit_callbacks):
    image = ImageFactory(processed=False)

    with django_capture_on_commit_callbacks(execute=True):
        processing.process_image(image_id=image.pk)

    image.refresh_from_db()
    with image.rendition.open("rb") as rendition, PILImage.open(rendition) as picture:
        expected = hashing.perceptual_hashes(picture.convert("RGB"))
    assert all(
        hashing.hamming(stored, computed) <= hashing.MATCH_DISTANCE
        for stored, computed in zip((image.phash, image.phash_mirror), expected, strict=True)
    )
