"""One person stays one person on every network: attacks on the identity of a reader.

Each test is an attacker with one subscription (an IPv4 address or /24, an IPv6 /64 or
/48) who rotates what they can (addresses inside their network, the way an address is
written, cookies, time) to block an image alone or to keep it from being blocked, and
real readers who must still decide. Requests go through the API as a client sends them.
"""

import ipaddress
import itertools
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from articles.models import Image
from common.client_address import parse_ip
from moderation import readers, services
from moderation.models import ActionKind, ImageCase, ModerationAction, Report, ReportOutcome
from tests.factories import ImageFactory, ModeratorFactory, PolicyFactory, UserFactory
from tests.readers import reader_address
from tests.test_metrics import Delta
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

# One subscriber's IPv6 /48, and the /64 of one of their machines.
ATTACKER_48 = ipaddress.IPv6Network("2001:db8:a77a::/48")
ATTACKER_64 = ipaddress.IPv6Network("2001:db8:a77a:1::/64")
# Every spelling of one IPv4 address that some address parser accepts.
ATTACKER_V4 = "198.51.100.7"
ATTACKER_V4_SPELLINGS = [
    "198.51.100.7",
    "198.51.100.007",  # zero-padded (a leading 0 reads as octal, as inet_aton reads it)
    "198.51.100.0000007",  # zero-padded further
    "0306.0063.0144.07",  # octal
    "0xc6.0x33.0x64.0x7",  # hex
    "0xC6.51.0x64.07",  # mixed
    "0xc6336407",  # one 32-bit number, hex
    "3325256711",  # one 32-bit number, decimal
    "030614662007",  # one 32-bit number, octal
    "198.51.25607",  # a.b.c with c over 16 bits
    "198.3367943",  # a.b with b over 24 bits
    "::ffff:198.51.100.7",  # IPv4-mapped
    "::FFFF:c633:6407",  # IPv4-mapped, hex
    "[::ffff:198.51.100.7]:51234",  # bracketed with a port
    "198.51.100.7:8080",  # with a port
    "::198.51.100.7",  # IPv4-compatible (deprecated)
    "2002:c633:6407::1",  # 6to4: the /48 of that IPv4
    "2002:c633:6407:beef:1:2:3:4",  # 6to4, another host of the same /48
    "64:ff9b::198.51.100.7",  # NAT64's well-known prefix
    "2001:0:4136:e378:8000:63bf:39cc:9bf8",  # Teredo: the client is the last 32 bits, inverted
]


def report_url(image_id: int) -> str:
    return f"/api/images/{image_id}/reports/"


def report_from(image, forwarded_for: str | None, *, remote_addr: str = "10.0.0.2", user=None):
    """A report with a fresh cookie jar (a cleared cookie, a private window) from the
    address the trusted proxy saw."""
    client = APIClient(REMOTE_ADDR=remote_addr)
    if user is not None:
        client.force_login(user)
    extra = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    return client.post(report_url(image.pk), {"reason": "violence"}, format="json", **extra)


def hosts_in(network: ipaddress.IPv6Network, count: int, *, step: int) -> list[str]:
    return [str(network.network_address + 1 + k * step) for k in range(count)]


def subnets_64(network: ipaddress.IPv6Network, count: int) -> list[str]:
    """A host in each of `count` different /64s of the network, as a rotating
    attacker would pick them."""
    base = int(network.network_address)
    return [str(ipaddress.IPv6Address(base + (k << 64) + 0x1234)) for k in range(count)]


def case_of(image) -> ImageCase | None:
    return ImageCase.objects.filter(image=image).first()


def counted(image) -> int:
    case = case_of(image)
    return case.open_report_count if case else 0


@pytest.fixture
def behind_a_proxy(settings):
    # The shipped deployment: nginx appends the client address; no rate limit, so that
    # only the identity rules stand between an attacker and a block.
    settings.TRUSTED_PROXY_COUNT = 1
    settings.REPORT_RATE_LIMITS = []
    settings.BRIGADE_NETWORK_ALLOWANCE = 3
    PolicyFactory(threshold=5)


# --- item 1: one person on IPv6 is one person ----------------------------------------


