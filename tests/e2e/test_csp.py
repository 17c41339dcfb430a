"""The pages that are not the readers' work under the Content-Security-Policy too:
Swagger UI and the moderators' admin. (The `new_reader` fixture fails any test whose
pages had something refused by the policy; the readers' pages are covered by the
other tests here.)"""

import pytest
from playwright.sync_api import expect

from moderation import services
from tests.factories import ImageFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests/factories.py's UserFactory


def test_swagger_ui_shows_the_api_under_the_policy(reader):
    # when a developer opens the API's documentation
    response = reader.goto("/api/docs/")

    # then the policy is on, and Swagger UI (its init script a file of the site) shows
    # the API's operations
    assert (
        response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    )
    expect(reader.locator(".swagger-ui .info .title")).to_contain_text("Signalement API")
    expect(
        reader.locator(".opblock-summary-path", has_text="/api/images/{image_id}/reports/")
    ).to_be_visible()


def test_a_moderator_signs_in_and_opens_the_queue_and_a_case_under_the_policy(reader):
    # given a reported image and a moderator (a superuser: the transactional database
    # has lost the Moderators group its migration made)
    image = ImageFactory()
    services.report_create(image_id=image.pk, reporter_key=f"reader:{'b' * 32}", reason="spam")
    moderator = UserFactory(is_staff=True, is_superuser=True)

    # when they sign in to the admin
    reader.goto("/admin/login/")
    reader.fill("#id_username", moderator.username)
    reader.fill("#id_password", PASSWORD)
    reader.click("input[type=submit]")
    expect(reader.locator("#site-name")).to_be_visible()

    # then the queue shows the case, styled by the site's stylesheet
    reader.goto("/admin/moderation/imagecase/")
    row = reader.locator("#result_list tbody tr").first
    expect(row).to_be_visible()
    assert reader.locator("#result_list td.field-reasons").first.evaluate(
        "cell => getComputedStyle(cell).minWidth"
    ) not in ("", "0px", "auto")

    # and the case's page, with its decision form, styled as well
    reader.goto(f"/admin/moderation/imagecase/{image.case.pk}/change/")
    expect(reader.locator("#case-decision-form")).to_be_visible()
    assert reader.locator(".case-section").first.evaluate(
        "section => getComputedStyle(section).marginTop"
    ) not in ("", "0px")
