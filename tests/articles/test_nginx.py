"""The documented production setup, with a real nginx in front of the live server.

The server block is deploy/nginx/signalement.conf itself, read from the repository
with only its deployment values swapped for the test's (listen address, Django's
address, the media and static roots); the rest of it (locations, `internal`,
add_header, client_max_body_size) is tested as shipped. nginx runs as its own
foreground process, everything it writes kept in the test's temporary directory;
the system nginx service is never used (scripts/ensure-nginx installs the binary).
"""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.test.testcases import _MediaFilesHandler

from articles.models import Image
from moderation import services
from tests.factories import ImageFactory
from tests.servers import free_port

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "deploy/nginx/signalement.conf"
SERVER_NAME = "news.example.org"
ACCEL_PREFIX = "/protected-media/"
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cache-Control": "no-cache",
}


def find_nginx() -> str:
    # Debian installs it in /usr/sbin, not on every PATH.
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if found is None:
        pytest.fail("nginx not found: run scripts/ensure-nginx (make test does)")
    return found


def substitute(conf: str, replacements: dict[str, str]) -> str:
    """Swap each deployment value of the shipped config, which must appear exactly
    once: a config that no longer has one fails here rather than testing less."""
    for old, new in replacements.items():
        assert conf.count(old) == 1, f"{SHIPPED_CONF.name}: expected {old!r} exactly once"
        conf = conf.replace(old, new)
    return conf


def server_block(*, port: int, upstream: str, media_root: Path, static_root: Path) -> str:
    return substitute(
        SHIPPED_CONF.read_text(),
        {
            "listen 80;": f"listen 127.0.0.1:{port};",
            "server 127.0.0.1:8000;": f"server {upstream};",
            "alias /srv/signalement/media/;": f"alias {media_root}/;",
            "alias /srv/signalement/staticfiles/;": f"alias {static_root}/;",
        },
    )


def main_conf(*, tmp: Path, server_conf: Path) -> str:
    mime_types = Path("/etc/nginx/mime.types")
    include_types = f"include {mime_types};" if mime_types.exists() else ""
    return f"""\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;

events {{
    worker_connections 64;
}}

http {{
    {include_types}
    default_type application/octet-stream;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    include {server_conf};
}}
"""


@dataclass
class Nginx:
    url: str
    tmp: Path

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        with requests.Session() as session:
            session.trust_env = False  # never through a proxy from the environment
            headers = {"Host": SERVER_NAME, **kwargs.pop("headers", {})}
            return session.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def error_log(self) -> str:
        log = self.tmp / "error.log"
        return log.read_text() if log.exists() else ""


@pytest.fixture
def nginx(
    live_server, transactional_db, settings, tmp_path, media_root, monkeypatch
) -> Iterator[Nginx]:
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = ACCEL_PREFIX
    # Django's live server answers MEDIA_URL from MEDIA_ROOT itself, before any
    # view (a test convenience, _MediaFilesHandler): it would serve originals and
    # blocked files to nginx. Switch it off so /media/ reaches articles.views.media
    # as in production.
    media_handler = live_server.thread.httpd.get_app().application
    assert isinstance(media_handler, _MediaFilesHandler), media_handler
    monkeypatch.setattr(media_handler, "_should_handle", lambda path: False)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, SERVER_NAME]
    media_root.mkdir(parents=True, exist_ok=True)

    tmp = tmp_path / "nginx"
    static_root = tmp / "static"
    static_root.mkdir(parents=True)
    host, port = live_server.thread.host, live_server.thread.port
    # Django's live server listens on IPv4 only; "localhost" could resolve to ::1 too.
    upstream = f"{'127.0.0.1' if host == 'localhost' else host}:{port}"
    listen = free_port()
    server_conf = tmp / "signalement.conf"
    server_conf.write_text(
        server_block(port=listen, upstream=upstream, media_root=media_root, static_root=static_root)
    )
    conf = tmp / "nginx.conf"
    conf.write_text(main_conf(tmp=tmp, server_conf=server_conf))

    binary = find_nginx()
    check = subprocess.run(
        [binary, "-t", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [binary, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.fail(f"nginx exited with {process.returncode}: {process.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"nginx did not listen on {listen}:\n{(tmp / 'error.log').read_text()}"
                    )
                time.sleep(0.05)
        yield Nginx(url=f"http://127.0.0.1:{listen}", tmp=tmp)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def block_through_reports(image: Image) -> None:
    """Five distinct readers report it (the default threshold), then the
    auto-block runs as its task would."""
    for n in range(5):
        services.report_create(image_id=image.pk, reporter_key=f"reader:{n:08d}", reason="violence")
    assert services.case_auto_block(image_id=image.pk)
    image.refresh_from_db()
    assert image.visibility == Image.Visibility.BLOCKED


def assert_media_headers(response: requests.Response) -> None:
    # requests joins repeated headers with ", ": equality also rules out duplicates.
    for header, value in MEDIA_HEADERS.items():
        assert response.headers.get(header) == value, (header, dict(response.headers))


def test_nginx_sends_a_visible_rendition_with_the_media_headers_then_404_once_blocked(nginx):
    # given a visible image
    image = ImageFactory()
    url = image.rendition.url

    # when a reader asks nginx for its rendition
    response = nginx.get(url)

    # then nginx sends the file's exact bytes (Django sent only headers), with
    # the media headers on the final answer, not lost in the internal redirect
    assert response.status_code == 200, nginx.error_log()
    assert response.content == Path(image.rendition.path).read_bytes()
    assert response.headers["Content-Type"] == "image/jpeg"
    assert "X-Accel-Redirect" not in response.headers
    assert_media_headers(response)

    # when the readers' reports block it
    block_through_reports(image)

    # then the same URL is 404, still with the media headers
    blocked = nginx.get(url)
    assert blocked.status_code == 404
    assert blocked.content != Path(image.rendition.path).read_bytes()
    assert_media_headers(blocked)


def test_nginx_never_serves_an_original(nginx):
    image = ImageFactory()

    response = nginx.get(image.original.url)

    assert response.status_code == 404
    assert_media_headers(response)


def test_the_internal_location_cannot_be_asked_for_from_outside(nginx):
    # given a visible image, whose rendition nginx would send after Django's redirect
    image = ImageFactory()
    assert nginx.get(image.rendition.url).status_code == 200

    # a client naming the internal location itself gets nginx's 404, for a
    # rendition as for an original
    for name in (image.rendition.name, image.original.name):
        response = nginx.get(ACCEL_PREFIX + name)
        assert response.status_code == 404
        assert response.content != Path(image.original.path).read_bytes()


def test_an_upload_over_client_max_body_size_is_refused_by_nginx(nginx):
    # given a multipart upload larger than client_max_body_size (11m)
    boundary = "nginx-test-boundary"
    file_bytes = b"\xff\xd8\xff" + b"\0" * (12 * 1024 * 1024)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + file_bytes
        + f"\r\n--{boundary}--\r\n".encode()
    )

    # when it is posted to the upload API
    response = nginx.request(
        "POST",
        "/api/articles/any-article/images/",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    # then nginx answers 413 itself: its own page, and Django never saw the request
    assert response.status_code == 413
    assert "nginx" in response.text
    assert "client intended to send too large body" in nginx.error_log()
