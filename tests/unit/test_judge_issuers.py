"""The wording of CHAIN_INCOMPLETE / CHAIN_UNTRUSTED_ROOT from a caIssuers trail, pure: the trail
is followed through a dictionary instead of HTTP (``x509.issuers.follow_issuers`` takes any
download callable). Outside text (names, URLs, the fetch's words) reaches a message cleaned."""

from __future__ import annotations

import datetime as dt

from origin_auditor.judge.chain import judge_chain
from origin_auditor.model import Severity
from origin_auditor.rules import Code
from origin_auditor.x509.chain import parse_chain
from origin_auditor.x509.issuers import Download, follow_issuers
from origin_auditor_lab.pki import issue

from .conftest import ders, trust_of

NOW = dt.datetime.now(dt.UTC)


def test_hostile_names_and_urls_from_a_trail_are_cleaned() -> None:
    url = "http://ca.example/\x1b[2Jint.der"
    root = issue("Root", ca=True)
    inter = issue("Int \x1b[31mRED", root, ca=True, aia_ca_issuers="http://ca.example/root\x07.der")
    leaf = issue("origin.test", inter, aia_ca_issuers=url)
    files = {url: Download(url, (inter.der,))}

    def get(u: str) -> Download:
        return files.get(u, Download(u, error="answered HTTP 404 \x1b[0m"))

    trust = trust_of(issue("Other Root", ca=True))
    trail = follow_issuers(leaf.cert, trust, get)
    assert trail.stopped == "failed" and [f.cert for f in trail.certificates] == [inter.cert]
    [top] = parse_chain(ders(leaf))[0]
    findings = judge_chain(ders(leaf), "origin.test", trust=trust, at=NOW, issuers={top.sha256: trail})
    [f] = [x for x in findings if x.code == Code.CHAIN_INCOMPLETE]
    assert f.severity == Severity.FAIL
    assert "Fetched and verified so far: 'Int \\x1b[31mRED'" in f.message
    assert "\x1b" not in f.message + f.hint and "\x07" not in f.message


def test_a_trail_never_changes_the_verdict_only_the_words() -> None:
    root = issue("Root", ca=True)
    inter = issue("Int", root, ca=True, aia_ca_issuers="http://ca.example/root.der")
    leaf = issue("origin.test", inter, aia_ca_issuers="http://ca.example/int.der")
    trust = trust_of(root)
    trail = follow_issuers(leaf.cert, trust, lambda u: Download(u, (inter.der,)))
    assert trail.end == "trusted"
    [top] = parse_chain(ders(leaf))[0]
    plain = judge_chain(ders(leaf), "origin.test", trust=trust, at=NOW)
    exact = judge_chain(ders(leaf), "origin.test", trust=trust, at=NOW, issuers={top.sha256: trail})
    assert [(f.code, f.severity) for f in plain] == [(f.code, f.severity) for f in exact]
    assert "1 intermediate certificate between 'origin.test' and the trusted root 'Root' was not sent" \
        in next(f.message for f in exact if f.code == Code.CHAIN_INCOMPLETE)
