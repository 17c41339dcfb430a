"""With the broker unreachable, reports are still answered and saved, and the
sweeper applies the block afterwards: the database is the truth."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from articles.models import Image
from moderation import tasks
from moderation.models import ImageCase, ModerationAction, Report
from tests.factories import ImageFactory
from tests.readers import LiveReader
from tests.servers import database_url, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server_without_broker(tmp_path):
    """The web app in its own process, its REDIS_URL pointing at a closed port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "DEBUG": "0",
        "SECRET_KEY": "broker-down-test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "0",
        "READER_COOKIE_SECURE": "0",
        # Each reader below comes from their own address, as a proxy says it.
        "TRUSTED_PROXY_COUNT": "1",
    }
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{base}/api/articles/", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(answers, timeout=30, every=0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_reports_are_saved_while_the_broker_is_down_and_the_sweeper_blocks_later(
    server_without_broker,
):
    base, log = server_without_broker
    # given a visible image, and a web process that cannot reach Redis
    image = ImageFactory()

    # when five distinct readers report it
    answers = []
    for n in range(5):
        with LiveReader(base, n) as reader:
            answers.append(reader.report(image.pk, "hate"))

    # then every report was answered 201 and saved, and the lost messages were logged
    assert [a.status_code for a in answers] == [201] * 5
    assert Report.objects.filter(image=image).count() == 5
    assert ImageCase.objects.get(image=image).open_report_count == 5
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.VISIBLE
    # (no moderator wants hate mailed at once, so the first report published nothing and
    # the block's message is the one the broker refused)
    server_log = log.read_text()
    assert f"could not enqueue case_auto_block({image.pk}); the sweeper" in server_log
    assert "first_report_notify" not in server_log

    # when the sweeper runs (as beat would, once the broker is back)
    swept = tasks.sweep_due_blocks.run()

    # then the image is blocked, once, by the sweeper
    assert swept == 1
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED
    action = ModerationAction.objects.get(image=image)
    assert action.details["via"] == "sweeper"
    assert tasks.sweep_due_blocks.run() == 0
