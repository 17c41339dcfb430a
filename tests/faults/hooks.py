"""Loaded only by a fault test's worker (`celery worker --include tests.faults.hooks`),
never by the app or the test process: with FAULTS_PAUSE_DIR set, the FIRST automatic
block this machine runs pauses inside its transaction, under the case's row lock, just
before the image's hashes are banned, so that the test can kill the process right there.

The pause is claimed with a marker file created exclusively (`paused`), so every later
run (the redelivered message, another worker) goes straight through. The process that
pauses writes its pid to `inside` (written whole, then renamed), which tells the test
both that it is inside and which process to kill.
"""

import os
import time
from pathlib import Path

from moderation import services

PAUSE_DIR = os.environ.get("FAULTS_PAUSE_DIR", "")
# Longer than any test waits, shorter than the tasks' soft time limit (50 s).
PAUSE_SECONDS = 40

_image_ban = services._image_ban


def _image_ban_paused_once(**arguments) -> list[int]:
    directory = Path(PAUSE_DIR)
    try:
        os.close(os.open(directory / "paused", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return _image_ban(**arguments)
    (directory / "inside.tmp").write_text(str(os.getpid()))
    (directory / "inside.tmp").rename(directory / "inside")
    time.sleep(PAUSE_SECONDS)
    return _image_ban(**arguments)


if PAUSE_DIR:
    services._image_ban = _image_ban_paused_once
