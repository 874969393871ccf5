"""PEM bundles as files hold them: the certificate blocks in order, and whether a key is there.

Bundles sometimes carry the private key too (``cat key.pem cert.pem > bundle.pem``). The key
is never parsed from the bundle, echoed, logged or put into an exception: only its presence
is reported.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

# One PEM block. The label is captured; the body is matched lazily up to the END line with the
# same label, so a key block in the middle cannot swallow the certificates around it.
_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]{1,64})-----\r?\n(.*?)-----END \1-----", re.DOTALL)


class BundleError(ValueError):
    """The bundle cannot be checked or fixed; the message is one line and never holds key
    material."""


@dataclass(frozen=True)
class PemBundle:
    """What a PEM bundle holds.

    ders: the DER of every CERTIFICATE block, in file order; a block whose base64 does not
        decode is ``b''`` so it is still reported as malformed at its position.
    has_key: the file holds a PRIVATE KEY block (its content is never read).
    """

    ders: tuple[bytes, ...]
    has_key: bool


def split_pem(pem: bytes) -> PemBundle:
    """The certificate blocks of ``pem`` and whether a key block exists.

    Raises BundleError when ``pem`` has no PEM block or no CERTIFICATE block.
    """
    ders: list[bytes] = []
    has_key = False
    blocks = list(_PEM_BLOCK.finditer(pem))
    if not blocks:
        raise BundleError("not a PEM file (no -----BEGIN ...----- blocks)")
    for m in blocks:
        label = m.group(1)
        if b"PRIVATE KEY" in label:
            has_key = True
        elif label in (b"CERTIFICATE", b"TRUSTED CERTIFICATE"):
            try:
                ders.append(base64.b64decode(b"".join(m.group(2).split()), validate=True))
            except (binascii.Error, ValueError):
                # Kept as an empty blob so the judge reports it as malformed at its position.
                ders.append(b"")
    if not ders:
        raise BundleError("the PEM file contains no CERTIFICATE block")
    return PemBundle(tuple(ders), has_key)


@dataclass(frozen=True)
class KeyPairing:
    """Whether a private key given with a bundle belongs to the bundle's leaf.

    matches: the key's public half is the leaf's public key; ``None`` when that could not be
        told (see ``error``).
    error: why the key could not be checked (encrypted, not a key, the leaf does not parse),
        else ``None``. Never quotes the key file.
    leaf_parses: the leaf (the first certificate) parsed, so the key was compared with it.
    """

    matches: bool | None
    error: str | None
    leaf_parses: bool = True


def pair_key(key_pem: bytes, leaf: x509.Certificate | None) -> KeyPairing:
    """Compare a PEM private key with ``leaf`` (``None``: the leaf did not parse)."""
    if leaf is None:
        # The leaf is the first certificate; checking the key against a later one would answer
        # a question nobody asked.
        return KeyPairing(None, "the first certificate in the bundle (the leaf) does not parse",
                          leaf_parses=False)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        return KeyPairing(None, "the private key is encrypted; decrypt it to check it")
    except Exception:  # the exception text could quote the input: say nothing about it
        return KeyPairing(None, "the --key file is not a readable PEM private key")
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return KeyPairing(key.public_key().public_bytes(*fmt) == leaf.public_key().public_bytes(*fmt),
                          None)
    except Exception:  # unsupported leaf key type
        return KeyPairing(None, "the leaf's public key type cannot be compared")