def test_addresses_rotated_inside_one_ipv6_slash_64_are_one_person(behind_a_proxy):
    # given an image, and an attacker holding one /64
    image = ImageFactory()

    # when they report it from 200 addresses of their /64 (low, high, random-looking
    # interface ids), each with a fresh cookie
    addresses = hosts_in(ATTACKER_64, 100, step=1) + hosts_in(
        ATTACKER_64, 100, step=0x9E3779B97F4A7C15 % (1 << 56)
    )
    answers = [report_from(image, address).status_code for address in addresses]

    # then the first counts and every other is a thanked repeat
    assert answers == [201] + [200] * 199
    assert Report.objects.filter(image=image).count() == 1
    assert counted(image) == 1


def test_an_ipv6_address_written_differently_is_the_same_person(behind_a_proxy):
    image = ImageFactory()
    full = ipaddress.IPv6Address("2001:db8:a77a:1::42")
    forms = [
        full.compressed,
        full.exploded,
        full.exploded.upper(),
        f"{full.compressed}%eth0",
        f"[{full.compressed}]:443",
        f"[{full.exploded}]",
    ]

    answers = [report_from(image, form).status_code for form in forms]

    assert answers == [201] + [200] * (len(forms) - 1)


def test_rotating_slash_64s_inside_one_slash_48_never_reaches_the_threshold(behind_a_proxy):
    # given an image under a threshold of 5
    image = ImageFactory()

    # when an attacker reports it from 300 different /64s of their /48
    answers = [report_from(image, address).status_code for address in subnets_64(ATTACKER_48, 300)]

    # then each is stored (201: a new address), but their network counts for 3 only
    assert set(answers) == {201}
    assert counted(image) == 3
    assert Report.objects.filter(image=image, outcome=ReportOutcome.HELD).count() == 297
    assert case_of(image).auto_block_held_at is None
    assert services.sweep_due_blocks() == []
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.VISIBLE


def test_rotating_inside_one_network_over_many_windows_never_reaches_the_threshold(
    behind_a_proxy, settings
):
    # given an image under a threshold of 5
    image = ImageFactory()
    addresses = iter(subnets_64(ATTACKER_48, 200))

    # when the attacker comes back window after window (10 rounds, each after the
    # burst window has passed), three fresh /64s a time
    for _round in range(10):
        for _ in range(3):
            report_from(image, next(addresses))
        Report.objects.filter(image=image).update(
            created_at=timezone.now() - timedelta(seconds=settings.BRIGADE_WINDOW_SECONDS + 1)
        )

    # then their network still counts for 3, and the image is visible
    assert counted(image) == 3
    assert services.sweep_due_blocks() == []
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.VISIBLE


def test_addresses_rotated_inside_one_ipv4_slash_24_never_reach_the_threshold(behind_a_proxy):
    image = ImageFactory()

    answers = [report_from(image, f"198.51.100.{host}").status_code for host in range(1, 255)]

    assert set(answers) == {201}
    assert counted(image) == 3


def test_an_ipv4_address_in_every_spelling_is_one_person(behind_a_proxy):
    # given an image
    image = ImageFactory()

    # when one attacker writes their address every way a parser accepts, fresh cookies
    answers = [report_from(image, spelling).status_code for spelling in ATTACKER_V4_SPELLINGS]

    # then only the first counts
    assert answers == [201] + [200] * (len(ATTACKER_V4_SPELLINGS) - 1)
    assert counted(image) == 1


def test_every_spelling_of_an_ipv4_address_hashes_as_that_address():
    # then each spelling is read as the address itself, never as a neighbour
    expected = readers.ip_hash(ipaddress.IPv4Address(ATTACKER_V4))
    for spelling in ATTACKER_V4_SPELLINGS:
        assert readers.ip_hash(parse_ip(spelling)) == expected, spelling
    # and a neighbour, in any spelling, is someone else
    for neighbour in ("198.51.100.8", "0xc6.0x33.0x64.0x8", "::ffff:198.51.100.6"):
        assert readers.ip_hash(parse_ip(neighbour)) != expected


# --- item 2: an unreadable client address is not a new person --------------------------

