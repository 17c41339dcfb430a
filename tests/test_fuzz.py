"""Schemathesis against the OpenAPI schema the live server publishes (/api/schema/).

Every operation is called over real HTTP with requests generated from the schema, valid ones
(positive) and invalid ones (negative), and every answer must be in the schema: no 5xx, a
documented status code, the documented content type, and a body that matches its schema.

The data is seeded so the generated requests find something: an article with images (one
pending, one blocked), cases in several states (flagged, held as grouped reports), a
moderator's token for the moderators' API, an editor's token for uploads, and a valid CSRF
double submit (cookie and header) on every report, so the report's own validation is reached
rather than the CSRF refusal. The generation is derandomized: the same requests every run.
"""

import logging
import time
from collections import Counter, defaultdict

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from articles.models import EDITORS_GROUP, Image
from moderation import services
from moderation.models import MODERATORS_GROUP, ImageCase, ModerationAction
from tests.articles import pictures
from tests.factories import (
    ArticleFactory,
    ImageFactory,
    ModeratorFactory,
    UserFactory,
    group_from_migration,
)
from tests.readers import held_case, ip_hash_of

# Sequences reset: the seeded ids, hence the generated requests, are the same every run.
pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True, reset_sequences=True)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation and generation mode: 11 operations x (70 + 40) > 1,000 requests.
EXAMPLES = {GenerationMode.POSITIVE: 70, GenerationMode.NEGATIVE: 40}
# Then without credentials, and over the rate limits: these answers are all alike.
ANONYMOUS_EXAMPLES = 10
MIN_REQUESTS = 1_000
# Any well-formed token will do for Django's double submit, as long as cookie and header agree
# (tests/readers.py LiveReader); a fixed one keeps the run the same every time.
CSRF_TOKEN = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
UPLOAD = "POST /api/articles/{slug}/images/"
REPORT = "POST /api/images/{image_id}/reports/"


def seed_site() -> dict:
    """The site the generated requests find (tests/test_fuzz_pages.py fuzzes its pages):
    an article with images (three ready, one pending, one blocked) and another article,
    a case flagged by two readers' reports, a case held as grouped reports, a moderator
    and an editor."""
    group_from_migration(MODERATORS_GROUP, "moderation.migrations.0004_moderators_group")
    editors = group_from_migration(EDITORS_GROUP, "articles.migrations.0003_editors_group")
    moderator = ModeratorFactory(username="fuzz-moderator")
    editor = UserFactory(username="fuzz-editor", is_staff=True)
    editor.groups.add(editors)

    article = ArticleFactory(slug="la-une")
    images = [ImageFactory(article=article, position=n) for n in range(3)]
    pending = ImageFactory(article=article, position=3, processed=False)
    blocked = ImageFactory(article=article, position=4, visibility=Image.Visibility.BLOCKED)
    ArticleFactory(slug="la-suite")
    # Two readers' reports, through the real report path: a case flagged below its threshold.
    for n in range(2):
        services.report_create(
            image_id=images[0].pk,
            reporter_key=f"reader:{n:032x}",
            reason="violence",
            ip_hash=ip_hash_of(f"fuzz {n}"),
            network_hash=ip_hash_of(f"fuzz network {n}"),
            comment="Choquant.",
        )
    # And a burst from one network: a case held as grouped reports, with the system's action.
    held = held_case(images[1])
    return {
        "moderator": moderator,
        "editor": editor,
        "article": article,
        "images": images,
        "pending": pending,
        "blocked": blocked,
        "held": held,
    }


@pytest.fixture
def seeded(transactional_db):
    """What the generated requests can find: their path parameters are these most of the time."""
    site = seed_site()
    held = site["held"]
    return {
        "jpeg": pictures.jpeg((64, 48)),
        "moderator_token": Token.objects.create(user=site["moderator"]).key,
        "editor_token": Token.objects.create(user=site["editor"]).key,
        "slug": [site["article"].slug, "la-suite"],
        "image_id": [image.pk for image in [*site["images"], site["blocked"]]],
        "case_id": [held.pk, *ImageCase.objects.exclude(pk=held.pk).values_list("pk", flat=True)],
        # The system's rows (no one's to undo: 409), and whatever the run decides.
        "action_id": list(ModerationAction.objects.values_list("pk", flat=True)),
    }


def fuzz_settings(examples: int) -> hypothesis.settings:
    """`examples` generated requests, the same every run. No shrinking: every failure is kept
    as found, and the run's time stays bounded."""
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def known_path_parameters(operation, seeded: dict) -> list[dict]:
    names = [parameter.name for parameter in operation.path_parameters]
    if not names:
        return []
    return [{name: seeded[name][n % len(seeded[name])] for name in names} for n in range(3)]


def credentials(operation, seeded: dict) -> tuple[dict, dict] | None:
    """Headers and cookies of the operation's user: the moderator's token for the moderators'
    API, the editor's for uploads, a CSRF double submit for an anonymous reader's report; None
    where anyone may call without them."""
    if operation.path.startswith("/api/moderation/"):
        return {"Authorization": f"Token {seeded['moderator_token']}"}, {}
    if operation.path == "/api/articles/{slug}/images/":
        return {"Authorization": f"Token {seeded['editor_token']}"}, {}
    if operation.path == "/api/images/{image_id}/reports/":
        return {"X-CSRFToken": CSRF_TOKEN}, {"csrftoken": CSRF_TOKEN}
    return None


