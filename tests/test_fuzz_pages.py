"""Hypothesis against everything outside the API, over real HTTP to the live server: the
readers' pages, the media, the readers' report form (no JavaScript), and the admin as a
moderator and as an editor. tests/test_fuzz.py does the same for the API from its schema.

Requests are written to the socket as bytes (tests/raw_http.py), so that the server's WSGI
layer decodes them: NUL bytes and invalid UTF-8, raw or %-escaped, integers far out of any
column's range, empty values, in paths, query strings and form fields. The admin's routes
are those of every model registered on the admin site, whoever registered it (Django's
auth, DRF's tokens, the project's), with lookups built on each model's own fields.

No answer may be a 5xx. The generation is derandomized (the same requests every run) and
bounded to about a minute; the requests of each route family are counted and printed
(pytest -s, or -rP), the figures the closing note of issue 13 quotes.
"""

import logging
import time
from collections import Counter, defaultdict
from urllib.parse import quote

import hypothesis
import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from hypothesis import strategies as st

from moderation.models import ImageCase, Report
from tests.html import parse
from tests.raw_http import FORM, NOT_UTF8, NULS, OUT_OF_RANGE, form_body, raw_request
from tests.test_fuzz import fuzz_settings, seed_site

# Sequences reset: the seeded ids, hence the generated requests, are the same every run.
pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True, reset_sequences=True)]

# Examples per route family; each is one request.
EXAMPLES = {
    "pages": 300,
    "report form": 400,
    "media": 250,
    "admin as moderator": 600,
    "admin as editor": 450,
}

# Values as they go on the wire: each class the attacks of issue 13 tried, by hand.
HOSTILE = (
    *NULS,
    *NOT_UTF8,
    *OUT_OF_RANGE,
    b"%",
    b"%zz",
    b"0",
    b"1.5",
    b"%F0%9F%98%80",
    b"..%2F..%2Fetc%2Fpasswd",
    b"x" * 3000,
)
# Bytes sent unescaped: those an address carries as they are, plus the NUL and the bytes
# that are never UTF-8 on their own. Others (space, CR, "?", "#", "&"...) would change
# the request's framing or meaning: they go %-escaped.
UNRESERVED = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
RAW_BYTES = frozenset(UNRESERVED) | {0} | set(range(0x80, 0x100))


def on_the_wire(data: bytes, raw: bool) -> bytes:
    return b"".join(
        bytes([byte]) if (raw and byte in RAW_BYTES) or byte in UNRESERVED else b"%%%02X" % byte
        for byte in data
    )


VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: str(n).encode()),
    st.builds(on_the_wire, st.binary(max_size=24), st.booleans()),
    st.text(max_size=12).map(lambda text: quote(text, safe="").encode()),
)


def query(keys) -> st.SearchStrategy[bytes]:
    """A query string of up to three parameters, their names drawn from `keys`."""
    pairs = st.lists(st.tuples(keys, VALUES), max_size=3)
    return pairs.map(lambda pairs: b"&".join(key + b"=" + value for key, value in pairs))


def with_query(path: bytes, query_string: bytes) -> bytes:
    return path + b"?" + query_string if query_string else path


def one_of_or_hostile(known: list[bytes]) -> st.SearchStrategy[bytes]:
    """A known value (an id, a slug) three times in four, else any value."""
    return st.one_of(*[st.sampled_from(known)] * 3, VALUES)


# --- the seeded site ----------------------------------------------------------------------


@pytest.fixture
def site(transactional_db):
    """What the generated requests can find (tests/test_fuzz.py's site), its moderator and
    its editor signed in."""
    site = seed_site()
    shown = [*site["images"], site["blocked"]]
    return {
        "moderator": signed_in(site["moderator"]),
        "editor": signed_in(site["editor"]),
        "article": site["article"],
        "image_ids": [str(image.pk).encode() for image in [*shown, site["pending"]]],
        "media": [
            getattr(image, field).name.encode()
            for image in shown
            for field in ("thumbnail", "rendition", "rendition_webp")
        ]
        + [site["pending"].original.name.encode()],
        "case_ids": [str(pk).encode() for pk in ImageCase.objects.values_list("pk", flat=True)],
        "report_ids": [str(pk).encode() for pk in Report.objects.values_list("pk", flat=True)],
    }