UNREADABLE = [
    "",  # a proxy that appends nothing
    "unknown",  # nginx's $remote_addr placeholder with some modules
    "not an address",
    "256.1.1.1",
    "1.2.3.4.5",
    "1.2.3.",
    "0x1g.0.0.1",
    "08.0.0.1",  # 8 is not an octal digit
    ":::1",
    "2001:db8::1::2",
    "[2001:db8::1",
    "٣.٣.٣.٣",  # Arabic-Indic digits: no address parser reads them
    "1.2.3.4\x00",
    "\u00a0",
    "1" * 300,
] + [bytes([b]).decode("latin-1") * 3 for b in range(0x21, 0x7F) if chr(b) not in "0123456789.:,"]


def test_readers_with_unreadable_addresses_are_one_person_per_image(behind_a_proxy, caplog):
    # given an image, and a proxy that passes every kind of garbage as the address
    image = ImageFactory()
    readers.forget_unreadable_warning()
    caplog.set_level(logging.WARNING, logger="moderation.readers")

    # when a reader with a fresh cookie reports it behind each garbage value
    with Delta(
        ("signalement_client_address_unreadable_total", {"cause": "unparsable"}),
        ("signalement_client_address_unreadable_total", {"cause": "proxy_chain"}),
    ) as unreadable:
        answers = [report_from(image, garbage).status_code for garbage in UNREADABLE]

    # then every request is answered, the first counts, the others are repeats
    assert answers == [201] + [200] * (len(UNREADABLE) - 1)
    assert counted(image) == 1
    # and the operator is told, by a metric for each, and one warning line for them all
    assert sum(unreadable.moved) == len(UNREADABLE)
    warnings = [r for r in caplog.records if "client address unreadable" in r.getMessage()]
    assert len(warnings) == 1 and "TRUSTED_PROXY_COUNT" in warnings[0].getMessage()


def test_an_unreadable_address_is_the_same_person_whatever_made_it_unreadable(settings):
    # given a configuration of two proxies where only one appended its hop, a missing
    # header, and garbage: three ways of losing the client address
    settings.REPORT_RATE_LIMITS = []
    image = ImageFactory()

    settings.TRUSTED_PROXY_COUNT = 2
    first = report_from(image, "203.0.113.9")  # one entry for two proxies
    settings.TRUSTED_PROXY_COUNT = 1
    second = report_from(image, None)  # no X-Forwarded-For at all
    settings.TRUSTED_PROXY_COUNT = 0
    third = report_from(image, None, remote_addr="garbage")

    # then it is one person, answered each time
    assert [first.status_code, second.status_code, third.status_code] == [201, 200, 200]
    assert counted(image) == 1


def test_readers_with_unreadable_addresses_share_one_rate_limit(behind_a_proxy, settings):
    # given a limit of 3 attempts a minute per reader and per address
    settings.REPORT_RATE_LIMITS = [(3, 60)]
    images = ImageFactory.create_batch(6)

    # when six readers, each with a fresh cookie and a different unreadable address,
    # report six images
    answers = [
        report_from(image, garbage).status_code
        for image, garbage in zip(images, UNREADABLE[1:], strict=False)
    ]

    # then the fourth attempt from "unknown" is refused, as from any one address
    assert answers == [201, 201, 201, 429, 429, 429]


def test_signed_in_readers_behind_an_unreadable_address_still_count(behind_a_proxy):
    image = ImageFactory()

    answers = [report_from(image, "garbage", user=UserFactory()).status_code for _ in range(3)]

    assert answers == [201, 201, 201]


# --- item 3: a burst from one network cannot freeze an image ------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_one_network_can_neither_block_nor_keep_an_image_from_being_blocked(
    behind_a_proxy, celery_worker
):
    # given an image under a threshold of 5
    image = ImageFactory()

    # when one attacker floods it from 100 /64s of their /48 (to hold the case)
    flood = [report_from(image, a).status_code for a in subnets_64(ATTACKER_48, 100)]

    # then they are stored, three count, the rest are held, and the image is visible
    assert set(flood) == {201}
    case = case_of(image)
    assert (case.open_report_count, case.auto_block_held_at) == (3, None)
    assert Image.objects.get(pk=image.pk).visibility == Image.Visibility.VISIBLE

    # when independent readers from other networks report it
    answers = [report_from(image, reader_address(n)).status_code for n in range(5)]

    # then theirs count (the first two bring the count to 5; later ones may find the
    # image blocked already, and are thanked), and the real worker blocks it
    assert answers[:2] == [201, 201] and set(answers) <= {200, 201}
    wait_until(
        lambda: Image.objects.get(pk=image.pk).visibility == Image.Visibility.BLOCKED, timeout=30
    )
    block = ModerationAction.objects.get(image=image, action=ActionKind.AUTO_BLOCK)
    assert block.details["open_report_count"] >= 5
    # and the attacker's held reports still wait for the moderator with the block
    assert case_of(image).needs_review
    assert Report.objects.filter(image=image, outcome=ReportOutcome.HELD).count() == 97


