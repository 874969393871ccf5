"""CloudFront's three offers (``rules.OFFERS``) on the wire and against real servers.

Fidelity: each offer's ClientHello, captured by a loopback listener and parsed, carries exactly
the rule data's suites, groups, signature schemes and versions. Verdicts: ``openssl s_server``
restricted to what CloudFront does not offer (a curve, RSA-PSS only, TLS 1.3 only, an
undocumented suite, an Ed25519 key) is judged pass / warn / fail as the issue says.
"""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
import threading
from collections.abc import Iterator

import pytest

from origin_auditor.judge import judge_probe
from origin_auditor.model import HandshakeOutcome, ProbeResult, Severity, Target, TargetResult
from origin_auditor.pipeline import check_report, check_targets
from origin_auditor.probe import probe_target
from origin_auditor.rules import DOCUMENTED, OFFERS, S2N_2025, S2N_LEGACY, Offer
from origin_auditor.tls import handshake, openssl
from origin_auditor.tls.handshake import attempt, client_context
from origin_auditor.tls.openssl import KIND_OF_OFFER, Kind
from origin_auditor.tls.wire import ClientHello
from origin_auditor.trust import TrustStore
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki, issue, new_key
from origin_auditor_lab.servers import OPENSSL, OpensslServer, RawServer, _read_client_hello

from .conftest import probe_one

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")

# Suites in the rule data this OpenSSL 3.0 does not have (not in its default provider): the
# ClientHello cannot carry them, as CloudFront's own s2n/AWS-LC build does not either.
UNAVAILABLE = {"DES-CBC3-SHA", "RC4-MD5"}


def _suite_ids() -> dict[int, str]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return {d["id"] & 0xFFFF: d["name"] for d in ctx.get_ciphers()}


def capture(kind: Kind, protocols: tuple[str, ...]) -> ClientHello:
    got: list[bytes] = []
    lock = threading.Lock()

    def keep(_srv: RawServer, conn: object) -> None:
        data = _read_client_hello(conn)  # type: ignore[arg-type]
        with lock:
            got.append(data)
        conn.close()  # type: ignore[attr-defined]

    with RawServer(keep) as srv:
        attempt("127.0.0.1", srv.port, "origin.test", client_context(kind, protocols),
                connect_timeout=5, timeout=5)
    assert got
    return ClientHello(got[0])


@pytest.mark.parametrize("offer", OFFERS, ids=lambda o: o.name)
@pytest.mark.parametrize("protocols", [("TLSv1.2",), ("TLSv1", "TLSv1.1", "TLSv1.2")],
                         ids=["tls12", "tls10"])
def test_each_offers_clienthello_carries_exactly_the_rule_data(offer: Offer,
                                                               protocols: tuple[str, ...]) -> None:
    assert openssl.exact_offers() is None  # this environment can make exact offers
    hello = capture(KIND_OF_OFFER[offer.name], protocols)
    names = _suite_ids()
    sent = [names.get(c, f"0x{c:04x}") for c in hello.cipher_suites if c != 0x00FF]  # minus the SCSV
    tls13 = [c for c in sent if c.startswith("TLS_")]
    assert tls13 == list(offer.tls13_ciphers)
    assert [c for c in sent if not c.startswith("TLS_")] == [c for c in offer.ciphers if c not in UNAVAILABLE]
    assert hello.group_names == offer.groups
    assert hello.signature_scheme_names == offer.signature_schemes
    assert hello.sni == "origin.test"
    if offer.tls13_ciphers:
        want = ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1")[:2 + (2 if len(protocols) == 3 else 0)]
        assert hello.versions == want
        assert hello.key_shares == (0x0017,)  # one share, for the first group (P-256), as s2n
    else:
        assert hello.versions == ("TLSv1.2",)  # legacy_version; no supported_versions extension


def test_the_offers_are_the_s2n_policies_data() -> None:
    """The rule data as read from s2n-tls (spot checks of what the issue names)."""
    assert DOCUMENTED.groups == S2N_LEGACY.groups == S2N_2025.groups == ("secp256r1", "x25519", "secp384r1")
    older = DOCUMENTED.signature_schemes + S2N_LEGACY.signature_schemes
    assert not any(s.startswith("rsa_pss") for s in older)
    assert {"rsa_pss_rsae_sha256", "rsa_pss_pss_sha256"} <= set(S2N_2025.signature_schemes)
    assert set(S2N_LEGACY.ciphers) - set(DOCUMENTED.ciphers) == {"AES256-GCM-SHA384", "AES128-GCM-SHA256",
                                                                   "AES128-SHA256"}
    assert "TLS_CHACHA20_POLY1305_SHA256" in S2N_2025.tls13_ciphers
    assert "X25519MLKEM768" in S2N_2025.not_offered