def signed_in(user) -> dict[str, str]:
    """The session cookie of a signed-in user, as the browser holds it."""
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


# --- the route families -------------------------------------------------------------------


def pages(site: dict) -> st.SearchStrategy:
    slugs = one_of_or_hostile([b"la-une", b"la-suite"])
    keys = st.one_of(st.sampled_from([b"page", b"reported", b"next", b"q"]), VALUES)
    return st.one_of(
        st.builds(lambda q: ("GET", with_query(b"/", q), None), query(keys)),
        st.builds(
            lambda slug, q: ("GET", with_query(b"/articles/" + slug + b"/", q), None),
            slugs,
            query(keys),
        ),
        st.builds(
            lambda language, next_: (
                "POST",
                b"/i18n/setlang/",
                form_body({b"language": language, b"next": next_}),
            ),
            one_of_or_hostile([b"fr", b"en", b"es", b"ar"]),
            VALUES,
        ),
        st.builds(lambda path, q: ("GET", with_query(b"/" + path, q), None), VALUES, query(keys)),
    )


def report_form(site: dict) -> st.SearchStrategy:
    known = st.sampled_from(site["image_ids"])
    fields = st.dictionaries(
        st.one_of(st.sampled_from([b"reason", b"comment"]), VALUES),
        one_of_or_hostile([b"violence", b"spam", b"hate", b"other"]),
        max_size=3,
    )

    def opened(image_id: bytes, q: bytes):
        return "GET", with_query(b"/images/" + image_id + b"/report/", q), None

    def posted(image_id: bytes, data: dict, csrf: bool):
        return "POST", b"/images/" + image_id + b"/report/", form_body(data, csrf=csrf)

    # Without the CSRF token now and then: refused before anything else.
    csrf = st.sampled_from([True, True, True, False])
    return st.one_of(
        # The form of an image the site has (shown, blocked or pending), with any input.
        st.builds(opened, known, query(VALUES)),
        st.builds(posted, known, fields, csrf),
        # The form of an image named by anything.
        st.builds(opened, VALUES, query(VALUES)),
        st.builds(posted, VALUES, fields, csrf),
    )


def media(site: dict) -> st.SearchStrategy:
    known = st.sampled_from(site["media"])
    altered = st.builds(
        lambda name, value, at: name[:at] + value + name[at:],
        known,
        VALUES,
        st.integers(min_value=0, max_value=80),
    )
    names = st.one_of(known, altered, VALUES)
    return st.builds(
        lambda name, q: ("GET", with_query(b"/media/" + name, q), None), names, query(VALUES)
    )


# Lookups as the admin's links write them, and others it takes all the same.
LOOKUPS = (
    b"",
    b"__exact",
    b"__iexact",
    b"__in",
    b"__gte",
    b"__lt",
    b"__isnull",
    b"__year",
    b"__month",
    b"__day",
    b"__iso_year",
    b"__regex",
    b"__iregex",
    b"__id__exact",
)
ADMIN_PARAMETERS = (b"q", b"o", b"p", b"e", b"all", b"_popup", b"_to_field", b"_facets")


