"""The README's "Try it" block, pasted as a newcomer would paste it, against the app
as `make run` starts it: the `run` target's exported settings (DEBUG, one trusted
proxy), a fresh SQLite database migrated and loaded with `load_demo`, and the web and
worker commands of the Procfile, on a free port and with a redis-server of the test's
own. Beat is left out: its sweeper would block the image even if the worker's path
did not, and the block must come from the worker."""

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.faults.processes import RedisServer
from tests.servers import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[1]
# What the test environment sets that `make run` leaves to the settings' defaults.
NOT_SET_BY_MAKE_RUN = ("SECRET_KEY", "HTTPS", "ALLOWED_HOSTS", "LOG_FORMAT", "DEBUG")


def try_it_block() -> str:
    """The first fenced shell block under the README's "Try it" heading."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Try it\n(.*?)(?=^## )", readme, re.M | re.S)
    assert section, 'README.md has no "## Try it" section'
    block = re.search(r"^```sh\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, 'README.md\'s "Try it" section has no ```sh block'
    return block.group(1)


def make_run_exports() -> dict[str, str]:
    """The variables the Makefile's `run` target exports (`run: export NAME := value`)."""
    makefile = (ROOT / "Makefile").read_text()
    exports = dict(re.findall(r"^run: export (\w+) := (.*)$", makefile, re.M))
    assert "TRUSTED_PROXY_COUNT" in exports, "the Try-it readers need make run's trusted proxy"
    return exports


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


class Process:
    """A command run by bash in a session of its own, its output in a file."""

    def __init__(self, command: str, *, env: dict[str, str], log: Path):
        self.log_path = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        # A worker's pool children share its process group: leave none behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def demo(tmp_path):
    """The demo as `make run` serves it; yields the web server's base URL."""
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    (tmp_path / "metrics").mkdir()
    venv_bin = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items() if key not in NOT_SET_BY_MAKE_RUN}
    env.update(
        PATH=f"{venv_bin}:{env.get('PATH', '')}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=redis_server.url(0),
        THROTTLE_REDIS_URL=redis_server.url(1),
        MEDIA_ROOT=str(tmp_path / "media"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        PYTHONUNBUFFERED="1",
        **make_run_exports(),
    )
    for step in (["migrate", "--verbosity", "0"], ["load_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *step], cwd=ROOT, env=env, check=True, timeout=300
        )
    commands = procfile()
    port = free_port()
    assert "127.0.0.1:8000" in commands["web"], "the Try-it block expects make run on :8000"
    web = Process(
        commands["web"].replace("127.0.0.1:8000", f"127.0.0.1:{port}") + " --noreload",
        env=env,
        log=tmp_path / "web.log",
    )
    worker = Process(commands["worker"], env=env, log=tmp_path / "worker.log")
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{url}/api/articles/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, timeout=60, every=0.2)
        wait_until(lambda: " ready." in worker.log(), timeout=60, every=0.2)
        yield url
    finally:
        worker.stop()
        web.stop()
        redis_server.stop()


def test_the_readmes_try_it_block_blocks_the_image_through_the_worker(demo):
    # given the demo as make run serves it, its lead image visible
    image = requests.get(f"{demo}/api/images/1/", timeout=10).json()
    assert (image["visibility"], image["status"]) == ("visible", "ready")

    # when the README's block runs as pasted, pointed at this server
    done = subprocess.run(
        ["bash", "-c", try_it_block()],
        env={**os.environ, "SIGNALEMENT": demo},
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then it ran to its end: five readers thanked and counted
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines if line.startswith('{"detail"')] == ["201"] * 5
    # and the media URL it printed answered 200 before and 404 after
    media = [re.fullmatch(r"(\d{3}) (http://\S+/media/\S+)", line) for line in lines]
    media = [found.groups() for found in media if found]
    assert [status for status, _ in media] == ["200", "404"]
    assert media[0][1] == media[1][1]
    # and the worker's block shows in the figures it printed
    assert 'signalement_blocks_total{kind="auto"} 1.0' in lines

    # and, asked directly, the image is blocked and its rendition is gone
    image = requests.get(f"{demo}/api/images/1/", timeout=10).json()
    assert (image["visibility"], image["url"]) == ("blocked", None)
    assert requests.get(media[0][1], timeout=10).status_code == 404