def test_broad_diagnostic_offers_every_group_and_scheme() -> None:
    hello = capture("diagnostic", ())
    assert {"x448", "secp521r1"} <= set(hello.group_names)
    assert {"ed25519", "ed448", "rsa_pss_pss_sha256"} <= set(hello.signature_scheme_names)


# --------------------------------------------------------------------------------------------
# Verdicts against openssl s_server


@pytest.fixture(scope="module")
def rsa_chain() -> Pki:
    return Pki(hostnames=("origin.test",), key_kind="rsa2048")


def _judge(result: ProbeResult, pki: Pki) -> TargetResult:
    return judge_probe(result, trust=TrustStore.from_certificates([pki.root.cert], "test roots"),
                       at=dt.datetime.now(dt.UTC))


def _codes(address: object) -> list[str]:
    return [str(f.code) for f in address.findings]  # type: ignore[attr-defined]


def test_documented_offer_connects_in_one_handshake_with_group_and_scheme(pki: Pki) -> None:
    with OpensslServer(pki.chain(), "-tls1_2") as srv:
        a = probe_one(srv.port)
    assert a.offer == "documented"
    assert a.group == "secp256r1"
    assert a.signature_scheme == "ecdsa_secp256r1_sha256"
    assert a.findings == ()


@pytest.mark.parametrize("group", ["X448", "P-521"])
def test_origin_with_only_a_curve_cloudfront_never_offers_fails_no_common_group(pki: Pki, group: str) -> None:
    with OpensslServer(pki.chain(), "-groups", group) as srv:
        a = probe_one(srv.port)
    assert a.offer is None and a.protocol is None
    assert a.diagnostic_group == {"X448": "x448", "P-521": "secp521r1"}[group]
    assert _codes(a) == ["NO_COMMON_GROUP"]
    assert a.findings[0].severity is Severity.FAIL
    assert "ssl_ecdh_curve" in (a.findings[0].hint or "")


def _run(line: str) -> int:
    """Run a reproduce line as a person would paste it (bounded: s_client reads EOF and exits)."""
    return subprocess.run(["bash", "-c", line], capture_output=True, timeout=20, check=False).returncode


def test_no_common_group_reproduce_line_fails_where_openssl_defaults_connect(pki: Pki) -> None:
    with OpensslServer(pki.chain(), "-groups", "X448") as srv:
        a = probe_one(srv.port)
        line = (a.findings[0].hint or "").split("Reproduce: ", 1)[1]
        assert "-groups" in line and "-sigalgs" in line
        assert _run(line) != 0  # CloudFront's groups: no handshake, as CloudFront sees it
        # The same line with OpenSSL's default groups and schemes connects: the flags are the cause.
        assert _run(line.split(" -groups ", 1)[0] + " -showcerts </dev/null") == 0


def test_rsa_pss_only_origin_warns_it_depends_on_the_2025_policy(rsa_chain: Pki) -> None:
    with OpensslServer(rsa_chain.chain(), "-sigalgs", "rsa_pss_rsae_sha256", "-no_tls1_3") as srv:
        a = probe_one(srv.port)
    assert a.offer == "s2n-2025"
    assert a.protocol == "TLSv1.2"
    assert a.signature_scheme == "rsa_pss_rsae_sha256"
    assert _codes(a) == ["UNDOCUMENTED_OFFER_ONLY"]
    assert a.findings[0].severity is Severity.WARN
    assert "RSA-PSS" in a.findings[0].message


def test_tls13_only_origin_connects_with_the_2025_offer_and_warns(pki: Pki) -> None:
    with OpensslServer(pki.chain(), "-tls1_3") as srv:
        a = probe_one(srv.port)
    assert a.offer == "s2n-2025"
    assert a.protocol == "TLSv1.3"
    assert a.group == "secp256r1"
    assert _codes(a) == ["TLS13_ONLY"]
    assert a.findings[0].severity is Severity.WARN