def admin_pages(site: dict, *, article_form: dict[bytes, bytes]) -> st.SearchStrategy:
    lists = []
    for model in admin.site._registry:
        opts = model._meta
        fields = [field.name.encode() for field in opts.concrete_fields]
        keys = st.one_of(
            st.sampled_from(ADMIN_PARAMETERS),
            st.builds(bytes.__add__, st.sampled_from(fields), st.sampled_from(LOOKUPS)),
            VALUES,
        )
        lists.append((f"/admin/{opts.app_label}/{opts.model_name}/".encode(), keys))
    changelists = st.sampled_from(lists)
    any_id = one_of_or_hostile([*site["case_ids"], *site["image_ids"], b"1"])
    case_ids = one_of_or_hostile(site["case_ids"])
    popup = query(st.sampled_from([b"_to_field", b"_changelist_filters", b"_popup"]))
    decisions = one_of_or_hostile([b"confirm", b"restore", b"dismiss", b"note", b"protect"])
    actions = one_of_or_hostile([b"confirm", b"dismiss", b"protect", b"delete_selected"])
    case_pages = st.one_of(
        st.builds(lambda decision: b"decide/" + decision + b"/", decisions),
        st.builds(
            lambda report, verb: b"reports/" + report + b"/" + verb + b"/",
            one_of_or_hostile(site["report_ids"]),
            st.sampled_from([b"mute-reporter", b"unmute-reporter"]),
        ),
        st.just(b"image/"),
    )
    return st.one_of(
        # A list with filters, search, ordering, page.
        st.builds(
            lambda changelist, q: ("GET", with_query(changelist[0], q), None),
            changelists,
            changelists.flatmap(lambda changelist: query(changelist[1])),
        ),
        # An object's pages, by an id or anything else, as a popup now and then.
        st.builds(
            lambda changelist, object_id, page, q: (
                "GET",
                with_query(changelist[0] + object_id + b"/" + page, q),
                None,
            ),
            changelists,
            any_id,
            st.sampled_from([b"change/", b"history/", b"delete/"]),
            popup,
        ),
        # An action on the selected rows.
        st.builds(
            lambda changelist, action, selected, index: (
                "POST",
                changelist[0],
                form_body(
                    {
                        b"action": action,
                        b"_selected_action": selected,
                        b"index": index,
                        b"select_across": b"0",
                    }
                ),
            ),
            changelists,
            actions,
            any_id,
            one_of_or_hostile([b"0"]),
        ),
        # The case page's buttons: a decision with its note, muting a reporter.
        st.builds(
            lambda case_id, page, method, note: (
                method,
                b"/admin/moderation/imagecase/" + case_id + b"/" + page,
                form_body({b"note": note, b"reason": note}) if method == "POST" else None,
            ),
            case_ids,
            case_pages,
            st.sampled_from(["GET", "POST"]),
            VALUES,
        ),
        # The workspace: its tabs, pages, opened case and undo, by any value.
        st.builds(
            lambda q: ("GET", with_query(b"/admin/moderation/workspace/", q), None),
            query(st.sampled_from([b"tab", b"case", b"page", b"undo", b"index"])),
        ),
        # Its forms: a decision with its note, the case seen and the tab; a claim; an undo.
        st.builds(
            lambda case_id, decision, note, seen, tab: (
                "POST",
                b"/admin/moderation/workspace/" + case_id + b"/decide/" + decision + b"/",
                form_body({b"note": note, b"seen_action_id": seen, b"tab": tab}),
            ),
            case_ids,
            decisions,
            VALUES,
            one_of_or_hostile([b"0", b"1"]),
            one_of_or_hostile([b"needs_review", b"grouped", b"blocked", b"all"]),
        ),
        st.builds(
            lambda path, object_id, method: (
                method,
                b"/admin/moderation/workspace/" + path(object_id),
                form_body({b"tab": b"all"}) if method == "POST" else None,
            ),
            st.sampled_from(
                [
                    lambda i: i + b"/claim/",
                    lambda i: i + b"/release/",
                    lambda i: b"undo/" + i + b"/",
                ]
            ),
            any_id,
            st.sampled_from(["GET", "POST"]),
        ),
        # The article's page with its images: positions, captions, the formset's counts.
        st.builds(
            lambda changes: (
                "POST",
                b"/admin/articles/article/" + str(site["article"].pk).encode() + b"/change/",
                form_body({**article_form, **changes}),
            ),
            st.dictionaries(st.sampled_from(sorted(article_form)), VALUES, min_size=1, max_size=3),
        ),
    )


