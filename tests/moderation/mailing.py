"""What the tests of the moderators' emails share: a broker that records the messages
the services publish after commit and delivers them as a worker would, and readers'
reports made through the services as committed transactions."""

from moderation import tasks
from moderation.services import report_create


class FakeBroker:
    """Stands in for Redis in the unit tests: records what the services enqueue
    after commit, and delivers it by running the task bodies in this thread, as a
    worker would."""

    TASKS = ("case_auto_block", "first_report_notify", "auto_block_notify", "review_digest_send")

    def __init__(self, monkeypatch, capture_on_commit):
        self.messages: list[tuple[str, tuple]] = []
        self.capture_on_commit = capture_on_commit
        for name in self.TASKS:
            monkeypatch.setattr(getattr(tasks, name), "delay", self._recorder(name))

    def _recorder(self, name):
        def delay(*args):
            self.messages.append((name, args))

        return delay

    def names(self) -> list[str]:
        return [name for name, _ in self.messages]

    def deliver(self) -> list:
        """Run every queued message (and what they enqueue in turn) once."""
        results = []
        while self.messages:
            name, args = self.messages.pop(0)
            # Each task runs in its own transaction: its on_commit hooks fire.
            with self.capture_on_commit(execute=True):
                results.append(getattr(tasks, name).run(*args))
        return results


def committed_runner(capture_on_commit):
    """Run a service as its own committed transaction: its on_commit hooks fire
    (and what they enqueue goes to the fake broker)."""

    def run(service, **kwargs):
        with capture_on_commit(execute=True):
            return service(**kwargs)

    return run


def reader_reports(committed, image, n, *, start=0, reason="illegal", comment="", network=""):
    return [
        committed(
            report_create,
            image_id=image.pk,
            reporter_key=f"reader:{start + i}",
            reason=reason,
            comment=comment,
            network_hash=network,
        )
        for i in range(n)
    ]