def test_undocumented_rsa_key_exchange_suite_only_warns(rsa_chain: Pki) -> None:
    with OpensslServer(rsa_chain.chain(), "-tls1_2", "-cipher", "AES128-GCM-SHA256") as srv:
        a = probe_one(srv.port)
    assert a.offer == "s2n-legacy"
    assert a.cipher == "AES128-GCM-SHA256"
    assert a.group is None and a.signature_scheme is None  # RSA key exchange: no group, no signature
    assert _codes(a) == ["UNDOCUMENTED_OFFER_ONLY"]
    assert "AES128-GCM-SHA256" in a.findings[0].message


def test_ed25519_leaf_fails_no_common_signature_scheme_and_key_unsupported(pki: Pki) -> None:
    leaf = issue("origin.test", pki.intermediates[-1], key=new_key("ed25519"))
    with OpensslServer([leaf, *reversed(pki.intermediates)], "-tls1_2") as srv:
        result = probe_target(Target("127.0.0.1", srv.port, server_name="origin.test"), allow=LOOPBACK)
    a = result.addresses[0]
    assert a.diagnostic_signature_scheme == "ed25519"
    judged = _judge(result, pki)
    fails = {str(f.code) for f in judged.findings if f.severity is Severity.FAIL}
    assert {"NO_COMMON_SIGNATURE_SCHEME", "KEY_UNSUPPORTED"} <= fails


def test_json_addresses_carry_group_scheme_and_offer(pki: Pki) -> None:
    with OpensslServer(pki.chain(), "-tls1_2") as srv:
        result = probe_target(Target("127.0.0.1", srv.port, server_name="origin.test"), allow=LOOPBACK)
    row = _judge(result, pki).to_json()["addresses"][0]  # type: ignore[index]
    assert (row["group"], row["signature_scheme"], row["offer"]) == (
        "secp256r1", "ecdsa_secp256r1_sha256", "documented")


@pytest.fixture
def no_exact_offers() -> Iterator[None]:
    """This OpenSSL as if its symbols were missing: the fail-closed path."""
    state = openssl._STATE
    saved = (state.lib, state.why_not, state.loaded)
    state.lib, state.why_not, state.loaded = None, "AttributeError: simulated", True
    handshake._CONTEXTS.clear()
    try:
        yield
    finally:
        state.lib, state.why_not, state.loaded = saved
        handshake._CONTEXTS.clear()


def test_without_exact_offers_the_probe_says_so_and_falls_back(pki: Pki, no_exact_offers: None) -> None:
    with OpensslServer(pki.chain(), "-tls1_2") as srv:
        a = probe_one(srv.port)
    assert a.offer_exact is False
    assert a.outcome is HandshakeOutcome.OK  # today's approximate offer still connects
    assert a.group is None  # not read either: the layout was not trusted
    assert _codes(a) == ["OFFER_APPROXIMATE"]
    hello = capture("cloudfront", ("TLSv1.2",))
    assert "x448" in hello.group_names  # OpenSSL's defaults, not CloudFront's: hence the note


def test_without_exact_offers_the_run_says_so_once_with_why(pki: Pki, no_exact_offers: None) -> None:
    with OpensslServer(pki.chain(), "-tls1_2") as srv:
        targets = [Target("127.0.0.1", srv.port, server_name=n) for n in ("a.test", "b.test")]
        report = check_report(check_targets(targets, allow=LOOPBACK, timeout=5.0))
    [note] = [n for n in report.notes if "OFFER_APPROXIMATE" in n]
    assert "AttributeError: simulated" in note and "passes here" in note


def test_with_exact_offers_the_run_has_no_such_note(pki: Pki) -> None:
    with OpensslServer(pki.chain(), "-tls1_2") as srv:
        report = check_report(check_targets([Target("127.0.0.1", srv.port)], allow=LOOPBACK, timeout=5.0))
    assert not [n for n in report.notes if "OFFER_APPROXIMATE" in n]


def test_sha1_signed_handshake_is_in_the_documented_offer(rsa_chain: Pki) -> None:
    """SHA-1 schemes are offered (security level 0), as s2n's 2014 list has them."""
    with OpensslServer(rsa_chain.chain(), "-tls1_2", "-sigalgs", "RSA+SHA1",
                       "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0") as srv:
        a = probe_one(srv.port)
    assert a.offer == "documented"
    assert a.signature_scheme == "rsa_pkcs1_sha1"
