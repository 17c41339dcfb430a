"""The block path end to end, with a real Celery worker on the real Redis."""

import pytest
from rest_framework.test import APIClient

from articles.models import Image
from moderation.models import ActionKind, CaseState, ImageCase, ModerationAction
from moderation.services import outbox, report_create
from newsroom.celery import app as celery_app
from tests.factories import ImageFactory
from tests.readers import reader_client
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def image_visibility(image_id):
    return Image.objects.values_list("visibility", flat=True).get(pk=image_id)


def test_fifth_distinct_report_blocks_the_image_with_no_manual_call(celery_worker):
    # given a visible image and the default threshold of 5
    image = ImageFactory()

    # when four distinct readers report it, it stays visible
    for n in range(4):
        assert (
            reader_client(n)
            .post(f"/api/images/{image.pk}/reports/", {"reason": "nudity"}, format="json")
            .status_code
            == 201
        )
    assert image_visibility(image.pk) == Image.Visibility.VISIBLE

    # when the fifth does, the worker blocks it
    response = reader_client(4).post(
        f"/api/images/{image.pk}/reports/", {"reason": "nudity"}, format="json"
    )
    assert response.status_code == 201
    wait_until(lambda: image_visibility(image.pk) == Image.Visibility.BLOCKED)

    # then the API hides it and one system action records the block
    body = APIClient().get(f"/api/images/{image.pk}/").json()
    assert (body["visibility"], body["url"]) == ("blocked", None)
    assert ImageCase.objects.get(image=image).state == CaseState.AUTO_BLOCKED
    action = ModerationAction.objects.get(image=image)
    assert (action.action, action.actor, action.details["via"]) == (
        ActionKind.AUTO_BLOCK,
        None,
        "task",
    )


def test_a_message_queued_under_the_tasks_former_name_still_blocks(celery_worker, monkeypatch):
    # given an image at its threshold, whose block message a previous release queued under
    # the task's former name (before tasks took their services' names), and none other
    image = ImageFactory()
    monkeypatch.setattr(outbox, "enqueue", lambda **message: False)
    for n in range(5):
        report_create(image_id=image.pk, reporter_key=f"reader:{n}", reason="hate")
    assert image_visibility(image.pk) == Image.Visibility.VISIBLE

    # when the worker receives it
    celery_app.send_task("moderation.tasks.auto_block", args=[image.pk])

    # then it runs the block as the new name would: one block, one audit row
    wait_until(lambda: image_visibility(image.pk) == Image.Visibility.BLOCKED)
    assert ImageCase.objects.get(image=image).state == CaseState.AUTO_BLOCKED
    assert ModerationAction.objects.filter(image=image).count() == 1
