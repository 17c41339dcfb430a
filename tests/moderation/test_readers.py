"""Who a request is: its address behind the trusted proxies, kept only as keyed hashes."""

import ipaddress

import pytest
from django.test import RequestFactory

from common.client_address import client_ip
from moderation.readers import ip_hash, network_hash, reader_from_request

pytestmark = pytest.mark.portable


def request_from(remote_addr: str = "203.0.113.9", forwarded_for: str | None = None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().post("/api/images/1/reports/", **headers)


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings):
    # given no proxy in front of the app
    settings.TRUSTED_PROXY_COUNT = 0

    # when a client sends a forged X-Forwarded-For
    request = request_from("203.0.113.9", forwarded_for="198.51.100.1")

    # then its own connection's address is the one that counts
    assert client_ip(request) == address("203.0.113.9")


def test_behind_one_proxy_the_address_it_appended_counts_not_the_clients_claim(settings):
    # given one proxy (nginx) that appends the address it received from
    settings.TRUSTED_PROXY_COUNT = 1

    # when a client forged entries before it
    request = request_from("10.0.0.2", forwarded_for="198.51.100.1, 1.2.3.4, 203.0.113.9")

    # then the rightmost entry, written by the proxy, is the client
    assert client_ip(request) == address("203.0.113.9")


def test_behind_two_proxies_the_second_from_the_right_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = request_from("10.0.0.2", forwarded_for="6.6.6.6, 203.0.113.9, 10.0.0.3")
    assert client_ip(request) == address("203.0.113.9")


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("203.0.113.9:5123", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("not an address", None),
        ("", None),
    ],
)
def test_forwarded_addresses_are_parsed_or_refused(settings, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = 1
    request = request_from("10.0.0.2", forwarded_for=forwarded_for)
    assert client_ip(request) == (address(expected) if expected else None)


def test_ip_hashes_are_keyed_and_never_contain_the_address(settings):
    # given an address hashed under one key
    settings.IP_HASH_KEY = "first-key"
    first = ip_hash(address("203.0.113.9"))

    # then the hash is a hex HMAC that does not hold the address, stable under the key
    assert len(first) == 64 and int(first, 16) >= 0
    assert "203.0.113" not in first
    assert ip_hash(address("203.0.113.9")) == first
    assert ip_hash(address("203.0.113.10")) != first

    # when the key is rotated, the same address hashes to something unlinkable
    settings.IP_HASH_KEY = "second-key"
    assert ip_hash(address("203.0.113.9")) != first


def test_without_a_configured_key_the_hash_is_derived_from_the_secret_key(settings):
    settings.IP_HASH_KEY = ""
    settings.SECRET_KEY = "one-secret"
    first = ip_hash(address("203.0.113.9"))
    settings.SECRET_KEY = "another-secret"
    assert ip_hash(address("203.0.113.9")) != first


@pytest.mark.parametrize(
    ("one", "same_network", "other_network"),
    [
        ("203.0.113.9", "203.0.113.200", "203.0.114.9"),
        ("2001:db8:1:aaaa::1", "2001:db8:1:ffff::2", "2001:db8:2::1"),
    ],
)
def test_network_hash_groups_a_v4_slash_24_and_a_v6_slash_48(one, same_network, other_network):
    assert network_hash(address(one)) == network_hash(address(same_network))
    assert network_hash(address(one)) != network_hash(address(other_network))
    assert network_hash(address(one)) != ip_hash(address(one))


def test_readers_without_a_usable_address_share_one_unknown_address(settings):
    # given no proxy, and connections whose address cannot be read
    settings.TRUSTED_PROXY_COUNT = 0
    readers = []
    for remote_addr in ("garbage", "", "1.2.3.4.5", "::g", "256.0.0.1"):
        request = request_from(remote_addr)
        request.user = None
        readers.append(reader_from_request(request))

    # then they are all one address and one network, which no readable address is
    assert len({(r.ip_hash, r.network_hash) for r in readers}) == 1
    assert readers[0].ip_hash not in ("", ip_hash(address("0.0.0.0")), ip_hash(address("::")))
    assert len({r.reporter_key for r in readers}) == len(readers)
