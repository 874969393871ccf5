"""Issue 10 §3: fetching a missing issuer through its caIssuers URL, over real HTTP on loopback.

``fetch.IssuerFetcher`` downloads (http/https only, public addresses only unless opened, 64 KiB,
3 s, DER/PEM/PKCS#7, once per URL per run, never raises); ``x509.issuers.follow_issuers`` walks
up, verifying each signature, at most 4 fetches. Every failure is a fact (``Download.error``,
``IssuerTrail.stopped``) the judge words.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import tempfile
from pathlib import Path

import pytest

from origin_auditor.fetch import certificates_in
from origin_auditor.probe import static_resolver
from origin_auditor.x509.issuers import follow_issuers
from origin_auditor_lab.issuers import Answer, IssuerServer, pem_of, pkcs7_of
from origin_auditor_lab.pki import Pki, issue

from .conftest import SHORT, fetcher, trust_of

# ----------------------------------------------------------------- formats


@pytest.mark.parametrize("form", ["der", "pem", "pkcs7-der", "pkcs7-pem"])
def test_an_issuer_is_read_as_der_pem_or_pkcs7(server: IssuerServer, deep: Pki, form: str) -> None:
    der = deep.intermediates[1].der
    body = {"der": der, "pem": pem_of(der), "pkcs7-der": pkcs7_of(der, deep.intermediates[0].der),
            "pkcs7-pem": pkcs7_of(der, pem=True)}[form]
    server.files[f"/form/{form}"] = body
    got = fetcher().get(server.url(f"/form/{form}"))
    assert got.error is None, got
    assert der in got.certificates  # a PKCS#7 SET OF is in DER order, not the order given


def test_the_same_url_is_fetched_once_per_run(server: IssuerServer, deep: Pki) -> None:
    server.files["/once.der"] = deep.intermediates[0].der
    f = fetcher()
    before = server.requests.count("/once.der")
    results = {f.get(server.url("/once.der")) for _ in range(5)}
    assert len(results) == 1 and f.fetches == 1
    assert server.requests.count("/once.der") - before == 1
    # A new run (a new fetcher) fetches again.
    fetcher().get(server.url("/once.der"))
    assert server.requests.count("/once.der") - before == 2


# ----------------------------------------------------------------- failures are facts


def test_an_unreachable_url_is_a_stated_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        got = fetcher(timeout=SHORT).get(f"http://127.0.0.1:{port}/int.der")
    assert got.certificates == () and got.error is not None
    assert "connection failed" in got.error


def test_an_oversized_answer_is_refused_at_64_kib(server: IssuerServer) -> None:
    server.files["/big.der"] = b"\x30" * (64 * 1024 + 1)
    got = fetcher().get(server.url("/big.der"))
    assert got.error is not None and "64 KiB" in got.error


def test_an_oversized_answer_without_content_length_is_cut_at_64_kib() -> None:
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    sent = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
            try:
                for _ in range(64):  # 1 MiB at most, a bounded loop
                    conn.sendall(b"\x30" * 16384)
                    sent.append(1)
            except OSError:
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        got = fetcher().get(f"http://127.0.0.1:{port}/stream")
    finally:
        listener.close()
        t.join(timeout=5)
    assert got.error is not None and "64 KiB" in got.error


def test_a_slow_answer_costs_the_fetch_timeout_and_says_so(server: IssuerServer, deep: Pki) -> None:
    server.files["/slow.der"] = Answer(deep.intermediates[0].der, delay=5.0)
    got = fetcher(timeout=SHORT).get(server.url("/slow.der"))
    assert got.error == f"no complete answer within {SHORT} s"


@pytest.mark.parametrize(("answer", "words"), [
    (Answer(b"<html>hello</html>", content_type="text/html"), "not a certificate (DER, PEM or PKCS#7)"),
    (Answer(b"gone", status=404), "answered HTTP 404"),
    (Answer(b"", status=302, location="http://10.0.0.1/int.der"), "HTTP 302, a redirect (not followed"),
])
def test_an_answer_that_is_not_an_issuer_is_named_never_quoted(server: IssuerServer, answer: Answer,
                                                                words: str) -> None:
    server.files["/odd"] = answer
    got = fetcher().get(server.url("/odd"))
    assert got.error is not None and words in got.error
    assert "hello" not in got.error and "gone" not in got.error


def test_only_http_and_https_are_fetched() -> None:
    for url in ("ftp://pki.test/int.der", "ldap://pki.test/cn=int", "file:///etc/passwd"):
        got = fetcher().get(url)
        assert got.error is not None and "only http and https" in got.error


def test_a_non_public_address_is_refused_without_the_allow(server: IssuerServer, deep: Pki) -> None:
    server.files["/nonpublic.der"] = deep.intermediates[0].der
    before = len(server.requests)
    got = fetcher(allow=()).get(server.url("/nonpublic.der"))
    assert got.error is not None and "CloudFront cannot reach (loopback" in got.error
    assert len(server.requests) == before  # never connected


def test_a_name_is_resolved_once_and_the_checked_address_connected_to(server: IssuerServer,
                                                                      deep: Pki) -> None:
    server.files["/named.der"] = deep.intermediates[0].der
    port = server.base_url.rsplit(":", 1)[1]
    calls: list[str] = []
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])  # a rebinding resolver: loopback, then private

    def rebinding(host: str, p: int) -> list[str]:
        calls.append(host)
        return next(answers)

    got = fetcher(resolver=rebinding).get(f"http://ca.test:{port}/named.der")
    assert got.error is None and calls == ["ca.test"]
    # Without the allow, the name answering only loopback is refused, and said so.
    refused = fetcher(allow=(), resolver=static_resolver({"ca.test": ["127.0.0.1", "::1"]})).get(
        f"http://ca.test:{port}/named.der")
    assert refused.error is not None and "ca.test resolves only to addresses CloudFront cannot reach" \
        in refused.error


def test_an_unresolvable_name_is_a_stated_failure() -> None:
    got = fetcher().get("http://nowhere.test/int.der")
    assert got.error is not None and got.error.startswith("its name did not resolve")


def test_certificates_in_never_raises_on_garbage() -> None:
    for body in (b"", b"\x30\x82\xff\xff", b"-----BEGIN CERTIFICATE-----\nnot base64\n", b"\x00" * 100):
        assert certificates_in(body) == []


# ----------------------------------------------------------------- the trail


def test_a_missing_pair_of_intermediates_is_found_up_to_the_trusted_root(deep: Pki) -> None:
    trail = follow_issuers(deep.leaf.cert, trust_of(deep.root.cert), fetcher().get)
    assert trail.end == "trusted" and trail.anchor == deep.root.cert
    assert [f.cert for f in trail.missing] == [deep.intermediates[1].cert, deep.intermediates[0].cert]
    assert trail.missing[0].sha256 == hashlib.sha256(deep.intermediates[1].der).hexdigest()
    assert trail.missing[0].url.endswith("/deep/int2.der")


def test_a_private_ca_ends_at_its_own_root(private: Pki, deep: Pki) -> None:
    trail = follow_issuers(private.leaf.cert, trust_of(deep.root.cert), fetcher().get)
    assert trail.end == "private_root"
    assert trail.private_root is not None and trail.private_root.cert == private.root.cert
    assert [f.cert for f in trail.missing] == [private.intermediates[0].cert]


def test_a_url_serving_a_certificate_that_did_not_sign_is_not_taken(server: IssuerServer,
                                                                     deep: Pki) -> None:
    # Same name as the real issuer, another key: the signature decides, not the name.
    impostor = issue("Origin Auditor Test Intermediate 1", deep.root, ca=True)
    server.files["/impostor.der"] = impostor.der
    leaf = issue("deep.test", deep.intermediates[0], aia_ca_issuers=server.url("/impostor.der"))
    trail = follow_issuers(leaf.cert, trust_of(deep.root.cert), fetcher().get)
    assert trail.end == "stopped" and trail.stopped == "not_issuer" and trail.certificates == ()


def test_a_loop_of_urls_stops(server: IssuerServer) -> None:
    # int's caIssuers URL points at itself: fetching it again would never end.
    root = issue("Loop Root", ca=True)
    inter = issue("Loop Intermediate", root, ca=True, aia_ca_issuers=server.url("/loop/int.der"))
    server.files["/loop/int.der"] = inter.der
    leaf = issue("loop.test", inter, aia_ca_issuers=server.url("/loop/int.der"))
    before = server.requests.count("/loop/int.der")
    trail = follow_issuers(leaf.cert, trust_of(issue("Other Root", ca=True).cert), fetcher().get)
    assert trail.end == "stopped" and trail.stopped == "loop"
    assert [f.cert for f in trail.certificates] == [inter.cert]
    assert server.requests.count("/loop/int.der") - before == 1


def test_more_than_four_fetches_stop(server: IssuerServer) -> None:
    tall = server.publish("/tall", hostnames=("tall.test",), depth=5)
    trail = follow_issuers(tall.leaf.cert, trust_of(tall.root.cert), fetcher().get)
    assert trail.end == "stopped" and trail.stopped == "hops"
    assert len(trail.certificates) == 4
    assert sum(r.startswith("/tall/") for r in server.requests) == 4


def test_a_failed_fetch_mid_trail_keeps_what_was_verified(server: IssuerServer, deep: Pki) -> None:
    # int2 is there, int1's URL is not: the trail says how far it got and where it failed.
    half = Pki(hostnames=("half.test",), depth=2, aia_base=server.url("/half"))
    server.files["/half/int2.der"] = half.intermediates[1].der
    trail = follow_issuers(half.leaf.cert, trust_of(half.root.cert), fetcher().get)
    assert trail.end == "stopped" and trail.stopped == "failed"
    assert [f.cert for f in trail.certificates] == [half.intermediates[1].cert]
    assert trail.url == server.url("/half/int1.der") and trail.error == "answered HTTP 404"


# ----------------------------------------------------------------- https


def _https_server(pki: Pki, name: str) -> IssuerServer:
    leaf = pki.issue_leaf(name, dns_names=[name])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as d:
        cert, key = Path(d, "cert.pem"), Path(d, "key.pem")
        cert.write_bytes(leaf.pem + b"".join(i.pem for i in pki.intermediates))
        key.write_bytes(leaf.key_pem)
        ctx.load_cert_chain(cert, key)
    return IssuerServer(tls=ctx)


def test_an_https_url_is_fetched_from_a_server_its_cas_verify(deep: Pki, tmp_path: Path) -> None:
    repository = Pki(hostnames=("repo.test",), root_name="Repository Root")
    roots = tmp_path / "roots.pem"
    roots.write_bytes(repository.root_pem)
    with _https_server(repository, "pki.test") as srv:
        srv.files["/int2.der"] = deep.intermediates[1].der
        port = srv.base_url.rsplit(":", 1)[1]
        url = f"https://pki.test:{port}/int2.der"
        resolver = static_resolver({"pki.test": ["127.0.0.1"]})
        got = fetcher(resolver=resolver, cafile=str(roots)).get(url)
        assert got.error is None, got
        assert got.certificates == (deep.intermediates[1].der,)
        # The same server, verified against certifi's CAs (the default): refused, and said.
        refused = fetcher(resolver=resolver).get(url)
        assert refused.certificates == () and refused.error is not None
        assert "https connection failed" in refused.error
        assert srv.requests == ["/int2.der"]  # the refused fetch never sent its request
