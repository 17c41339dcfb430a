import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

SOURCE = Path(django_settings.BASE_DIR) / "articles" / "static" / "articles"
HASHED_CSS = re.compile(r'href="(/static/articles/css/site\.[0-9a-f]{12}\.css)"')
HASHED_JS = re.compile(r'src="(/static/articles/js/report\.[0-9a-f]{12}\.js)"')


@pytest.fixture
def collected_static(settings, tmp_path):
    """Production's storage, after `collectstatic` into a private STATIC_ROOT."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def test_pages_name_hashed_static_files_that_whitenoise_serves(collected_static):
    # given collectstatic has run with the manifest storage (a new client loads
    # WhiteNoise, which indexes STATIC_ROOT when it starts)
    client = Client()

    # when a page is read
    html = client.get("/").content.decode()

    # then it names the stylesheet and the script by their hashed names
    css_url = HASHED_CSS.search(html)[1]
    js_url = HASHED_JS.search(html)[1]

    # and WhiteNoise serves them, cacheable forever, compressed on request
    for url, source in [
        (css_url, SOURCE / "css" / "site.css"),
        (js_url, SOURCE / "js" / "report.js"),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert streamed(response) == source.read_bytes()
        assert "immutable" in response["Cache-Control"]
        gzipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert gzipped["Content-Encoding"] == "gzip"
        assert (Path(collected_static) / url.removeprefix("/static/")).exists()