class Run:
    """Calls the live server, counting every request that reaches it and keeping one
    failure of each kind (operation, check, status) with the curl command to replay it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.statuses: Counter = Counter()
        self.per_operation: Counter = Counter()
        self.outcomes: defaultdict[str, Counter] = defaultdict(Counter)
        self.failures: dict[tuple, str] = {}
        self.unsatisfiable: list[str] = []
        self.calling = 0.0

    def _count(self, response: requests.Response, *args, **kwargs) -> None:
        self.statuses[response.status_code] += 1

    @property
    def requests_made(self) -> int:
        return sum(self.statuses.values())

    def session(self) -> requests.Session:
        """A new connection for each request: over a kept-alive one, Django's development
        server (the live server) waits ~40 ms for the client's delayed ACK before each answer
        (Nagle), which would triple the run's time. Every request the session sends, whoever
        sends it, counts once."""
        session = requests.Session()
        session.hooks["response"].append(self._count)
        return session

    def fuzz(
        self, operation, strategy, *, examples: int, headers: dict, cookies: dict, label: str
    ) -> None:
        @fuzz_settings(examples)
        @hypothesis.given(case=strategy)
        def call(case):
            self.per_operation[operation.label] += 1
            started = time.monotonic()
            try:
                with self.session() as session:
                    response = case.call_and_validate(
                        base_url=self.base_url,
                        session=session,
                        headers=headers,
                        cookies=cookies,
                        checks=CHECKS,
                    )
            except FailureGroup as group:
                for failure in group.exceptions:
                    key = (operation.label, failure.title, getattr(failure, "status_code", 0))
                    self.failures.setdefault(key, f"{label}: {group}")
            else:
                self.outcomes[operation.label][response.status_code] += 1
            finally:
                self.calling += time.monotonic() - started

        try:
            call()
        except Unsatisfiable:
            # Nothing in this operation can be made invalid while its path stays valid (a GET
            # whose only parameter is in the path): its valid requests are all there is.
            self.unsatisfiable.append(f"{label}: {operation.label}")


def test_every_answer_of_the_api_is_in_its_schema(
    live_server, seeded, report_limits_raised, caplog
):
    # Hundreds of 404s and 400s are the point; a 5xx is still logged, as an error.
    caplog.set_level(logging.ERROR, logger="django.request")
    # given the schema the live server publishes, and its seeded data
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    run = Run(live_server.url)
    started = time.monotonic()

    # when every operation is called by its user with valid and with invalid requests
    for operation in operations:
        headers, cookies = credentials(operation, seeded) or ({}, {})
        known = known_path_parameters(operation, seeded)
        for mode, examples in EXAMPLES.items():
            strategies = [
                operation.as_strategy(generation_mode=mode, path_parameters=parameters)
                for parameters in known
            ]
            # Invalid path parameters too: /api/images/-1/ matches no route, and the API's
            # JSON 404 answers it (common.api_errors.NotFoundApi).
            strategies.append(operation.as_strategy(generation_mode=mode))
            if mode is GenerationMode.POSITIVE and operation.label == UPLOAD:
                # Random bytes are never a picture: a real one reaches the 201.
                strategies.append(
                    operation.as_strategy(
                        path_parameters={"slug": seeded["slug"][0]},
                        body={"file": seeded["jpeg"], "caption": "Une photo"},
                    )
                )
            run.fuzz(
                operation,
                st.one_of(strategies),
                examples=examples,
                headers=headers,
                cookies=cookies,
                label=f"{mode.value}, as its user",
            )

    # and by someone without credentials (no token; a report without the CSRF token)
    for operation in operations:
        if credentials(operation, seeded) is not None:
            run.fuzz(
                operation,
                operation.as_strategy(),
                examples=ANONYMOUS_EXAMPLES,
                headers={},
                cookies={},
                label="positive, without credentials",
            )

    # and by a reader over the rate limits (one report an hour: all but the first refused)
    report_limits_raised.REPORT_RATE_LIMITS = [(1, 3600)]
    report = next(operation for operation in operations if operation.label == REPORT)
    headers, cookies = credentials(report, seeded)
    run.fuzz(
        report,
        report.as_strategy(),
        examples=ANONYMOUS_EXAMPLES,
        headers=headers,
        cookies=cookies,
        label="positive, over the rate limits",
    )
    elapsed = time.monotonic() - started

    print(
        f"\nschemathesis: {run.requests_made} requests in {elapsed:.1f}s "
        f"({run.calling:.1f}s calling), statuses {dict(sorted(run.statuses.items()))}"
    )
    for label, n in sorted(run.per_operation.items()):
        print(f"  {n:4d}  {label}  {dict(sorted(run.outcomes[label].items()))}")
    print(f"  no invalid request possible: {run.unsatisfiable}")
    # then no answer was a server error or outside the schema
    assert not run.failures, "\n\n".join(run.failures.values())
    # and there were enough of them, reaching every kind of answer the seeding allows
    assert run.requests_made >= MIN_REQUESTS, run.requests_made
    assert {200, 201, 400, 401, 403, 404, 409, 429} <= set(run.statuses), run.statuses


@pytest.fixture
def report_limits_raised(settings):
    # Every report comes from 127.0.0.1: at the default 10 a minute all but the first ten
    # would be 429s and never reach the report's validation (400) nor its recording (201).
    settings.REPORT_RATE_LIMITS = [(100_000, 60)]
    return settings
