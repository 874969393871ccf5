"""Addresses CloudFront cannot reach (issue 9 §4): which answers are not public, what the judge
says about them, how a lab opens ranges (``options.ALLOW_ADDRESSES``), and what a non-TLS answer
is called instead of being quoted. Pure: hand-built facts; the loopback tests in
tests/integration/tls/test_probe_addresses.py pin that the probe produces these facts."""

from __future__ import annotations

import ipaddress

import pytest

from origin_auditor.judge.handshake import address_findings, describe_not_tls, target_findings
from origin_auditor.model import (
    AddressProbe,
    HandshakeOutcome,
    NonPublicAddress,
    ProbeResult,
    Severity,
    Target,
)
from origin_auditor.options import ALLOW_ADDRESSES, OptionError
from origin_auditor.probe import address_class
from origin_auditor.rules import CODES, AddressClass, Code

C = AddressClass


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", C.LOOPBACK), ("127.255.255.254", C.LOOPBACK), ("::1", C.LOOPBACK),
    ("10.1.2.3", C.PRIVATE), ("172.16.0.1", C.PRIVATE), ("172.31.255.255", C.PRIVATE),
    ("192.168.1.1", C.PRIVATE), ("fd00::1", C.PRIVATE), ("fc00::1", C.PRIVATE),
    ("fd00:ec2::254", C.PRIVATE),  # the instance-metadata service's IPv6 address
    ("169.254.169.254", C.LINK_LOCAL), ("169.254.0.1", C.LINK_LOCAL), ("fe80::1", C.LINK_LOCAL),
    ("fe80::1%eth0", C.LINK_LOCAL),  # getaddrinfo's scoped form
    ("100.64.0.1", C.SHARED), ("100.127.255.254", C.SHARED),
    ("224.0.0.1", C.MULTICAST), ("239.1.2.3", C.MULTICAST), ("ff02::1", C.MULTICAST),
    ("ff0e::1", C.MULTICAST),  # global-scope multicast is still not a unicast origin
    ("0.0.0.0", C.UNSPECIFIED), ("::", C.UNSPECIFIED),
    ("192.0.2.10", C.DOCUMENTATION), ("198.51.100.7", C.DOCUMENTATION), ("203.0.113.9", C.DOCUMENTATION),
    ("2001:db8::1", C.DOCUMENTATION),
    ("0.1.2.3", C.RESERVED), ("240.0.0.1", C.RESERVED), ("255.255.255.255", C.RESERVED),
    ("198.18.0.1", C.RESERVED), ("100::1", C.RESERVED), ("fec0::1", C.RESERVED),
    # IPv4-mapped IPv6: judged by the IPv4 address it carries.
    ("::ffff:127.0.0.1", C.LOOPBACK), ("::ffff:10.0.0.1", C.PRIVATE),
    ("::ffff:169.254.169.254", C.LINK_LOCAL),
])
def test_addresses_cloudfront_cannot_reach_are_classified(address: str, kind: AddressClass) -> None:
    assert address_class(address) is kind


@pytest.mark.parametrize("address", [
    "8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1",
    "192.169.0.1", "2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8",
])
def test_public_addresses_are_not_classified(address: str) -> None:
    assert address_class(address) is None


def test_what_is_not_an_address_is_left_to_the_connect() -> None:
    # A resolver bug, not an answer: connecting says what is wrong with it.
    assert address_class("not-an-address") is None


# ------------------------------------------------------------------ the finding


TARGET = Target("origin.example", 8443)


def not_public(*pairs: tuple[str, AddressClass], resolved: int | None = None) -> ProbeResult:
    return ProbeResult(target=TARGET, resolved=len(pairs) if resolved is None else resolved,
                       not_public=tuple(NonPublicAddress(a, k) for a, k in pairs))


def test_the_code_is_in_the_contract_as_a_documented_failure() -> None:
    info = CODES[Code.ADDRESS_NOT_PUBLIC]
    assert (info.severity, info.basis) == ("fail", "D")
    assert "--allow-addresses" in info.fix and "VPC origin" in info.fix


def test_a_loopback_answer_is_a_fail_finding_on_that_address() -> None:
    [f] = target_findings(not_public(("127.0.0.1", C.LOOPBACK)))
    assert (f.code, f.severity, f.address) == (Code.ADDRESS_NOT_PUBLIC, Severity.FAIL, "127.0.0.1")
    assert f.message == (
        "origin.example resolves to 127.0.0.1, a loopback address. CloudFront resolves origins in "
        "public DNS and connects from the internet: it cannot reach this address and returns 502. "
        "The auditor did not connect to it.")
    assert f.hint == CODES[Code.ADDRESS_NOT_PUBLIC].fix


@pytest.mark.parametrize(("address", "kind", "words"), [
    ("10.0.0.5", C.PRIVATE, "a private address (RFC 1918 / unique local)"),
    ("100.64.1.1", C.SHARED, "a carrier-grade NAT address (100.64.0.0/10)"),
    ("fe80::1", C.LINK_LOCAL, "a link-local address"),
    ("239.1.1.1", C.MULTICAST, "a multicast address"),
    ("0.0.0.0", C.UNSPECIFIED, "the unspecified address"),
    ("192.0.2.1", C.DOCUMENTATION, "an address reserved for documentation"),
    ("240.0.0.1", C.RESERVED, "a reserved address that is not routed on the internet"),
])
def test_each_class_is_named(address: str, kind: AddressClass, words: str) -> None:
    [f] = target_findings(not_public((address, kind)))
    assert f.message.startswith(f"origin.example resolves to {address}, {words}. ")


