"""The OpenAPI schema at /api/schema/ and Swagger UI at /api/docs/."""

import json
import re
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LOCAL_HOSTS = {"testserver", "localhost", "127.0.0.1", "[::1]"}
# Swagger UI's set-up script: served by the docs view itself (SpectacularSwaggerSplitView).
INIT_SCRIPT = "/api/docs/?script="


def test_schema_describes_the_public_and_the_moderator_api():
    # when anyone asks for the schema in JSON
    response = APIClient().get("/api/schema/?format=json")

    # then it is OpenAPI 3 with every endpoint, public and moderator
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Signalement API"
    paths = schema["paths"]
    assert {
        "/api/articles/",
        "/api/articles/{slug}/",
        "/api/images/{image_id}/",
        "/api/images/{image_id}/reports/",
        "/api/moderation/cases/",
        "/api/moderation/cases/{case_id}/",
        "/api/moderation/cases/{case_id}/decisions/",
        "/api/moderation/actions/",
        "/api/moderation/reporters/mute/",
        "/api/moderation/reporters/unmute/",
    } <= set(paths)
    # the report's every answer, and the decisions' conflict
    assert set(paths["/api/images/{image_id}/reports/"]["post"]["responses"]) == {
        "200",
        "201",
        "400",
        "403",
        "404",
        "413",
        "415",
        "429",
        "503",
    }
    decide = paths["/api/moderation/cases/{case_id}/decisions/"]["post"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(decide["responses"])
    # muting and unmuting: the audit row, field errors, and the conflict
    for verb in ("mute", "unmute"):
        operation = paths[f"/api/moderation/reporters/{verb}/"]["post"]
        assert set(operation["responses"]) == {"200", "400", "401", "403", "409"}
        assert {} not in operation["security"]
    # "release" is a decision; scores and weights are numbers
    components = schema["components"]["schemas"]
    action = components["DecisionInputRequest"]["properties"]["action"]["allOf"][0]["$ref"]
    assert "release" in components[action.rsplit("/", 1)[-1]]["enum"]
    assert components["Case"]["properties"]["score"]["type"] == "number"
    assert components["CaseReport"]["properties"]["weight"]["type"] == "number"
    assert components["Reporter"]["properties"]["weight"]["type"] == "number"
    assert {"brigade_held_at", "held_report_count"} <= set(components["Case"]["properties"])
    # the queue's filters are documented as query parameters
    queue_params = {p["name"] for p in paths["/api/moderation/cases/"]["get"]["parameters"]}
    assert {"state", "source", "reason", "needs_review", "ordering", "page"} <= queue_params
    # the moderator API asks for a token or a session, never nothing
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    assert {} not in decide["security"]


def test_schema_generates_without_warnings(tmp_path):
    # when the schema is generated and validated, warnings counting as errors
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    # then it is written (the command raises on any warning or invalid schema)
    assert "/api/moderation/cases/" in out.read_text()


def test_swagger_ui_loads_nothing_from_another_site():
    # when anyone opens the API docs
    response = APIClient().get("/api/docs/")

    # then the page is served, and every script, stylesheet and icon it loads is local
    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    urls = [tag["src"] for tag in page.select("script[src]")]
    urls += [tag["href"] for tag in page.select("link[href]")]
    assert any("swagger-ui-bundle" in url for url in urls)
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("", "http", "https"), url
        assert not parts.netloc or parts.hostname in LOCAL_HOSTS, url
    # nor does the set-up script (a file of the docs view, as the CSP allows no inline
    # script): no validator badge from swagger.io
    assert not page.select("script:not([src])")
    setup = APIClient().get(INIT_SCRIPT).content.decode()
    assert '"validatorUrl": null' in setup
    assert "swagger.io" not in setup and "cdn." not in setup


def test_swagger_ui_assets_are_static_files_of_this_site(settings):
    # given the docs page
    page = BeautifulSoup(APIClient().get("/api/docs/").content, "html.parser")

    # when its scripts and stylesheets, but the set-up script the view itself serves,
    # are looked up among the static files
    urls = [tag["src"] for tag in page.select("script[src]") if tag["src"] != INIT_SCRIPT]
    urls += [tag["href"] for tag in page.select("link[href]")]

    # then each is one (collectstatic ships it; whitenoise serves it)
    assert len(urls) >= 3
    for url in urls:
        path = urlsplit(url).path
        assert path.startswith(settings.STATIC_URL), url
        assert finders.find(path.removeprefix(settings.STATIC_URL)), url


def test_swagger_ui_works_with_the_production_static_storage(settings, tmp_path):
    # given collectstatic has run with production's manifest storage
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # a new client loads WhiteNoise, which indexes STATIC_ROOT

    # when the docs page is opened
    response = client.get("/api/docs/")

    # then it names the hashed assets, and WhiteNoise serves each of them
    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    urls = [tag["src"] for tag in page.select("script[src]")]
    urls += [tag["href"] for tag in page.select("link[href]")]
    assert any(re.search(r"swagger-ui-bundle\.[0-9a-f]{12}\.js$", url) for url in urls)
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()
