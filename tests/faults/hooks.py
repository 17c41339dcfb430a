"""Loaded only by a fault test's worker (`celery worker --include tests.faults.hooks`),
never by the app or the test process.

With FAULTS_PAUSE_DIR set, the FIRST run on this machine of the step FAULTS_PAUSE_AT
names pauses, so that the test can kill the process right there:
- `auto_block` (the default): inside an automatic block's transaction, under the case's
  row lock, just before the image's hashes are banned;
- `process_image`: inside image processing's last transaction, under the image's row
  lock, once the renditions are written to storage and the row says ready, before the
  commit.

The pause is claimed with a marker file created exclusively (`paused`), so every later
run (the redelivered message, another worker) goes straight through. The process that
pauses writes its pid to `inside` (written whole, then renamed), which tells the test
both that it is inside and which process to kill.

With FAULTS_POISON_IMAGE set to an image id, every processing of that image kills its
own process at the same point, as a picture that crashes the decoder would.
"""

import os
import signal
import time
from pathlib import Path

from articles import hooks
from moderation.services import bans as ban_services

PAUSE_DIR = os.environ.get("FAULTS_PAUSE_DIR", "")
PAUSE_AT = os.environ.get("FAULTS_PAUSE_AT", "auto_block")
POISON_IMAGE = os.environ.get("FAULTS_POISON_IMAGE", "")
# Longer than any test waits, shorter than the tasks' soft time limit (50 s).
PAUSE_SECONDS = 40


def _pause_once() -> None:
    directory = Path(PAUSE_DIR)
    try:
        os.close(os.open(directory / "paused", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    (directory / "inside.tmp").write_text(str(os.getpid()))
    (directory / "inside.tmp").rename(directory / "inside")
    time.sleep(PAUSE_SECONDS)


_image_ban = ban_services.image_ban


def _image_ban_paused_once(**arguments) -> list[int]:
    _pause_once()
    return _image_ban(**arguments)


# Called first inside the transaction that marks the image ready, then after it.
_image_ready = hooks.image_ready


def _image_ready_with_faults(*, image_id: int) -> None:
    if str(image_id) == POISON_IMAGE:
        os.kill(os.getpid(), signal.SIGKILL)
    if PAUSE_DIR and PAUSE_AT == "process_image":
        _pause_once()
    _image_ready(image_id=image_id)


if PAUSE_DIR and PAUSE_AT == "auto_block":
    ban_services.image_ban = _image_ban_paused_once
if POISON_IMAGE or (PAUSE_DIR and PAUSE_AT == "process_image"):
    hooks.image_ready = _image_ready_with_faults
