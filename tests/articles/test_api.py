import pytest
from rest_framework.test import APIClient

from articles.models import Image
from tests.factories import ArticleFactory, ImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


def test_article_list_is_paginated_newest_first(client, settings):
    # given 25 articles
    articles = ArticleFactory.create_batch(25)

    # when the first page is read
    response = client.get("/api/articles/")

    # then DRF's page holds the newest 20 and links to the next page
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 25
    assert len(body["results"]) == 20
    assert body["next"].endswith("/api/articles/?page=2")
    assert body["results"][0]["slug"] == articles[-1].slug
    first = body["results"][0]
    assert first["source"]["slug"] == articles[-1].source.slug
    assert first["url"].endswith(f"/api/articles/{articles[-1].slug}/")


def test_article_list_page_out_of_range_is_404(client):
    ArticleFactory()
    assert client.get("/api/articles/?page=9").status_code == 404
    assert client.get("/api/articles/?page=abc").status_code == 404


def test_article_detail_carries_its_images_in_order(client):
    # given an article with a visible and a blocked image
    article = ArticleFactory()
    second = ImageFactory(article=article, position=2)
    first = ImageFactory(article=article, position=1, visibility=Image.Visibility.BLOCKED)

    # when it is read
    response = client.get(f"/api/articles/{article.slug}/")

    # then both images are listed in position order, the blocked one without a URL
    body = response.json()
    assert response.status_code == 200
    assert body["title"] == article.title
    assert body["body"] == article.body
    assert [i["id"] for i in body["images"]] == [first.pk, second.pk]
    assert body["images"][0]["visibility"] == "blocked"
    assert body["images"][0]["url"] is None
    assert body["images"][1]["url"].endswith(second.rendition.url)


def test_unknown_article_is_404(client):
    assert client.get("/api/articles/nope/").status_code == 404


def test_image_detail(client):
    image = ImageFactory(caption="Un pont", credit="AFP")

    body = client.get(f"/api/images/{image.pk}/").json()

    assert body == {
        "id": image.pk,
        "article": image.article.slug,
        "position": image.position,
        "caption": "Un pont",
        "credit": "AFP",
        "width": 64,
        "height": 48,
        "visibility": "visible",
        "status": "ready",
        "url": f"http://testserver{image.rendition.url}",
        "thumbnail_url": f"http://testserver{image.thumbnail.url}",
        "webp_url": f"http://testserver{image.rendition_webp.url}",
        "thumbnail_webp_url": f"http://testserver{image.thumbnail_webp.url}",
    }


def test_blocked_image_detail_has_no_url(client):
    image = ImageFactory(visibility=Image.Visibility.BLOCKED)

    body = client.get(f"/api/images/{image.pk}/").json()

    assert body["visibility"] == "blocked"
    assert body["url"] is None


@pytest.mark.parametrize("image_id", [999_999, 2**63 + 5])
def test_unknown_image_is_404(client, image_id):
    assert client.get(f"/api/images/{image_id}/").status_code == 404


# --- media ---------------------------------------------------------------------------


def test_visible_image_file_is_served_with_nosniff(client):
    image = ImageFactory()

    response = client.get(image.rendition.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == image.rendition.read()
    assert response["X-Content-Type-Options"] == "nosniff"


def test_blocked_image_file_is_404_even_by_a_roundabout_path(client):
    # given a blocked image whose URL a reader kept
    image = ImageFactory()
    url = image.original.url
    Image.objects.filter(pk=image.pk).update(visibility=Image.Visibility.BLOCKED)
    directory, name = url.rsplit("/", 1)

    # when the URL is requested as is, or with a detour through the parent folder
    direct = client.get(url)
    detour = client.get(f"{directory}/../{directory.rsplit('/', 1)[1]}/{name}")

    # then neither answers the file
    assert direct.status_code == 404
    assert detour.status_code == 404


# --- what tests/test_fuzz.py found: answers the schema did not describe ---------------------


def schema_operation(path: str, method: str) -> dict:
    return APIClient().get("/api/schema/?format=json").json()["paths"][path][method]


def path_parameter_schema(path: str, method: str, name: str) -> dict:
    (parameter,) = [p for p in schema_operation(path, method)["parameters"] if p["in"] == "path"]
    assert parameter["name"] == name
    return parameter["schema"]


@pytest.mark.parametrize("page", ["0", "9", "abc"])
def test_article_list_documents_the_404_of_a_page_that_does_not_exist(client, page):
    # given one page of articles
    ArticleFactory()

    # when a page that does not exist is asked for
    response = client.get(f"/api/articles/?page={page}")

    # then the 404 carries a detail, and the schema lists that answer
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    responses = schema_operation("/api/articles/", "get")["responses"]
    assert responses["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Detail")


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/articles/{slug}/", "get"), ("/api/articles/{slug}/images/", "post")],
)
def test_slug_in_the_path_is_documented_as_the_route_matches_it(client, path, method):
    # given a slug outside Django's slug converter, which matches no route (the API's
    # catch-all answers: a JSON 404)
    article = ArticleFactory(slug="la-une")
    outside = client.get("/api/articles/la une/")
    assert (outside.status_code, outside["Content-Type"]) == (404, "application/json")

    # then the schema gives the converter's pattern, which takes a real slug and not that one
    assert client.get(f"/api/articles/{article.slug}/").status_code == 200
    schema = path_parameter_schema(path, method, "slug")
    assert schema == {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}


def test_image_id_in_the_path_is_documented_as_the_route_matches_it(client):
    # given an id the <int:> converter does not match (a negative number)
    outside = client.get("/api/images/-1/")
    assert (outside.status_code, outside["Content-Type"]) == (404, "application/json")

    # then the schema allows none such
    schema = path_parameter_schema("/api/images/{image_id}/", "get", "image_id")
    assert schema == {"type": "integer", "minimum": 0}


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/images/abc/"), ("post", "/api/images/-1/reports/"), ("delete", "/api/nope/")],
)
def test_an_api_path_no_route_matches_is_a_json_404(client, method, path):
    # when a client calls an API path that does not exist, with any method
    response = getattr(client, method)(path)

    # then the API answers as it always does: JSON, 404, a detail
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