def article_form_fields(site: dict) -> dict[bytes, bytes]:
    """The article's admin form as the editor's browser would post it back, on the wire."""
    client = Client()
    client.cookies.load(site["editor"])
    url = f"/admin/articles/article/{site['article'].pk}/change/"
    form = parse(client.get(url)).one("form#article_form")
    fields = {}
    for field in form.select("input[name], select[name], textarea[name]"):
        name = field["name"]
        if field.get("type") in ("file", "submit") or name == "csrfmiddlewaretoken":
            continue
        if field.tag == "select":
            chosen = field.select("option[selected]")
            value = chosen[0].get("value", "") if chosen else ""
        else:
            value = field.text if field.tag == "textarea" else field.get("value", "")
        fields[quote(name, safe="").encode()] = quote(value, safe="").encode()
    return fields


# --- the run ------------------------------------------------------------------------------


class Run:
    """Sends each generated request, counting them per family and by status, and keeps
    every server error with what replays it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.statuses: defaultdict[str, Counter] = defaultdict(Counter)
        self.server_errors: list[str] = []

    def fuzz(self, family: str, strategy, *, cookies: dict, examples: int) -> None:
        @fuzz_settings(examples)
        @hypothesis.given(request=strategy)
        def call(request):
            method, target, body = request
            response = raw_request(self.base_url, method, target, cookies=cookies, body=body)
            self.statuses[family][response.status] += 1
            if response.status >= 500:
                self.server_errors.append(
                    f"{family}: {response.status} for {method} {target[:300]!r}"
                    f" body {(body or b'')[:300]!r}"
                )

        call()

    @property
    def requests_made(self) -> dict[str, int]:
        return {family: sum(counts.values()) for family, counts in self.statuses.items()}


def test_no_page_media_form_or_admin_answer_is_a_server_error(
    live_server, site, settings, caplog, record_property
):
    # Every report comes from 127.0.0.1: the rate limits would answer most with 429s.
    settings.REPORT_RATE_LIMITS = [(100_000, 60)]
    # Hundreds of 400s and 404s are the point; a 5xx is still logged, as an error.
    caplog.set_level(logging.ERROR, logger="django.request")
    article_form = article_form_fields(site)
    run = Run(live_server.url)
    started = time.monotonic()

    # when each family is called with generated requests, by its users
    run.fuzz("pages", pages(site), cookies={}, examples=EXAMPLES["pages"])
    run.fuzz("report form", report_form(site), cookies={}, examples=EXAMPLES["report form"])
    run.fuzz("media", media(site), cookies={}, examples=EXAMPLES["media"])
    for who in ("moderator", "editor"):
        family = f"admin as {who}"
        run.fuzz(
            family,
            admin_pages(site, article_form=article_form),
            cookies=site[who],
            examples=EXAMPLES[family],
        )
    elapsed = time.monotonic() - started

    made = run.requests_made
    print(f"\nfuzz pages: {sum(made.values())} requests in {elapsed:.1f}s")
    for family, counts in run.statuses.items():
        print(f"  {made[family]:4d}  {family}  {dict(sorted(counts.items()))}")
        record_property(f"requests {family}", made[family])
    # then no answer was a server error
    assert not run.server_errors, "\n".join(run.server_errors)
    # and every family was called as often as asked, reaching more than its refusals
    assert made == EXAMPLES, made
    for family in ("pages", "report form", "media"):
        assert 200 in run.statuses[family], (family, run.statuses[family])
    for family in ("admin as moderator", "admin as editor"):
        assert {200, 302, 400, 403, 404} & set(run.statuses[family]), run.statuses[family]
        assert 200 in run.statuses[family], (family, run.statuses[family])


def test_an_oversize_report_form_is_413_not_a_server_error(live_server, site):
    # given a form body over DATA_UPLOAD_MAX_MEMORY_SIZE, sent whole to the live server
    comment = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    body = form_body({b"reason": b"spam", b"comment": comment})

    # when it is posted to the report form of an image
    before = Report.objects.count()
    target = b"/images/" + site["image_ids"][0] + b"/report/"
    response = raw_request(live_server.url, "POST", target, body=body, content_type=FORM)

    # then it is refused with 413, not a 400 nor a 500, and nothing is recorded
    assert response.status == 413
    assert Report.objects.count() == before
