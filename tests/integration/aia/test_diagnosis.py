"""Issue 10 §3 end to end: real loopback TLS origins that omit intermediates, their issuers on a
real loopback HTTP server, through ``pipeline.check_targets`` with a fetcher.

A fetched certificate never changes the verdict (the chain as sent is incomplete: it fails), it
makes the message exact: the missing certificates by subject, SHA-256 and URL; or the private
root; or, when nothing could be fetched, both possibilities and why it could not tell.
"""

from __future__ import annotations

import hashlib

from origin_auditor.fetch import IssuerFetcher
from origin_auditor.model import Finding, Target, TargetResult, Verdict
from origin_auditor.pipeline import check_targets
from origin_auditor.probe import static_resolver
from origin_auditor.rules import Code
from origin_auditor.trust import TrustStore
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.issuers import IssuerServer
from origin_auditor_lab.pki import Issued, Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import fetcher, trust_of


def check(host: str, chain: list[Issued], trust: TrustStore, f: IssuerFetcher | None) -> TargetResult:
    with TlsServer(chain) as srv:
        [result] = check_targets([Target(host=host, port=srv.port)], trust=trust, timeout=5,
                                 resolver=static_resolver({host: ["127.0.0.1"]}), allow=LOOPBACK,
                                 fetcher=f)
    return result


def only(result: TargetResult, code: Code) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.message) for f in result.findings]
    return found[0]


def test_missing_intermediates_are_named_by_subject_sha256_and_url(deep: Pki) -> None:
    result = check("deep.test", [deep.leaf], trust_of(deep.root.cert), fetcher())
    assert result.verdict == Verdict.FAIL  # the chain as sent is still incomplete
    f = only(result, Code.CHAIN_INCOMPLETE)
    for inter, name in ((deep.intermediates[1], "int2"), (deep.intermediates[0], "int1")):
        assert inter.name in f.message
        assert hashlib.sha256(inter.der).hexdigest() in f.message
        assert f"/deep/{name}.der" in f.message
    assert "2 intermediate certificates between 'deep.test' and the trusted root" in f.message
    assert "not a private CA" in f.message
    assert "then 'Origin Auditor Test Intermediate 2', then 'Origin Auditor Test Intermediate 1'" in f.hint
    assert "--write-chain" in f.hint
    assert Code.CHAIN_UNTRUSTED_ROOT not in {x.code for x in result.findings}


def test_a_private_ca_is_chain_untrusted_root_naming_the_private_root(private: Pki, deep: Pki) -> None:
    result = check("private.test", [private.leaf], trust_of(deep.root.cert), fetcher())
    assert result.verdict == Verdict.FAIL
    f = only(result, Code.CHAIN_UNTRUSTED_ROOT)
    assert "'Private Corp Root'" in f.message and "a private CA" in f.message
    assert hashlib.sha256(private.root.der).hexdigest() in f.message
    assert "/private/root.der" in f.message
    assert "would not help" in f.message
    assert Code.CHAIN_INCOMPLETE not in {x.code for x in result.findings}


def test_nothing_fetchable_names_both_possibilities_and_why(server: IssuerServer) -> None:
    gone = Pki(hostnames=("gone.test",), aia_base=server.url("/gone"))  # nothing served there
    result = check("gone.test", [gone.leaf], trust_of(gone.root.cert), fetcher())
    assert result.verdict == Verdict.FAIL
    f = only(result, Code.CHAIN_INCOMPLETE)
    assert "Either an intermediate is missing or the chain belongs to a private CA" in f.message
    assert f"fetching {server.url('/gone/int1.der')} (the caIssuers URL in 'gone.test') failed: " \
           "answered HTTP 404" in f.message


def test_without_a_fetcher_the_message_says_nothing_was_fetched(deep: Pki) -> None:
    result = check("deep.test", [deep.leaf], trust_of(deep.root.cert), None)
    f = only(result, Code.CHAIN_INCOMPLETE)
    assert "The issuer was not fetched to tell which" in f.message
    assert "Either an intermediate is missing or the chain belongs to a private CA" in f.message


def test_a_non_public_issuer_url_is_not_fetched_without_the_allow(server: IssuerServer, deep: Pki) -> None:
    before = len(server.requests)
    result = check("deep.test", [deep.leaf], trust_of(deep.root.cert), fetcher(allow=()))
    f = only(result, Code.CHAIN_INCOMPLETE)
    assert "CloudFront cannot reach (loopback" in f.message
    assert len(server.requests) == before


def test_origins_sharing_a_missing_issuer_fetch_it_once_per_run(server: IssuerServer, deep: Pki) -> None:
    f = fetcher()
    leaf2 = deep.issue_leaf("deep.test", aia_ca_issuers=server.url("/deep/int2.der"))
    before = server.requests.count("/deep/int2.der")
    with TlsServer([deep.leaf]) as a, TlsServer([leaf2]) as b:
        results = check_targets([Target("deep.test", a.port), Target("deep.test", b.port)],
                                trust=trust_of(deep.root.cert), timeout=5, allow=LOOPBACK,
                                resolver=static_resolver({"deep.test": ["127.0.0.1"]}), fetcher=f)
    assert all(only(r, Code.CHAIN_INCOMPLETE) for r in results)
    assert server.requests.count("/deep/int2.der") - before == 1
