"""The messages moderation services send after commit. What was committed (a report, a
block) stands whether or not its message reaches the broker: the database is the truth,
and each message says what becomes of its work if it is lost."""

from django.db import transaction

from common.publishing import enqueue


def send(*, task_name: str, argument: int | list[int], if_lost: str) -> None:
    # Named, not imported: the tasks import the services.
    enqueue(task_name=f"moderation.tasks.{task_name}", argument=argument, if_lost=if_lost)


def enqueue_auto_block(*, image_id: int) -> None:
    send(task_name="case_auto_block", argument=image_id, if_lost="the sweeper will block it")


def enqueue_notification(*, task_name: str, object_id: int) -> None:
    # The case is in the admin queue and the digest either way.
    send(task_name=task_name, argument=object_id, if_lost="no email for it")


def enqueue_ban_sweep_on_commit(*, ban_ids: list[int]) -> None:
    transaction.on_commit(
        lambda: send(
            task_name="hash_bans_sweep",
            argument=ban_ids,
            if_lost="images already published that match these bans stay visible",
        )
    )
