"""One machine as production runs it: gunicorn with the shipped configuration and
two workers, a Celery worker on the moderation queue with two pool processes, all
sharing one PROMETHEUS_MULTIPROC_DIR, their own redis-server as the broker. The
figures a Celery process counts show up in the web's /metrics and in
`manage.py metrics_server`; a request's id shows up in the lines of the task it
enqueued; and no line of any of them carries a reader's address, cookie or a secret."""

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from articles.models import Image
from tests.factories import ImageFactory
from tests.faults.processes import (
    ROOT,
    RedisServer,
    WebServer,
    Worker,
    process_env,
)
from tests.readers import LiveReader, reader_address
from tests.scrape import samples, value
from tests.servers import free_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SECRET_KEY = "operations-test-secret-key-0123456789"
IP_HASH_KEY = "operations-test-ip-hash-key-9876543210"
METRICS_TOKEN = "operations-test-metrics-token-5555"
THRESHOLD = 5


@dataclass
class Machine:
    env: dict[str, str]
    web: WebServer
    worker: Worker
    metrics_dir: Path
    tmp_path: Path

    def scrape(self) -> dict:
        response = requests.get(
            f"{self.web.url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return samples(response.text)


@pytest.fixture
def machine(tmp_path, settings):
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = process_env(
        redis_server,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        LOG_FORMAT="json",
        SECRET_KEY=SECRET_KEY,
        IP_HASH_KEY=IP_HASH_KEY,
        METRICS_TOKEN=METRICS_TOKEN,
        TRUSTED_PROXY_COUNT="1",
        REPORT_THRESHOLD=str(THRESHOLD),
    )
    web = WebServer(tmp_path, env=env, workers=2, config=ROOT / "deploy/gunicorn.conf.py")
    worker = Worker(tmp_path, name="moderation", env=env, concurrency=2, queues="moderation")
    try:
        web.start()
        worker.start()
        yield Machine(env=env, web=web, worker=worker, metrics_dir=metrics_dir, tmp_path=tmp_path)
    finally:
        worker.stop()
        web.stop()
        redis_server.stop()


def report(machine: Machine, image: Image, n: int, *, reason: str = "hate", **headers):
    with LiveReader(machine.web.url, n) as reader:
        reader.session.headers.update(headers)
        return reader.report(image.pk, reason)


def wait_for_block(image: Image) -> None:
    wait_until(
        lambda: Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED,
        timeout=20,
    )


def json_lines(output: str) -> list[dict]:
    """Each line of a process's output as JSON; fails on any other line but the one
    Celery writes to the terminal itself when it stops."""
    lines = [line for line in output.splitlines() if line]
    assert [line for line in lines if not line.startswith("{")] in (
        [],
        ["worker: Warm shutdown (MainProcess)"],
    )
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_figures_counted_by_web_and_worker_processes_add_up_in_one_answer(machine):
    # given a visible image on a fresh machine
    image = ImageFactory()

    # when five distinct readers report it (the first one twice), the worker blocks
    # it, then a sixth reader reports it and an invalid report is attempted
    answers = [report(machine, image, n) for n in range(THRESHOLD - 1)]
    repeat = report(machine, image, 0)
    answers.append(report(machine, image, THRESHOLD - 1))
    wait_for_block(image)
    late = report(machine, image, THRESHOLD)
    invalid = report(machine, image, THRESHOLD + 1, reason="no-such-reason")
    # (the block's metrics are written after its transaction; give them the moment)
    wait_until(lambda: value(machine.scrape(), "signalement_blocks_total", kind="auto") == 1)

    # then the web's /metrics adds up every process of the machine: the reports the
    # gunicorn workers counted and the block a Celery pool process counted
    assert [a.status_code for a in answers] == [201] * THRESHOLD
    assert [a.status_code for a in (repeat, late, invalid)] == [200, 200, 400]
    found = machine.scrape()
    assert value(found, "signalement_reports_received_total", outcome="open") == THRESHOLD
    assert value(found, "signalement_report_repeats_total") == 1
    assert value(found, "signalement_reports_refused_total", reason="already_blocked") == 1
    assert value(found, "signalement_reports_refused_total", reason="invalid") == 1
    assert value(found, "signalement_reports_refused_total", reason="throttled") == 0
    assert value(found, "signalement_blocks_total", kind="auto") == 1
    assert value(found, "signalement_blocks_total", kind="moderator") == 0
    assert value(found, "signalement_time_to_block_seconds_count") == 1
    assert value(found, "signalement_sweeper_repairs_total") == 0
    assert value(found, "signalement_queue_depth", queue="moderation") == 0
    assert value(found, "signalement_queue_depth", queue="images") == 0
    assert value(found, "signalement_broker_up") == 1
    # (the block was counted in a Celery process: its file is in the shared directory)
    worker_pids = set(machine.worker.children())
    written_by = {int(path.stem.rsplit("_", 1)[1]) for path in machine.metrics_dir.glob("*.db")}
    assert worker_pids & written_by

    # when a machine without a web process serves the same directory
    port = free_port()
    exporter = subprocess.Popen(
        [sys.executable, "manage.py", "metrics_server", "--port", str(port)],
        cwd=ROOT,
        env=machine.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def served() -> bool:
            try:
                return requests.get(url, timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(served, timeout=20, every=0.1)
        exported = samples(requests.get(url, timeout=10).text)
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)

    # then it answers the same figures (127.0.0.1 is in the default allow-list)
    assert value(exported, "signalement_blocks_total", kind="auto") == 1
    assert value(exported, "signalement_reports_received_total", outcome="open") == THRESHOLD


def test_a_requests_id_reaches_its_tasks_lines_and_no_line_holds_personal_data(machine):
    # given a visible image
    image = ImageFactory()
    request_id = uuid.uuid4().hex

    # when five readers report it, the last one's request carrying an id from the
    # proxy, and the worker blocks it
    answers = [report(machine, image, n) for n in range(THRESHOLD - 1)]
    answers.append(report(machine, image, THRESHOLD - 1, **{"X-Request-ID": request_id}))
    wait_for_block(image)
    machine.web.stop()
    machine.worker.stop()

    # then the last answer returns the id, and both the web's access line and the
    # worker's lines for the block it enqueued carry it
    assert answers[-1].headers["X-Request-ID"] == request_id
    web_lines = json_lines(machine.web.log())
    worker_lines = json_lines(machine.worker.log())
    access = [line for line in web_lines if line["logger"] == "newsroom.access"]
    assert {
        (line["path"], line["status"])
        for line in access
        if line["request_id"] == request_id and line["method"] == "POST"
    } == {(f"/api/images/{image.pk}/reports/", 201)}
    task_lines = [line["message"] for line in worker_lines if line["request_id"] == request_id]
    assert f"image {image.pk} blocked automatically (via task)" in task_lines
    # (every other answer had an id of its own, made up by the web process)
    other_ids = {answer.headers["X-Request-ID"] for answer in answers[:-1]}
    assert len(other_ids) == THRESHOLD - 1 and request_id not in other_ids

    # and no line, of the web processes or of the worker, holds a reader's address, a
    # cookie's value or a secret (all are JSON lines but Celery's last words)
    cookies = [
        morsel
        for answer in answers
        for name, morsel in answer.cookies.items()
        if name in ("signalement_reader", "sessionid")
    ]
    assert cookies, "the readers were given their cookie"
    everything = machine.web.log() + machine.worker.log()
    forbidden = [reader_address(n) for n in range(THRESHOLD)]
    forbidden += [*cookies, SECRET_KEY, IP_HASH_KEY, METRICS_TOKEN]
    assert [item for item in forbidden if item in everything] == []
