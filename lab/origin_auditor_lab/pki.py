"""Generate certificate chains for tests, the benchmark and the demo.

Nothing here is used by an audit of real origins. ``issue`` makes one certificate; ``Pki``
makes the usual root -> intermediate(s) -> leaf shape with one call and lets a test break
any part of it (expired intermediate, missing SAN, wrong key, ...).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

PrivateKey = (rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
              | ed448.Ed448PrivateKey)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

_KEY_CACHE: dict[str, list[PrivateKey]] = {}


def new_key(kind: str = "ec256", *, fresh: bool = False) -> PrivateKey:
    """A private key. ``kind``: ec256, ec384, ec521, ed25519, ed448, rsa1024, rsa2048, rsa4096 ...

    RSA generation is slow, so keys are reused from a small pool unless ``fresh``; tests only
    need distinct keys per certificate within one chain, which the pool of 8 provides.
    """
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if kind.startswith("ec"):
        curve: ec.EllipticCurve = {"ec256": ec.SECP256R1(), "ec384": ec.SECP384R1(),
                                   "ec521": ec.SECP521R1(), "eck256": ec.SECP256K1()}[kind]
        return ec.generate_private_key(curve)
    bits = int(kind.removeprefix("rsa"))
    if fresh:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pool = _KEY_CACHE.setdefault(kind, [])
    if len(pool) < 8:
        pool.append(rsa.generate_private_key(public_exponent=65537, key_size=bits))
        return pool[-1]
    _KEY_CACHE[kind] = pool[1:] + pool[:1]
    return pool[0]


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def name(self) -> str:
        return self.cert.subject.rfc4514_string()


def issue(
    common_name: str,
    issuer: Issued | None = None,
    *,
    ca: bool = False,
    dns_names: Sequence[str] | None = None,
    ip_addresses: Sequence[str] = (),
    include_san: bool = True,
    key: PrivateKey | None = None,
    key_kind: str = "ec256",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    days: int = 90,
    hash_alg: hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None = None,
    aia_ca_issuers: str | None = None,
    path_length: int | None = None,
    organization: str = "origin-auditor test PKI",
) -> Issued:
    """One certificate, signed by ``issuer`` (self-signed when ``None``).

    Leaf defaults: SAN = [common_name], serverAuth EKU. CA: basicConstraints CA=true, keyCertSign.
    """
    key = key or new_key(key_kind)
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    nb = not_before or (NOW - dt.timedelta(days=1))
    na = not_after or (nb + dt.timedelta(days=days))
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(nb).not_valid_after(na)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    if ca:
        b = (b.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True))
    else:
        b = (b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                                          data_encipherment=False, key_agreement=False,
                                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                                          decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if include_san:
            names: list[x509.GeneralName] = [x509.DNSName(n) for n in
                                             (dns_names if dns_names is not None else [common_name])]
            names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
            if names:
                b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if aia_ca_issuers:
        b = b.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(aia_ca_issuers))]), critical=False)
    alg = hash_alg if hash_alg is not None else hashes.SHA256()
    eddsa = isinstance(signer_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
    cert = b.sign(signer_key, None if eddsa else alg)
    return Issued(cert, key)


@dataclass
class Pki:
    """root -> intermediates[0] -> ... -> intermediates[-1] -> leaf, all valid by default.

    ``chain()`` is what a correctly configured server sends (leaf + intermediates, issuing
    order); ``fullchain(include_root=True)`` adds the root; tests reorder or drop from there.
    """

    hostnames: Sequence[str] = ("origin.test",)
    depth: int = 1  # number of intermediates
    key_kind: str = "ec256"
    root_name: str = "Origin Auditor Test Root"
    # Where the caIssuers URLs point: root.der, int1.der ... under it (an IssuerServer's base_url
    # in tests that fetch them).
    aia_base: str = "http://pki.test"
    root: Issued = field(init=False)
    intermediates: list[Issued] = field(init=False)
    leaf: Issued = field(init=False)

    def __post_init__(self) -> None:
        # CA keys are always fresh: two Pkis share CA names, and a pooled key would make one
        # Pki's root (name + key) trusted for the other's chains.
        self.root = issue(self.root_name, ca=True, days=3650, key=new_key(self.key_kind, fresh=True))
        parent = self.root
        self.intermediates = []
        for i in range(self.depth):
            parent = issue(f"Origin Auditor Test Intermediate {i + 1}", parent, ca=True, days=1825,
                           key=new_key(self.key_kind, fresh=True),
                           aia_ca_issuers=f"{self.aia_base}/{'root' if i == 0 else f'int{i}'}.der")
            self.intermediates.append(parent)
        above = f"int{self.depth}" if self.depth else "root"
        self.leaf = issue(self.hostnames[0], parent, dns_names=list(self.hostnames),
                          key_kind=self.key_kind, aia_ca_issuers=f"{self.aia_base}/{above}.der")

    def issue_leaf(self, common_name: str, **kw: object) -> Issued:
        """Another leaf under the last intermediate (or the root when depth is 0)."""
        parent = self.intermediates[-1] if self.intermediates else self.root
        return issue(common_name, parent, **kw)  # type: ignore[arg-type]

    def chain(self) -> list[Issued]:
        return [self.leaf, *reversed(self.intermediates)]

    def fullchain(self, include_root: bool = True) -> list[Issued]:
        return [*self.chain(), self.root] if include_root else self.chain()

    @property
    def root_pem(self) -> bytes:
        return self.root.pem

    def issuer_files(self) -> dict[str, bytes]:
        """What the caIssuers URLs of this PKI name, as DER: ``{"/root.der": ..., "/int1.der": ...}``
        (for an ``IssuerServer`` at ``aia_base``)."""
        files = {"/root.der": self.root.der}
        for i, inter in enumerate(self.intermediates, start=1):
            files[f"/int{i}.der"] = inter.der
        return files


def pem_bundle(certs: Sequence[Issued | x509.Certificate]) -> bytes:
    """PEM of the certificates in the given order (a server's chain file)."""
    out = b""
    for c in certs:
        cert = c.cert if isinstance(c, Issued) else c
        out += cert.public_bytes(serialization.Encoding.PEM)
    return out
