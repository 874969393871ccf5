"""``--format html`` (report_html): one self-contained page per report — per origin the chain as
sent beside the chain in issuing order with what is wrong marked, every certificate's expiry on a
timeline, the findings with their fixes. The browser test (tests/browser) renders it in Chromium."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from origin_auditor.judge import judge_probe
from origin_auditor.model import (
    AddressProbe,
    AuditReport,
    Classification,
    DistributionReport,
    Finding,
    HandshakeOutcome,
    NotAudited,
    ProbeResult,
    Severity,
    Target,
    TargetResult,
    Unseen,
    UnseenKind,
    Verdict,
)
from origin_auditor.present.text import html_text
from origin_auditor.report import FORMATS, render
from origin_auditor.report_html import render_html
from origin_auditor.rules import Code
from origin_auditor_lab.pki import NOW, Pki, issue

from .conftest import ders, trust_of

GENERATED = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


class Page(HTMLParser):
    """The parsed page: every start tag with its attributes, and the text under each element
    carrying a ``data-*`` hook (what the tests and the browser test look for)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []
        self.texts: list[str] = []
        self.hooked: list[tuple[dict[str, str | None], str]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag not in ("meta", "br", "link", "img", "input", "hr", "wbr"):
            self._open.append((tag, a, []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            t, a, text = self._open.pop()
            joined = " ".join("".join(text).split())
            if any(k.startswith("data-") for k in a):
                self.hooked.append((a, joined))
            if self._open:
                self._open[-1][2].append(" " + "".join(text) + " ")
            if t == tag:
                return

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._open:
            self._open[-1][2].append(data)

    def with_attr(self, name: str, value: str | None = None) -> list[tuple[dict[str, str | None], str]]:
        return [(a, t) for a, t in self.hooked if name in a and (value is None or a[name] == value)]


def ok(address: str, chain: list[bytes]) -> AddressProbe:
    return AddressProbe(address=address, protocol="TLSv1.2", cipher="ECDHE-ECDSA-AES128-GCM-SHA256",
                        chain=tuple(chain), chain_source="cloudfront")


def judged(host: str, *addresses: AddressProbe, trust_root: Pki) -> TargetResult:
    return judge_probe(ProbeResult(Target(host), addresses), trust=trust_of(trust_root.root), at=NOW)


@pytest.fixture(scope="module")
def broken() -> tuple[AuditReport, Pki]:
    """wrong.test: leaf, root, intermediate (wrong order) with an expired intermediate;
    missing.test: the leaf alone; good.test: a correct chain."""
    pki = Pki(hostnames=("wrong.test",))
    expired_int = issue("Origin Auditor Test Intermediate 1", pki.root, ca=True,
                        not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=3))
    leaf = issue("wrong.test", expired_int)
    wrong = judged("wrong.test", ok("192.0.2.1", ders(leaf, pki.root, expired_int)), trust_root=pki)
    missing_leaf = pki.issue_leaf("missing.test")
    missing = judged("missing.test", ok("192.0.2.2", ders(missing_leaf)), trust_root=pki)
    good_leaf = pki.issue_leaf("good.test")
    good = judged("good.test", ok("192.0.2.3", ders(good_leaf, *pki.intermediates)), trust_root=pki)
    results = (good, wrong, missing)
    dists = (DistributionReport("E1WRONG", Classification.OUTAGE, aliases=("shop.example",), results=(1,),
                                reason="fails and 502s are elevated", metrics={"Requests": 1000.0}),
             DistributionReport("E2MISS", Classification.LATENT, domain_name="d2.cloudfront.net",
                                results=(2, 0)))
    return AuditReport(GENERATED, results, dists), pki


def test_html_is_a_format_of_render_and_the_cli() -> None:
    assert "html" in FORMATS
    report = AuditReport(GENERATED, ())
    assert render(report, "html") == render_html(report)
    assert render_html(report).startswith("<!DOCTYPE html>")


def test_the_page_is_self_contained(broken: tuple[AuditReport, Pki]) -> None:
    text = render_html(broken[0])
    page = Page(text)
    tags = {t for t, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base", "form", "svg"}
    for _, attrs in page.tags:
        assert "src" not in attrs
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href  # links inside the page only
    assert "url(" not in text and "@import" not in text and "//" not in text.replace("://", "")
    # A browser loads nothing from anywhere, whatever ends up in the page.
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and (csp[0]["content"] or "").startswith("default-src 'none'")


def test_the_chain_as_sent_marks_certificates_out_of_issuing_order(broken: tuple[AuditReport, Pki]) -> None:
    page = Page(render_html(broken[0]))
    sent = [(a, t) for a, t in page.with_attr("data-sent") if a.get("data-origin") == "wrong.test:443"]
    assert [a["data-sent"] for a, _ in sent] == ["1", "2", "3"]
    assert [a.get("data-marks") for a, _ in sent] == ["", "out-of-order", "out-of-order expired"]
    assert "wrong.test" in sent[0][1] and "Test Root" in sent[1][1]
    assert "belongs at #3" in sent[1][1] and "belongs at #2" in sent[2][1]
    issuing = [a for a, _ in page.with_attr("data-issuing") if a.get("data-origin") == "wrong.test:443"]
    # Issuing order: leaf (sent #1), intermediate (sent #3), root (sent #2).
    assert [a["data-issuing"] for a in issuing] == ["1", "3", "2"]
    ends = [t for a, t in page.with_attr("data-path-end") if a.get("data-origin") == "wrong.test:443"]
    assert len(ends) == 1 and "trusted root" in ends[0]


def test_a_missing_issuer_is_marked_where_the_path_stops(broken: tuple[AuditReport, Pki]) -> None:
    page = Page(render_html(broken[0]))
    ends = [(a, t) for a, t in page.with_attr("data-path-end") if a.get("data-origin") == "missing.test:443"]
    assert len(ends) == 1
    attrs, text = ends[0]
    assert attrs["data-path-end"] == "incomplete" and "missing" in (attrs.get("data-marks") or "")
    assert "Intermediate 1" in text  # the issuer that was not sent, by name


def test_every_certificate_is_on_the_expiry_timeline(broken: tuple[AuditReport, Pki]) -> None:
    report, _ = broken
    page = Page(render_html(report))
    rows = page.with_attr("data-expiry")
    every = [(r.target.display, c) for r in report.results for a in r.addresses for c in a.chain]
    assert len(rows) == len(every)
    wrong = [(a, t) for a, t in rows if a.get("data-origin") == "wrong.test:443"]
    states = [a["data-state"] for a, _ in wrong]
    assert states == ["valid", "valid", "expired"]  # leaf, root, the expired intermediate (sent order)
    assert all(a["data-expiry"] == c.not_after[:10] for (a, _), (_, c) in
               zip(wrong, [e for e in every if e[0] == "wrong.test:443"], strict=True))
    assert "3 days ago" in wrong[2][1]


def test_findings_are_shown_with_their_fixes_and_the_verify_command(broken: tuple[AuditReport, Pki]) -> None:
    report, _ = broken
    page = Page(render_html(report))
    findings = page.with_attr("data-code")
    wrong = report.results[1]
    codes = {str(f.code) for f in wrong.findings}
    assert {Code.CHAIN_WRONG_ORDER, Code.CERT_EXPIRED} <= {Code(c) for c in codes}
    shown = {a["data-code"] for a, _ in findings if a.get("data-origin") == "wrong.test:443"}
    assert shown == codes
    order = next(t for a, t in findings if a.get("data-code") == "CHAIN_WRONG_ORDER")
    fix = next(f.hint for f in wrong.findings if f.code is Code.CHAIN_WRONG_ORDER)
    assert " ".join(fix.split()) in order
    verify = [t for a, t in page.with_attr("data-verify") if a.get("data-origin") == "wrong.test:443"]
    assert verify == [" ".join(wrong.reproduce.split())]


def test_distributions_are_listed_worst_first_with_links_to_their_origins(
        broken: tuple[AuditReport, Pki]) -> None:
    page = Page(render_html(broken[0]))
    rows = page.with_attr("data-classification")
    assert [a["data-classification"] for a, _ in rows] == ["OUTAGE", "LATENT"]
    assert "shop.example" in rows[0][1] and "fails and 502s are elevated" in rows[0][1]
    links = [a["href"] for t, a in page.tags if t == "a"]
    assert set(links) == {"#origin-0", "#origin-1", "#origin-2"}
    ids = {a["id"] for _, a in page.tags if a.get("id", "").startswith("origin-")}  # type: ignore[union-attr]
    assert ids == {"origin-0", "origin-1", "origin-2"}
    # Origins worst first: the failing ones before the passing one.
    origins = [a["data-verdict"] for a, _ in page.with_attr("data-verdict")]
    assert origins == ["fail", "fail", "pass"]


def test_a_partial_run_and_origins_not_audited_are_said_on_the_page() -> None:
    unprobed = Finding(Code.ORIGIN_NOT_PROBED, Severity.INFO, "Not probed: the run's time budget ran out.")
    result = TargetResult(Target("late.test"), Verdict.PASS, (unprobed,), not_audited=NotAudited.TIME_BUDGET)
    unseen = (Unseen(UnseenKind.DISTRIBUTION, "E9", "AccessDenied"),)
    report = AuditReport(GENERATED, (result,), unseen=unseen)
    page = Page(render_html(report))
    banner = " ".join(t for _, t in page.with_attr("data-partial"))
    assert banner.startswith("PARTIAL RUN") and "E9" in banner
    assert [a["data-verdict"] for a, _ in page.with_attr("data-verdict")] == ["not-audited"]
    summary = " ".join(t for _, t in page.with_attr("data-summary"))
    assert "1 not audited" in summary and "0 pass" in summary


def test_an_address_that_sent_no_chain_says_so(broken: tuple[AuditReport, Pki]) -> None:
    _, pki = broken
    refused = AddressProbe(address="192.0.2.9", offered=("TLSv1.2",), outcome=HandshakeOutcome.REFUSED,
                           detail="Connection refused")
    report = AuditReport(GENERATED, (judged("down.test", refused, trust_root=pki),))
    text = render_html(report)
    assert "no certificate" in text.lower() and "CONNECT_FAILED" in text


def test_html_text_escapes_markup_and_control_characters() -> None:
    assert html_text('<b a="1">&\'x\n') == "&lt;b a=&quot;1&quot;&gt;&amp;&#x27;x\\x0a"


def test_each_address_heading_names_what_cloudfronts_offer_agreed_on(broken: tuple[AuditReport, Pki]) -> None:
    _, pki = broken
    leaf = pki.issue_leaf("pss.test")
    pss = AddressProbe(address="192.0.2.10", protocol="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256",
                       group="x25519", signature_scheme="rsa_pss_rsae_sha256", offer="s2n-2025",
                       chain=tuple(ders(leaf, *pki.intermediates)), chain_source="s2n-2025")
    text = render_html(AuditReport(GENERATED, (judged("pss.test", pss, trust_root=pki),)))
    assert ("192.0.2.10 (TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256, x25519, rsa_pss_rsae_sha256, "
            "only with the s2n-2025 offer)") in text