def test_many_reports_from_one_network_do_not_make_a_burst_of_the_rate_rule(
    behind_a_proxy, settings
):
    # given a rate floor of 20 reports in ten minutes
    settings.BRIGADE_RATE_MIN = 20
    image = ImageFactory()

    # when one network sends 100 reports within the window
    for address in subnets_64(ATTACKER_48, 100):
        report_from(image, address)

    # then it counts for its allowance in the rate too: the case is not held
    assert case_of(image).auto_block_held_at is None


def test_a_burst_across_many_networks_still_holds_the_case(behind_a_proxy, settings):
    # given a rate floor of 20 reports in ten minutes, and a high threshold
    settings.BRIGADE_RATE_MIN = 20
    PolicyFactory(threshold=100, source=(image := ImageFactory()).article.source)

    # when 30 readers of 30 networks report it at once
    for n in range(30):
        report_from(image, reader_address(n))

    # then the rate rule holds the whole case for a moderator
    case = case_of(image)
    assert case.auto_block_held_at is not None and case.open_report_count == 20


def test_one_network_never_blocks_alone_even_when_the_threshold_is_below_its_allowance(
    behind_a_proxy, settings
):
    # given a policy threshold of 2, under the network allowance of 3
    image = ImageFactory()
    PolicyFactory(threshold=2, source=image.article.source)

    # when one network reports from ten /64s
    for address in subnets_64(ATTACKER_48, 10):
        report_from(image, address)

    # then it counts once: one network stays under any threshold above 1
    assert counted(image) == 1
    assert services.sweep_due_blocks() == []


# --- item 4: a mute sticks ------------------------------------------------------------------


def test_a_muted_reader_who_clears_their_cookie_stays_muted(behind_a_proxy):
    # given an anonymous reader whose report a moderator judged abusive, and who is muted
    first, second, third = ImageFactory.create_batch(3)
    assert report_from(first, ATTACKER_V4).status_code == 201
    key = Report.objects.get(image=first).reporter_key
    services.reporter_mute(reporter_key=key, actor=ModeratorFactory(), reason="abuse")

    # when they clear their cookie and report other images from the same address, in
    # any spelling of it
    for image, spelling in zip((second, third), ATTACKER_V4_SPELLINGS[2:], strict=False):
        assert report_from(image, spelling).status_code == 201

    # then the reports are stored, muted, and count nothing
    later = Report.objects.filter(image__in=[second, third])
    assert {r.outcome for r in later} == {ReportOutcome.MUTED}
    assert all(r.reporter_key != key for r in later)
    assert counted(second) == counted(third) == 0


def test_a_muted_ipv6_reader_stays_muted_anywhere_in_their_slash_64(behind_a_proxy):
    first, *others = ImageFactory.create_batch(6)
    addresses = hosts_in(ATTACKER_64, 6, step=0x1111_2222_3333)
    report_from(first, addresses[0])
    services.reporter_mute(
        reporter_key=Report.objects.get(image=first).reporter_key, actor=ModeratorFactory()
    )

    for image, address in zip(others, addresses[1:], strict=True):
        report_from(image, address)

    assert set(Report.objects.filter(image__in=others).values_list("outcome", flat=True)) == {
        ReportOutcome.MUTED
    }


def test_a_muted_address_does_not_mute_accounts_or_other_addresses(behind_a_proxy):
    # given a muted anonymous reader
    first, image = ImageFactory.create_batch(2)
    report_from(first, ATTACKER_V4)
    services.reporter_mute(
        reporter_key=Report.objects.get(image=first).reporter_key, actor=ModeratorFactory()
    )

    # when a signed-in reader on that address, and anonymous readers elsewhere, report
    answers = [report_from(image, ATTACKER_V4, user=UserFactory()).status_code] + [
        report_from(image, reader_address(n)).status_code for n in range(3)
    ]

    # then they all count
    assert answers == [201] * 4
    assert counted(image) == 4