@pytest.mark.parametrize(("address", "kind", "words"), [
    ("169.254.169.254", C.LINK_LOCAL, "a link-local address"),
    ("fd00:ec2::254", C.PRIVATE, "a private address (RFC 1918 / unique local)"),
])
def test_the_instance_metadata_address_is_called_by_its_name(address: str, kind: AddressClass,
                                                               words: str) -> None:
    [f] = target_findings(not_public((address, kind)))
    assert f.message.startswith(
        f"origin.example resolves to {address} (the instance-metadata service), {words}. ")


def test_each_unreachable_answer_is_its_own_finding_in_resolver_order() -> None:
    findings = target_findings(not_public(("10.0.0.1", C.PRIVATE), ("127.0.0.1", C.LOOPBACK), resolved=3))
    assert [(f.code, f.address) for f in findings] == [(Code.ADDRESS_NOT_PUBLIC, "10.0.0.1"),
                                                       (Code.ADDRESS_NOT_PUBLIC, "127.0.0.1")]


# ------------------------------------------------------------------ what a non-TLS answer looked like


@pytest.mark.parametrize(("first", "total", "words"), [
    (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n", 157, "an HTTP/1.1 response"),
    (b"HTTP/1.0 200 OK\r\n", 17, "an HTTP/1.0 response"),
    (b"HTTP/9 x", 8, "an HTTP response"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", 21, "an SSH banner"),
    (b"220 mail.example ESMTP Postfix\r\n", 32, "an SMTP or FTP greeting"),
    (b"+OK POP3 ready\r\n", 16, "a POP3 greeting"),
    (b"* OK [CAPABILITY IMAP4rev1] ready\r\n", 35, "an IMAP greeting"),
    (b"-ERR unknown command\r\n", 22, "a Redis error reply"),
    (b"\x00\x00\x18\x04\x00\x00\x00\x00\x00", 33, "an HTTP/2 frame (cleartext HTTP/2)"),
    (b"<!DOCTYPE html><html>", 300, "an HTML page"),
    (b"<html><body>", 12, "an HTML page"),
    (b"hello there\n", 12, "12 bytes of text that are not TLS"),
    (b"\x00\x01\x02\xff", 4, "4 bytes that are not TLS"),
    (b"\x01", 1, "1 byte that is not TLS"),
    (b"", 0, "something that is not TLS"),
])
def test_a_non_tls_answer_is_named_not_quoted(first: bytes, total: int, words: str) -> None:
    assert describe_not_tls(first, total) == words


def test_not_tls_finding_never_carries_the_bytes_the_service_sent() -> None:
    hostile = b"HTTP/1.1 200 <!channel> [click](https://evil)\r\n\x1b[2J"
    probe = AddressProbe(address="203.0.113.5", offered=("TLSv1.2",), outcome=HandshakeOutcome.NOT_TLS,
                         first_bytes=hostile, bytes_received=4096)
    [f] = address_findings(TARGET, probe)
    assert f.message == ("203.0.113.5:8443 does not speak TLS: it answered with an HTTP/1.1 response. "
                         "CloudFront cannot connect over HTTPS and returns 502.")
    for piece in ("200", "channel", "evil", "click", "\x1b", "\\x1b"):
        assert piece not in f.message and piece not in f.hint


def test_unrecognised_text_is_counted_not_quoted() -> None:
    probe = AddressProbe(address="203.0.113.5", offered=("TLSv1.2",), outcome=HandshakeOutcome.NOT_TLS,
                         first_bytes=b"@here rm -rf / please", bytes_received=21)
    [f] = address_findings(TARGET, probe)
    assert "it answered with 21 bytes of text that are not TLS." in f.message
    assert "@here" not in f.message and "rm -rf" not in f.message


# ------------------------------------------------------------------ opening ranges for a lab


def test_allow_addresses_takes_comma_separated_cidrs_and_bare_addresses() -> None:
    assert ALLOW_ADDRESSES.from_text("127.0.0.0/8, ::1/128,10.1.2.3") == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("10.1.2.3/32"))
    assert ALLOW_ADDRESSES.from_text("") == ()
    assert ALLOW_ADDRESSES.from_text(" , ") == ()


@pytest.mark.parametrize(("text", "problem"), [
    ("localhost", "'localhost' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)"),
    ("127.0.0.0/33", "'127.0.0.0/33' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)"),
    ("127.0.0.1/8", "'127.0.0.1/8' has host bits set (the network is 127.0.0.0/8)"),
    ("127.0.0.0/8;rm", "'127.0.0.0/8;rm' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)"),
])
def test_a_bad_cidr_is_one_clear_problem(text: str, problem: str) -> None:
    with pytest.raises(OptionError) as e:
        ALLOW_ADDRESSES.from_text(text)
    assert e.value.problem == problem


def test_the_environment_variable_is_read_and_checked_the_same_way() -> None:
    assert ALLOW_ADDRESSES.env == "ORIGIN_AUDITOR_ALLOW_ADDRESSES"
    assert ALLOW_ADDRESSES.flag == "--allow-addresses"
    assert ALLOW_ADDRESSES.from_env({}) == ()
    assert ALLOW_ADDRESSES.from_env({"ORIGIN_AUDITOR_ALLOW_ADDRESSES": "127.0.0.0/8"}) == (
        ipaddress.ip_network("127.0.0.0/8"),)
    with pytest.raises(OptionError) as e:
        ALLOW_ADDRESSES.from_env({"ORIGIN_AUDITOR_ALLOW_ADDRESSES": "nope"})
    assert str(e.value) == "ORIGIN_AUDITOR_ALLOW_ADDRESSES 'nope' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)"


def test_a_long_hostile_value_is_shown_short() -> None:
    with pytest.raises(OptionError) as e:
        ALLOW_ADDRESSES.from_text("x" * 500 + "\x1b[2J")
    assert len(e.value.problem) < 100 and "\x1b" not in e.value.problem
