"""The bench's own Celery task, loaded by the bench worker with `-I bench.tasks`.

`bench.noop` does nothing but, when given a key, push one item to that Redis list on the
broker's Redis (results are ignored project-wide, there is no result backend). The bench
waits on the key with BLPOP, so the round trip it times is: publish, broker delivery to the
worker, the prefork pool handing it to its child, running an empty task, one RPUSH, and
the bench's BLPOP waking up; no polling interval is added.
"""

import redis
from celery import shared_task
from django.conf import settings

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


@shared_task(name="bench.noop", acks_late=True)
def noop(key: str | None = None) -> None:
    if key:
        with _redis().pipeline(transaction=True) as pipe:
            pipe.rpush(key, 1)
            pipe.expire(key, 60)
            pipe.execute()
    return None
