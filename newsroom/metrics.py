"""/metrics for Prometheus: the machine's figures, and the broker's queues.

The counters live in moderation/metrics.py. With PROMETHEUS_MULTIPROC_DIR set
(production: one directory per machine, shared by gunicorn's workers, Celery's
pool and beat), each answer adds up the files every process of the machine
wrote; without it, the answer is this process's own figures. The queues'
depths are read from the broker at each scrape.

Who may read: a client address in METRICS_ALLOWED_NETWORKS, or anyone with
`Authorization: Bearer <METRICS_TOKEN>`. Everyone else gets 404, as if there
were nothing here.
"""

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# Imported for its side effect: the counters exist, at 0, in every answer.
import moderation.metrics  # noqa: F401
from common.client_address import IPAddress, client_ip

logger = logging.getLogger(__name__)

# Kombu's Redis transport keeps a queue's messages of priority p > 0 in a list
# named queue + SEP + p; priority 0 is the queue's own name.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
BROKER_TIMEOUT_SECONDS = 1.0


class QueueDepthCollector(Collector):
    """Messages waiting in each Celery queue, read from the Redis broker."""

    def __init__(self, *, broker_url: str, queues: Iterable[str]):
        self.broker_url = broker_url
        self.queues = list(queues)

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "signalement_queue_depth",
            "Messages waiting in a Celery queue (not yet taken by a worker).",
            labels=["queue"],
        )
        up = GaugeMetricFamily(
            "signalement_broker_up", "1 when the broker answered this scrape, 0 otherwise."
        )
        client = redis.Redis.from_url(
            self.broker_url,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            with client.pipeline(transaction=False) as pipe:
                for queue in self.queues:
                    pipe.llen(queue)
                    for step in _PRIORITY_STEPS:
                        pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{step}")
                lengths = pipe.execute()
        except redis.RedisError as error:
            logger.warning("metrics: the broker did not answer (%s)", type(error).__name__)
            up.add_metric([], 0)
        else:
            per_queue = len(_PRIORITY_STEPS) + 1
            for index, queue in enumerate(self.queues):
                chunk = lengths[index * per_queue : (index + 1) * per_queue]
                depth.add_metric([queue], sum(chunk))
            up.add_metric([], 1)
            yield depth
        finally:
            client.close()
        yield up


def queue_names() -> list[str]:
    return [queue.name for queue in settings.CELERY_TASK_QUEUES]


def exposition() -> bytes:
    """The text Prometheus reads: process (or machine) figures, then the queues."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    broker = CollectorRegistry()
    broker.register(QueueDepthCollector(broker_url=settings.REDIS_URL, queues=queue_names()))
    return generate_latest(processes) + generate_latest(broker)


def is_allowed(*, address: IPAddress | None, authorization: str) -> bool:
    """Whether a client may read the figures: by its address, or by the token."""
    token = settings.METRICS_TOKEN
    if token and authorization.startswith("Bearer "):
        given = authorization.removeprefix("Bearer ").strip()
        if hmac.compare_digest(given.encode(), token.encode()):
            return True
    if address is None:
        return False
    return any(address in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in settings.METRICS_ALLOWED_NETWORKS]


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not is_allowed(
        address=client_ip(request), authorization=request.headers.get("Authorization", "")
    ):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def exporter_app(environ: dict, start_response) -> list[bytes]:
    """The same answer as a bare WSGI app, for `manage.py metrics_server`: no
    proxy in front, so the client is REMOTE_ADDR."""
    try:
        address = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
    except ValueError:
        address = None
    allowed = is_allowed(address=address, authorization=environ.get("HTTP_AUTHORIZATION", ""))
    if environ.get("PATH_INFO") != "/metrics" or not allowed:
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found\n"]
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
        return [b""]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [exposition()]