def test_a_muted_reader_takes_the_mute_to_a_new_address(behind_a_proxy):
    # given a muted anonymous reader, who keeps their cookie and moves to a new address
    first, second, third = ImageFactory.create_batch(3)
    client = APIClient(REMOTE_ADDR="10.0.0.2")
    client.post(
        report_url(first.pk), {"reason": "spam"}, format="json", HTTP_X_FORWARDED_FOR="192.0.2.1"
    )
    services.reporter_mute(
        reporter_key=Report.objects.get(image=first).reporter_key, actor=ModeratorFactory()
    )
    client.post(
        report_url(second.pk), {"reason": "spam"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.5"
    )

    # when they then clear their cookie on the new address
    report_from(third, "203.0.113.5")

    # then they are still muted there
    assert Report.objects.get(image=third).outcome == ReportOutcome.MUTED


def test_unmuting_frees_the_address_too(behind_a_proxy):
    first, image = ImageFactory.create_batch(2)
    report_from(first, ATTACKER_V4)
    key = Report.objects.get(image=first).reporter_key
    moderator = ModeratorFactory()
    services.reporter_mute(reporter_key=key, actor=moderator)

    services.reporter_unmute(reporter_key=key, actor=moderator)

    assert report_from(image, ATTACKER_V4).status_code == 201
    assert Report.objects.get(image=image).outcome == ReportOutcome.OPEN


def test_a_muted_address_unused_for_the_personal_data_period_is_forgotten(behind_a_proxy, settings):
    # given a muted reader whose address was last used long ago
    settings.REPORT_PERSONAL_DATA_DAYS = 90
    first, image = ImageFactory.create_batch(2)
    report_from(first, ATTACKER_V4)
    Report.objects.filter(image=first).update(created_at=timezone.now() - timedelta(days=91))
    services.reporter_mute(
        reporter_key=Report.objects.get(image=first).reporter_key, actor=ModeratorFactory()
    )

    # when the nightly purge runs
    services.reports_purge_personal_data()

    # then the address is forgotten (someone else may hold it now), the key stays muted
    purge = ModerationAction.objects.get(action=ActionKind.PURGE)
    assert purge.details["forgotten_muted_addresses"] == 1
    assert report_from(image, ATTACKER_V4).status_code == 201
    assert Report.objects.get(image=image).outcome == ReportOutcome.OPEN


def test_the_addresses_of_all_their_reports_are_muted(behind_a_proxy):
    # given a reader who reported from three addresses with one cookie
    client = APIClient(REMOTE_ADDR="10.0.0.2")
    addresses = ["192.0.2.1", "203.0.113.5", str(ATTACKER_64.network_address + 9)]
    reported = ImageFactory.create_batch(3)
    for image, address in zip(reported, addresses, strict=True):
        client.post(
            report_url(image.pk), {"reason": "spam"}, format="json", HTTP_X_FORWARDED_FOR=address
        )

    # when they are muted
    action = services.reporter_mute(
        reporter_key=Report.objects.filter(image=reported[0]).get().reporter_key,
        actor=ModeratorFactory(),
    )

    # then each of those addresses is muted for anyone anonymous on it
    assert action.details["muted_addresses"] == 3
    for address, image in zip(addresses, ImageFactory.create_batch(3), strict=True):
        report_from(image, address)
        assert Report.objects.get(image=image).outcome == ReportOutcome.MUTED


def test_a_hundred_new_cookies_behind_a_muted_address_count_nothing(behind_a_proxy):
    first = ImageFactory()
    report_from(first, ATTACKER_V4)
    services.reporter_mute(
        reporter_key=Report.objects.get(image=first).reporter_key, actor=ModeratorFactory()
    )
    images = ImageFactory.create_batch(100)

    for image, spelling in zip(images, itertools.cycle(ATTACKER_V4_SPELLINGS), strict=False):
        report_from(image, spelling)

    assert not ImageCase.objects.filter(image__in=images, open_report_count__gt=0).exists()
